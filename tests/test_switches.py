"""Config switches end to end on the sample corpus: each experiment config trains, frozen
means untouched, "seen" moves only training words, runs compare side by side."""

import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from nerwin import config as cfg
from nerwin.cli import cli
from nerwin.features import SPECIALS
from nerwin.tagger import Tagger
from nerwin.train import load_corpora, train
from nerwin.embeddings import load_pretrained

from conftest import ROOT, SAMPLE

EXPERIMENTS = sorted((ROOT / "configs" / "experiments").glob("*.toml"))
SAMPLE_DATA = [f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"']


def test_reference_config_lists_every_key_with_its_default():
    reference = tomllib.loads((ROOT / "configs" / "reference.toml").read_text())
    assert reference == cfg.DEFAULTS


def test_experiment_configs_cover_every_switch_family():
    names = {p.stem for p in EXPERIMENTS}
    assert names >= {"regularization", "initialization", "optimizer", "schedule", "activation", "loss", "embeddings"}


@pytest.mark.slow
@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_each_experiment_config_trains(path, tmp_path):
    config = cfg.load(path, SAMPLE_DATA + ["train.epochs=5"])
    run = train(config, tmp_path / "run", quiet=True)
    assert run.best_f1 > 20.0, run.history      # it learns something in 5 epochs


def initial_and_trained(finetune, tmp_path, *overrides):
    config = cfg.load(None, SAMPLE_DATA + ["train.epochs=2", f'embeddings.finetune="{finetune}"', *overrides])
    train_c, _ = load_corpora(config)
    initial = Tagger.create(config, train_c, load_pretrained("glove-6b-50d"),
                            np.random.default_rng(config["train"]["seed"]))
    trained = train(config, tmp_path / finetune, quiet=True).tagger
    assert list(trained.vocab.words) == list(initial.vocab.words)
    return initial.network.params["E"], trained.network.params["E"], trained


def test_frozen_run_leaves_every_word_vector_unchanged(tmp_path):
    before, after, _ = initial_and_trained("none", tmp_path)
    np.testing.assert_array_equal(after, before)


def test_seen_run_changes_only_rows_of_training_words(tmp_path):
    before, after, tagger = initial_and_trained("seen", tmp_path)
    changed = np.flatnonzero(np.any(after != before, axis=1))
    training_words = set(tagger.vocab.keys(tagger_words()))
    assert len(changed) > 100
    assert all(tagger.vocab.words[i] in training_words for i in changed)
    np.testing.assert_array_equal(after[:len(SPECIALS)], before[:len(SPECIALS)])


def test_seen_run_keeps_the_special_vectors_with_word_dropout_too(tmp_path):
    before, after, _ = initial_and_trained("seen", tmp_path, "regularization.word_dropout=0.3", "model.hidden=[50]")
    np.testing.assert_array_equal(after[:len(SPECIALS)], before[:len(SPECIALS)])


def test_word_dropout_run_learns_and_repeats_bit_for_bit(tmp_path):
    from nerwin.evaluate import evaluate

    base = SAMPLE_DATA + ["train.epochs=3", "model.hidden=[50]"]
    dropped = cfg.load(None, base + ["regularization.word_dropout=0.3"])
    runs = [train(dropped, tmp_path / f"run{i}", quiet=True) for i in (1, 2)]
    plain = train(cfg.load(None, base), tmp_path / "plain", quiet=True)
    model = lambda run: (run.path / "model.npz").read_bytes()
    assert model(runs[0]) == model(runs[1]) != model(plain)
    assert runs[0].best_f1 > 20.0, runs[0].history
    tagger = runs[0].tagger
    assert tagger.network.word_dropout == 0.3          # kept in the model's config, idle at prediction
    dev = load_corpora(dropped)[1]
    assert evaluate(tagger, dev) == evaluate(tagger, dev)


def test_all_run_also_moves_the_special_vectors(tmp_path):
    before, after, _ = initial_and_trained("all", tmp_path)
    assert np.any(after[:len(SPECIALS)] != before[:len(SPECIALS)])


def tagger_words():
    from nerwin.data import read_conll
    return read_conll(SAMPLE / "train.conll").words


def test_early_stopping_with_patience(tmp_path):
    config = cfg.load(None, SAMPLE_DATA + ["train.epochs=10", "train.patience=2", "optimizer.lr=1e-12"])
    run = train(config, tmp_path / "run", quiet=True)
    assert len(run.history) == 3                   # epoch 1 sets the best, 2 and 3 do not beat it


def test_compare_shows_the_keys_that_differ(tmp_path):
    runner = CliRunner()
    for name, act in (("a", "tanh"), ("b", "relu")):
        result = runner.invoke(cli, ["train", "--quiet", "--out", str(tmp_path / name), "--set", "train.epochs=1",
                                     "--set", f'model.activation="{act}"', "--set", "model.hidden=[20]",
                                     *sum((["--set", s] for s in SAMPLE_DATA), [])])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["compare", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.strip().split("\n")
    assert "model.activation" in header and "best_dev_f1" in header
    assert header.split()[0] == "run" and len(rows) == 2          # no line for pandas' index name
    assert "model.hidden" not in header            # the same in both runs
    assert {r.split()[1] for r in rows if r.startswith(str(tmp_path))} == {"tanh", "relu"}


def test_config_show_and_check(tmp_path):
    runner = CliRunner()
    shown = runner.invoke(cli, ["config", "show", "--set", "optimizer.lr=0.01"])
    assert shown.exit_code == 0
    assert cfg.loads(shown.output)["optimizer"]["lr"] == 0.01
    good = runner.invoke(cli, ["config", "check", str(ROOT / "configs" / "conll2003.toml")])
    assert good.exit_code == 0 and "ok" in good.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[regularization]\ndropout_input = 1.0\n")
    result = runner.invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 2 and "regularization.dropout_input" in result.output


def test_case_variants_train_on_recased_copies_with_the_same_vocabulary(tmp_path):
    from nerwin.data import read_conll, recase
    from nerwin.train import evaluate

    said = []
    base = SAMPLE_DATA + ["train.epochs=2", "model.hidden=[100]"]
    plain = train(cfg.load(None, base), tmp_path / "plain", quiet=True).tagger
    robust = train(cfg.load(None, base + ['data.case_variants=["lower"]']), tmp_path / "lower",
                   log=said.append).tagger
    assert list(robust.vocab.words) == list(plain.vocab.words)  # built from the file as written
    assert any("copy per case (lower)" in line and "dev F1 (model selection)" in line for line in said)
    lowered = recase(read_conll(SAMPLE / "dev.conll"), "lower")
    assert evaluate(robust, lowered)["f1"] > evaluate(plain, lowered)["f1"] + 10
