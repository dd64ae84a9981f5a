"""The output formats of ``nerwin predict``: tagged segments written as marked-up text, JSON
lines, CoNLL columns or an HTML page, each a :class:`Writer` named in :data:`WRITERS`.

Every output is valid UTF-8: a lone surrogate (a byte of the input that was not UTF-8) is
written as U+FFFD, one for one, so offsets and lengths in the output still hold.
"""

from __future__ import annotations

import html
import json
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Iterator

from nerwin.errors import DataError
from nerwin.files import atomic_file
from nerwin.segment import SURROGATES, Segment

if TYPE_CHECKING:
    from nerwin.predict import Entity


class Output:
    """Writes text to a binary stream as UTF-8. A lone surrogate (a byte of the input that was
    not UTF-8) is written as U+FFFD, so the output is always valid UTF-8."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name

    def write(self, text: str) -> None:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = SURROGATES.sub("\ufffd", text).encode("utf-8")
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


class TextWriter(Writer):
    """The text with each entity marked inline, ``[Paris]LOC``; a newline after each document
    unless it ends with one."""

    _ends_line = False

    def segment(self, seg: Segment) -> None:
        pieces, at = [], 0
        for e in seg.entities():
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
            entities = ", ".join(entity_json(e, tags[e.label]) for e in s.entities)
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


def entity_json(e: Entity, label: str | None = None) -> str:
    """An entity as the JSON object of ``--format jsonl`` (and of ``nerwin serve``): start, end,
    label and type (the same), text, score rounded to 4 digits. ``label``: the label already
    encoded as a JSON string."""
    label = label or _json_str(e.label)
    return (f'{{"start": {e.start}, "end": {e.end}, "label": {label}, "type": {label}, '
            f'"text": {_json_str(e.text)}, "score": {_json_float(round(e.score, 4))}}}')


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
        if seg.start == 0:             # a document's first segment
            source = self.sources[seg.doc]
            name = f"text {seg.doc + 1}" if source is None else "standard input" if source == "-" else source
            pieces.append(f'<section>\n<h2>{_escape(name)}</h2>\n<div class="doc" dir="auto">')
        at, index = 0, self._index
        for e in seg.entities():
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


WRITERS = {"text": TextWriter, "jsonl": JsonlWriter, "conll": ConllWriter, "html": HtmlWriter}
