"""`autolog run`: the options an unchanged script parses become params of the wrapping run.

Each script runs as a real ``python -m autolog run`` process (AUTOLOG_STRICT=1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from test_launcher import _env, autolog_run, isolated_registry, runs_in, write  # noqa: F401

import autolog
from autolog import launcher

ARGPARSE = """
    import argparse, pathlib
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--layers", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--data", type=pathlib.Path, default=pathlib.Path("data/train.csv"))
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--no-shuffle", dest="shuffle", action="store_false")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    args = parser.parse_args()
    print(args.lr, args.layers)
"""


def params_of_the_run(tmp_path, *args):
    result = autolog_run(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED"
    return run.data.params


def test_argparse_values_and_defaults(tmp_path):
    write(tmp_path / "train.py", ARGPARSE)
    params = params_of_the_run(tmp_path, "train.py", "--lr", "0.5", "--layers", "8", "4",
                               "--verbose", "--no-shuffle")
    assert params == {
        "lr": "0.5", "epochs": "3", "layers": "[8, 4]", "out": "None",
        "data": "data/train.csv", "verbose": "True", "shuffle": "False", "optimizer": "adam",
    }


def test_an_override_keeps_its_value_without_an_error(tmp_path):
    write(tmp_path / "train.py", ARGPARSE)
    # argparse turns "1e-1" into 0.1: the -P value, logged first, stays
    params = params_of_the_run(tmp_path, "-P", "lr=1e-1", "train.py")
    assert params["lr"] == "1e-1"
    assert params["epochs"] == "3"


def test_parse_known_args_then_parse_args(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import argparse
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--config", default="base.yaml")
        known, rest = pre.parse_known_args()
        parser = argparse.ArgumentParser(parents=[pre])
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--config-version", type=int, default=1)
        parser.parse_args()
        # a parser run on a list of its own (a library's) is not the command line
        argparse.ArgumentParser().add_argument("--internal")
        lib = argparse.ArgumentParser()
        lib.add_argument("--internal")
        lib.parse_args(["--internal", "x"])
        """,
    )
    params = params_of_the_run(tmp_path, "train.py", "--config", "big.yaml", "--seed", "7")
    assert params == {"config": "big.yaml", "seed": "7", "config_version": "1"}


def test_parse_known_args_leaves_the_unknown_out(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--batch-size", type=int, default=32)
        args, unknown = parser.parse_known_args()
        assert unknown == ["--deepspeed", "cfg.json"], unknown
        """,
    )
    params = params_of_the_run(tmp_path, "train.py", "--batch-size", "16", "--deepspeed",
                               "cfg.json")
    assert params == {"batch_size": "16"}


def test_subparsers(tmp_path):
    write(
        tmp_path / "cli.py",
        """
        import argparse

        def train(args):
            print("training", args.lr)

        parser = argparse.ArgumentParser()
        parser.add_argument("--seed", type=int, default=1)
        commands = parser.add_subparsers(dest="command", required=True)
        sub = commands.add_parser("train")
        sub.add_argument("--lr", type=float, default=0.1)
        sub.set_defaults(func=train)
        commands.add_parser("evaluate").add_argument("--split", default="test")
        args = parser.parse_args()
        args.func(args)
        """,
    )
    params = params_of_the_run(tmp_path, "cli.py", "--seed", "3", "train", "--lr", "0.2")
    assert params == {"seed": "3", "command": "train", "lr": "0.2", "func": "train"}


def test_click_group_and_subcommand(tmp_path):
    write(
        tmp_path / "cli.py",
        """
        import click

        @click.group()
        @click.option("--seed", type=int, default=0)
        def main(seed):
            pass

        @main.command()
        @click.option("--lr", type=float, default=0.1)
        @click.option("--tag", multiple=True)
        @click.option("--dry-run", is_flag=True)
        @click.argument("data", type=click.Path())
        def train(lr, tag, dry_run, data):
            click.echo(f"lr={lr}")

        if __name__ == "__main__":
            main()
        """,
    )
    params = params_of_the_run(tmp_path, "cli.py", "--seed", "5", "train", "--lr", "0.3",
                               "--tag", "a", "--tag", "b", "d.csv")
    assert params == {"seed": "5", "lr": "0.3", "tag": "('a', 'b')", "dry_run": "False",
                      "data": "d.csv"}


def test_a_click_exit_code_is_the_scripts(tmp_path):
    write(
        tmp_path / "cli.py",
        """
        import click

        @click.command()
        @click.option("--epochs", type=int, required=True)
        def main(epochs):
            pass

        main()
        """,
    )
    result = autolog_run(tmp_path, "cli.py")  # the option is missing: click says so, exit 2
    assert result.returncode == 2
    assert "Missing option '--epochs'" in result.stderr
    [run] = runs_in(tmp_path)
    assert run.info.status == "FAILED" and run.data.params == {}


def test_a_script_without_a_parser(tmp_path):
    write(tmp_path / "train.py", "import sys\nprint(sys.argv[1:])\n")
    assert params_of_the_run(tmp_path, "train.py", "--lr", "0.1") == {}


def test_no_run_records_nothing(tmp_path):
    write(tmp_path / "train.py", ARGPARSE)
    result = autolog_run(tmp_path, "--no-run", "train.py", "--lr", "0.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0.1 [64, 32]\n"
    assert runs_in(tmp_path) == []


def test_plain_autolog_records_no_script_arguments(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import sys
        import autolog
        autolog.autolog()
        assert "argparse" not in sys.modules and "click" not in sys.modules
        assert "autolog.integrations.script_args" not in sys.modules
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", default="0.1")
        with autolog.start_run():
            parser.parse_args()
        """,
    )
    result = subprocess.run([sys.executable, "train.py", "--lr", "0.2"], cwd=tmp_path,
                            env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [run] = runs_in(tmp_path)
    assert run.data.params == {}


@pytest.mark.usefixtures("isolated_registry")
def test_in_process_run_unwraps_argparse_afterwards(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.py", ARGPARSE)
    original = argparse.ArgumentParser.parse_known_args
    options = launcher.LaunchOptions(tracking_uri=str(tmp_path / "runs"), quiet=True)
    try:
        assert launcher.run_script("train.py", ["--epochs", "9"], options) == 0
    finally:
        autolog.autolog(disable=True)
        autolog.set_tracking_uri(None)
    assert argparse.ArgumentParser.parse_known_args is original
    [run] = runs_in(tmp_path)
    assert run.data.params["epochs"] == "9"


@pytest.mark.parametrize("bad", ["--lr", "--lr=x"])
def test_a_parse_error_is_the_scripts(tmp_path, bad):
    write(tmp_path / "train.py", ARGPARSE)
    bare = subprocess.run([sys.executable, "train.py", bad], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    result = autolog_run(tmp_path, "train.py", bad)
    assert (result.returncode, result.stdout, result.stderr) == (
        bare.returncode, bare.stdout, bare.stderr)


@pytest.mark.usefixtures("isolated_registry")
def test_a_failing_hook_never_breaks_the_parse(tmp_path, monkeypatch):
    """Error isolation is the core's: an injected fault is one warning, the script runs."""
    from autolog.testing import inject_hook_faults

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOLOG_STRICT", "0")
    write(tmp_path / "train.py", ARGPARSE, "open('parsed', 'w').write(repr(vars(args)))\n")
    options = launcher.LaunchOptions(tracking_uri=str(tmp_path / "runs"), quiet=True)
    try:
        with inject_hook_faults("*record_argparse") as fired, \
                pytest.warns(autolog.AutologWarning, match="record_argparse"):
            assert launcher.run_script("train.py", ["--lr", "2"], options) == 0
    finally:
        autolog.autolog(disable=True)
        autolog.set_tracking_uri(None)
    assert fired == ["autolog.integrations.script_args.record_argparse"]
    assert "'lr': 2.0" in (tmp_path / "parsed").read_text()
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED" and run.data.params == {}
