"""On the real benchmark (CoNLL-2003 from NERWIN_CONLL_DIR; skipped where it is absent)."""

import pytest

from nerwin import config as cfg
from nerwin import tags as T
from nerwin.data import read_conll
from nerwin.scoring import score

from conftest import ROOT

COUNTS = {"eng.train": (14041, 203621), "eng.testa": (3250, 51362), "eng.testb": (3453, 46435)}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_reader_counts_match_the_corpus_readme(conll_dir, name):
    corpus = read_conll(conll_dir / name)
    assert (len(corpus), corpus.n_tokens) == COUNTS[name]
    assert corpus.scheme == "iob1"
    assert corpus.entity_types() == ["LOC", "MISC", "ORG", "PER"]


def test_scheme_conversion_keeps_every_entity(conll_dir):
    corpus = read_conll(conll_dir / "eng.testa")
    for scheme in ("iob2", "iobes"):
        converted = T.convert(corpus.tags, corpus.first, scheme)
        result = score(corpus.tags, converted, corpus.first)
        assert result["f1"] == 100.0 and result["correct_entities"] == result["gold_entities"] == 5942
        assert (T.convert(converted, corpus.first, "iob1") == corpus.tags).all()


@pytest.mark.slow
def test_two_epochs_reach_dev_f1_88(conll_dir, tmp_path):
    """A regression guard on the full training set: configs/conll2003.toml, 2 epochs, without
    its case variants (they would triple the time; tests/test_switches.py covers them)."""
    from nerwin.train import train

    config = cfg.load(ROOT / "configs" / "conll2003.toml", ["train.epochs=2", "data.case_variants=[]"])
    run = train(config, tmp_path / "run", quiet=True)
    assert run.best_f1 >= 88.0, run.history


SHIPPED = ROOT / "nerwin" / "models" / "en.npz"


def test_shipped_model_scores_what_its_card_says(conll_dir):
    """The shipped model, scored again on eng.testa and eng.testb, gives the figures of its
    card (nerwin/models/en.json) and of the README's model card."""
    import json
    from nerwin.modelcard import card

    saved = json.loads(SHIPPED.with_suffix(".json").read_text())
    fresh = card(SHIPPED, conll_dir)
    readme = (ROOT / "README.md").read_text()
    for split in ("dev", "test"):
        a, b = saved["splits"][split], fresh["splits"][split]
        for key in ("f1", "precision", "recall", "token_accuracy", "per_type_f1", "cases"):
            assert a[key] == b[key], (split, key)
        assert f"{a['f1']:.2f}" in readme
    assert saved["config"] == fresh["config"]


def test_predict_without_model_uses_the_shipped_one():
    from click.testing import CliRunner
    from nerwin.cli import cli

    result = CliRunner().invoke(cli, ["predict", "--format", "jsonl", "Angela Merkel visited Paris."])
    assert result.exit_code == 0, result.output
    record = __import__("json").loads(result.output.splitlines()[0])
    assert [(e["text"], e["label"]) for e in record["entities"]] == [("Angela Merkel", "PER"), ("Paris", "LOC")]
