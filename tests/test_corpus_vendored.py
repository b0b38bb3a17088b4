"""The corpus's vendored galleries (compat/corpus/vendor): licensed, pinned, unmodified.

CI cannot reach GitHub, so LightGBM's, Keras's, PyTorch's and Lightning's examples are
kept in the repository; these checks keep that honest without running any framework.
"""

from __future__ import annotations

import os
import sys

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "compat", "corpus")
sys.path.insert(0, CORPUS)

import fetch  # noqa: E402
import run_corpus  # noqa: E402

PERMISSIVE = {"MIT", "BSD-3-Clause", "BSD-2-Clause", "Apache-2.0"}


def _vendored() -> dict[str, dict]:
    return {key: s for key, s in fetch.load_sources().items() if s["kind"] == "vendored"}


def test_each_vendored_source_is_permissive_pinned_and_has_its_license_beside_it():
    sources = _vendored()
    assert sources
    for key, source in sources.items():
        assert source["license"] in PERMISSIVE, key
        assert source["repo"].startswith("github.com/") and source["ref"], key
        folder = fetch.fetch(key, source)
        assert os.path.isfile(os.path.join(folder, "LICENSE")), key


def test_each_vendored_script_matches_its_pinned_hash():
    sources = _vendored()
    manifests = [m for m in run_corpus.load_manifests() if m.source in sources]
    assert len(manifests) >= 12
    for manifest in manifests:
        folder = fetch.fetch(manifest.source, sources[manifest.source])
        assert fetch.sha256_of(os.path.join(folder, manifest.path)) == manifest.sha256, \
            manifest.id


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
