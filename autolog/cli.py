"""The ``autolog`` command line (click).

    autolog [--tracking-uri URI] experiments
    autolog runs list [--experiment NAME] [--filter STR] [--max N]
    autolog runs show RUN_ID
    autolog runs metric RUN_ID KEY
    autolog status
    autolog run [OPTIONS] [-P key=value ...] script.py [args...]
    autolog run [OPTIONS] [-P key=value ...] -m module [args...]
    autolog run [OPTIONS] -- COMMAND [args...]
    autolog rerun RUN_ID [--in-place | --worktree DIR] [--force] [-P key=value ...]

This module only parses and prints; the work is in `autolog.launcher` and the API. It
imports nothing heavy at import time, so ``autolog --help`` is fast: each command
imports what it needs when it runs. A new command is one more decorated function below,
or, for a bigger group (``models``, ``sync``, ``ui``, ``rerun``), a module of its own
named in `LAZY_COMMANDS`.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from autolog import __version__  # the package is loaded already: this costs nothing

MAX_CELL = 48  # longest cell before truncation with '…'
MIN_CELL = 6
SHOW_CELL = 100  # `runs show` has room for longer values


# -- output helpers --------------------------------------------------------------------


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    max_cell: int = MAX_CELL,
    max_width: int | None = None,
    keep: Sequence[int] = (),
) -> str:
    """A plain-text table: widths from the content, long cells cut with '…'.

    When the table is wider than ``max_width`` (by default the terminal's width when
    stdout is a terminal, else no limit), the widest columns are narrowed until it fits,
    down to a few characters each; the columns in ``keep`` (ids) are never cut.
    """
    cells = [[_cell(v).replace("\n", " ") for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            limit = len(cell) if i in keep else max_cell
            widths[i] = max(widths[i], min(len(cell), limit))
    if max_width is None and _stdout_is_terminal():
        max_width = shutil.get_terminal_size((120, 24)).columns
    narrowable = [i for i in range(len(widths)) if i not in keep]
    while max_width and narrowable and sum(widths) + 2 * (len(widths) - 1) > max_width:
        widest = max(narrowable, key=lambda i: widths[i])
        if widths[widest] <= MIN_CELL:
            break
        widths[widest] -= 1
    lines = [
        "  ".join(_truncate(h, w).ljust(w) for h, w in zip(headers, widths)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in cells:
        lines.append("  ".join(_truncate(c, w).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except Exception:  # noqa: BLE001
        return False


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def format_number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def format_time(ms: int | None) -> str:
    if not ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def format_duration(start_ms: int | None, end_ms: int | None) -> str:
    if not start_ms:
        return ""
    if not end_ms:
        return "running"  # a run left RUNNING shows as such, not as a growing number
    seconds = max(end_ms - start_ms, 0) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _echo_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    empty: str,
    keep: Sequence[int] = (),
    max_cell: int = MAX_CELL,
) -> None:
    if rows:
        click.echo(format_table(headers, rows, keep=keep, max_cell=max_cell))
    else:
        click.echo(empty)


def _section(title: str) -> None:
    click.echo("")
    click.echo(click.style(title, bold=True))


# -- shared lookups --------------------------------------------------------------------


def _client(ctx: click.Context):
    """The `autolog.Client` for the group's --tracking-uri (or the environment), on a
    store that exists: the read commands never create one."""
    import autolog
    from autolog.core.errors import AutologException

    obj = ctx.find_object(dict) or {}
    uri = obj.get("tracking_uri")
    require_store(ctx, uri)
    try:
        return autolog.Client(tracking_uri=uri)
    except AutologException as exc:
        raise click.ClickException(str(exc)) from None


def require_store(ctx: click.Context, uri: str | None, given_by: str | None = None) -> None:
    """Exit with status 1 and "no store at PATH", where autolog looked and how to choose
    another store, unless the store at ``uri`` exists; also for a file that is no store.

    ``given_by`` names the option that gave ``uri`` (default: the group's
    --tracking-uri, or AUTOLOG_TRACKING_URI when it came from the environment).
    """
    from autolog.core.errors import AutologException, StoreNotFoundError
    from autolog.core.tracking import context

    try:
        context.require_store(uri or None)
    except StoreNotFoundError as exc:
        raise click.ClickException(f"{exc}. {_store_hint(ctx, uri, given_by)}") from None
    except AutologException as exc:
        raise click.ClickException(str(exc)) from None


def _store_hint(ctx: click.Context, uri: str | None, given_by: str | None) -> str:
    choose = "choose another store with --tracking-uri URI or AUTOLOG_TRACKING_URI"
    if not uri:
        return (f"That is the default store, ./{_default_store_dir()} in the current "
                f"directory: run this where your runs are, or {choose}.")
    if given_by is None:
        source = ctx.find_root().get_parameter_source("tracking_uri")
        from_environment = source is click.core.ParameterSource.ENVIRONMENT
        given_by = "AUTOLOG_TRACKING_URI" if from_environment else "--tracking-uri"
    return f"The store came from {given_by} {uri!r}: check the path, or {choose}."


def _default_store_dir() -> str:
    from autolog.backends import DEFAULT_STORE_DIR

    return DEFAULT_STORE_DIR


def _guard(what: Callable[[], Any]) -> Any:
    """Turn autolog's own errors into a one-line ``Error: ...`` and exit status 1."""
    from autolog.core.errors import AutologException

    try:
        return what()
    except AutologException as exc:
        raise click.ClickException(str(exc)) from None


def _get_run(client: Any, run_id: str):
    from autolog.core.errors import InvalidInputError, ResourceNotFoundError

    try:
        return client.get_run(run_id)
    except (ResourceNotFoundError, InvalidInputError):
        raise click.ClickException(f"run {run_id!r} not found") from None


def _get_experiment(client: Any, name: str):
    experiment = _guard(lambda: client.get_experiment_by_name(name))
    if experiment is None:
        raise click.ClickException(f"experiment {name!r} not found")
    return experiment


# -- the group -------------------------------------------------------------------------


class _LazyGroup(click.Group):
    """Subcommands defined in other modules, imported only when used or listed in help.

    Add one by naming it in `LAZY_COMMANDS` ("name": "module:attribute"); the module
    defines a click command or group and reads the store from
    ``ctx.find_root().obj["tracking_uri"]``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in LAZY_COMMANDS:
            import importlib

            module_name, _, attribute = LAZY_COMMANDS[name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            self.add_command(command, name)
        return command


#: Commands living in their own modules, imported only when invoked.
LAZY_COMMANDS = {
    "models": "autolog.cli_models:models",
    "sync": "autolog.cli_sync:sync_command",
    "ui": "autolog.ui.cli:ui",
    "rerun": "autolog.rerun:rerun_command",
}


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tracking-uri",
    envvar="AUTOLOG_TRACKING_URI",
    metavar="URI",
    help="Tracking store to read and write (default: ./autolog-runs; env AUTOLOG_TRACKING_URI).",
)
@click.version_option(version=__version__, prog_name="autolog")
@click.pass_context
def cli(ctx: click.Context, tracking_uri: str | None) -> None:
    """autolog: one line, and every training call is recorded."""
    ctx.ensure_object(dict)
    ctx.obj["tracking_uri"] = tracking_uri or None


# -- autolog experiments ---------------------------------------------------------------


@cli.command("experiments")
@click.pass_context
def experiments_command(ctx: click.Context) -> None:
    """List the experiments in the store."""
    client = _client(ctx)
    experiments = _guard(client.search_experiments)
    rows = [
        (e.experiment_id, e.name, format_time(e.creation_time), e.artifact_location)
        for e in experiments
    ]
    _echo_table(
        ["id", "name", "created", "artifact location"], rows, "No experiments.", keep=(0,)
    )


# -- autolog runs ... ------------------------------------------------------------------


@cli.group("runs")
def runs_group() -> None:
    """List and inspect runs."""


METRIC_COLUMNS = 3


def _metric_columns(runs: Sequence[Any], limit: int = METRIC_COLUMNS) -> list[str]:
    """The metric keys most runs share (system metrics last), at most ``limit``."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.data.metrics:
            counts[key] = counts.get(key, 0) + 1
    keys = sorted(counts, key=lambda k: (k.startswith("system/"), -counts[k], k))
    return keys[:limit]


@runs_group.command("list")
@click.option("--experiment", "-e", "experiment_name", metavar="NAME",
              help="Only this experiment (default: every experiment).")
@click.option("--filter", "-f", "filter_string", default="", metavar="STR",
              help="Filter, e.g. \"metrics.acc > 0.9 and params.C = '1.0'\".")
@click.option("--max", "-n", "max_results", default=50, show_default=True, type=click.IntRange(1),
              help="At most this many runs, newest first.")
@click.pass_context
def runs_list_command(
    ctx: click.Context, experiment_name: str | None, filter_string: str, max_results: int
) -> None:
    """List runs, newest first."""
    client = _client(ctx)
    if experiment_name:
        experiments = [_get_experiment(client, experiment_name)]
    else:
        experiments = _guard(client.search_experiments)
    names = {e.experiment_id: e.name for e in experiments}
    runs = _guard(
        lambda: client.search_runs(
            list(names), filter_string=filter_string, max_results=max_results
        )
    )
    keys = _metric_columns(runs)
    headers = ["run id", "name", "status", "start", "duration"]
    if not experiment_name:
        headers.insert(2, "experiment")
    headers += keys
    rows = []
    for run in runs:
        info = run.info
        row: list[Any] = [
            info.run_id,
            info.run_name,
            info.status,
            format_time(info.start_time),
            format_duration(info.start_time, info.end_time),
        ]
        if not experiment_name:
            row.insert(2, names.get(info.experiment_id, info.experiment_id))
        row += [run.data.metrics.get(k) for k in keys]
        rows.append(row)
    _echo_table(headers, rows, "No runs.", keep=(0,))


def _artifact_rows(client: Any, run_id: str, limit: int = 200) -> list[tuple[str, str]]:
    """Every artifact file under the run, breadth first, at most ``limit`` rows."""
    rows: list[tuple[str, str]] = []
    pending = [""]
    while pending and len(rows) < limit:
        path = pending.pop(0)
        for info in _guard(lambda p=path: client.list_artifacts(run_id, p)):
            if info.is_dir:
                rows.append((info.path + "/", ""))
                pending.append(info.path)
            else:
                size = "" if info.file_size is None else _format_size(info.file_size)
                rows.append((info.path, size))
    return rows[:limit]


def _format_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(size)


@runs_group.command("show")
@click.argument("run_id")
@click.pass_context
def runs_show_command(ctx: click.Context, run_id: str) -> None:
    """Show one run: info, params, latest metrics, tags and artifacts."""
    client = _client(ctx)
    run = _get_run(client, run_id)
    info, data = run.info, run.data
    try:
        experiment = client.get_experiment(info.experiment_id).name
    except Exception:  # noqa: BLE001 - the run is still worth showing
        experiment = ""
    fields = [
        ("run id", info.run_id),
        ("name", info.run_name),
        ("experiment", f"{experiment} ({info.experiment_id})" if experiment
         else info.experiment_id),
        ("status", info.status),
        ("start", format_time(info.start_time)),
        ("end", format_time(info.end_time)),
        ("duration", format_duration(info.start_time, info.end_time)),
        ("artifact uri", info.artifact_uri),
    ]
    width = max(len(k) for k, _ in fields)
    click.echo(click.style("Run", bold=True))
    for key, value in fields:
        click.echo(f"  {key.ljust(width)}  {value if value is not None else ''}")
    _section("Params")
    _echo_table(["key", "value"], sorted(data.params.items()), "  (none)", max_cell=SHOW_CELL)
    _section("Metrics (latest)")
    _echo_table(["key", "value"], sorted(data.metrics.items()), "  (none)")
    _section("Source")
    _echo_source(data.tags)
    _section("Tags")
    _echo_table(["key", "value"], sorted(data.tags.items()), "  (none)", max_cell=SHOW_CELL)
    _section("Artifacts")
    rows = _artifact_rows(client, info.run_id)
    _echo_table(["path", "size"], rows, "  (none)", max_cell=SHOW_CELL)


def _echo_source(tags: dict[str, str]) -> None:
    """Command, commit (dirty or not), seeds and framework versions (core.provenance)."""
    import json
    import shlex

    from autolog.core.tracking import git
    from autolog.core.tracking import provenance as p

    rows = []
    if p.TAG_ARGV in tags:
        try:
            command = shlex.join(json.loads(tags[p.TAG_ARGV]))
        except (ValueError, TypeError):
            command = tags[p.TAG_ARGV]
        rows.append(("command", command))
    if p.TAG_CWD in tags:
        rows.append(("cwd", tags[p.TAG_CWD]))
    if git.TAG_GIT_COMMIT in tags:
        dirty = tags.get(git.TAG_GIT_DIRTY) == "true"
        branch = tags.get(git.TAG_GIT_BRANCH)
        rows.append(("commit", tags[git.TAG_GIT_COMMIT] + (f" ({branch})" if branch else "")
                     + (" + uncommitted changes (code/diff.patch)" if dirty else "")))
    if git.TAG_GIT_REPO_URL in tags:
        rows.append(("repository", tags[git.TAG_GIT_REPO_URL]))
    seeds = [f"{k[len(p.SEED_PREFIX):]}={v}" for k, v in sorted(tags.items())
             if k.startswith(p.SEED_PREFIX)]
    if seeds:
        rows.append(("seeds", ", ".join(seeds)))
    frameworks = [f"{k[len(p.FRAMEWORK_PREFIX):]} {v}" for k, v in sorted(tags.items())
                  if k.startswith(p.FRAMEWORK_PREFIX)]
    if frameworks:
        rows.append(("frameworks", ", ".join(frameworks)))
    if p.TAG_PYTHON_VERSION in tags:
        rows.append(("python", tags[p.TAG_PYTHON_VERSION]))
    if p.TAG_RERUN_OF in tags:
        rows.append(("rerun of", tags[p.TAG_RERUN_OF]))
    if not rows:
        click.echo("  (none)")
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        click.echo(f"  {key.ljust(width)}  {value}")


@runs_group.command("metric")
@click.argument("run_id")
@click.argument("key")
@click.pass_context
def runs_metric_command(ctx: click.Context, run_id: str, key: str) -> None:
    """Show the history of one metric of a run."""
    client = _client(ctx)
    run = _get_run(client, run_id)
    history = _guard(lambda: client.get_metric_history(run.info.run_id, key))
    if not history:
        raise click.ClickException(f"metric {key!r} not found in run {run_id!r}")
    rows = [(m.step, m.value, format_time(m.timestamp)) for m in history]
    click.echo(format_table(["step", "value", "timestamp"], rows))


# -- autolog status --------------------------------------------------------------------


@cli.command("status")
@click.pass_context
def status_command(ctx: click.Context) -> None:
    """Which integrations are on, waiting for their framework, or skipped (and why)."""
    import autolog

    obj = ctx.find_object(dict) or {}
    if obj.get("tracking_uri"):
        _guard(lambda: autolog.set_tracking_uri(obj["tracking_uri"]))
    click.echo(f"tracking URI: {autolog.get_tracking_uri()}{_store_state()}")
    statuses = _guard(autolog.status)
    rows = [
        (s.name, s.module, s.state, s.framework_version or "", s.reason or "")
        for s in statuses
    ]
    _echo_table(
        ["integration", "module", "state", "version", "reason"], rows, "No integrations."
    )


def _store_state() -> str:
    """`` (no store there yet: ...)`` when the current store does not exist, else ""."""
    from autolog.core.errors import AutologException, StoreNotFoundError
    from autolog.core.tracking import context

    try:
        context.require_store()
    except StoreNotFoundError:
        return "  (no store there yet: the first run creates it)"
    except AutologException as exc:
        return f"  ({exc})"
    return ""


# -- autolog run -----------------------------------------------------------------------


def _parse_overrides(ctx: click.Context, param: Any, values: Sequence[str]) -> dict[str, str]:
    """``-P key=value`` (repeatable) -> {key: value}; also used by ``autolog rerun``."""
    import re

    overrides: dict[str, str] = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx, param)
        overrides[key] = value
    return overrides


class _RunCommand(click.Command):
    """Remembers whether ``--`` came before the first argument (subprocess mode)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        value_options = set()
        for param in self.params:
            if isinstance(param, click.Option) and not param.is_flag:
                value_options.update(param.opts)
        args = list(args)
        i = 0
        ctx.meta["autolog.run.command"] = False
        while i < len(args):
            arg = args[i]
            if arg == "--":
                ctx.meta["autolog.run.command"] = True
                break
            if arg.startswith("-m") and len(arg) > 2 and not arg.startswith("--"):
                args[i : i + 1] = ["-m", arg[2:]]  # python's -mpackage.module
                break
            if not arg.startswith("-") or arg == "-":
                break  # the script: everything after it is the script's
            if arg in value_options:
                i += 1  # skip the option's value
            i += 1
        return super().parse_args(ctx, args)


@cli.command(
    "run",
    cls=_RunCommand,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--experiment", metavar="NAME", help="Experiment to log into (created if missing).")
@click.option("--tracking-uri", "run_tracking_uri", metavar="URI", help="Tracking store.")
@click.option("--run-name", metavar="NAME", help="Name of the run (default: the script's name).")
@click.option("--no-models", is_flag=True, help="Do not log fitted models.")
@click.option("--system-metrics", is_flag=True, help="Sample CPU, memory, disk, network and GPU.")
@click.option("--no-run", is_flag=True,
              help="Open no run around the script: each training gets its own run.")
@click.option("-m", "module", is_flag=True, help="Run a module, as python -m does.")
@click.option("-q", "--quiet", is_flag=True,
              help="No closing line on stderr saying where the run went.")
@click.option("-P", "overrides", multiple=True, metavar="KEY=VALUE", callback=_parse_overrides,
              help="Set the script's --KEY option to VALUE (argparse/click); logged as a param.")
@click.argument("target", nargs=-1, type=click.UNPROCESSED, metavar="SCRIPT [ARGS]...")
@click.pass_context
def run_command(
    ctx: click.Context,
    experiment: str | None,
    run_tracking_uri: str | None,
    run_name: str | None,
    no_models: bool,
    system_metrics: bool,
    no_run: bool,
    module: bool,
    quiet: bool,
    overrides: dict[str, str],
    target: tuple[str, ...],
) -> None:
    """Run a script, a module or a command with autologging on.

    \b
      autolog run train.py --epochs 3
      autolog run -m mypackage.train --epochs 3
      autolog run -- torchrun --nproc-per-node 2 train.py
      autolog run -- python train.py

    The script runs in this process as __main__, inside a run named after it; the exit
    status is the script's, its argparse/click options are params of the run, and a
    last line on stderr names the run and its store (--quiet: none). After '--', the
    command runs with every Python process it starts autologged (through a sitecustomize
    on PYTHONPATH); each training gets its own run.
    """
    from autolog import launcher

    obj = ctx.find_object(dict) or {}
    options = launcher.LaunchOptions(
        tracking_uri=run_tracking_uri or obj.get("tracking_uri"),
        experiment=experiment,
        run_name=run_name,
        log_models=False if no_models else None,
        log_system_metrics=True if system_metrics else None,
        open_run=not no_run,
        quiet=quiet,
        overrides=overrides,
    )
    as_command = ctx.meta.get("autolog.run.command", False)
    if as_command and overrides:
        raise click.UsageError("-P works for a script or a module, not after '--'", ctx)
    if not target:
        raise click.UsageError(
            "give a command after '--'" if as_command else
            ("give a module after -m" if module else "give a script to run"), ctx)
    if as_command and module:
        raise click.UsageError("-m and '--' do not go together", ctx)
    try:
        if as_command:
            code = _guard(lambda: launcher.run_command(target, options))
        else:
            code = _guard(
                lambda: launcher.run_script(target[0], target[1:], options, module=module,
                                            owns_process=True)
            )
    except launcher.LaunchError as exc:
        click.echo(f"autolog: {exc}", err=True)
        ctx.exit(exc.exit_code)
    ctx.exit(code)


def main(argv: Sequence[str] | None = None) -> Any:
    """The ``autolog`` console script (and ``python -m autolog``)."""
    return cli.main(args=list(argv) if argv is not None else None, prog_name="autolog")


if __name__ == "__main__":  # pragma: no cover
    main()
