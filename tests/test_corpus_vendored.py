"""The corpus's git sources (compat/corpus/vendor): licensed, pinned, never committed.

No registry ships LightGBM's, Keras's, PyTorch's or Lightning's examples, and nobody
else's code is committed here: the folder is a local cache filled by ``fetch.py
--git-dir``. Where it is filled, the files must match their pins; where it is not (CI),
the corpus reports their scripts as not available. No framework is run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "compat", "corpus")
sys.path.insert(0, CORPUS)

import fetch  # noqa: E402
import run_corpus  # noqa: E402

PERMISSIVE = {"MIT", "BSD-3-Clause", "BSD-2-Clause", "Apache-2.0"}


def _vendored() -> dict[str, dict]:
    return {key: s for key, s in fetch.load_sources().items() if s["kind"] == "git"}


def _filled(key: str, source: dict) -> str | None:
    try:
        return fetch.fetch(key, source)
    except fetch.SourceUnavailable:
        return None


def test_each_git_source_is_permissive_pinned_and_names_what_it_extracts():
    sources = _vendored()
    assert sources
    for key, source in sources.items():
        assert source["license"] in PERMISSIVE, key
        assert source["repo"].startswith("github.com/") and source["ref"], key
        assert source["paths"], key
        folder = _filled(key, source)
        assert folder is None or os.path.isfile(os.path.join(folder, "LICENSE")), key


def test_no_file_of_a_git_source_is_committed():
    tracked = subprocess.run(["git", "ls-files", "vendor"], cwd=CORPUS,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == ["vendor/README.md"]


def test_each_filled_git_script_matches_its_pinned_hash():
    sources = _vendored()
    manifests = [m for m in run_corpus.load_manifests() if m.source in sources]
    assert len(manifests) >= 12
    checked = 0
    for manifest in manifests:
        folder = _filled(manifest.source, sources[manifest.source])
        if folder is None:
            continue
        assert fetch.sha256_of(os.path.join(folder, manifest.path)) == manifest.sha256, \
            manifest.id
        checked += 1
    if not checked:
        pytest.skip("no git source filled on this machine (fetch.py --git-dir)")


def test_every_framework_has_a_script_and_one_in_the_fast_subset():
    manifests = run_corpus.load_manifests()
    for framework in ("sklearn", "xgboost", "lightgbm", "keras", "pytorch", "lightning"):
        assert any(m.framework == framework for m in manifests), framework
        assert any(m.framework == framework and m.fast for m in manifests), framework


def test_the_vendor_readme_names_every_vendored_folder():
    with open(os.path.join(CORPUS, "vendor", "README.md")) as handle:
        readme = handle.read()
    for source in _vendored().values():
        assert f"`{os.path.basename(source['folder'])}/`" in readme, source["folder"]
