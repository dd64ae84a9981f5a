"""Helpers the test modules share: running the CLI and checking its one-line errors; the
hand-made bad inputs under ``fixtures/bad``; tag sequences scored, the golden ``word gold
predicted`` files read, and one hand-checked case of errors."""

import os
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from nerwin import scoring
from nerwin.cli import cli

HERE = Path(__file__).resolve().parent
BAD = HERE / "fixtures" / "bad"
GOLDEN = HERE / "golden"


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_fails(result, code, *needles):
    """Exit status ``code``, one line ``nerwin: error: ...`` holding every needle, no traceback."""
    out = result.output
    assert result.exit_code == code, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    lines = out.strip("\n").split("\n")
    assert len(lines) == 1, out
    assert lines[0].startswith("nerwin: error: "), out
    for needle in needles:
        assert str(needle) in lines[0], out


def assert_usage_error(result, *needles):
    """click's usage message: exit status 2, one ``Error:`` line holding every needle."""
    out = result.output
    assert result.exit_code == 2, out
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    errors = [line for line in out.split("\n") if line.startswith("Error: ")]
    assert len(errors) == 1, out
    for needle in needles:
        assert str(needle) in errors[0], out



# tags conlleval reads (IOB1, IOB2 and their ill-formed mixes), O drawn twice as often
IOB_TAGS = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC"]


def first_mask(n, starts=(0,)):
    mask = np.zeros(n, bool)
    mask[[s for s in starts if s < n]] = True
    return mask


def arr(tags):
    return np.array(tags, dtype=object)


def run(gold, pred, starts=(0,), **kw):
    return scoring.score(arr(gold), arr(pred), first_mask(len(gold), starts), **kw)


def read_golden(path):
    """Words, gold tags, predicted tags and sentence starts of a ``word gold pred`` file."""
    words, gold, pred, starts = [], [], [], []
    new_sentence = True
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            new_sentence = True
            continue
        w, g, p = line.split()
        if new_sentence:
            starts.append(len(words))
            new_sentence = False
        words.append(w), gold.append(g), pred.append(p)
    return arr(words), arr(gold), arr(pred), first_mask(len(words), starts)


ERR_WORDS = ["Yesterday", "the", "President", "visited", "New", "York", "and", "later", "New", "York", "again", ".",
             "Paris", "is", "nice"]
ERR_GOLD = ["O", "O", "O", "O", "B-LOC", "I-LOC", "O", "O", "B-LOC", "I-LOC", "O", "O", "B-LOC", "O", "O"]
ERR_PRED = ["O", "O", "B-PER", "O", "B-LOC", "O", "O", "O", "B-LOC", "O", "O", "O", "B-ORG", "O", "O"]
ERR_FIRST = first_mask(15, (0, 12))


def damaged(data: bytes, kind: str) -> bytes | None:
    """A cache file's bytes damaged in one of the ways every cache must survive: cut short by
    a few bytes, extended with zeros, replaced by random bytes, or emptied; None for other
    kinds (the test damages it its own way)."""
    return {"truncate": lambda: data[:-7], "extend": lambda: data + b"\0" * 8,
            "garbage": lambda: os.urandom(len(data)), "empty": lambda: b""}.get(kind, lambda: None)()
