"""Raw text to entities with character offsets: streamed reading, batched tagging, the output
formats of ``nerwin predict``, and the Python API behind :func:`nerwin.load`.

A *document* is a TEXT argument, a file, standard input or a str given to the API. It is read
piece by piece (:data:`CHUNK_SIZE`) and cut into *segments* between sentences, so memory stays
bounded whatever the size and shape of the input; the sentences of consecutive segments, across
documents, go through the network together, ``batch_size`` sentences per call. Offsets are
character offsets (code points) into the whole document: ``document[e.start:e.end] == e.text``.

Files and standard input are decoded as UTF-8 with ``errors="surrogateescape"``: a byte that is
not UTF-8 becomes one lone surrogate, one character, so offsets count it as one character. Every
output is valid UTF-8: such a character is written as U+FFFD, one for one, so offsets and lengths
in the output still hold.
"""

from __future__ import annotations

import codecs
import glob
import html
import json
import math
import os
import re
import unicodedata
from bisect import bisect_right
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np

from nerwin import tags as T
from nerwin.data import Corpus
from nerwin.errors import DataError
from nerwin.files import atomic_file
from nerwin.tagger import Tagger
from nerwin.tokenize import Token, _new, split_sentences, tokenize

CHUNK_SIZE = 1 << 18          # bytes read from a file (characters taken from a str) at a time
LONGEST_SENTENCE = 1 << 16    # characters: a longer "sentence" is cut (line break, else blank)
BATCH_SENTENCES = 2000        # sentences per network call
BATCH_TOKENS = 100_000        # tag as soon as this many tokens wait, whatever the sentence count,
BATCH_CHARS = 1 << 20         # or this many characters of text

_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_SURROGATES = re.compile("[\ud800-\udfff]")
_GLOB = re.compile(r"[*?[]")


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity found in a document: ``document[start:end] == text``.

    ``score`` is the mean, over the entity's tokens, of the softmax probability of the tag
    the network predicted for the token.
    """

    start: int
    end: int
    label: str
    text: str
    score: float

    @property
    def type(self) -> str:
        """The entity type: the same as ``label``."""
        return self.label


@dataclass
class Sentence:
    """A sentence of a document: its offset and text, its tokens (offsets into the document),
    and, once tagged, one tag per token and its entities."""

    start: int
    text: str
    tokens: list[Token]
    tags: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)


@dataclass
class Segment:
    """A piece of document ``doc`` starting at offset ``start``; the segments of a document,
    in order, are its whole text, and a sentence never straddles two of them."""

    doc: int
    start: int
    text: str
    sentences: list[Sentence]
    last: bool                 # the last segment of its document


# ---------------------------------------------------------------- reading


def read_chunks(stream: BinaryIO, size: int | None = None,
                progress: Callable[[int], object] | None = None) -> Iterator[str]:
    """The text of a binary stream, decoded as UTF-8 piece by piece (``size`` bytes at a time;
    a character split between two reads is kept whole). An undecodable byte becomes one lone
    surrogate (``errors="surrogateescape"``). ``progress`` is called with each read's byte count."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    while data := stream.read(size or CHUNK_SIZE):
        if progress:
            progress(len(data))
        if text := decoder.decode(data):
            yield text
    if text := decoder.decode(b"", final=True):
        yield text


def file_chunks(path: Path, progress: Callable[[int], object] | None = None) -> Iterator[str]:
    """The text of a file as :func:`read_chunks` gives it; the file is opened on first use."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected text to tag)") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    with f:
        try:
            yield from read_chunks(f, progress=progress)
        except OSError as e:
            raise DataError(f"{path}: cannot read: {e.strerror}") from None


def text_chunks(text: str) -> Iterator[str]:
    """A str as consecutive pieces of :data:`CHUNK_SIZE` characters."""
    size = CHUNK_SIZE
    return (text[i:i + size] for i in range(0, len(text), size))


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """Input files in order, glob patterns (``docs/*.txt``, ``**`` too) replaced by the files
    they match, sorted. ``-`` (standard input) and existing paths are kept as they are; a missing
    file or a pattern that matches no file is an error before anything is read."""
    out = []
    for path in paths:
        name = str(path)
        if name == "-" or path.exists():
            out.append(path)
        elif _GLOB.search(name):
            found = sorted(p for p in glob.glob(name, recursive=True) if os.path.isfile(p))
            if not found:
                raise DataError(f"{name}: no file matches this pattern")
            out += map(Path, found)
        else:
            raise DataError(f"{path}: no such file (expected text to tag)")
    return out


# ---------------------------------------------------------------- segments


def segments(chunks: Iterable[str], doc: int = 0) -> Iterator[Segment]:
    """Cut a document, given as consecutive pieces of text, into segments between sentences.

    Each piece is added to what is left of the previous ones and tokenized; the sentences but
    the last, which may go on in the next piece, form a segment. The sentences are the ones
    :func:`~nerwin.tokenize.split_sentences` finds in the whole document, except that one longer
    than :data:`LONGEST_SENTENCE` characters is cut into pieces no longer than that: after a
    line break, else at a blank, else anywhere but before a combining mark. So no more than
    ``LONGEST_SENTENCE`` characters are ever carried from one piece to the next.
    """
    buffer, offset = "", 0
    pieces = iter(chunks)
    piece = next(pieces, "")
    for following in pieces:
        buffer += piece
        piece = following
        cut, sentences = _cut(buffer, LONGEST_SENTENCE)
        if cut:
            yield _segment(doc, offset, buffer[:cut], sentences, last=False)
            buffer, offset = buffer[cut:], offset + cut
    buffer += piece
    yield _segment(doc, offset, buffer, _cut(buffer, LONGEST_SENTENCE, final=True)[1], last=True)


def _cut(text: str, longest: int, final: bool = False) -> tuple[int, list[list[Token]]]:
    """Where to cut ``text``, the start of a document whose end is still unread (unless ``final``),
    and the sentences before the cut, offsets into ``text``: everything before the cut is final.

    The last sentence may go on in the text still to come: the cut falls before it, or, if more
    than ``longest`` characters would be carried, before its last piece."""
    sentences = split_sentences(text)
    out = []
    for i, tokens in enumerate(sentences):
        carried = not final and i == len(sentences) - 1
        while tokens and (len(text) if carried else tokens[-1].end) - tokens[0].start > longest:
            piece, tokens = _split_long(text, tokens, tokens[0].start + longest)
            out.append(piece)
        if carried:
            return (tokens[0].start if tokens else len(text)), out
        out.append(tokens)
    return len(text), out


def _split_long(text: str, tokens: list[Token], limit: int) -> tuple[list[Token], list[Token]]:
    """Split a long sentence's tokens in two, the first part (never empty) ending at or before
    ``limit``: after the last line break before it, else at the last blank between two tokens,
    else inside the token that runs past it, but not before a combining mark."""
    starts = [t.start for t in tokens]
    j = bisect_right(starts, limit)                  # tokens[:j] start at or before the limit
    if j == len(tokens) and tokens[-1].end <= limit:
        return tokens, []
    line_break = max(text.rfind(c, tokens[0].end, limit) for c in _LINE_BREAKS)
    if line_break >= 0:
        k = bisect_right(starts, line_break)
        return tokens[:k], tokens[k:]
    for k in range(min(j, len(tokens) - 1), 0, -1):
        if tokens[k - 1].end < tokens[k].start and tokens[k - 1].end <= limit:
            return tokens[:k], tokens[k:]
    c = limit
    while c > tokens[0].start + 1 and _joins(text, c):
        c -= 1
    k = bisect_right([t.end for t in tokens], c)     # tokens[:k] end at or before the cut
    head, tail = tokens[:k], tokens[k:]
    if tail and tail[0].start < c:                   # the token the cut falls in
        t = tail[0]
        head = head + _shift(tokenize(text[t.start:c]), t.start)
        tail = _shift(tokenize(text[c:t.end]), c) + tail[1:]
    return head, tail


def _shift(tokens: list[Token], offset: int) -> list[Token]:
    return [_new(Token, (t.text, t.start + offset, t.end + offset)) for t in tokens]


def _joins(text: str, i: int) -> bool:
    """True if ``text[i]`` belongs with the character before it (a combining mark, a joiner,
    a skin-tone modifier, or whatever follows a zero-width joiner)."""
    ch = text[i]
    return (unicodedata.category(ch)[0] == "M" or ch in "\u200c\u200d" or "\U0001f3fb" <= ch <= "\U0001f3ff"
            or text[i - 1] == "\u200d")


def _segment(doc: int, offset: int, text: str, sentences: list[list[Token]], last: bool) -> Segment:
    """A segment whose sentences' offsets, given into ``text``, move to the document."""
    out = []
    for tokens in sentences:
        if not tokens:
            continue
        a, b = tokens[0].start, tokens[-1].end
        if offset:
            tokens = _shift(tokens, offset)
        out.append(Sentence(offset + a, text[a:b], tokens))
    return Segment(doc, offset, text, out, last)


# ---------------------------------------------------------------- tagging


def tag_documents(tagger: Tagger, documents: Iterable[Iterable[str]], scheme: str = "iob2",
                  batch_size: int = BATCH_SENTENCES) -> Iterator[Segment]:
    """The tagged segments of each document in turn; a document is given as consecutive pieces
    of its text (:func:`text_chunks`, :func:`file_chunks`). Lazy: a document is read only when
    the batch being filled needs it."""
    def all_segments():
        for doc, chunks in enumerate(documents):
            yield from segments(chunks, doc)
    return tag_segments(tagger, all_segments(), scheme, batch_size)


def tag_segments(tagger: Tagger, segs: Iterable[Segment], scheme: str = "iob2",
                 batch_size: int = BATCH_SENTENCES) -> Iterator[Segment]:
    """Tag segments ``batch_size`` sentences per network call, the sentences of consecutive
    segments together; yields each segment, tagged, in order, as soon as all its sentences are.

    Sentences wait until there are ``batch_size`` of them, or :data:`BATCH_TOKENS` tokens, or
    :data:`BATCH_CHARS` characters of text in the waiting segments (then all are tagged)."""
    pending: deque[Segment] = deque()
    waiting: list[Sentence] = []
    n_tokens = n_chars = 0
    for seg in segs:
        pending.append(seg)
        waiting += seg.sentences
        n_tokens += sum(len(s.tokens) for s in seg.sentences)
        n_chars += len(seg.text)
        if len(waiting) < batch_size and n_tokens < BATCH_TOKENS and n_chars < BATCH_CHARS:
            continue
        n = len(waiting) if n_tokens >= BATCH_TOKENS or n_chars >= BATCH_CHARS else \
            len(waiting) - len(waiting) % batch_size
        for i in range(0, n, batch_size):
            tag_sentences(tagger, waiting[i:i + batch_size], scheme)
        waiting = waiting[n:]
        first_waiting = waiting[0] if waiting else None
        while pending and not any(s is first_waiting for s in pending[0].sentences):
            yield pending.popleft()
        n_tokens = sum(len(s.tokens) for s in waiting)
        n_chars = sum(len(seg.text) for seg in pending)
    for i in range(0, len(waiting), batch_size):
        tag_sentences(tagger, waiting[i:i + batch_size], scheme)
    yield from pending


def tag_sentences(tagger: Tagger, sentences: list[Sentence], scheme: str = "iob2") -> None:
    """Fill in the tags and entities of ``sentences``: one network call for all of them."""
    lengths = np.array([len(s.tokens) for s in sentences], np.int64)
    if not lengths.sum():
        return
    words = np.array([w for s in sentences for w in _words(s)], dtype=object)
    S = tagger.scores(tagger.featurize(words, lengths))
    classes = tagger.decode(S, lengths)
    confidence = np.concatenate([[0.0], np.cumsum(_probability_of(S, classes), dtype=np.float64)])
    corpus = Corpus(words, lengths)
    offsets, first = corpus.offsets, corpus.first
    spans = tagger.labels.decode(classes, first)
    tags = T.to_strings(*T.encode(spans, len(words), scheme, first), tagger.labels.types).tolist()
    bounds = offsets.tolist()
    for k, s in enumerate(sentences):
        s.tags = tags[bounds[k]:bounds[k + 1]]
        s.entities = []
    types = tagger.labels.types
    scores = ((confidence[spans.end] - confidence[spans.start]) / (spans.end - spans.start)).tolist()
    owner = np.searchsorted(offsets, spans.start, side="right") - 1
    for a, b, label, k, score in zip(spans.start.tolist(), spans.end.tolist(), spans.label.tolist(),
                                     owner.tolist(), scores):   # Python numbers: no NumPy scalars per entity
        s = sentences[k]
        start, end = s.tokens[a - bounds[k]].start, s.tokens[b - 1 - bounds[k]].end
        s.entities.append(Entity(start, end, types[label], s.text[start - s.start:end - s.start], score))


def _probability_of(S: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``softmax(S)[n, classes[n]]`` for each row n, the same numbers without dividing every entry:
    e^(s_c - max s) / Σ_j e^(s_j - max s)."""
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e[np.arange(len(e)), classes] / e.sum(axis=1)


def _words(sentence: Sentence) -> list[str]:
    """The words of a sentence for the network: a lone surrogate (a byte that was not UTF-8) is
    looked up as U+FFFD, which pandas can hash."""
    if _SURROGATES.search(sentence.text):
        return [_SURROGATES.sub("\ufffd", t.text) for t in sentence.tokens]
    return [t.text for t in sentence.tokens]


# ---------------------------------------------------------------- the Python API


class Predictor:
    """Named entities in raw text, from a trained model: ``nerwin.load(path)`` returns one.

    ``predictor(text)`` is the list of the text's :class:`Entity`, offsets into ``text``;
    ``predictor.pipe(texts)`` yields one such list per text, lazily, tagging the sentences of
    many texts together.
    """

    def __init__(self, tagger: Tagger, scheme: str = "iob2"):
        self.tagger = tagger
        self.scheme = scheme

    @classmethod
    def load(cls, path) -> "Predictor":
        """A model file, or the model of a run folder."""
        return cls(Tagger.load(path))

    @property
    def labels(self) -> list[str]:
        """The entity types the model knows."""
        return list(self.tagger.labels.types)

    def __call__(self, text: str) -> list[Entity]:
        return next(self.pipe([text]))

    def pipe(self, texts: Iterable[str], batch_size: int = BATCH_SENTENCES) -> Iterator[list[Entity]]:
        """One list of entities per text, in order; ``batch_size`` sentences per network call,
        taken from as many texts as it needs. ``texts`` is read as results are asked for."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        documents = (text_chunks(_text(t)) for t in texts)
        found: list[Entity] = []
        for seg in tag_documents(self.tagger, documents, self.scheme, batch_size):
            found += _entities(seg)
            if seg.last:
                yield found
                found = []

    def __repr__(self) -> str:
        return f"<nerwin.Predictor {', '.join(self.labels)}>"


def _text(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected str texts, got {type(text).__name__}")
    return text


# ---------------------------------------------------------------- output


class Output:
    """Writes text to a binary stream as UTF-8. A lone surrogate (a byte of the input that was
    not UTF-8) is written as U+FFFD, so the output is always valid UTF-8."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name

    def write(self, text: str) -> None:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = _SURROGATES.sub("\ufffd", text).encode("utf-8")
        try:
            self.stream.write(data)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise DataError(f"{self.name}: cannot write: {e.strerror}") from None


@contextmanager
def open_output(path: Path | None, stdout: BinaryIO) -> Iterator[Output]:
    """Standard output, or ``path`` written atomically: streamed into a temporary file in the
    same folder, synced and renamed over ``path`` at the end; removed on any error."""
    if path is None:
        yield Output(stdout, "standard output")
        stdout.flush()
        return
    with atomic_file(path) as f:
        yield Output(f, str(path))


class Writer:
    """An output format: :meth:`write` takes the tagged segments of every document, in order.

    ``types`` are the model's entity types; ``sources`` name each document (a file path, ``-``
    for standard input, None for a TEXT argument)."""

    def __init__(self, out: Output, types: list[str], sources: list[str | None]):
        self.out, self.types, self.sources = out, types, sources

    def write(self, segs: Iterable[Segment]) -> None:
        self.begin()
        for seg in segs:
            self.segment(seg)
        self.end()

    def begin(self) -> None:
        pass

    def segment(self, seg: Segment) -> None:
        raise NotImplementedError

    def end(self) -> None:
        pass


def _entities(seg: Segment) -> Iterator[Entity]:
    return (e for s in seg.sentences for e in s.entities)


class TextWriter(Writer):
    """The text with each entity marked inline, ``[Paris]LOC``; a newline after each document
    unless it ends with one."""

    _ends_line = False

    def segment(self, seg: Segment) -> None:
        pieces, at = [], 0
        for e in _entities(seg):
            pieces += [seg.text[at:e.start - seg.start], "[", e.text, "]", e.label]
            at = e.end - seg.start
        pieces.append(seg.text[at:])
        if seg.text:
            self._ends_line = seg.text.endswith("\n")
        if seg.last:
            pieces.append("" if self._ends_line else "\n")
            self._ends_line = False
        self.out.write("".join(pieces))


# U+0085, U+2028 and U+2029 end a line for some readers (str.splitlines): escaped, so one
# record is always one line. They occur only inside JSON strings, where the escape is valid.
_JSON_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class JsonlWriter(Writer):
    """One JSON object per sentence: its text and offset, tokens, tags, entities (offsets into
    the document), the document's index and source.

    Each line is assembled from pieces, every string through the encoder ``json.dumps`` uses
    (``ensure_ascii=False``), so it is byte for byte what ``json.dumps(record)`` writes, at
    half the cost."""

    def begin(self) -> None:
        self._tags = _Encoded()

    def segment(self, seg: Segment) -> None:
        source = json.dumps(self.sources[seg.doc], ensure_ascii=False)
        tail = f', "doc": {seg.doc}, "source": {source}}}\n'
        tags = self._tags
        pieces = []
        for s in seg.sentences:
            entities = ", ".join(
                f'{{"start": {e.start}, "end": {e.end}, "label": {tags[e.label]}, '
                f'"type": {tags[e.label]}, "text": {_json_str(e.text)}, "score": {_json_float(round(e.score, 4))}}}'
                for e in s.entities)
            texts = [t.text for t in s.tokens]
            if texts and not _JSON_ESCAPED.search("".join(texts)):   # none needs escaping: quote all at once
                tokens = '"' + '", "'.join(texts) + '"'
            else:
                tokens = ", ".join(map(_json_str, texts))
            pieces += ['{"text": ', _json_str(s.text), ', "start": ', str(s.start),
                       ', "tokens": [', tokens, '], "tags": [', ", ".join(map(tags.__getitem__, s.tags)),
                       '], "entities": [', entities, "]", tail]
        text = "".join(pieces)
        if any(c in text for c in "\x85\u2028\u2029"):
            text = text.translate(_JSON_LINE_BREAKS)
        self.out.write(text)


_json_str = json.encoder.encode_basestring   # what json.dumps(..., ensure_ascii=False) uses
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')   # the characters _json_str escapes


class _Encoded(dict):
    """Tag and type names as JSON strings, each encoded once."""

    def __missing__(self, name: str) -> str:
        self[name] = _json_str(name)
        return self[name]


def _json_float(x: float) -> str:
    """A float as ``json.dumps`` writes it: ``repr``, or NaN / Infinity / -Infinity."""
    return repr(x) if math.isfinite(x) else json.dumps(x)


class ConllWriter(Writer):
    """``word tag`` lines, a blank line after each sentence."""

    def segment(self, seg: Segment) -> None:
        self.out.write("".join("".join(f"{t.text} {tag}\n" for t, tag in zip(s.tokens, s.tags)) + "\n"
                               for s in seg.sentences))


# Characters HTML forbids (controls, noncharacters) are shown as their visible symbol or U+FFFD.
_HTML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef"
                             + "".join(f"\\U{p:04x}fffe\\U{p:04x}ffff" for p in range(17)) + "]")


def _visible(m: re.Match) -> str:
    c = ord(m[0])
    return chr(0x2400 + c) if c < 0x20 else "\u2421" if c == 0x7F else "\ufffd"


def _escape(text: str, quote: bool = False) -> str:
    return html.escape(_HTML_FORBIDDEN.sub(_visible, text), quote=quote)


class HtmlWriter(Writer):
    """One self-contained HTML page (no scripts, no external resources): each document's text
    with its entities highlighted, one colour per type, and a legend."""

    _doc = -1

    def begin(self) -> None:
        self._index = {t: k for k, t in enumerate(self.types)}
        colours = "".join(f".t{k}{{background:hsl({k * 137.508 % 360:.0f},75%,82%)}}\n"
                          for k in range(len(self.types)))
        legend = " ".join(f'<mark class="e t{k}">{_escape(t)}</mark>' for k, t in enumerate(self.types))
        self.out.write(
            '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>nerwin entities</title>\n'
            "<style>\nbody{font-family:sans-serif;margin:2em;line-height:1.7}\n"
            ".doc{white-space:pre-wrap;unicode-bidi:plaintext;font-family:serif}\n"
            ".e{unicode-bidi:isolate;border-radius:3px;padding:0 2px}\n"
            ".e sub{font:bold 0.65em sans-serif;margin-left:2px}\n"
            f"{colours}</style>\n</head>\n<body>\n"
            f'<p class="legend">{legend}</p>\n')

    def segment(self, seg: Segment) -> None:
        pieces = []
        if seg.doc != self._doc:
            self._doc = seg.doc
            source = self.sources[seg.doc]
            name = f"text {seg.doc + 1}" if source is None else "standard input" if source == "-" else source
            pieces.append(f'<section>\n<h2>{_escape(name)}</h2>\n<div class="doc" dir="auto">')
        at, index = 0, self._index
        for e in _entities(seg):
            title = _escape(f"{e.label} {e.score:.2f}", quote=True)
            pieces += [_escape(seg.text[at:e.start - seg.start]),
                       f'<mark class="e t{index[e.label]}" title="{title}">{_escape(e.text)}'
                       f"<sub>{_escape(e.label)}</sub></mark>"]
            at = e.end - seg.start
        pieces.append(_escape(seg.text[at:]))
        if seg.last:
            pieces.append("</div>\n</section>\n")
        self.out.write("".join(pieces))

    def end(self) -> None:
        self.out.write("</body>\n</html>\n")


FORMATS = {"text": TextWriter, "jsonl": JsonlWriter, "conll": ConllWriter, "html": HtmlWriter}
