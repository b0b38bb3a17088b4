"""Post-import hooks: callbacks run after a watched module executes, or at once."""

from __future__ import annotations

import sys

from autolog.core.patching.importhooks import when_imported


def _write_module(tmp_path, name, body="VALUE = 42\n"):
    (tmp_path / f"{name}.py").write_text(body)


def test_callback_runs_after_import_with_the_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_module(tmp_path, "hooked_mod_a")
    seen = []
    when_imported("hooked_mod_a", lambda module: seen.append(module.VALUE))
    assert seen == []
    import hooked_mod_a  # noqa: F401

    assert seen == [42]
    loader = sys.modules["hooked_mod_a"].__loader__
    assert "exec_module" not in vars(loader)  # the loader is left as it was
    sys.modules.pop("hooked_mod_a")


def test_already_imported_module_calls_back_at_once():
    seen = []
    when_imported("json", lambda module: seen.append(module.__name__))
    assert seen == ["json"]


def test_failed_import_keeps_the_callback_for_a_later_import(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_module(tmp_path, "hooked_mod_b", "raise RuntimeError('broken')\n")
    seen = []
    when_imported("hooked_mod_b", lambda module: seen.append(module))
    try:
        import hooked_mod_b  # noqa: F401
    except RuntimeError:
        pass
    assert seen == []
    _write_module(tmp_path, "hooked_mod_b")
    sys.modules.pop("hooked_mod_b", None)
    import importlib

    importlib.invalidate_caches()
    import hooked_mod_b  # noqa: F401, F811

    assert len(seen) == 1
    sys.modules.pop("hooked_mod_b")


def test_autolog_does_not_import_wrapt_or_frameworks():
    import subprocess

    code = ("import sys, autolog; autolog.autolog(); "
            "print(sorted(m for m in ('wrapt','numpy','sklearn','torch','tensorflow') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
