"""Bad input of every kind (issue 7): corpora, tags, word vectors, configs, model files and
command lines. Each is either read correctly or refused with one line naming the file (and
line), exit status 1 for data and 2 for usage and config errors, and never a traceback."""

import os

import pytest


from conftest import SAMPLE
from helpers import assert_fails, assert_usage_error, invoke


def write(tmp_path, content, name="corpus.conll"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# ---------------------------------------------------------------- corpora read correctly

# (name, bytes, words, sentence lengths, tags)


# ---------------------------------------------------------------- corpora refused

# (name, bytes or fixture file, line or None, needles)


@pytest.mark.parametrize("args, needle", [
    (["eval"], "Missing option '--data'"),
    (["eval", "--model", "m.npz"], "Missing option '--data'"),
    (["predict", "--model"], "Option '--model' requires an argument"),
    (["config", "check"], "Missing argument 'PATH'"),
    (["eval", "--model", "m.npz", "--data", "d", "--format", "xml"], "Invalid value for '--format'"),
])
def test_missing_or_wrong_arguments(args, needle):
    assert_usage_error(invoke(*args), needle)


def test_predict_input_is_a_folder_or_missing(tiny_model, tmp_path):
    assert_usage_error(invoke("predict", "--model", tiny_model, "--input", tmp_path), f"{tmp_path}", "is a directory")
    missing = tmp_path / "missing.txt"
    assert_fails(invoke("predict", "--model", tiny_model, "--input", missing), 1, f"{missing}: no such file")


def test_model_is_a_run_folder_without_model(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("")
    assert_fails(invoke("predict", "--model", run, "Paris"), 1, f"{run}: run folder has no model.npz")
    assert_fails(invoke("eval", "--model", run, "--data", SAMPLE / "dev.conll"), 1, f"{run}: run folder has no model.npz")
    assert_fails(invoke("predict", "--model", tmp_path / "none", "Paris"), 1, f"{tmp_path / 'none'}: no such model")


def test_eval_output_cannot_be_written(tiny_model, tmp_path):
    data = SAMPLE / "dev.conll"
    target = tmp_path / "no_folder" / "out.txt"
    assert_fails(invoke("eval", "--model", tiny_model, "--data", data, "--output", target), 1, f"{target}: cannot write")
    afile = tmp_path / "afile"
    afile.write_text("a file, not a folder")
    target = afile / "out.txt"
    assert_fails(invoke("eval", "--model", tiny_model, "--data", data, "--output", target), 1, f"{target}: cannot write")
    assert_usage_error(invoke("eval", "--model", tiny_model, "--data", data, "--output", tmp_path), "is a directory")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into a read-only folder")
def test_eval_output_into_read_only_folder(tiny_model, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        target = folder / "out.txt"
        assert_fails(invoke("eval", "--model", tiny_model, "--data", SAMPLE / "dev.conll", "--output", target),
                     1, f"{target}: cannot write")
    finally:
        folder.chmod(0o700)


