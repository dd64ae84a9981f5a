"""The commands end to end through click's CliRunner, and their errors: one line, exit status 1
for data and 2 for usage and config errors, never a traceback."""

import io
import json
import os
import re
import shlex
import subprocess
import sys
from io import StringIO

import numpy as np
import pandas as pd
import pytest

from nerwin import scoring as M
from nerwin import tags as T
from nerwin.data import read_conll

from conftest import ROOT, SAMPLE
from helpers import assert_fails, assert_usage_error, invoke, read_golden


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("train", "eval", "predict", "gradcheck"):
        assert command in result.output


def test_train_help_names_the_real_defaults():
    """The help claims configs/default.toml only if it equals the built-in defaults, and
    points at `nerwin config show`, which prints exactly those."""
    from nerwin import config as cfg

    builtin = cfg.load(None)
    shown = invoke("config", "show")
    assert shown.exit_code == 0 and cfg.loads(shown.output, "shown") == builtin
    text = " ".join(invoke("train", "--help").output.split())
    assert "'nerwin config show' prints" in text
    assert ("configs/default.toml" in text) == (cfg.load(ROOT / "configs" / "default.toml") == builtin)


def test_python_dash_m(tmp_path):
    import subprocess, sys
    out = subprocess.run([sys.executable, "-m", "nerwin", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "gradcheck" in out.stdout


def test_predict_imports_only_what_it_needs(sample_run, tmp_path, monkeypatch):
    """Cold start: predicting a sentence loads no pandas, pyarrow, matplotlib or tqdm (and
    with them no parsing of the 400,000 GloVe words), once the word index is cached."""
    import os, subprocess, sys
    from nerwin.embeddings import load_pretrained

    monkeypatch.setenv("NERWIN_CACHE_DIR", str(tmp_path))
    load_pretrained("glove-6b-50d")  # the first run builds the cache (with pyarrow)
    probe = ("import sys; from nerwin.cli import cli; "
             f"cli(['predict', '--model', {str(sample_run)!r}, 'Angela Merkel visited Paris.'], standalone_mode=False); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'pyarrow', 'matplotlib', 'tqdm'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split("\n")[-1] == "[]"
    assert (tmp_path / "glove-6b-50d.index").is_file()


def test_train_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    result = invoke("train", "--config", ROOT / "configs" / "default.toml", "--set", "train.epochs=2",
                    "--set", f'data.train="{SAMPLE / "train.conll"}"', "--set", f'data.dev="{SAMPLE / "dev.conll"}"',
                    "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "model.npz").is_file() and (out / "config.toml").is_file()
    import pandas as pd
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["epoch"]) == [1, 2]
    assert {"loss", "dev_f1", "dev_precision", "dev_recall"} <= set(metrics.columns)
    assert "epochs = 2" in (out / "config.toml").read_text()


def test_same_seed_same_model(tmp_path):
    """Same seed, config and data: bit-for-bit the same parameters."""
    from nerwin.tagger import Tagger
    runs = []
    for name in ("a", "b"):
        result = invoke("train", "--set", "train.epochs=2", "--set", "model.hidden=[20]",
                        "--set", "regularization.dropout_hidden=0.2",
                        "--set", f'data.train="{SAMPLE / "train.conll"}"', "--set", f'data.dev="{SAMPLE / "dev.conll"}"',
                        "--out", tmp_path / name, "--quiet")
        assert result.exit_code == 0, result.output
        runs.append(Tagger.load(tmp_path / name).network.params)
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_eval_table_json_and_output(sample_run, tmp_path):
    data = SAMPLE / "test.conll"
    table = invoke("eval", "--model", sample_run, "--data", data)
    assert table.exit_code == 0, table.output
    assert "overall" in table.output and "token accuracy" in table.output
    as_json = invoke("eval", "--model", sample_run / "model.npz", "--data", data, "--format", "json", "--output", tmp_path / "pred.txt")
    result = json.loads(as_json.output)
    assert set(result["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    assert 0 < result["f1"] <= 100
    lines = (tmp_path / "pred.txt").read_text().split("\n")
    corpus = read_conll(data)
    token_lines = [l for l in lines if l]
    assert len(token_lines) == corpus.n_tokens
    assert lines.count("") - 1 == len(corpus)
    word, gold, pred = token_lines[0].split(" ")
    assert word == corpus.words[0] and gold == corpus.tags[0]
    # the scores printed are the scores of the written predictions
    from nerwin.scoring import score
    predicted = np.array([l.split(" ")[2] for l in token_lines], dtype=object)
    assert score(corpus.tags, predicted, corpus.first)["f1"] == pytest.approx(result["f1"])


def test_eval_case_variants_score_recased_copies(sample_run, tmp_path):
    data = SAMPLE / "test.conll"
    lowered = tmp_path / "lower.conll"   # the file with its words lower-cased, columns kept
    lower = lambda line: line if line.startswith("-DOCSTART-") else " ".join([line.split(" ")[0].lower(), *line.split(" ")[1:]])
    lowered.write_text("".join(map(lower, data.read_text().splitlines(keepends=True))))
    plain = lambda path: json.loads(invoke("eval", "--model", sample_run, "--data", path, "--format", "json").output)
    out = invoke("eval", "--model", sample_run, "--data", data, "--format", "json", "--case", "as-is,lower,upper")
    assert out.exit_code == 0, out.output
    cases = json.loads(out.output)["cases"]
    assert list(cases) == ["as-is", "lower", "upper"]
    strip = lambda r: {k: v for k, v in r.items() if k not in ("data", "case")}
    assert strip(cases["as-is"]) == strip(plain(data))
    assert strip(cases["lower"]) == strip(plain(lowered))
    assert cases["lower"]["case"] == "lower" and cases["lower"]["f1"] != cases["as-is"]["f1"]

    for fmt, label in (("table", "every word upper-cased"), ("markdown", "## case: upper"), ("csv", "\nupper,overall,")):
        text = invoke("eval", "--model", sample_run, "--data", data, "--format", fmt, "--case", "lower,upper").output
        assert label in text and "lower" in text and "as written" not in text, text
    frame = pd.read_csv(io.StringIO(invoke("eval", "--model", sample_run, "--data", data, "--format", "csv",
                                           "--case", "as-is,lower").output.split("\n\n")[1]))
    assert frame.set_index(["case", "type"]).loc[("lower", "overall"), "f1"] == pytest.approx(cases["lower"]["f1"], abs=1e-4)


@pytest.mark.parametrize("value, message", [("lowr", "'lowr': expected a comma list of as-is, lower, upper, title"),
                                            ("lower,lower", "a case is given twice"), (",", "expected a comma list")])
def test_eval_case_refuses_bad_lists(sample_run, value, message):
    out = invoke("eval", "--model", sample_run, "--data", SAMPLE / "test.conll", "--case", value)
    assert out.exit_code == 2 and message in out.output


def test_eval_output_needs_one_case(sample_run, tmp_path):
    out = invoke("eval", "--model", sample_run, "--data", SAMPLE / "test.conll", "--case", "as-is,lower",
                 "--output", tmp_path / "p.txt")
    assert out.exit_code == 2 and "give one --case" in out.output
    out = invoke("eval", "--model", sample_run, "--data", SAMPLE / "test.conll", "--case", "upper",
                 "--output", tmp_path / "p.txt")
    assert out.exit_code == 0 and (tmp_path / "p.txt").read_text().split(" ")[0].isupper()


def test_predict_formats(sample_run):
    text = "Maria Lopez flew from Madrid to Nairobi on Tuesday."
    plain = invoke("predict", "--model", sample_run, text)
    assert plain.exit_code == 0, plain.output
    assert plain.output.replace("[", "").replace("]", "").replace("PER", "").replace("LOC", "") \
        .replace("ORG", "").replace("MISC", "").strip() == text
    jsonl = invoke("predict", "--model", sample_run, "--format", "jsonl", text)
    record = json.loads(jsonl.output.strip().split("\n")[0])
    assert record["tokens"][:3] == ["Maria", "Lopez", "flew"]
    assert len(record["tags"]) == len(record["tokens"])
    for ent in record["entities"]:
        assert text[ent["start"]:ent["end"]] == ent["text"]
        assert ent["type"] in {"PER", "LOC", "ORG", "MISC"}
    conll = invoke("predict", "--model", sample_run, "--format", "conll", "--input", "-", input=text)
    rows = [l.split(" ") for l in conll.output.strip().split("\n")]
    assert [r[0] for r in rows] == record["tokens"]


def test_gradcheck_command():
    result = invoke("gradcheck", "--set", 'model.activation="tanh"')
    assert result.exit_code == 0, result.output
    assert "W1" in result.output and "E" in result.output


@pytest.mark.parametrize("args, code, needle", [
    (["eval", "--model", "nowhere.npz", "--data", SAMPLE / "test.conll"], 1, "nowhere.npz: no such model"),
    (["train", "--set", "optimiser.lr=0.1"], 2, "did you mean 'optimizer.lr'"),
    (["train", "--set", "model.window=4"], 2, "odd"),
    (["train", "--config", "missing.toml"], 2, "missing.toml: no such config file"),
    (["gradcheck", "--set", "optimizer.lr=-1"], 2, "optimizer.lr"),
])
def test_errors_are_one_line_without_traceback(args, code, needle, tmp_path):
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().split("\n")) == 1


def test_bad_corpus_and_bad_model_files(sample_run, tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("Paris B-LOC\nis O\nnice O extra\n")
    result = invoke("eval", "--model", sample_run, "--data", bad)
    assert result.exit_code == 1
    assert f"{bad}:3: expected 2 columns" in result.output
    tag = tmp_path / "tag.conll"
    tag.write_text("Paris LOCATION\n")
    result = invoke("eval", "--model", sample_run, "--data", tag)
    assert result.exit_code == 1 and f"{tag}:1: unknown tag 'LOCATION'" in result.output
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model at all")
    result = invoke("predict", "--model", junk, "Paris")
    assert result.exit_code == 1 and "not a nerwin model" in result.output
    empty = tmp_path / "empty_run"
    empty.mkdir()
    result = invoke("predict", "--model", empty, "Paris")
    assert result.exit_code == 1 and "has no model.npz" in result.output


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, header=np.array([{"format": "nerwin-model"}], dtype=object))
    result = invoke("predict", "--model", path, "Paris")
    assert result.exit_code == 1 and "not a nerwin model" in result.output


def test_debug_shows_the_traceback():
    result = invoke("--debug", "eval", "--model", "nowhere.npz", "--data", "x")
    assert result.exit_code == 1 and "Traceback" in result.output


def test_predict_without_model_and_without_shipped_model(monkeypatch, tmp_path):
    import nerwin.tagger
    monkeypatch.setattr(nerwin.tagger, "SHIPPED_MODELS", tmp_path)
    nerwin.tagger._shared.cache_clear()          # "en" loaded by an earlier test stays cached
    result = invoke("predict", "Paris")
    assert result.exit_code == 1
    assert f"en: the shipped model is missing from this installation ({tmp_path / 'en.npz'})" in result.output
    assert "reinstall nerwin" in result.output and "make model" in result.output


def test_eval_without_model_scores_the_shipped_one():
    """`--model` defaults to the shipped model "en"; "./en" would be a folder of that name."""
    by_default = invoke("eval", "--data", SAMPLE / "test.conll", "--format", "json")
    by_name = invoke("eval", "--model", "en", "--data", SAMPLE / "test.conll", "--format", "json")
    assert by_default.exit_code == 0, by_default.output
    assert json.loads(by_default.output) == json.loads(by_name.output)
    assert json.loads(by_default.output)["f1"] > 50
    by_folder = invoke("eval", "--model", "./en", "--data", SAMPLE / "test.conll")
    assert by_folder.exit_code == 1 and "en: no such model file or run folder (shipped models: en)" in by_folder.output


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    result = invoke("--version")
    assert result.exit_code == 0 and result.output == f"nerwin, version {version('nerwin')}\n"


@pytest.mark.parametrize("args, needle", [
    ("<&-", "standard input is closed: no text to tag"),
    ("--input - <&-", "standard input is closed: no text to tag"),
    ("Paris. >&-", "standard output is closed: nowhere to write"),
])
def test_closed_standard_streams_are_one_line_errors(args, needle):
    cmd = f"{shlex.quote(sys.executable)} -m nerwin predict {args}"
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.startswith("nerwin: error: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr


WRITING = ["config show", "config check configs/default.toml", "--version", "--help", "train --help",
           f"eval --data {SAMPLE / 'test.conll'}", "predict Paris.", "gradcheck"]


@pytest.mark.parametrize("command", WRITING)
@pytest.mark.parametrize("redirect, needle", [
    (">&-", "nerwin: error: standard output is closed: nowhere to write"),
    (">/dev/full", "nerwin: error: standard output: cannot write: No space left on device"),
])
def test_every_command_that_cannot_write_its_output_says_so_in_one_line(command, redirect, needle):
    cmd = f"{shlex.quote(sys.executable)} -m nerwin {command} {redirect}"
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.startswith(needle) and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("command", WRITING)
def test_a_reader_that_went_away_ends_the_command_quietly(command):
    """As `| head` does once it has its lines: exit status 1, nothing on stderr."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", "nerwin", *shlex.split(command)], stdout=write,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (1, "")


def test_predict_with_output_needs_no_standard_output(tmp_path):
    cmd = f"{shlex.quote(sys.executable)} -m nerwin predict --output {tmp_path / 'out.txt'} Paris. >&-"
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stderr) == (0, "")
    assert (tmp_path / "out.txt").read_text() == "[Paris]LOC.\n"


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


@pytest.fixture(scope="module")
def quick_model(tmp_path_factory):
    from nerwin import config as cfg
    from nerwin.train import train

    out = tmp_path_factory.mktemp("eval_reports") / "run"
    train(cfg.load(None, ["train.epochs=2", "model.hidden=[20]", f'data.train="{SAMPLE / "train.conll"}"',
                          f'data.dev="{SAMPLE / "dev.conll"}"']), out, quiet=True)
    return out


def evaluate(model, *args):
    result = invoke("eval", "--model", model, "--data", SAMPLE / "test.conll", *args)
    assert result.exit_code == 0, result.output
    return result


def written(path):
    """Words, gold and predicted tags and sentence starts of an ``--output`` file."""
    return read_golden(path)


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
@pytest.mark.parametrize("scheme, mode", [("iob2", "strict"), ("iob1", "conlleval")])
def test_eval_echoes_scheme_and_mode_in_every_format(quick_model, fmt, scheme, mode):
    out = evaluate(quick_model, "--format", fmt, "--scheme", scheme, "--mode", mode).stdout
    if fmt == "json":
        result = json.loads(out)
        assert (result["scheme"], result["mode"]) == (scheme, mode)
    elif fmt == "csv":
        summary = pd.read_csv(StringIO(out.split("\n\n")[0]))
        values = dict(zip(summary["key"], summary["value"]))
        assert (values["scheme"], values["mode"]) == (scheme, mode)
    else:
        assert f"scheme {scheme}, mode {mode}" in out.split("\n")[0]
        assert "macro avg" in out and "token accuracy:" in out


def test_eval_detects_the_scheme_by_default(quick_model):
    result = json.loads(evaluate(quick_model, "--format", "json").stdout)
    assert result["scheme"] == read_conll(SAMPLE / "test.conll").scheme == "iob2"
    assert result["mode"] == "conlleval"


@pytest.mark.parametrize("scheme, mode", [("auto", "strict"), ("iob1", "conlleval"), ("iob2", "conlleval")])
def test_eval_figures_are_score_of_the_written_predictions(quick_model, tmp_path, scheme, mode):
    pred_file = tmp_path / "pred.txt"
    result = json.loads(evaluate(quick_model, "--format", "json", "--scheme", scheme, "--mode", mode,
                                 "--output", pred_file).stdout)
    words, gold, pred, first = written(pred_file)
    expected = M.score(gold, pred, first, mode=mode, scheme=scheme)
    assert expected["correct_entities"] > 0
    for key in ("precision", "recall", "f1", "macro", "per_type", "token_accuracy", "gold_entities",
                "predicted_entities", "correct_entities", "scheme", "mode"):
        assert result[key] == expected[key], key  # JSON keeps floats exactly
    if scheme == "iob1":  # predictions are written in the scheme asked for: B only after B/I of its type
        prefix, type_, _ = T.parse(pred)
        prev_p, prev_t = np.r_[T.O, prefix[:-1]], np.r_[-1, type_[:-1]]
        b_ok = np.isin(prev_p, [T.B, T.I]) & (prev_t == type_) & ~first
        assert np.any(prefix == T.I) and not np.any((prefix == T.B) & ~b_ok)


def test_eval_strict_on_a_foreign_scheme_warns(quick_model):
    result = invoke("eval", "--model", quick_model, "--data", SAMPLE / "test.conll", "--format", "json",
                    "--scheme", "iob1", "--mode", "strict")
    assert result.exit_code == 0
    assert "tags look like iob2, read as iob1 as asked" in result.stderr
    assert json.loads(result.stdout)["gold_entities"] == 0  # IOB2 gold opens entities with B after O


def test_eval_confusion_in_every_format(quick_model, tmp_path):
    pred_file = tmp_path / "pred.txt"
    as_json = json.loads(evaluate(quick_model, "--format", "json", "--confusion", "--output", pred_file).stdout)
    words, gold, pred, first = written(pred_file)
    table = M.confusion(gold, pred, first)
    assert as_json["confusion"] == {g: {p: int(v) for p, v in row.items()} for g, row in table.iterrows()}
    for t, v in as_json["per_type"].items():
        assert sum(as_json["confusion"][t].values()) == v["support"]
        assert as_json["confusion"][t][t] == v["tp"]

    text = evaluate(quick_model, "--confusion").stdout
    assert "entity confusion" in text
    block = text.split("entity confusion")[1]
    assert "missed" in block and "spurious" in block
    csv_sections = evaluate(quick_model, "--format", "csv", "--confusion").stdout.strip("\n").split("\n\n")
    read_back = pd.read_csv(StringIO(csv_sections[2])).set_index("gold")
    assert read_back.to_numpy().tolist() == table.to_numpy().tolist()
    md = evaluate(quick_model, "--format", "markdown", "--confusion").stdout
    assert "| gold | " + " | ".join(table.columns) + " |" in md
    assert "entity confusion" not in evaluate(quick_model).stdout


def test_eval_errors_in_every_format(quick_model, tmp_path):
    pred_file = tmp_path / "pred.txt"
    as_json = json.loads(evaluate(quick_model, "--format", "json", "--errors", "3", "--output", pred_file).stdout)
    words, gold, pred, first = written(pred_file)
    fp, fn = M.errors(words, gold, pred, first, 3)
    assert as_json["errors"]["false_positives"] == fp.to_dict(orient="records")
    assert as_json["errors"]["false_negatives"] == fn.to_dict(orient="records")
    assert 1 <= len(fn) <= 3
    counts = [e["count"] for e in as_json["errors"]["false_negatives"]]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) <= as_json["gold_entities"] - as_json["correct_entities"]
    for e in as_json["errors"]["false_positives"] + as_json["errors"]["false_negatives"]:
        assert f"[{e['text']}]{e['type']}" in e["context"]

    text = evaluate(quick_model, "--errors", "3").stdout
    accuracy_at = text.index("token accuracy")
    assert accuracy_at < text.index("most frequent false positives") < text.index("most frequent false negatives")
    assert fn["context"][0] in text
    csv_errors = pd.read_csv(StringIO(evaluate(quick_model, "--format", "csv", "--errors", "3").stdout
                                      .strip("\n").split("\n\n")[-1]))
    assert set(csv_errors["error"]) <= {"false positive", "false negative"}
    assert list(csv_errors[csv_errors["error"] == "false negative"]["text"]) == list(fn["text"])
    md = evaluate(quick_model, "--format", "markdown", "--errors", "3").stdout
    assert "### most frequent false negatives" in md and "| rank | text | type | count | context |" in md
    assert "false positives" not in evaluate(quick_model).stdout


def test_eval_markdown_without_tabulate(quick_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "tabulate", None)
    md = evaluate(quick_model, "--format", "markdown", "--confusion", "--errors", "2").stdout
    tables = [block.strip("\n") for block in md.split("\n\n") if block.startswith("| ")]
    assert len(tables) == 4  # scores, confusion, false positives, false negatives
    for block in tables:
        cells = [len(re.findall(r"(?<!\\)\|", line)) for line in block.split("\n")]
        assert len(set(cells)) == 1, block  # every row has as many cells as the header


@pytest.mark.parametrize("args", [["--scheme", "bio"], ["--mode", "lenient"], ["--errors", "-1"],
                                  ["--format", "xml"]])
def test_eval_rejects_bad_choices(quick_model, args):
    result = invoke("eval", "--model", quick_model, "--data", SAMPLE / "test.conll", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
