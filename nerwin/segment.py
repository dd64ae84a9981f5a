"""Raw text to sentences with character offsets, read piece by piece.

A *document* is a TEXT argument, a file, standard input or a str given to the API. It is read
piece by piece (:data:`CHUNK_SIZE`) and cut into *segments* between sentences, so memory stays
bounded whatever the size and shape of the input. Offsets are character offsets (code points)
into the whole document: ``document[s.start:s.start + len(s.text)] == s.text``.

Files and standard input are decoded as UTF-8 with ``errors="surrogateescape"``: a byte that is
not UTF-8 becomes one lone surrogate (:data:`SURROGATES`), one character, so offsets count it as
one character.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Iterator

from nerwin.errors import DataError
from nerwin.files import glob_files
from nerwin.tokenize import (INDENT, LINE_BREAKS, Token, cut_point, paragraph_break, shift_tokens,
                             split_sentences, tokenize)

if TYPE_CHECKING:   # a tagged sentence holds entities; tagging imports this module, not back
    from nerwin.predict import Entity

CHUNK_SIZE = 1 << 18          # bytes read from a file (characters taken from a str) at a time
LONGEST_SENTENCE = 1 << 16    # characters: a longer "sentence" is cut (line break, else blank)

SURROGATES = re.compile("[\ud800-\udfff]")   # an undecoded byte of the input, one character each
_GLOB = re.compile(r"[*?[]")


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

    def entities(self) -> Iterator[Entity]:
        """The entities of the segment's sentences, in order."""
        return (e for s in self.sentences for e in s.entities)


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
    they match, sorted, each real file once (:func:`~nerwin.files.glob_files`: symbolic-link
    loops add nothing). ``-`` (standard input) and existing paths are kept as they are; a missing
    file or a pattern that matches no file is an error before anything is read."""
    out = []
    for path in paths:
        name = str(path)
        if name == "-" or path.exists():
            out.append(path)
        elif _GLOB.search(name):
            found = glob_files(name)
            if not found:
                raise DataError(f"{name}: no file matches this pattern")
            out += map(Path, found)
        else:
            raise DataError(f"{path}: no such file (expected text to tag)")
    return out


def pieces(chunks: Iterable[str], size: int) -> Iterator[tuple[int, str]]:
    """A document, given as consecutive pieces of text, in pieces of at least ``size``
    characters (the last may be shorter) cut only at paragraph breaks
    (:func:`~nerwin.tokenize.paragraph_break`), with their offsets: the sentences of each piece
    are those of the whole document there, so pieces can be tagged apart. A paragraph is never
    cut, so a piece holds at least one whole paragraph."""
    buffer, offset = "", 0
    for chunk in chunks:
        searched = max(len(buffer) - 1, size)          # breaks before it were looked for already
        buffer += chunk
        while 0 <= (cut := paragraph_break(buffer, searched)) < len(buffer):   # text after it: not the last
            yield offset, buffer[:cut]
            buffer, offset, searched = buffer[cut:], offset + cut, size
    yield offset, buffer                               # never empty after a cut; "" for an empty document


# ---------------------------------------------------------------- segments


def segments(chunks: Iterable[str], doc: int = 0) -> Iterator[Segment]:
    """Cut a document, given as consecutive pieces of text, into segments between sentences.

    Each piece is added to what is left of the previous ones and tokenized; the sentences but
    the last, which may go on in the next piece, form a segment. The sentences are the ones
    :func:`~nerwin.tokenize.split_sentences` finds in the whole document, except that one longer
    than :data:`LONGEST_SENTENCE` characters is cut into pieces no longer than that: after a
    line break, else at a blank, else anywhere but before a combining mark. So no more than
    ``LONGEST_SENTENCE`` characters are ever carried from one piece to the next. The text
    carried starts a line, or comes with the column it starts at, so the line rules of
    ``split_sentences`` measure each line whole.
    """
    buffer, offset, column = "", 0, 0   # column: characters of the buffer's first line already cut off
    pieces = iter(chunks)
    piece = next(pieces, "")
    for following in pieces:
        buffer += piece
        piece = following
        cut, sentences = _cut(buffer, LONGEST_SENTENCE, column)
        line_start = max(buffer.rfind(c, 0, cut) for c in LINE_BREAKS) + 1
        if (line_start or not column) and not buffer[line_start:cut].strip(INDENT):
            cut = line_start   # the carried text starts its line: the line rules see it whole
        if cut:
            yield _segment(doc, offset, buffer[:cut], sentences, last=False)
            column = cut - line_start + (column if not line_start else 0)
            buffer, offset = buffer[cut:], offset + cut
    buffer += piece
    yield _segment(doc, offset, buffer, _cut(buffer, LONGEST_SENTENCE, column, final=True)[1], last=True)


def _cut(text: str, longest: int, column: int = 0, final: bool = False) -> tuple[int, list[list[Token]]]:
    """Where to cut ``text``, the start of a document whose end is still unread (unless ``final``),
    and the sentences before the cut, offsets into ``text``: everything before the cut is final.

    The last sentence may go on in the text still to come: the cut falls before it, or, if more
    than ``longest`` characters would be carried, before its last piece."""
    sentences = split_sentences(text, column)
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
    else inside the token that runs past it, but not inside a grapheme cluster when one ends
    within :data:`~nerwin.tokenize.LONGEST_CLUSTER` characters before it
    (:func:`~nerwin.tokenize.cut_point`). Tokens are at most
    :data:`~nerwin.tokenize.LONGEST_TOKEN` long, so a cut costs O(``longest``) whatever the text."""
    starts = [t.start for t in tokens]
    j = bisect_right(starts, limit)                  # tokens[:j] start at or before the limit
    if j == len(tokens) and tokens[-1].end <= limit:
        return tokens, []
    line_break = max(text.rfind(c, tokens[0].end, limit) for c in LINE_BREAKS)
    if line_break >= 0:
        k = bisect_right(starts, line_break)
        return tokens[:k], tokens[k:]
    for k in range(min(j, len(tokens) - 1), 0, -1):
        if tokens[k - 1].end < tokens[k].start and tokens[k - 1].end <= limit:
            return tokens[:k], tokens[k:]
    c = cut_point(text, tokens[0].start, limit)
    k = bisect_right([t.end for t in tokens], c)     # tokens[:k] end at or before the cut
    head, tail = tokens[:k], tokens[k:]
    if tail and tail[0].start < c:                   # the token the cut falls in
        t = tail[0]
        head = head + shift_tokens(tokenize(text[t.start:c]), t.start)
        tail = shift_tokens(tokenize(text[c:t.end]), c) + tail[1:]
    return head, tail


def _segment(doc: int, offset: int, text: str, sentences: list[list[Token]], last: bool) -> Segment:
    """A segment whose sentences' offsets, given into ``text``, move to the document."""
    out = []
    for tokens in sentences:
        if not tokens:
            continue
        a, b = tokens[0].start, tokens[-1].end
        if offset:
            tokens = shift_tokens(tokens, offset)
        out.append(Sentence(offset + a, text[a:b], tokens))
    return Segment(doc, offset, text, out, last)
