"""Words to window features: vocabulary ids, casing ids, suffix ids and the 5-word windows.

Each token becomes the window of ``size`` tokens centred on it (2 left, centre, 2 right
for size 5), padded with ``<s>`` / ``</s>`` at sentence edges. A window is rows of
integers, word ids, casing ids and (when the model has them) suffix ids; the network
gathers their vectors. Whole corpora are converted at once, as index arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from nerwin.embeddings import Pretrained, factorize, normalize, normalize_distinct

UNK, PAD_LEFT, PAD_RIGHT = "<unk>", "<s>", "</s>"
SPECIALS = (UNK, PAD_LEFT, PAD_RIGHT)
CASINGS = ("pad", "lower", "upper", "title", "digit", "other", "uncased")
_DIGIT = re.compile(r"\d")


def casing(words) -> np.ndarray:
    """Casing class of each word (index into :data:`CASINGS`, never 0 = padding).

    ``digit`` if the word holds a digit, else ``lower`` (all cased letters lower),
    ``upper`` (all upper), ``title`` (first upper, rest lower), ``other``.
    """
    words = np.asarray(words, dtype=object)
    if words.size == 0:
        return np.zeros(0, np.int32)
    uniq, codes = factorize(words)
    return casing_distinct(uniq)[codes]


def n_casings(uncased: bool) -> int:
    """Rows of the casing table: every class, or all but ``uncased`` when it is not used."""
    return len(CASINGS) if uncased else len(CASINGS) - 1


def uncased_tokens(uniq: list, codes: np.ndarray, lengths) -> np.ndarray:
    """True on each token that has a letter but sits in a sentence without case contrast
    (no upper-case letter in it, or no lower-case one: ``all lower`` or ``ALL CAPS`` text).
    The words are ``uniq[codes]`` (distinct words and each token's index into them).

    In such a sentence a word's case says nothing about it being a name; with
    ``embeddings.uncased`` these tokens (digits aside) take the casing class ``uncased``, so
    the network reads them from the word alone while ordinary text keeps its casing signal.
    """
    lengths = np.asarray(lengths, np.int64)
    has_upper = np.fromiter((w != w.lower() for w in uniq), bool, len(uniq))[codes]
    has_lower = np.fromiter((w != w.upper() for w in uniq), bool, len(uniq))[codes]
    sentence = np.repeat(np.arange(len(lengths)), lengths)
    count = lambda flags: np.bincount(sentence, flags, len(lengths)) > 0
    contrast = count(has_upper) & count(has_lower)
    return ~contrast[sentence] & (has_upper | has_lower)


def casing_distinct(words: list) -> np.ndarray:
    """:func:`casing` for a list of words."""
    return np.fromiter(map(_casing, words), np.int32, len(words))


def _casing(word: str) -> int:
    if _DIGIT.search(word):
        return CASINGS.index("digit")
    if word.islower():
        return CASINGS.index("lower")
    if word.isupper():
        return CASINGS.index("upper")
    if word.istitle():
        return CASINGS.index("title")
    return CASINGS.index("other")


def suffixes_distinct(keys, length: int) -> np.ndarray:
    """The last ``length`` characters (code points) of each normalised word, the whole word
    where it is shorter: an object array. A short word's suffix is shorter than ``length``,
    so it never equals the suffix of a longer word."""
    out = np.empty(len(keys), object)
    out[:] = [k[-length:] for k in keys]
    return out


@dataclass
class Windows:
    """A corpus as windows: ``words``, ``casing`` and ``suffix`` ids, each (n tokens, window
    size); ``suffix`` is (n, 0) for a model without suffix features.

    ``extra`` (k, d) holds pretrained vectors of words the model's vocabulary lacks; their
    ids are ``V .. V + k - 1``, after the model's own V rows.
    """

    words: np.ndarray
    casing: np.ndarray
    extra: np.ndarray
    suffix: np.ndarray

    def __len__(self) -> int:
        return len(self.words)


def windows(ids: np.ndarray, lengths: np.ndarray, size: int, left: int, right: int) -> np.ndarray:
    """The (n, size) windows of per-token ids; ``left``/``right`` fill beyond sentence edges."""
    n = len(ids)
    half = size // 2
    ends = np.cumsum(lengths)
    sent_start = np.repeat(ends - lengths, lengths)
    sent_end = np.repeat(ends, lengths)
    pos = np.arange(n)[:, None] + np.arange(-half, half + 1)[None, :]
    out = ids[np.clip(pos, 0, max(n - 1, 0))] if n else np.zeros((0, size), ids.dtype)
    out = np.where(pos < sent_start[:, None], left, out)
    out = np.where(pos >= sent_end[:, None], right, out)
    return out.astype(np.int32)


class Table:
    """Keys to ids: ``<unk>``, ``<s>``, ``</s>``, then ``keys`` in order (what the word and
    suffix tables share)."""

    def __init__(self, keys):
        keys = list(SPECIALS) + [k for k in keys if k not in SPECIALS]
        self.words = np.empty(len(keys), object)
        self.words[:] = keys
        self._ids = {}
        for i, k in enumerate(keys):
            self._ids.setdefault(k, i)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def is_unique(self) -> bool:
        return len(self._ids) == len(self.words)

    def lookup(self, keys) -> np.ndarray:
        """The id of each lookup key (int64), -1 where the table lacks it."""
        get = self._ids.get
        return np.fromiter(map(get, keys, repeat(-1)), np.int64, len(keys))


def frequent(keys, min_count: int, also=None) -> list:
    """The distinct ``keys`` seen ``min_count`` times or more (or where ``also(distinct)`` is
    True), by frequency, then alphabetically, for a stable order."""
    distinct, counts = np.unique(keys, return_counts=True)
    keep = counts >= min_count
    if also is not None:
        keep |= also(distinct)
    order = sorted(zip(distinct[keep].tolist(), counts[keep].tolist()), key=lambda kv: (-kv[1], kv[0]))
    return [k for k, _ in order]


class Vocabulary(Table):
    """The model's word table: ``<unk>``, ``<s>``, ``</s>``, then words by normalised form.

    Lookup keys are normalised (lower-cased, digits to 0 as configured). Words outside it
    fall back to their pretrained vector when one exists (kept in :attr:`Windows.extra`),
    else to ``<unk>``.
    """

    def __init__(self, words, lowercase: bool = True, digits: bool = False):
        super().__init__(words)
        self.lowercase, self.digits = lowercase, digits

    @classmethod
    def build(cls, corpus_words, pretrained: Pretrained | None, min_count: int = 2,
              lowercase: bool = True, digits: bool = False) -> "Vocabulary":
        """Every training word with a pretrained vector, and the others seen ``min_count``
        times or more; sorted by frequency, then alphabetically, for a stable order."""
        has_vector = None if pretrained is None else (lambda words: pretrained.lookup(words) >= 0)
        return cls(frequent(normalize(corpus_words, lowercase, digits), min_count, has_vector), lowercase, digits)

    def keys(self, words) -> np.ndarray:
        return normalize(words, self.lowercase, self.digits)

    def featurize(self, words, lengths, size: int, pretrained: Pretrained | None = None,
                  uncased: bool = False, suffixes: Suffixes | None = None) -> Windows:
        """Windows of word, casing and suffix ids for a flat word array with sentence
        ``lengths``; with ``uncased``, tokens :func:`uncased_tokens` marks get the casing
        ``uncased``; without ``suffixes``, the suffix windows are (n, 0)."""
        uniq, codes = factorize(np.asarray(words, dtype=object))   # the work is per distinct word
        keys = normalize_distinct(uniq, self.lowercase, self.digits)
        ids = self.lookup(keys)
        extra = np.zeros((0, 0), np.float32)
        missing = ids < 0
        if pretrained is not None and missing.any():
            found, rows = np.unique(pretrained.lookup(keys[missing]), return_inverse=True)
            new_ids = np.where(found[rows] >= 0, len(self) + np.searchsorted(found[found >= 0], found[rows]), 0)
            ids[missing] = new_ids
            extra = pretrained.rows(found[found >= 0])
        ids[ids < 0] = self._ids[UNK]
        word_windows = windows(ids[codes], lengths, size, self._ids[PAD_LEFT], self._ids[PAD_RIGHT])
        case_ids = casing_distinct(uniq)[codes]
        if uncased:
            flat = uncased_tokens(uniq, codes, lengths) & (case_ids != CASINGS.index("digit"))
            case_ids[flat] = CASINGS.index("uncased")
        case_windows = windows(case_ids, lengths, size, 0, 0)
        if suffixes is None:
            suffix_windows = np.zeros((len(word_windows), 0), np.int32)
        else:
            suffix_ids = suffixes.ids(suffixes.keys(uniq))[codes]
            suffix_windows = windows(suffix_ids, lengths, size, suffixes.pad_left, suffixes.pad_right)
        return Windows(word_windows, case_windows, extra, suffix_windows)


class Suffixes(Table):
    """The suffix table: ``<unk>``, ``<s>``, ``</s>``, then the suffixes of the training words
    (:func:`suffix_keys`) seen ``min_count`` times or more, by frequency, then alphabetically.
    A suffix outside it is ``<unk>``, which the rarer suffixes train.
    """

    def __init__(self, suffixes, length: int, lowercase: bool = True, digits: bool = False):
        super().__init__(suffixes)
        self.length, self.lowercase, self.digits = length, lowercase, digits
        self.pad_left, self.pad_right = self._ids[PAD_LEFT], self._ids[PAD_RIGHT]

    @classmethod
    def learn(cls, corpus_words, length: int, min_count: int = 2, lowercase: bool = True,
              digits: bool = False) -> Suffixes:
        """The table of a training corpus's words, counted per token."""
        keys = suffix_keys(corpus_words, length, lowercase, digits)
        return cls(frequent(keys, min_count), length, lowercase, digits)

    def keys(self, words) -> np.ndarray:
        """The lookup key of each word: :func:`suffix_keys`."""
        return suffix_keys(words, self.length, self.lowercase, self.digits)

    def ids(self, suffixes) -> np.ndarray:
        """The id of each suffix, ``<unk>``'s where the table lacks it."""
        ids = self.lookup(suffixes)
        ids[ids < 0] = self._ids[UNK]
        return ids


def suffix_keys(words, length: int, lowercase: bool = True, digits: bool = False) -> np.ndarray:
    """Each word's normalised form's suffix (:func:`suffixes_distinct`), worked out per
    distinct word."""
    uniq, codes = factorize(np.asarray(words, dtype=object))
    return suffixes_distinct(normalize_distinct(uniq, lowercase, digits), length)[codes]
