"""nerwin predict: streamed input cut between sentences, batches, the output formats, and hostile
text (control characters, right-to-left text, emoji, combining marks, bytes that are not UTF-8,
a huge input without a newline)."""

import io
import json
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import train_sample
from helpers import invoke
from hypothesis import given, settings, strategies as st

from nerwin import predict as P, segment as S
from nerwin.nn.losses import softmax
from nerwin.tagger import Tagger
from nerwin.tokenize import split_sentences, tokenize

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
NEWS = "Angela Merkel met Emmanuel Macron in Paris."   # the test model finds entities in it
TYPES = {"LOC", "MISC", "ORG", "PER"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A model trained for three epochs on the sample corpus (the run folder)."""
    return train_sample(tmp_path_factory.mktemp("predict") / "run")


def ok(result) -> bytes:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout_bytes


def as_output(text: str) -> str:
    """What the output holds for a document: a lone surrogate (a byte that was not UTF-8) as U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def records_of(out: bytes, docs: list[str]) -> list[dict]:
    """Parse jsonl output strictly and check every offset against the documents' text."""
    text = out.decode("utf-8")                      # strict: the output is valid UTF-8
    lines = text.split("\n")
    assert lines[-1] == "" and "\r" not in text
    lines = lines[:-1]
    assert text.splitlines() == lines               # U+2028, U+0085 ... never break a record
    records = [json.loads(line) for line in lines]
    for r in records:
        assert set(r) == {"text", "start", "tokens", "tags", "entities", "doc", "source"}
        doc = as_output(docs[r["doc"]])
        assert doc[r["start"]:r["start"] + len(r["text"])] == r["text"]
        assert len(r["tags"]) == len(r["tokens"]) > 0
        for e in r["entities"]:
            assert set(e) == {"start", "end", "label", "type", "text", "score"}
            assert doc[e["start"]:e["end"]] == e["text"]
            assert r["start"] <= e["start"] < e["end"] <= r["start"] + len(r["text"])
            assert e["label"] == e["type"] and e["label"] in TYPES
            assert 0 < e["score"] <= 1
    for k, doc in enumerate(docs):   # every token of every document, once, in order
        assert [t for r in records if r["doc"] == k for t in r["tokens"]] == [as_output(t.text) for t in tokenize(doc)]
    return records


def text_output(docs: list[str], records: list[dict]) -> str:
    """The text format as it must be: each document with ``[entity]TYPE`` inline, then a newline
    unless it ends with one."""
    out = []
    for k, doc in enumerate(docs):
        at = 0
        for e in (e for r in records if r["doc"] == k for e in r["entities"]):
            out += [doc[at:e["start"]], "[", doc[e["start"]:e["end"]], "]", e["label"]]
            at = e["end"]
        out += [doc[at:], "" if doc.endswith("\n") else "\n"]
    return as_output("".join(out))


class Visible(HTMLParser):
    """The text an HTML page shows inside its documents, entity labels left out."""

    def __init__(self):
        super().__init__()
        self.docs, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "meta":                                    # a void element: no end tag
            return
        self.stack.append((tag, dict(attrs)))
        if tag == "div" and dict(attrs).get("class") == "doc":
            self.docs.append("")

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, (tag, self.stack)   # well nested
        self.stack.pop()

    def handle_data(self, data):
        tags = [t for t, _ in self.stack]
        if "div" in tags and "sub" not in tags:
            self.docs[-1] += data


def html_text(text: str) -> str:
    """A document's text as the HTML page shows it: characters HTML forbids made visible."""
    def show(c):
        n = ord(c)
        if n < 0x20 and c not in "\t\n\r\x0c":
            return chr(0x2400 + n)
        return "\u2421" if n == 0x7F else "\ufffd" if 0x80 <= n <= 0x9F or 0xD800 <= n <= 0xDFFF else c
    return "".join(map(show, text))


# ---------------------------------------------------------------- segments


PIECES = ["Paris", "is", "nice", ".", "!", "Mr.", "J.", "K.", "Rowling", "U.S.", "don't", "'s", "-5", "1,200.5",
          "a@b.com", "http://x.org/a.", "...", '"', "(", ")", " ", "  ", "\n", "\n\n", "\r\n", "\t", "\u2028",
          "e\u0301", "\u200d", "👍🏽", "שלום", "\x00", "\u3000",
          # the line rules: datelines, list items, headlines and lines long enough to be wrapped prose
          "WASHINGTON (Reuters) - ", "LONDON, Aug 22 (AP) -- ", "- ", "1. ", "DEAL", "Ohio",
          "a line of hard-wrapped prose long enough to run on, and", "the"]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=60), st.integers(1, 40))
def test_segments_hold_the_sentences_of_the_whole_text(pieces, size):
    """Read in pieces of any size, a document is cut into exactly the sentences and tokens (with
    offsets) that splitting the whole text at once gives."""
    text = "".join(pieces)
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    segs = list(S.segments(chunks))
    assert "".join(s.text for s in segs) == text
    assert [s.start for s in segs] == list(np.cumsum([0] + [len(s.text) for s in segs])[:-1])
    assert [s.last for s in segs] == [False] * (len(segs) - 1) + [True]
    assert [s.tokens for seg in segs for s in seg.sentences] == split_sentences(text)
    for seg in segs:
        for s in seg.sentences:
            assert text[s.start:s.start + len(s.text)] == s.text
            assert seg.start <= s.start and s.start + len(s.text) <= seg.start + len(seg.text)


def test_long_sentences_are_cut_at_line_breaks_blanks_or_between_clusters(monkeypatch):
    monkeypatch.setattr(S, "LONGEST_SENTENCE", 64)
    size = 50

    def check(text):
        segs = list(S.segments(text[i:i + size] for i in range(0, len(text), size)))
        assert "".join(s.text for s in segs) == text
        sentences = [s for seg in segs for s in seg.sentences]
        for s in sentences:
            assert text[s.start:s.start + len(s.text)] == s.text
            assert len(s.text) <= 64
            for t in s.tokens:
                assert text[t.start:t.end] == t.text
        covered = "".join(t.text for s in sentences for t in s.tokens)
        assert covered == re.sub(r"\s", "", text)              # every character of every token, once
        return sentences

    lines = check("seven words on every line of this\n" * 40)   # no sentence end, a line break every 35
    assert len(lines) > 10 and all(s.text.startswith("seven") and s.text.endswith("this") for s in lines)
    blanks = check("word " * 400)
    assert len(blanks) > 10 and all(s.text.split(" ") == ["word"] * len(s.tokens) for s in blanks)
    marks = check("e\u0301\u0302" * 1000)                      # no blank at all
    assert len(marks) > 10 and all(s.text[0] == "e" for s in marks)   # a mark stays with its letter


def test_read_chunks_keeps_characters_split_between_reads():
    raw = "naïve 👍🏽 שלום e\u0301 ".encode() + b"caf\xe9 \xff\xfe \xe2\x82"   # invalid, truncated at the end
    want = raw.decode("utf-8", "surrogateescape")
    for size in range(1, 9):
        read = []
        assert "".join(S.read_chunks(io.BytesIO(raw), size, read.append)) == want
        assert sum(read) == len(raw)


# ---------------------------------------------------------------- the command


def test_jsonl_records_and_scores(run):
    docs = [NEWS + " The talks in Berlin went on.", "zyzzyva quokkas"]
    records = records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", *docs)), docs)
    assert [(r["doc"], r["source"]) for r in records] == [(0, None), (0, None), (1, None)]
    assert records[0]["text"] == NEWS and records[1]["start"] == len(NEWS) + 1
    entities = [e for r in records for e in r["entities"]]
    assert entities
    # score: the mean over the entity's tokens of the probability of the predicted class
    tagger = Tagger.load(run)
    r = records[0]
    words = np.array(r["tokens"], dtype=object)
    probs = softmax(tagger.scores(tagger.featurize(words, np.array([len(words)]))))
    best = probs.max(axis=1)
    tokens = tokenize(NEWS)
    for e in r["entities"]:
        a, b = [t.start for t in tokens].index(e["start"]), [t.end for t in tokens].index(e["end"]) + 1
        assert e["score"] == pytest.approx(best[a:b].mean(), abs=1e-4)


def test_offsets_hold_for_a_file_read_in_many_pieces(run, tmp_path, monkeypatch):
    paragraphs = [NEWS, "Straße in München, naïve café — 東京 and Zürich.", "שלום Paris. 👍🏽 Berlin!",
                  "Ange\u0301la Merkel went to Rome.\r\nNo end here\nbut on"]
    doc = "\n\n".join(paragraphs[k % 4] for k in range(200)) + "\n"
    path = tmp_path / "doc.txt"
    path.write_text(doc, encoding="utf-8", newline="")
    whole = ok(invoke("predict", "--model", run, "--format", "jsonl", "--input", path))
    monkeypatch.setattr(S, "CHUNK_SIZE", 61)           # reads end inside characters and sentences
    pieces = ok(invoke("predict", "--model", run, "--format", "jsonl", "--input", path))
    assert pieces == whole
    records = records_of(pieces, [doc])
    assert records[-1]["start"] > 10 * 61 and sum(len(r["entities"]) for r in records) >= 50


def test_sentences_go_through_the_network_in_batches(run, monkeypatch):
    calls = []
    featurize = Tagger.featurize

    def spy(self, words, lengths):
        calls.append(len(lengths))
        return featurize(self, words, lengths)

    monkeypatch.setattr(Tagger, "featurize", spy)
    text = " ".join(f"Sentence {k} is about Paris." for k in range(10))
    ok(invoke("predict", "--model", run, "--batch-size", 3, text, NEWS))
    assert calls == [3, 3, 3, 2]                       # 11 sentences, across the two documents
    calls.clear()
    monkeypatch.setattr(S, "CHUNK_SIZE", 40)
    ok(invoke("predict", "--model", run, "--batch-size", 4, "--input", "-", input=text))
    assert calls == [4, 4, 2]


def test_inputs_arguments_files_globs_and_stdin(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    files = {"docs/b.txt": "Berlin is big.", "docs/a.txt": NEWS, "docs/sub/c.txt": "Rome.\n", "docs/x.md": "no"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    records = records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", "Madrid ?", "--input", "docs/*.txt",
                                   "--input", "-", "--input", "docs/**/c.txt", input="From stdin.")),
                         ["Madrid ?", NEWS, "Berlin is big.", "From stdin.", "Rome.\n"])
    assert [(r["doc"], r["source"]) for r in records] == [
        (0, None), (1, "docs/a.txt"), (2, "docs/b.txt"), (3, "-"), (4, "docs/sub/c.txt")]
    # nothing given: standard input
    assert ok(invoke("predict", "--model", run, input="Paris and Rome.\n")).decode().replace("[", "") \
        .replace("]LOC", "").replace("]PER", "").replace("]ORG", "").replace("]MISC", "") == "Paris and Rome.\n"
    result = invoke("predict", "--model", run, "--input", "docs/*.rst")
    assert result.exit_code == 1 and "docs/*.rst: no file matches this pattern" in result.output
    result = invoke("predict", "--model", run, "--input", "docs/a.txt", "--input", "docs/none.txt")
    assert result.exit_code == 1 and "docs/none.txt: no such file" in result.output and not result.stdout_bytes


def test_output_file_is_written_whole_or_not_at_all(run, tmp_path, monkeypatch):
    target = tmp_path / "out.jsonl"
    assert ok(invoke("predict", "--model", run, "--format", "jsonl", "--output", target, NEWS)) == b""
    assert target.read_bytes() == ok(invoke("predict", "--model", run, "--format", "jsonl", NEWS))
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask     # an ordinary file, not mkstemp's 0600
    assert os.listdir(tmp_path) == ["out.jsonl"]
    target.write_text("old")
    tag = P.tag_sentences
    calls = []

    def fail_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return tag(*args)

    monkeypatch.setattr(P, "tag_sentences", fail_second)
    result = invoke("predict", "--model", run, "--batch-size", 1, "--output", target, NEWS, "Rome is old.")
    assert result.exit_code != 0 and len(calls) == 2
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.jsonl"]
    result = invoke("predict", "--model", run, "--output", tmp_path / "none" / "out.txt", NEWS)
    assert result.exit_code == 1 and "cannot write" in result.output


def test_text_format(run):
    docs = [NEWS, "Paris.\n", "", "Rome\n\n"]
    records = records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", *docs)), docs)
    out = ok(invoke("predict", "--model", run, *docs)).decode()
    assert out == text_output(docs, records)
    assert out.startswith("Angela Merkel met [Emmanuel Macron]PER in [Paris]LOC.\n")
    assert out.endswith("\n\n") and not out.endswith("\n\n\n")       # "Rome\n\n" kept, no newline added


def test_conll_format_and_scheme(run):
    docs = [NEWS + " Rome is old.", "Berlin"]
    records = records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", "--scheme", "iobes", *docs)), docs)
    out = ok(invoke("predict", "--model", run, "--format", "conll", "--scheme", "iobes", *docs)).decode()
    blocks = out.split("\n\n")
    assert blocks[-1] == "" and len(blocks) - 1 == len(records) == 3
    for block, r in zip(blocks, records):
        assert [line.split(" ") for line in block.split("\n")] == [[w, t] for w, t in zip(r["tokens"], r["tags"])]
    assert {"B-PER", "E-PER", "S-LOC"} <= {t for r in records for t in r["tags"]}


def test_html_is_one_self_contained_escaped_page(run):
    docs = [f"<script>alert('x')</script> & {NEWS}\x00\x1b\x7f\x85 \"q\" <b>bold</b>", "שלום Paris."]
    out = ok(invoke("predict", "--model", run, "--format", "html", *docs)).decode()
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert out.count("<html") == 1 and '<meta charset="utf-8">' in out
    for needle in ("<script", "http", "src=", "url(", "<link", "@import", "<b>"):
        assert needle not in out
    assert not re.search("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", out)
    page = Visible()
    page.feed(out)
    page.close()
    assert page.docs == [html_text(d) for d in docs]
    legend = re.search(r'<p class="legend">(.*?)</p>', out)[1]
    colours = dict(re.findall(r'<mark class="e (t\d+)">(\w+)</mark>', legend))
    assert set(colours.values()) == TYPES
    for css_class in colours:
        assert re.search(rf"\.{css_class}\{{background:hsl\(", out)
    marks = re.findall(r'<mark class="e (t\d+)" title="(\w+) [\d.]+">[^<]*<sub>(\w+)</sub></mark>', out)
    assert ("PER", "PER") in [(colours[c], t) for c, t, _ in marks]
    assert all(colours[c] == t == label for c, t, label in marks)


def test_progress_bar_only_on_a_terminal(run, tmp_path):
    path = tmp_path / "doc.txt"
    path.write_text((NEWS + "\n") * 50)
    command = [sys.executable, "-m", "nerwin", "predict", "--model", str(run), "--input", str(path)]

    def stderr_on_a_terminal(*extra):
        import fcntl, pty, struct, termios
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))   # a new pty is 0 wide
        done = subprocess.run(command + list(extra), stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        data = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        os.close(master)
        assert done.returncode == 0, data
        return data.decode()

    shown = stderr_on_a_terminal()
    assert "predict: 100%" in shown and "2.15k/2.15k" in shown
    assert stderr_on_a_terminal("--quiet") == ""
    piped = subprocess.run(command, capture_output=True)
    assert piped.returncode == 0 and piped.stderr == b"" and piped.stdout


# ---------------------------------------------------------------- hostile text (issue 7)


HOSTILE = {
    "control characters": f"{NEWS}\x00\x01\x07\x08 \x1b[31mred\x1b[0m \x7f\x85 end\x0b\x0cBerlin\x1c\x1d\x1e\x1f. "
                          "tab\there\r\rcr".encode(),
    "right to left": f"\u202e{NEWS}\u202c שלום עולם, ירושלים. مرحبا بالعالم في القاهرة. \u200f\u200e\u2067Paris\u2069"
                     .encode(),
    "emoji": f"👩‍👩‍👧‍👦 {NEWS} 👍🏽 🇫🇷🇩🇪 🏳️‍🌈😀😀 Berlin🎉.".encode(),
    "combining marks": f"{NEWS} Ange\u0301la Me\u0308rkel. Z̷̛͉̼a̸͖̍l̶͍̈g̸̰̿o\u0301\u0301\u0301 \u0301 leading mark \u20dd".encode(),
    "line and paragraph separators": f"{NEWS}\u2028Next line\u2029para\x85\r\n\r\nIn Berlin.\u2028".encode(),
    "zero width and BOM": f"\ufeff{NEWS}\u200b\u200c\u200dRome\u2060\ufeff.".encode(),
    "bytes that are not UTF-8": NEWS.encode() + b" \xff\xfe caf\xe9 \xed\xa0\xbd\xed\xb8\x80 \xc0\xaf Rome \xe2\x82",
    "JSON and markup syntax": f'{NEWS} "quoted\\" \\u0000 {{"a": [1]}} </script><!-- & &amp; \\\\'.encode(),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text(run, tmp_path, monkeypatch, name):
    raw = HOSTILE[name]
    doc = raw.decode("utf-8", "surrogateescape")
    path = tmp_path / "hostile.txt"
    path.write_bytes(raw)
    whole = records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", "--input", path)), [doc])
    assert any(r["entities"] for r in whole)
    monkeypatch.setattr(S, "CHUNK_SIZE", 5)                     # reads end inside every kind of character
    out = {fmt: ok(invoke("predict", "--model", run, "--format", fmt, "--input", path))
           for fmt in ("jsonl", "text", "conll", "html")}
    assert records_of(out["jsonl"], [doc]) == whole
    assert out["text"].decode("utf-8") == text_output([doc], whole)
    conll = out["conll"].decode("utf-8")
    assert [line.split(" ") for line in conll.split("\n") if line] == [[w, t] for r in whole for w, t in
                                                                      zip(r["tokens"], r["tags"])]
    page = Visible()
    page.feed(out["html"].decode("utf-8"))
    assert page.docs == [html_text(as_output(doc))]
    # the same text as an argument and on standard input
    if "\x00" not in doc and not re.search("[\ud800-\udfff]", doc):
        assert records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", doc)), [doc]) == \
            [dict(r, source=None) for r in whole]
    assert records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", input=raw)), [doc]) == \
        [dict(r, source="-") for r in whole]


@pytest.mark.slow
def test_binary_garbage(run, tmp_path, monkeypatch):
    rng = random.Random(7)
    raw = bytes(rng.randrange(256) for _ in range(60_000)) + b"\n\n" + NEWS.encode() + b"\n\n" + \
        bytes(rng.randrange(256) for _ in range(20_000))
    doc = raw.decode("utf-8", "surrogateescape")
    path = tmp_path / "garbage.bin"
    path.write_bytes(raw)
    monkeypatch.setattr(S, "CHUNK_SIZE", 4096)
    records = records_of(ok(invoke("predict", "--model", run, "--format", "jsonl", "--input", path)), [doc])
    assert len(records) > 1 and any(e["text"] == "Paris" for r in records for e in r["entities"])
    text = ok(invoke("predict", "--model", run, "--input", path)).decode("utf-8")
    assert text == text_output([doc], records)
    assert "\ufffd" in text and len(text) > len(doc)


@pytest.mark.slow
def test_memory_stays_bounded_on_a_huge_input_without_newline(run, tmp_path):
    """20 MB on one line, no sentence end: the peak memory of the process is the same as for 4 MB,
    and not much above tagging three words. (Reading the whole input at once needs several
    times its size.)"""
    rng = random.Random(3)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(200, 1000)))
             for _ in range(300)] + ["Paris", "Angela", "Merkel"]
    block = " ".join(rng.choice(words) for _ in range(4000)) + " "

    def peak_mb(path: Path) -> float:
        """Peak resident memory (MB) of `nerwin predict` on ``path``, measured in a process of its own."""
        out = tmp_path / "out.jsonl"
        probe = ("import resource, subprocess, sys; "
                 "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
                 "assert done.returncode == 0, done.stderr; "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "nerwin", "predict", "--model",
                               str(run), "--format", "jsonl", "--input", str(path), "--output", str(out)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return int(done.stdout) / 1024

    def write(name, megabytes):
        path = tmp_path / name
        with open(path, "w") as f:
            for _ in range(megabytes * 10**6 // len(block) + 1):
                f.write(block)
        return path

    small = tmp_path / "small.txt"
    small.write_text("Paris zyzzyva quokka")                  # loads the vectors of unknown words too
    base, four = peak_mb(small), peak_mb(write("4mb.txt", 4))
    huge = write("20mb.txt", 20)
    twenty = peak_mb(huge)
    print(f"peak memory: {base:.0f} MB for three words, {four:.0f} MB for 4 MB, {twenty:.0f} MB for 20 MB")
    assert twenty < 400
    assert twenty - base < 100
    assert abs(twenty - four) < 25
    # the output is complete: every word, in order, offsets into the one 20 MB line
    doc = huge.read_text()
    n_words = 0
    with open(tmp_path / "out.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            assert doc[r["start"]:r["start"] + len(r["text"])] == r["text"] and len(r["text"]) <= S.LONGEST_SENTENCE
            assert r["text"].split(" ") == r["tokens"]
            n_words += len(r["tokens"])
            for e in r["entities"]:
                assert doc[e["start"]:e["end"]] == e["text"]
    assert n_words == len(doc.split())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probability_of_the_decoded_class_is_the_softmax_entry(dtype):
    rng = np.random.default_rng(0)
    S = (rng.standard_normal((500, 17)) * rng.choice([1, 10, 100], (500, 1))).astype(dtype)
    S[3] = 0.0
    classes = rng.integers(0, 17, 500)
    np.testing.assert_array_equal(P._probability_of(S, classes), softmax(S)[np.arange(500), classes])
