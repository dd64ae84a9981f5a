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
    assert set(speeds) == {"model_only", "end_to_end", "model_only_argmax", "end_to_end_light"}
    assert all(len(v) == 2 and min(v) > 0 for v in speeds.values())


def test_light_work_switches_off_only_dropout_l2_and_viterbi():
    config = cfg.load(ROOT / "configs" / "conll2003.toml", ['data.train="x"', 'data.dev="x"'])
    light = bench.light_work(config)
    assert light["regularization"]["dropout_input"] == light["regularization"]["dropout_hidden"] == 0
    assert light["regularization"]["l2"] == 0 and light["model"]["decode"] == "argmax"
    assert config["regularization"]["dropout_hidden"] > 0 and config["model"]["decode"] == "viterbi"  # a copy
    for section in ("model", "optimizer", "train", "embeddings"):
        changed = {k for k in config[section] if config[section][k] != light[section][k]}
        assert changed <= {"decode"}


def test_vectorization_lesson_compares_like_with_like():
    result = bench.vectorization_lesson(n=64)
    assert result["windows"] == 64 and result["loop_s"] > 0 and result["matrix_s"] > 0


def test_table_puts_the_lighter_work_last_under_a_heading_that_says_what_it_is():
    s = {"median": 2.0, "min": 1.0, "max": 3.0, "runs": 3}
    result = {"data": "synthetic", "peak_rss_mb": {"predict": 46.0},
              "detail": {"train frozen B=128 windows/s": s, f"{bench.LIGHT}train frozen B=128 windows/s": s,
                         "predict model_only tokens/s": s, f"{bench.LIGHT}predict model_only tokens/s": s},
              "profile": {"step_ms": 5.0, "matmul_ms": 2.0, "matmul_share": 0.4, "gflops_in_products": 30.0},
              "vectorization": {"windows": 64, "loop_s": 0.01, "matrix_s": 0.001, "speedup": 10.0}}
    lines = bench.table(result).splitlines()
    heading = lines.index(f"  {bench.LIGHT_HEADING}:")
    assert "no dropout, no L2, argmax" in bench.LIGHT_HEADING
    assert [line.split()[0] for line in lines[heading + 1:]] == ["light:", "light:"]
    assert not any("light" in line for line in lines[:heading])


def test_call_latency_times_both_texts_in_a_child(sample_run):
    out = bench.call_latency_child(sample_run, "Paris and London. " * 50, repeat=10)
    assert set(out) == {"one_sentence", "text_350_tokens"}
    assert out["one_sentence"]["runs"] == 10 and out["text_350_tokens"]["runs"] == 5
    assert all(v["min"] > 0 for v in out.values())


def test_table_shows_the_serve_figures():
    s = {"median": 1.0, "min": 0.5, "max": 2.0, "runs": 3}
    result = {"data": "synthetic", "detail": {"predict end_to_end tokens/s": s}, "peak_rss_mb": {"predict": 99.0},
              "latency_ms": {"one_sentence": s, "text_350_tokens": s},
              "serve": {"requests_per_s": 150.0, "clients": 8, "seconds": 20.1, "requests": 3000, "p50_ms": 30.0,
                        "p95_ms": 120.0, "statuses": {"200": 2700, "400": 300}, "n_problems": 0,
                        "rss_start_mb": 80.0, "rss_end_mb": 82.0, "exit_status": 0},
              "profile": {"step_ms": 1.0, "matmul_ms": 0.5, "matmul_share": 0.5, "gflops_in_products": 10.0},
              "vectorization": {"windows": 64, "loop_s": 0.1, "matrix_s": 0.001, "speedup": 100.0}}
    text = bench.table(result)
    assert "call latency one sentence ms" in text and "serve: requests/s" in text and "p50 / p95" in text
    assert "wrong answers 0" in text and "80 -> 82 MB" in text


def test_jobs_figure_tags_many_files_with_one_process_and_with_a_pool(sample_run, tmp_path):
    speeds = bench.jobs_speed(sample_run / "model.npz", read_conll(SAMPLE / "test.conll"), tmp_path, repeat=1, copies=1)
    assert speeds["files"] == len(list(tmp_path.glob("*.txt"))) > 1
    assert speeds["n_jobs"] >= 1 and min(speeds["one_process"]) > 0 and min(speeds["jobs"]) > 0
