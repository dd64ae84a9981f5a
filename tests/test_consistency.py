"""Document-level consistency (model.consistency): the rule, documents in corpora and streams."""

import json

import numpy as np
import pytest

from nerwin import config as cfg
from nerwin import consistency as K
from nerwin import predict as P
from nerwin import segment as S
from nerwin import tags as T
from nerwin.data import read_conll
from nerwin.errors import ConfigError
from nerwin.predict import Predictor
from nerwin.tagger import Tagger

ORG, PER = 0, 1


def test_a_surname_after_the_full_name_is_per():
    names = [("steven", "gerrard"), ("gerrard",), ("liverpool",), ("gerrard",)]
    labels, known = K.per_surname(names, np.array([PER, ORG, ORG, ORG]), PER)
    assert labels.tolist() == [PER, PER, ORG, PER]
    assert known == {("gerrard",)}


def test_only_earlier_multi_word_per_names_count():
    names = [("gerrard",), ("steven", "gerrard"), ("smith",), ("smith",)]
    labels, _ = K.per_surname(names, np.array([ORG, PER, PER, ORG]), PER)
    assert labels.tolist() == [ORG, PER, PER, ORG]     # before the full name; a one-word PER is no full name


def test_every_ending_of_a_name_counts_and_the_arguments_are_unchanged():
    names = [("marco", "van", "basten"), ("van", "basten"), ("basten",), ("marco",)]
    given = np.array([PER, ORG, ORG, ORG])
    known = frozenset({("smith",)})
    labels, grown = K.per_surname(names, given, PER, known)
    assert labels.tolist() == [PER, PER, PER, ORG]     # the first name alone is not an ending
    assert given.tolist() == [PER, ORG, ORG, ORG] and known == {("smith",)}
    assert K.per_surname([("smith",)], np.array([ORG]), PER, grown)[0].tolist() == [PER]


def test_a_document_remembers_at_most_max_names(monkeypatch):
    monkeypatch.setattr(K, "MAX_NAMES", 3)
    names = [("a", "b", "c"), ("d", "e"), ("e",), ("c",)]
    labels, known = K.per_surname(names, np.array([PER, PER, ORG, ORG]), PER)
    assert len(known) == 3 and labels.tolist() == [PER, PER, PER, PER]
    names = [("a", "b", "c", "d"), ("x", "y"), ("y",)]
    labels, known = K.per_surname(names, np.array([PER, PER, ORG]), PER)
    assert len(known) == 3 and labels.tolist() == [PER, PER, ORG]   # full: x y is not remembered


def test_the_rule_is_validated():
    assert cfg.defaults()["model"]["consistency"] == "none"
    assert cfg.load(None, ['model.consistency="per-surname"'])["model"]["consistency"] == "per-surname"
    with pytest.raises(ConfigError, match="model.consistency"):
        cfg.load(None, ['model.consistency="all-types"'])
    with pytest.raises(ValueError, match="per-surname"):
        K.DocumentConsistency("all", ["PER"])


class RuleTagger(Tagger):
    """A stand-in for the network: ``John Smith`` is PER, ``Smith`` alone ORG, in any case."""

    def __init__(self, rule):
        super().__init__(None, None, T.LabelSet(["ORG", "PER"], "iobes"),
                         {"model": {"decode": "argmax", "consistency": rule}})

    def featurize(self, words, lengths):
        return np.char.lower(np.asarray(words, str))

    def scores(self, words):
        names = self.labels.names
        after_john = np.append(False, words[:-1] == "john")
        classes = np.select([words == "john", (words == "smith") & after_john, words == "smith"],
                            [names.index("B-PER"), names.index("E-PER"), names.index("S-ORG")], 0)
        return np.eye(len(names))[classes]


DOC = "John Smith arrived on Monday.\n\nSmith said he would stay. SMITH left.\n"


def found(entities):
    return [(e.text, e.label) for e in entities]


def test_predict_types_the_surname_within_its_document_only():
    on, off = Predictor(RuleTagger("per-surname")), Predictor(RuleTagger("none"))
    assert found(off(DOC)) == [("John Smith", "PER"), ("Smith", "ORG"), ("SMITH", "ORG")]
    first, second = on.pipe([DOC, "Smith said no."])
    assert found(first) == [("John Smith", "PER"), ("Smith", "PER"), ("SMITH", "PER")]
    assert found(second) == [("Smith", "ORG")]          # another document: the name is not known there


def test_streaming_in_segments_and_batches_gives_the_whole_text(monkeypatch):
    doc = DOC + "".join(f"Paragraph {k}: Smith met Smith.\n\n" for k in range(30))
    tagger = RuleTagger("per-surname")
    whole = found(Predictor(tagger)(doc))
    assert whole.count(("Smith", "PER")) == 61
    monkeypatch.setattr(S, "CHUNK_SIZE", 37)           # many segments
    pieces = list(P.tag_documents(tagger, [S.text_chunks(doc), S.text_chunks("Smith.")], batch_size=2))
    assert len(pieces) > 20
    assert found(e for seg in pieces if seg.doc == 0 for e in seg.entities()) == whole
    assert found(e for seg in pieces if seg.doc == 1 for e in seg.entities()) == [("Smith", "ORG")]


def test_tagging_a_corpus_keeps_to_its_documents(tmp_path):
    path = tmp_path / "two.conll"
    path.write_text("-DOCSTART- O\n\nJohn B-PER\nSmith I-PER\n\nSmith B-PER\n\n"
                    "-DOCSTART- O\n\nSmith B-ORG\n", encoding="utf-8")
    corpus = read_conll(path)
    assert RuleTagger("per-surname").tag(corpus, "iob2").tolist() == ["B-PER", "I-PER", "B-PER", "B-ORG"]
    assert RuleTagger("none").tag(corpus, "iob2").tolist() == ["B-PER", "I-PER", "B-ORG", "B-ORG"]
    from nerwin.evaluate import evaluate           # training's dev score leaves the rule out
    assert evaluate(RuleTagger("per-surname"), corpus)["f1"] == 100.0
    assert evaluate(RuleTagger("per-surname"), corpus, consistency=False)["f1"] == pytest.approx(200 / 3)


def test_eval_and_predict_switch_the_rule(monkeypatch, tmp_path):
    from click.testing import CliRunner
    from nerwin.cli import cli

    from nerwin import parallel

    monkeypatch.setattr(Tagger, "load", classmethod(lambda cls, path: RuleTagger("none")))          # eval
    monkeypatch.setattr(parallel, "load_model", lambda model=None: RuleTagger("none"))           # predict
    run = lambda *args: CliRunner().invoke(cli, [str(a) for a in args])
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- O\n\nJohn B-PER\nSmith I-PER\ncame O\n\nSmith B-PER\nleft O\n", encoding="utf-8")
    f1 = {}
    for rule in ("none", "per-surname"):
        out = run("eval", "--data", data, "--format", "json", "--consistency", rule)
        assert out.exit_code == 0, out.output
        f1[rule] = json.loads(out.output)["f1"]
        out = run("predict", "--format", "jsonl", "--consistency", rule, "John Smith came. Smith left.")
        labels = [e["label"] for line in out.output.splitlines() for e in json.loads(line)["entities"]]
        assert labels == ["PER", "PER" if rule != "none" else "ORG"]
    assert f1 == {"none": 50.0, "per-surname": 100.0}
    assert json.loads(run("eval", "--data", data, "--format", "json").output)["f1"] == 50.0   # the model's own
    out = run("eval", "--data", data, "--consistency", "all")
    assert out.exit_code == 2 and "per-surname" in out.output
    out = run("predict", "--consistency", "none", "--jobs", 2, "--input", data)
    assert out.exit_code == 2 and "worker processes" in out.output


def test_with_consistency_leaves_the_tagger_as_it_is():
    tagger = RuleTagger("none")
    other = tagger.with_consistency("per-surname")
    assert tagger.config["model"]["consistency"] == "none" and other.config["model"]["consistency"] == "per-surname"
    assert other.labels is tagger.labels and type(other) is RuleTagger
    with pytest.raises(ValueError, match="per-surname"):
        tagger.with_consistency("all")
