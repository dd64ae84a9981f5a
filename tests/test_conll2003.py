"""On the real benchmark (CoNLL-2003 from NERWIN_CONLL_DIR; skipped where it is absent)."""

import pytest

from nerwin import config as cfg
from nerwin import tags as T
from nerwin.data import read_conll
from nerwin.metrics import score

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


def test_two_epochs_reach_dev_f1_85(conll_dir, tmp_path):
    """A regression guard on the full training set: configs/conll2003.toml, 2 epochs."""
    from nerwin.train import train

    config = cfg.load(ROOT / "configs" / "conll2003.toml", ["train.epochs=2"])
    run = train(config, tmp_path / "run", quiet=True)
    assert run.best_f1 >= 85.0, run.history
