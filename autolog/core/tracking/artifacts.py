"""Writing a run's artifact files from values (text, a dict, a figure) through a scratch
directory: what the fluent API, sessions and the deferred worker share."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from autolog.core import validation
from autolog.core.errors import InvalidInputError
from autolog.core.tracking import context

__all__ = ["serialize_dict", "write_figure", "write_text"]


@contextlib.contextmanager
def _scratch_directory() -> Iterator[str]:
    """A temporary directory removed when the block ends, and only then.

    Not `tempfile.TemporaryDirectory`: its finalizer runs among the atexit handlers, so
    while the deferred worker writes a plot during interpreter exit, the directory could be
    removed under it (seen with a script that ends right after its one fit).
    """
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="autolog-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_text(uri: str, run_id: str, text: str, artifact_file: str) -> None:
    """Write ``text`` as the artifact file ``artifact_file`` of ``run_id``."""
    relative = validation.artifact_path(artifact_file)
    if not relative:
        raise InvalidInputError(f"Invalid artifact file {artifact_file!r}: a file name is needed.")
    directory, name = os.path.split(relative)
    with _scratch_directory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        context.get_store(uri).log_artifact(run_id, path, directory)


def serialize_dict(dictionary: Mapping[str, Any], artifact_file: str) -> str:
    """JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dict(dictionary), default_flow_style=False, sort_keys=False)
    import json

    return json.dumps(dictionary, indent=2, default=str)


def write_figure(uri: str, run_id: str, figure: Any, artifact_file: str) -> None:
    """Save a matplotlib (or plotly) figure as the artifact file ``artifact_file``."""
    relative = validation.artifact_path(artifact_file)
    directory, name = os.path.split(relative)
    if not name:
        raise InvalidInputError(f"Invalid artifact file {artifact_file!r}: a file name is needed.")
    with _scratch_directory() as tmp:
        path = os.path.join(tmp, name)
        if hasattr(figure, "savefig"):
            figure.savefig(path)
        elif hasattr(figure, "write_html") and name.endswith(".html"):
            figure.write_html(path)
        elif hasattr(figure, "write_image"):
            figure.write_image(path)
        else:
            raise InvalidInputError(
                f"log_figure: unsupported figure type {type(figure).__name__}; expected a "
                "matplotlib Figure or a plotly Figure."
            )
        context.get_store(uri).log_artifact(run_id, path, directory)
