"""Tag schemes (IOB1, IOB2, IOBES): parsing, entity spans, conversion.

Everything works on a whole corpus at once: tags are one flat array, sentences are
given by a boolean ``first`` mask (True on each sentence's first token). Entities are
read the way the CoNLL scorer ``conlleval`` reads them, so ill-formed sequences such as
``O I-PER`` or ``B-PER I-ORG`` are repaired identically for scoring and for training:

* token *i* **continues** the entity before it when its prefix is I or E, the previous
  token's prefix is B or I, both have the same type, and *i* is not a sentence start;
* every other non-O token **starts** an entity, which runs over the continuing tokens.

For IOB1 and IOB2 this is exactly conlleval's ``startOfChunk``/``endOfChunk``; for IOBES
it also ends an entity after E and S. :func:`ill_formed` marks the tags this reading had
to repair, so that a corpus can say how many there were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nerwin.errors import DataError, shorten, where

SCHEMES = ("iob1", "iob2", "iobes")
O, B, I, E, S = range(5)  # prefix codes
PREFIX_CODES = {"B": B, "I": I, "E": E, "S": S}
_TAG = re.compile(r"O|([BIES])-([^\s\x00-\x1f\x7f-\x9f]+)")   # a type: no blank, no control character


@dataclass(frozen=True)
class Spans:
    """Entities as three parallel arrays: token ``start``, exclusive ``end``, ``label`` index."""

    start: np.ndarray
    end: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def parse(tags, types: list[str] | None = None, path=None, lines=None):
    """Split tag strings into prefix codes and type indices.

    Returns ``(prefix, type_index, types)``: two int arrays of the tags' length (type -1 for
    O) and the list of type names (``types`` extended by any new ones, in sorted tag order). A malformed tag raises :class:`DataError` naming file and line.
    """
    tags = np.asarray(tags, dtype=object)
    types = list(types or [])
    if tags.size == 0:
        return np.zeros(0, np.int8), np.zeros(0, np.int32), types
    uniq, inverse = np.unique(tags, return_inverse=True)
    u_prefix = np.zeros(len(uniq), np.int8)
    u_type = np.full(len(uniq), -1, np.int32)
    for k, tag in enumerate(uniq):  # loops over the few distinct tags, not the tokens
        m = _TAG.fullmatch(tag)
        if m is None:
            at = lines[int(np.flatnonzero(inverse == k)[0])] if lines is not None else None
            raise DataError(
                f"{where(path or '<tags>', at)}: unknown tag {shorten(tag)}: expected O or a "
                "B-, I-, E- or S- prefix followed by a type without blanks or control characters, like B-PER"
            )
        if m.group(1):
            u_prefix[k] = PREFIX_CODES[m.group(1)]
            if m.group(2) not in types:
                types.append(m.group(2))
            u_type[k] = types.index(m.group(2))
    return u_prefix[inverse], u_type[inverse], types


def _previous(a: np.ndarray, fill) -> np.ndarray:
    out = np.empty_like(a)
    out[0:1] = fill
    out[1:] = a[:-1]
    return out


def _after_same_type(prefix: np.ndarray, type_: np.ndarray, first: np.ndarray) -> np.ndarray:
    """True where the previous token, in the same sentence, is B or I of the same type."""
    prev_p, prev_t = _previous(prefix, O), _previous(type_, -1)
    return ((prev_p == B) | (prev_p == I)) & (prev_t == type_) & ~first


def continues(prefix: np.ndarray, type_: np.ndarray, first: np.ndarray) -> np.ndarray:
    """True where a token continues the entity of the token before it."""
    return ((prefix == I) | (prefix == E)) & _after_same_type(prefix, type_, first)


def spans(prefix: np.ndarray, type_: np.ndarray, first: np.ndarray) -> Spans:
    """Entity spans of a flat tag sequence, read as conlleval reads them."""
    cont = continues(prefix, type_, first)
    starts = np.flatnonzero((prefix != O) & ~cont)
    breaks = np.append(np.flatnonzero(~cont), len(prefix))  # where an entity cannot go on
    ends = breaks[np.searchsorted(breaks, starts, side="right")]
    return Spans(starts, ends, type_[starts].astype(np.int32))


def detect(prefix: np.ndarray, type_: np.ndarray, first: np.ndarray) -> str:
    """The scheme a tag sequence is written in.

    iobes if E or S occurs. Otherwise iob1 if entities start with I at least as often as
    with a B that does not follow an entity of its type (IOB1 writes B only between two
    touching entities of one type; IOB2 starts every entity with B), else iob2 (also for a
    corpus without entities). So an IOB2 file with a few ``O I-PER`` slips stays iob2, and
    those slips are counted by :func:`ill_formed`."""
    if np.any((prefix == E) | (prefix == S)):
        return "iobes"
    i_starts = np.count_nonzero((prefix == I) & ~continues(prefix, type_, first))
    b_opens = np.count_nonzero((prefix == B) & ~_after_same_type(prefix, type_, first))
    return "iob1" if i_starts and i_starts >= b_opens else "iob2"


def ill_formed(prefix: np.ndarray, type_: np.ndarray, first: np.ndarray, scheme: str) -> np.ndarray:
    """True on each tag that :func:`spans` had to repair to read the sequence as ``scheme``:

    * iob2 and iobes: an I or E that does not continue an entity (after O, after another
      type, after E or S, at a sentence start), read as starting a new entity;
    * iobes also: a B or I that the next token does not continue (no closing E), read as
      ending its entity there;
    * iob1: none (an I after O or after another type is how IOB1 starts an entity).
    """
    if scheme == "iob1":
        return np.zeros(len(prefix), bool)
    cont = continues(prefix, type_, first)
    bad = ((prefix == I) | (prefix == E)) & ~cont
    if scheme == "iobes":
        next_cont = np.append(cont[1:], False)
        bad |= ((prefix == B) | (prefix == I)) & ~next_cont
    return bad


def encode(sp: Spans, n: int, scheme: str, first=None) -> tuple[np.ndarray, np.ndarray]:
    """Write spans as ``(prefix, type)`` arrays of length ``n`` in ``scheme``.

    ``first`` (the sentence-start mask) keeps IOB1 from reading two entities in two
    sentences as touching."""
    prefix = np.zeros(n, np.int8)
    type_ = np.full(n, -1, np.int32)
    lengths = sp.end - sp.start
    inside = np.repeat(np.arange(len(sp)), lengths)
    positions = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    tokens = sp.start[inside] + positions
    type_[tokens] = sp.label[inside]
    prefix[tokens] = I
    if scheme == "iob2":
        prefix[sp.start] = B
    elif scheme == "iobes":
        prefix[sp.start] = B
        prefix[sp.end - 1] = E
        prefix[sp.start[lengths == 1]] = S
    elif scheme == "iob1":
        # B only where an entity touches a previous entity of the same type
        touching = np.zeros(len(sp), bool)
        if len(sp) > 1:
            touching[1:] = (sp.end[:-1] == sp.start[1:]) & (sp.label[:-1] == sp.label[1:])
        if first is not None:
            touching &= ~first[sp.start]
        prefix[sp.start[touching]] = B
    else:
        raise ValueError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    return prefix, type_


def to_strings(prefix: np.ndarray, type_: np.ndarray, types: list[str]) -> np.ndarray:
    """Tag strings for prefix and type arrays (vectorised through a lookup table)."""
    table = np.array(["O"] + [f"{p}-{t}" for t in types for p in "BIES"], dtype=object)
    index = np.where(prefix == O, 0, 1 + 4 * np.maximum(type_, 0) + (prefix - 1))
    return table[index]


def convert(tags, first: np.ndarray, scheme: str) -> np.ndarray:
    """Rewrite tag strings in another scheme (entities kept as conlleval reads them)."""
    prefix, type_, types = parse(tags)
    p, t = encode(spans(prefix, type_, first), len(prefix), scheme, first)
    return to_strings(p, t, types)


class LabelSet:
    """The model's output classes: O plus one class per (prefix, type) of a scheme.

    Class index: 0 for O, then ``1 + type * P + (prefix - 1)`` with P prefixes per type
    (B, I for iob2; B, I, E, S for iobes).
    """

    def __init__(self, types: list[str], scheme: str = "iobes"):
        if scheme not in ("iob2", "iobes"):
            raise ValueError(f"the model's tag scheme must be iob2 or iobes, not {scheme!r}")
        self.types, self.scheme = list(types), scheme
        self.n_prefixes = 4 if scheme == "iobes" else 2

    def __len__(self) -> int:
        return 1 + self.n_prefixes * len(self.types)

    @property
    def names(self) -> list[str]:
        prefixes = "BIES"[: self.n_prefixes]
        return ["O"] + [f"{p}-{t}" for t in self.types for p in prefixes]

    def encode(self, sp: Spans, n: int) -> np.ndarray:
        """Class index per token for entity spans (spans of unknown types become O)."""
        known = sp.label < len(self.types)
        sp = Spans(sp.start[known], sp.end[known], sp.label[known])
        prefix, type_ = encode(sp, n, self.scheme)
        return np.where(prefix == O, 0, 1 + type_ * self.n_prefixes + (prefix - 1)).astype(np.int32)

    def decode(self, classes: np.ndarray, first: np.ndarray) -> Spans:
        """Entity spans from predicted class indices (read as conlleval reads tags)."""
        classes = np.asarray(classes)
        prefix = np.where(classes == 0, O, (classes - 1) % self.n_prefixes + 1).astype(np.int8)
        type_ = np.where(classes == 0, -1, (classes - 1) // self.n_prefixes).astype(np.int32)
        return spans(prefix, type_, first)
