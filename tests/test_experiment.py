"""The fine-tuning experiment end to end on the sample corpus, and its parts."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nerwin.cli import cli
from nerwin.data import read_conll
from nerwin.experiment import MODES, subset

from conftest import SAMPLE


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """The experiment run once (12 small trainings): the tests that use it are slow."""
    out = tmp_path_factory.mktemp("exp") / "finetune"
    result = CliRunner().invoke(cli, ["experiment", "finetune", "--fractions", "0.1,1", "--seeds", "2",
                                      "--out", str(out), "--min-steps", "30", "--set", "model.hidden=[20]",
                                      "--set", "train.epochs=2", "--quiet"])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.mark.slow
def test_table_holds_every_cell(experiment):
    out, _ = experiment
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 2 * 2 * 3
    assert set(map(tuple, table[["fraction", "seed", "mode"]].values)) == {
        (f, s, m) for f in (0.1, 1.0) for s in (1, 2) for m in MODES}
    for column in ("dev_f1", "unseen_accuracy", "unseen_tokens", "train_sentences", "epochs"):
        assert table[column].notna().all(), column
    assert (table["unseen_tokens"] > 0).all()
    n = len(read_conll(SAMPLE / "train.conll"))
    assert set(table["train_sentences"]) == {int(np.ceil(0.1 * n)), n}
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 * 3 and (summary["seeds"] == 2).all()
    assert summary["dev_f1_sd"].notna().all()
    md = (out / "summary.md").read_text()
    assert md.count("\n| 0.1 |") == 3 or md.count("| 0.10 |") == 3


@pytest.mark.slow
def test_drift_table_and_plot(experiment):
    out, output = experiment
    drift = pd.read_csv(out / "drift.csv")
    assert {"pair", "cosine_before", "cosine_after", "neighbours before", "neighbours after"} <= set(drift.columns)
    assert "tv / television" in set(drift["pair"])
    tv = drift[drift["pair"] == "tv / television"].iloc[0]
    assert -1 <= tv["cosine_before"] <= 1
    moved = drift[drift["trained"] != "-"]
    assert len(moved) >= 3                              # the most-moved training words
    if (out / "finetune.png").exists():
        assert (out / "finetune.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "plot:" in output
    else:
        assert "pip install 'nerwin[plot]'" in output


@pytest.mark.slow
def test_unseen_words_keep_their_pretrained_vectors(experiment):
    """The 'television' words: in every mode, a dev word absent from training is looked up
    in the pretrained table, never in the (moved) trained rows."""
    from nerwin.tagger import Tagger
    out, _ = experiment
    tagger = Tagger.load(out / "runs" / "f0.1-s1-all")
    assert "television" not in set(tagger.vocab.words)
    windows = tagger.featurize(np.array(["television"], dtype=object), np.array([1]))
    centre = windows.words[0, 2]
    assert centre >= len(tagger.vocab)                  # an extra (pretrained) row
    glove = tagger.pretrained
    np.testing.assert_array_equal(windows.extra[centre - len(tagger.vocab)],
                                  glove.vectors[glove.lookup(["television"])[0]])


def test_subsets_are_seeded_and_sized():
    corpus = read_conll(SAMPLE / "train.conll")
    a, b, c = subset(corpus, 0.1, 1), subset(corpus, 0.1, 1), subset(corpus, 0.1, 2)
    assert len(a) == int(np.ceil(0.1 * len(corpus)))
    assert list(a.words) == list(b.words) and list(a.words) != list(c.words)
    assert len(subset(corpus, 0.0001, 1)) == 1


def test_bad_fractions_are_usage_errors():
    result = CliRunner().invoke(cli, ["experiment", "finetune", "--fractions", "0.1,abc"])
    assert result.exit_code == 2 and "--fractions" in result.output
