"""The benchmark's parts run and measure the right things (no test asserts a time)."""

import numpy as np

from nerwin import bench
from nerwin import config as cfg
from nerwin.data import read_conll
from nerwin.embeddings import load_pretrained

from conftest import ROOT, SAMPLE


def test_synthetic_corpus_has_the_shape_asked_for():
    pretrained = load_pretrained("glove-6b-50d")
    corpus = bench.synthetic_corpus((100, 1234), pretrained, np.random.default_rng(0))
    assert (len(corpus), corpus.n_tokens) == (100, 1234)
    assert corpus.lengths.sum() == 1234
    assert set(corpus.entity_types()) == {"LOC", "MISC", "ORG", "PER"}


def test_prediction_figures_are_positive_rates():
    config = cfg.load(ROOT / "configs" / "default.toml")
    pretrained = load_pretrained("glove-6b-50d")
    speeds = bench.predict_speed(config, read_conll(SAMPLE / "train.conll"), read_conll(SAMPLE / "test.conll"),
                                 pretrained, repeat=2)
    assert set(speeds) == {"model_only", "end_to_end", "model_only_argmax", "end_to_end_like_twin"}
    assert all(len(v) == 2 and min(v) > 0 for v in speeds.values())


def test_like_twin_switches_off_only_what_the_twin_does_not_do():
    config = cfg.load(ROOT / "configs" / "conll2003.toml", ['data.train="x"', 'data.dev="x"'])
    twin = bench.like_twin(config)
    assert twin["regularization"]["dropout_input"] == twin["regularization"]["dropout_hidden"] == 0
    assert twin["regularization"]["l2"] == 0 and twin["model"]["decode"] == "argmax"
    assert config["regularization"]["dropout_hidden"] > 0 and config["model"]["decode"] == "viterbi"  # a copy
    for section in ("model", "optimizer", "train", "embeddings"):
        changed = {k for k in config[section] if config[section][k] != twin[section][k]}
        assert changed <= {"decode"}


def test_vectorization_lesson_compares_like_with_like():
    result = bench.vectorization_lesson(n=64)
    assert result["windows"] == 64 and result["loop_s"] > 0 and result["matrix_s"] > 0
