"""CoNLL-format corpora: reading, the flat corpus layout, and entity spans.

A :class:`Corpus` keeps one flat array of words (and of tags) for all its sentences plus
the sentence lengths, so that later stages work on whole corpora as arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nerwin import tags as T
from nerwin.errors import DataError, line_of, shorten, where
from nerwin.files import read_lines_file

DOCSTART = "-DOCSTART-"
_COLUMNS = re.compile(r"[ \t]+")  # columns are separated by spaces and tabs only


@dataclass
class Corpus:
    """Sentences as flat arrays.

    ``words`` (n,) and ``tags`` (n,) hold every token in order, ``lengths`` (m,) each
    sentence's length; ``lines`` (n,) the 1-based line number of each token in ``path``.
    ``repairs`` counts the ill-formed tags (such as ``O I-PER`` in IOB2) that had to be read
    the way the CoNLL scorer reads them (:func:`nerwin.tags.ill_formed`). ``documents`` (k,)
    holds the index of each document's first sentence, increasing, starting at 0 (CoNLL files
    mark documents with ``-DOCSTART-`` lines); None means one document.
    """

    words: np.ndarray
    lengths: np.ndarray
    tags: np.ndarray | None = None
    lines: np.ndarray | None = None
    path: str = "<memory>"
    scheme: str | None = None  # the scheme the tags were written in
    repairs: int = 0
    documents: np.ndarray | None = None

    @classmethod
    def from_sentences(cls, sentences, tags=None, path="<memory>") -> "Corpus":
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        words = np.array([w for s in sentences for w in s], dtype=object)
        flat = None if tags is None else np.array([t for s in tags for t in s], dtype=object)
        corpus = cls(words, lengths, flat, None, path)
        corpus._read_tags()
        return corpus

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def n_tokens(self) -> int:
        return len(self.words)

    @property
    def offsets(self) -> np.ndarray:
        """Start index of each sentence, plus the total at the end: shape (m + 1,)."""
        return np.concatenate([[0], np.cumsum(self.lengths)])

    @property
    def first(self) -> np.ndarray:
        """True on the first token of each sentence."""
        mask = np.zeros(self.n_tokens, bool)
        mask[self.offsets[:-1][self.lengths > 0]] = True
        return mask

    @property
    def document_starts(self) -> np.ndarray:
        """The first sentence of each document (k,): ``documents``, or [0] for one document."""
        return np.zeros(1, np.int64) if self.documents is None else self.documents

    def sentences(self):
        """The words of each sentence, as lists (for output, not for hot paths)."""
        off = self.offsets
        return [list(self.words[off[i] : off[i + 1]]) for i in range(len(self))]

    def parse_tags(self, types=None):
        """``(prefix, type, types)`` of the gold tags; see :func:`nerwin.tags.parse`."""
        if self.tags is None:
            raise DataError(f"{self.path}: has no tag column")
        return T.parse(self.tags, types, self.path, self.lines)

    def detect_scheme(self) -> str:
        prefix, type_, _ = self.parse_tags()
        return T.detect(prefix, type_, self.first)

    def ill_formed(self) -> np.ndarray:
        """True on each token whose tag is ill-formed in the corpus's scheme (see
        :func:`nerwin.tags.ill_formed`); all False without tags."""
        if self.tags is None:
            return np.zeros(self.n_tokens, bool)
        prefix, type_, _ = self.parse_tags()
        return T.ill_formed(prefix, type_, self.first, self.scheme or T.detect(prefix, type_, self.first))

    def repair_warning(self) -> str | None:
        """One line saying how many ill-formed tags were repaired and where the first is;
        None when there were none."""
        bad = np.flatnonzero(self.ill_formed())
        if not len(bad):
            return None
        k = int(bad[0])
        at = where(self.path, None if self.lines is None else int(self.lines[k]))
        before = "sentence start" if self.first[k] else shorten(self.tags[k - 1])
        return (f"{self.path}: {len(bad)} ill-formed {self.scheme} tag{'s' if len(bad) > 1 else ''} "
                f"read as the CoNLL scorer reads them (first at {at}: {shorten(self.tags[k])} "
                f"after {before})")

    def _read_tags(self) -> None:
        """Validate every tag, detect the scheme and count the repairs."""
        if self.tags is not None:
            self.scheme = self.detect_scheme()
            self.repairs = int(np.count_nonzero(self.ill_formed()))

    def spans(self, types=None) -> tuple[T.Spans, list[str]]:
        """Gold entity spans and the type names their labels index."""
        prefix, type_, types = self.parse_tags(types)
        return T.spans(prefix, type_, self.first), types

    def entity_types(self) -> list[str]:
        """Entity types in the gold tags, sorted."""
        return sorted(self.parse_tags()[2])

    def subset(self, sentence_ids) -> "Corpus":
        """A corpus of the chosen sentences, in the given order."""
        off = self.offsets
        ids = np.asarray(sentence_ids, dtype=np.int64)
        lengths = self.lengths[ids]
        token_ids = np.concatenate([np.arange(off[i], off[i + 1]) for i in ids]) if len(ids) else np.zeros(0, np.int64)
        pick = lambda a: None if a is None else a[token_ids]
        doc = np.searchsorted(self.document_starts, ids, side="right")   # each sentence's document
        new_doc = np.flatnonzero(np.diff(doc, prepend=-1) != 0) if len(ids) else None
        sub = Corpus(self.words[token_ids], lengths, pick(self.tags), pick(self.lines), self.path, self.scheme,
                     documents=new_doc)
        if sub.tags is not None:
            sub.repairs = int(np.count_nonzero(sub.ill_formed()))
        return sub


# Case variants of a corpus: the same sentences with every word re-cased, tags unchanged.
CASES = {"as-is": None, "lower": str.lower, "upper": str.upper, "title": str.title}


def recase(corpus: Corpus, case: str) -> Corpus:
    """The corpus with every word lower-, upper- or title-cased (``str.lower`` etc.); tags,
    sentence lengths and line numbers unchanged. ``"as-is"`` returns the corpus itself."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}: expected one of {', '.join(CASES)}")
    if CASES[case] is None:
        return corpus
    words = np.empty(corpus.n_tokens, object)
    words[:] = list(map(CASES[case], corpus.words))
    return Corpus(words, corpus.lengths, corpus.tags, corpus.lines, corpus.path,
                  corpus.scheme, corpus.repairs, corpus.documents)


def with_case_variants(corpus: Corpus, cases) -> Corpus:
    """The corpus followed by one re-cased copy of it per name in ``cases`` (see :func:`recase`);
    each copy's documents are documents of their own."""
    if not cases:
        return corpus
    parts = [corpus] + [recase(corpus, c) for c in cases]
    cat = lambda arrays: None if arrays[0] is None else np.concatenate(arrays)
    documents = np.concatenate([corpus.document_starts + k * len(corpus) for k in range(len(parts))])
    return Corpus(cat([p.words for p in parts]), cat([p.lengths for p in parts]),
                  cat([p.tags for p in parts]), cat([p.lines for p in parts]), corpus.path,
                  corpus.scheme, corpus.repairs * len(parts), documents)


def read_conll(path, require_tags: bool = True, encoding: str = "utf-8") -> Corpus:
    """Read a CoNLL file: columns separated by spaces or tabs, the word first and the tag last.

    Only spaces and tabs separate columns, so a token may hold other characters that Unicode
    calls spaces (U+00A0 no-break space stays part of its word). Lines end with LF, CRLF or
    CR; a line of nothing but whitespace is blank, and blank lines end sentences (several
    in a row are one break); a ``-DOCSTART-`` line starts a new document
    (:attr:`Corpus.documents`; a file without one is one document); a UTF-8 BOM, leading and
    trailing spaces and tabs, and a missing final newline are tolerated. Every token line
    must have the same number of columns. Tags are validated, their scheme detected and
    ill-formed sequences counted in :attr:`Corpus.repairs`. Errors name the file and line:
    a NUL character and a line longer than :data:`~nerwin.files.LONGEST_LINE` bytes are
    errors too (so ``/dev/zero`` is refused after reading a few megabytes).
    """
    path = Path(path)
    try:
        raw = read_lines_file(path, "a CoNLL corpus", encoding)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected a CoNLL corpus)") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a CoNLL corpus file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    text = decode(raw, path, encoding).replace("\r\n", "\n").replace("\r", "\n")
    if (nul := text.find("\0")) >= 0:
        raise DataError(f"{where(path, text.count(chr(10), 0, nul) + 1)}: a NUL character: expected "
                        "text (is this a binary file, or in another encoding? give --encoding)")

    words, tags, lines, lengths, documents = [], [], [], [], [0]
    n_cols, n_cols_line, length, docstarts, new_document = None, None, 0, 0, False
    for number, line in enumerate(text.split("\n"), start=1):
        if not line or line.isspace():
            fields = None
        else:
            fields = _COLUMNS.split(line.strip(" \t"))
            if fields[0] == DOCSTART:
                docstarts += 1
                new_document = True
                fields = None
        if fields is None:
            if length:
                lengths.append(length)
                length = 0
            continue
        if n_cols is None:
            n_cols, n_cols_line = len(fields), number
            if require_tags and n_cols < 2:
                raise DataError(
                    f"{where(path, number)}: expected at least 2 columns (word ... tag), found 1"
                )
        elif len(fields) != n_cols:
            raise DataError(
                f"{where(path, number)}: expected {n_cols} columns as on line {n_cols_line}, "
                f"found {len(fields)}"
            )
        if new_document and not length:
            if lengths and documents[-1] != len(lengths):
                documents.append(len(lengths))     # this sentence opens a document
            new_document = False
        words.append(fields[0])
        tags.append(fields[-1])
        lines.append(number)
        length += 1
    if length:
        lengths.append(length)
    if not lengths:
        what = "only -DOCSTART- lines" if docstarts else ("only blank lines" if text else "the file is empty")
        raise DataError(f"{path}: no sentences found ({what}; expected CoNLL lines 'word ... tag')")

    corpus = Corpus(
        np.array(words, dtype=object),
        np.array(lengths, dtype=np.int64),
        np.array(tags, dtype=object) if n_cols and n_cols > 1 else None,
        np.array(lines, dtype=np.int64),
        str(path),
        documents=np.array(documents, dtype=np.int64),
    )
    corpus._read_tags()  # also validates every tag
    return corpus


def decode(raw: bytes, path, encoding: str) -> str:
    """Bytes to text without a BOM; an undecodable byte is an error naming its line and offset."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise DataError(
            f"{where(path, line_of(raw, e.start))}: byte {e.start} (0x{raw[e.start]:02x}) is not valid "
            f"{encoding}; give the file's encoding (--encoding, or data.encoding in a config)"
        ) from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}") from None
    return text.removeprefix("\ufeff")
