"""Helpers shared by the local backends (SQLite and memory).

Artifacts are kept in a local directory per run. Every path is resolved with
``os.path.realpath`` and must stay inside the run's artifact directory, so neither a
crafted ``artifact_path`` nor a symlink planted inside the directory can make the store
read or write elsewhere. Paths reaching here were already checked by
`core.validation.artifact_path`; this is defense in depth.
"""

from __future__ import annotations

import os
import re
import shutil

from autolog.core.entities import FileInfo
from autolog.core.errors import InvalidInputError, ResourceNotFoundError


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def confined(root: str, path: str = "", *, run_id: str = "") -> str:
    """``root/path`` resolved; raise InvalidInputError if it leaves ``root``."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *(path or "").split("/")))
    if not _inside(target, real_root):
        raise InvalidInputError(
            f"Artifact path {path!r} resolves outside the artifact directory of run "
            f"{run_id or root}; artifact paths must stay inside the run."
        )
    return target


def _copy_file(src: str, dst: str, root: str, run_id: str) -> None:
    parent = os.path.dirname(dst)
    os.makedirs(parent, exist_ok=True)
    # Re-resolve after creating directories: a symlinked directory on the way shows here.
    real = os.path.join(os.path.realpath(parent), os.path.basename(dst))
    if os.path.islink(real):
        real = os.path.realpath(real)
    if not _inside(real, os.path.realpath(root)):
        raise InvalidInputError(
            f"Refusing to write {dst!r}: it resolves to {real!r}, outside the artifact "
            f"directory of run {run_id or root}."
        )
    shutil.copy2(src, real)


def _copy_tree(src_dir: str, dst_dir: str, root: str, run_id: str) -> None:
    for dirpath, _dirnames, filenames in os.walk(src_dir):
        relative = os.path.relpath(dirpath, src_dir)
        target_dir = dst_dir if relative == "." else os.path.join(dst_dir, relative)
        os.makedirs(target_dir, exist_ok=True)
        if not _inside(os.path.realpath(target_dir), os.path.realpath(root)):
            raise InvalidInputError(
                f"Refusing to write into {target_dir!r}: it resolves outside the artifact "
                f"directory of run {run_id or root}."
            )
        for name in filenames:
            _copy_file(os.path.join(dirpath, name), os.path.join(target_dir, name), root, run_id)


def log_artifact(root: str, local_path: str, artifact_path: str = "", *, run_id: str = "") -> None:
    """A file goes to ``artifact_path/<its name>``; a directory's contents go under
    ``artifact_path`` (MLflow's ``log_artifact`` / ``log_artifacts``)."""
    if not os.path.exists(local_path):
        raise InvalidInputError(f"Cannot log artifact {local_path!r}: no such file or directory.")
    os.makedirs(root, exist_ok=True)
    destination = confined(root, artifact_path, run_id=run_id)
    if os.path.isdir(local_path):
        _copy_tree(local_path, destination, root, run_id)
    else:
        name = os.path.basename(os.path.normpath(local_path))
        _copy_file(local_path, os.path.join(destination, name), root, run_id)


def list_artifacts(root: str, path: str = "", *, run_id: str = "") -> list[FileInfo]:
    """The direct children of ``path`` (relative, '/'-separated), sorted by path."""
    target = confined(root, path, run_id=run_id)
    if not os.path.isdir(target):
        return []
    real_root = os.path.realpath(root)
    infos = []
    for entry in sorted(os.listdir(target)):
        full = os.path.join(target, entry)
        if not _inside(os.path.realpath(full), real_root):
            continue  # a symlink pointing outside is not part of the run
        relative = os.path.relpath(full, real_root).replace(os.sep, "/")
        is_dir = os.path.isdir(full)
        infos.append(FileInfo(relative, is_dir, None if is_dir else os.path.getsize(full)))
    return infos


def download_artifacts(root: str, path: str, dst_dir: str, *, run_id: str = "") -> str:
    """Copy ``path`` (a file or directory; "" for everything) into ``dst_dir``."""
    source = confined(root, path, run_id=run_id)
    if not os.path.exists(source):
        raise ResourceNotFoundError(f"No artifact {path!r} in run {run_id or root}.")
    os.makedirs(dst_dir, exist_ok=True)
    if not path:
        destination = os.path.abspath(dst_dir)
    else:
        destination = os.path.join(os.path.abspath(dst_dir), os.path.basename(source))
    if os.path.isdir(source):
        real_root = os.path.realpath(root)
        for dirpath, _dirnames, filenames in os.walk(source):
            relative = os.path.relpath(dirpath, source)
            target_dir = destination if relative == "." else os.path.join(destination, relative)
            os.makedirs(target_dir, exist_ok=True)
            for name in filenames:
                src = os.path.join(dirpath, name)
                if _inside(os.path.realpath(src), real_root):
                    shutil.copy2(src, os.path.join(target_dir, name))
    else:
        shutil.copy2(source, destination)
    return destination


def local_path(root: str, path: str = "", *, run_id: str = "") -> str:
    return confined(root, path, run_id=run_id)


# -- model registry rules ----------------------------------------------------------------

STAGES = ("None", "Staging", "Production", "Archived")
MODEL_VERSION_FILTER_FIELDS = ("name", "run_id", "source", "version")
REGISTERED_MODEL_FILTER_FIELDS = ("name",)


def canonical_stage(stage: str) -> str:
    """'production' -> 'Production'; anything unknown raises InvalidInputError."""
    for accepted in STAGES:
        if isinstance(stage, str) and stage.lower() == accepted.lower():
            return accepted
    raise InvalidInputError(
        f"Invalid model version stage {stage!r}; accepted: {', '.join(STAGES)}."
    )


def version_number(name: str, version: object) -> int:
    try:
        number = int(str(version))
    except ValueError:
        raise InvalidInputError(
            f"Invalid version {version!r} of model {name!r}: expected a positive integer."
        ) from None
    if number < 1:
        raise InvalidInputError(
            f"Invalid version {version!r} of model {name!r}: expected a positive integer."
        )
    return number


_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_run_id(run_id: object) -> str:
    """A run id given by a caller (sync, the spool) names a directory: letters, digits,
    ``_`` and ``-`` only, so that it can never lead out of the store."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidInputError(
            f"Invalid run id {run_id!r}: expected 1-64 letters, digits, '_' or '-'."
        )
    return run_id


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(
            f"Invalid registered model name {name!r}: expected a non-empty string."
        )
    return name
