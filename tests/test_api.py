"""The Python API: ``nerwin.load(path)``, ``tagger(text)``, ``tagger.pipe(texts)``; the README's
example is run as it is written."""

import dataclasses
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import train_sample
from click.testing import CliRunner

import nerwin
from nerwin import predict as P, segment as S
from nerwin.cli import cli
from nerwin.errors import DataError
from nerwin.tagger import Tagger

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
NEWS = "Angela Merkel met Emmanuel Macron in Paris."   # the test model finds entities in it


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A model trained for three epochs on the sample corpus (the run folder)."""
    return train_sample(tmp_path_factory.mktemp("api") / "run")


@pytest.fixture(scope="module")
def tagger(run):
    return nerwin.load(run)


def readme_example() -> str:
    """The first ```python block after the README's "Python API" heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1]
    return re.search(r"```python\n(.*?)\n```", section, re.S)[1]


def test_the_readme_example_runs_as_written(run, capsys):
    code = readme_example()
    assert 'nerwin.load("runs/default")' in code            # the run folder `make run` writes
    namespace = {}
    exec(compile(code.replace('"runs/default"', repr(str(run))), "README.md", "exec"), namespace)
    assert isinstance(namespace["tagger"], P.Predictor)
    printed = capsys.readouterr().out.strip().split("\n")
    entities = namespace["tagger"](namespace["text"])
    assert entities and printed[:len(entities)] == [
        f"{e.label} {e.start} {e.end} {e.text} {round(e.score, 2)}" for e in entities]
    lists = [eval(line) for line in printed[len(entities):]]          # one list per text
    assert len(lists) == len(namespace["texts"]) and lists[1] == []
    assert lists == [[(e.text, e.label) for e in namespace["tagger"](t)] for t in namespace["texts"]]
    assert any(lists)


def test_import_nerwin_is_cheap():
    code = ("import sys, nerwin; heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'numpy', 'pandas', 'click', 'tqdm'} or m.startswith('nerwin.')); print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert callable(nerwin.load)


def test_call_lists_entities_with_offsets_into_the_text(tagger, run):
    text = f"  {NEWS}\n\nThe talks in Berlin went on."
    entities = tagger(text)
    assert entities and all(isinstance(e, P.Entity) for e in entities)
    for e in entities:
        assert text[e.start:e.end] == e.text
        assert e.type == e.label and e.label in tagger.labels
        assert 0 < e.score <= 1
    assert [(e.text, e.label) for e in entities][:2] == [("Emmanuel Macron", "PER"), ("Paris", "LOC")]
    assert set(dataclasses.asdict(entities[0])) == {"start", "end", "label", "text", "score"}
    # the same entities and scores as `nerwin predict --format jsonl`
    out = CliRunner().invoke(cli, ["predict", "--model", str(run), "--format", "jsonl", text])
    assert out.exit_code == 0, out.output
    cli_entities = [e for line in out.stdout.splitlines() for e in json.loads(line)["entities"]]
    assert [(e["start"], e["end"], e["label"], e["text"], e["score"]) for e in cli_entities] == \
        [(e.start, e.end, e.label, e.text, round(e.score, 4)) for e in entities]


def test_load_takes_a_run_folder_or_a_model_file(run):
    by_folder, by_file = nerwin.load(run), nerwin.load(run / "model.npz")
    assert by_folder(NEWS) == by_file(NEWS) != []
    assert by_folder.labels == ["LOC", "MISC", "ORG", "PER"]
    with pytest.raises(DataError, match="no such model"):
        nerwin.load(run / "missing.npz")


def test_load_without_a_path_is_the_shipped_english_model(tmp_path, monkeypatch):
    """``nerwin.load()`` and ``nerwin.load("en")`` are the model inside the package, from any
    folder; a folder named ``en`` is reached as ``"./en"`` or a Path."""
    monkeypatch.chdir(tmp_path)
    shipped = nerwin.load()
    assert [(e.text, e.label) for e in shipped("Angela Merkel visited Paris.")] == \
        [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert nerwin.load("en")("Paris.") == shipped("Paris.") != []
    with pytest.raises(DataError, match="no such model file or run folder"):
        nerwin.load("./en")
    with pytest.raises(DataError, match="no such model file or run folder"):
        nerwin.load(Path("en"))


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    assert nerwin.__version__ == version("nerwin")
    with pytest.raises(AttributeError):
        nerwin.no_such_attribute


def test_pipe_yields_one_list_per_text_in_order(tagger):
    texts = [NEWS, "", " \n\t ", "Maria Lopez flew to Madrid. She liked Rome.", "\x00\udcff", NEWS]
    results = list(tagger.pipe(texts, batch_size=2))
    assert len(results) == len(texts)
    alone = [tagger(t) for t in texts]
    assert [[span(e) for e in r] for r in results] == [[span(e) for e in r] for r in alone]
    assert [e.score for r in results for e in r] == pytest.approx([e.score for r in alone for e in r], abs=1e-5)
    assert results[0] and results[1] == [] and results[2] == [] and list(map(span, results[5])) == list(map(span, results[0]))


def test_pipe_is_lazy_and_batches_sentences_across_texts(tagger, monkeypatch):
    calls, read = [], []
    featurize = Tagger.featurize

    def spy(self, words, lengths):
        calls.append(len(lengths))
        return featurize(self, words, lengths)

    def endless():
        for k in itertools.count():
            read.append(k)
            yield f"{NEWS} Talk {k} went well."                # two sentences per text

    monkeypatch.setattr(Tagger, "featurize", spy)
    first = list(itertools.islice(tagger.pipe(endless(), batch_size=5), 4))
    assert len(first) == 4 and all(first)
    assert calls[:2] == [5, 5]                              # 5 sentences per call, from 3 texts each
    assert len(read) <= 6                                   # read only as far as the results asked


def test_a_long_text_is_read_in_pieces_with_the_same_result(tagger, monkeypatch):
    text = " ".join(f"{NEWS} Talks number {k} went on in Berlin.\n" for k in range(40)) + "\u00e9\u0301 Rome"
    whole = tagger(text)
    monkeypatch.setattr(S, "CHUNK_SIZE", 37)
    assert [span(e) for e in tagger(text)] == [span(e) for e in whole]
    assert len(whole) >= 80 and all(text[e.start:e.end] == e.text for e in whole)


def span(e: P.Entity) -> tuple:
    """An entity without its score (which moves in the last bits with the batch it was in)."""
    return e.start, e.end, e.label, e.text


def test_wrong_arguments(tagger):
    with pytest.raises(TypeError, match="expected str"):
        tagger(b"Paris")
    with pytest.raises(TypeError, match="expected str"):
        list(tagger.pipe([NEWS, None]))
    with pytest.raises(ValueError, match="batch_size"):
        next(tagger.pipe([NEWS], batch_size=0))
