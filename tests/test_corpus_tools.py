"""The corpus runner's own pieces (compat/corpus): stdout normalisation, expectations, manifests."""

from __future__ import annotations

import os
import sys

import pytest

CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "compat", "corpus")
sys.path.insert(0, CORPUS)

import expect  # noqa: E402
import run_corpus  # noqa: E402
from normalise import normalise  # noqa: E402


def test_normalise_keeps_what_was_computed_and_drops_run_noise():
    bare = ("Accuracy: 0.934567\nFit took 1.23s\ndone in 12.5 seconds\n"
            "<Model at 0x7f12ab34cd56>\nsaved /tmp/corpus-x/bare/model.json\n"
            "epoch 1\r\x1b[32mepoch 2\x1b[0m\n1/10 ━━━━━━ 3ms/step\n   \n")
    logged = ("Accuracy: 0.93461\nFit took 0.98s\ndone in 40.1 seconds\n"
              "<Model at 0x7f99ffee0011>\nsaved /tmp/corpus-x/autolog/model.json\n"
              "epoch 2\n")
    assert normalise(bare, "/tmp/corpus-x/bare") == normalise(logged, "/tmp/corpus-x/autolog")
    assert normalise(bare, "/tmp/corpus-x/bare")[0] == "Accuracy: 0.935"


def test_normalise_still_sees_a_changed_result():
    assert normalise("Accuracy: 0.93\n") != normalise("Accuracy: 0.95\n")
    assert normalise("n_iter: 12\n") != normalise("n_iter: 13\n")


def test_expectation_is_checked_against_what_the_store_holds():
    wanted = expect.parse("runs>=1; params: C, max_iter; metrics: training_*; model: sklearn")
    full = expect.Captured(training_runs=2, params={"C", "max_iter", "tol"},
                           metrics={"training_accuracy_score"}, flavors={"sklearn"})
    assert expect.missing(wanted, full) == []
    thin = expect.Captured(training_runs=0, params={"C"})
    assert expect.missing(wanted, thin) == [
        "runs 0 (want >=1)", "param max_iter", "metric training_*", "model sklearn"]


def test_an_unknown_expectation_clause_is_an_error():
    with pytest.raises(ValueError):
        expect.parse("runs>=1; parms: C")


def test_every_manifest_is_complete_and_its_expectation_parses():
    manifests = run_corpus.load_manifests()
    assert len(manifests) >= 40
    sources = run_corpus.fetch.load_sources()
    for manifest in manifests:
        assert manifest.source in sources, manifest.id
        assert len(manifest.sha256) == 64, manifest.id
        assert manifest.stdout in ("compare", "ignore"), manifest.id
        assert (manifest.stdout == "compare" and not manifest.mask) or manifest.why, manifest.id
    assert any(m.fast for m in manifests)
