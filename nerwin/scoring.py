"""Entity-level scoring as the CoNLL shared task's ``conlleval`` does it; results are data
(dicts and DataFrames), formatted by :mod:`nerwin.tables`.

An entity is correct when its type and both boundaries match exactly. Precision, recall and
F1 are micro-averaged over entities (the "overall" line of conlleval), given per type, and
macro-averaged (the unweighted mean of the per-type figures); token accuracy counts tokens
whose tag string equals the gold one.

Entities are read from both tag sequences in one of two modes:

* ``conlleval`` (default): :func:`nerwin.tags.spans`, conlleval's reading, which repairs
  ill-formed tags (``O I-PER`` starts an entity);
* ``strict``: :func:`strict_spans`, only entities well-formed in the tag scheme count, as in
  seqeval's strict mode.

:func:`confusion` crosses gold and predicted types at span level and :func:`errors` lists
the most frequent false positives and negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nerwin import tags as T

MODES = ("conlleval", "strict")
SPURIOUS, MISSED = "spurious", "missed"  # the confusion table's extra row and column


# ---------------------------------------------------------------- reading entities


def strict_spans(prefix: np.ndarray, type_: np.ndarray, first: np.ndarray, scheme: str) -> T.Spans:
    """The entities that are well-formed in ``scheme``; other non-O tags yield none.

    A *run* is a non-O token that does not continue the token before it, followed by the
    tokens that do. A token continues when its prefix is I (or, in iobes, E), the token
    before it is B or I of the same type and it is not a sentence start. A run is an entity
    when it is well-formed:

    * iob2: it starts with B (``B-X I-X*``);
    * iobes: it is ``S-X``, or starts with B and ends with E (``B-X I-X* E-X``);
    * iob1: it starts with I, or with a B right after an entity of the same type (the B
      run then touches the run before it, which must itself be an entity).

    Prefixes foreign to the scheme (E and S in iob1 and iob2) make their run ill-formed.
    Vectorised over the flat arrays; ``first`` marks sentence starts. Returns
    :class:`nerwin.tags.Spans` like :func:`nerwin.tags.spans`.
    """
    if scheme not in T.SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(T.SCHEMES)}")
    prefix, type_, first = np.asarray(prefix), np.asarray(type_), np.asarray(first, bool)
    n = len(prefix)
    prev_p = np.concatenate([[T.O], prefix[:-1]]) if n else prefix
    prev_t = np.concatenate([[-1], type_[:-1]]) if n else type_
    after_same = ((prev_p == T.B) | (prev_p == T.I)) & (prev_t == type_) & ~first
    inside = (prefix == T.I) | ((prefix == T.E) if scheme == "iobes" else False)
    cont = inside & after_same
    heads = np.flatnonzero((prefix != T.O) & ~cont)
    breaks = np.append(np.flatnonzero(~cont), n)  # where a run cannot go on
    ends = breaks[np.searchsorted(breaks, heads, side="right")]
    head = prefix[heads]
    if scheme == "iob2":
        ok = head == T.B
    elif scheme == "iobes":
        ok = (head == T.S) | ((head == T.B) & (prefix[ends - 1] == T.E))
    else:
        # a B run touching the run before it inherits that run's verdict: each run is judged
        # by the last run at or before it that does not touch its predecessor
        touching = (head == T.B) & after_same[heads]
        index = np.arange(len(heads))
        root = np.maximum.accumulate(np.where(touching, 0, index)) if len(heads) else index
        ok = head[root] == T.I
    return T.Spans(heads[ok], ends[ok], type_[heads[ok]].astype(np.int32))


def read_spans(prefix, type_, first, mode: str = "conlleval", scheme: str = "iob2") -> T.Spans:
    """Entities of one tag sequence: conlleval's reading, or ``strict`` in ``scheme``."""
    if mode == "conlleval":
        return T.spans(prefix, type_, first)
    if mode == "strict":
        return strict_spans(prefix, type_, first, scheme)
    raise ValueError(f"unknown scoring mode {mode!r}: expected one of {', '.join(MODES)}")


@dataclass(frozen=True)
class Entities:
    """Gold and predicted entities of one corpus, matched by boundaries.

    ``types`` are the names the labels index; ``listed`` the types with at least one gold or
    predicted entity, sorted (the rows of the report). ``gold_hit`` and ``pred_hit`` index
    the gold and predicted spans with the same boundaries as each other, pairwise."""

    gold: T.Spans
    pred: T.Spans
    types: list
    listed: list
    scheme: str
    mode: str
    gold_hit: np.ndarray
    pred_hit: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        """Over the boundary matches: True where the types agree too."""
        return self.gold.label[self.gold_hit] == self.pred.label[self.pred_hit]


def read_entities(gold_tags, pred_tags, first, *, mode: str = "conlleval", scheme: str | None = "auto") -> Entities:
    """Read both tag sequences (``scheme`` "auto" or None: detected from the gold tags)."""
    first = np.asarray(first, bool)
    gp, gt, types = T.parse(gold_tags)
    pp, pt, types = T.parse(pred_tags, types)
    if scheme in (None, "auto"):
        scheme = T.detect(gp, gt, first) if len(gp) else "iob2"
    elif scheme not in T.SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}: expected auto or one of {', '.join(T.SCHEMES)}")
    gold, pred = read_spans(gp, gt, first, mode, scheme), read_spans(pp, pt, first, mode, scheme)
    longest = int(max((gold.end - gold.start).max(initial=0), (pred.end - pred.start).max(initial=0)))
    key = lambda sp: sp.start.astype(np.int64) * (longest + 1) + (sp.end - sp.start)  # unique: spans never overlap
    _, gold_hit, pred_hit = np.intersect1d(key(gold), key(pred), assume_unique=True, return_indices=True)
    present = np.union1d(gold.label, pred.label).astype(int)
    listed = sorted(types[k] for k in present)
    return Entities(gold, pred, types, listed, scheme, mode, gold_hit, pred_hit)


# ---------------------------------------------------------------- figures


def prf(tp, n_pred, n_gold):
    p = 100.0 * tp / n_pred if n_pred else 0.0
    r = 100.0 * tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(gold_tags, pred_tags, first, *, mode: str = "conlleval", scheme: str | None = "auto") -> dict:
    """Score predicted tag strings against gold ones (flat arrays, ``first`` marks sentence
    starts).

    ``mode`` "conlleval" reads entities as the CoNLL scorer does (any scheme, ill-formed
    tags repaired); "strict" counts only entities well-formed in ``scheme`` (see
    :func:`strict_spans`; "auto" detects it from the gold tags). Returns a plain dict:
    micro-averaged ``precision``, ``recall``, ``f1`` (percentages), ``macro`` (the
    unweighted mean of the per-type figures), ``token_accuracy``, the counts, ``per_type``
    (types with a gold or predicted entity, sorted), and the ``scheme`` and ``mode`` used.
    """
    ents = read_entities(gold_tags, pred_tags, first, mode=mode, scheme=scheme)
    n_types = len(ents.types)
    correct = ents.gold.label[ents.gold_hit][ents.correct]
    tp_type = np.bincount(correct, minlength=n_types)
    gold_type = np.bincount(ents.gold.label, minlength=n_types)
    pred_type = np.bincount(ents.pred.label, minlength=n_types)
    tokens = len(gold_tags)
    same = int(np.count_nonzero(np.asarray(gold_tags, dtype=object) == np.asarray(pred_tags, dtype=object)))
    accuracy = 100.0 * same / tokens if tokens else 0.0  # conlleval's order of operations

    p, r, f = prf(len(correct), len(ents.pred), len(ents.gold))
    result = {
        "precision": p, "recall": r, "f1": f,
        "token_accuracy": accuracy,
        "tokens": int(tokens), "gold_entities": int(len(ents.gold)), "predicted_entities": int(len(ents.pred)),
        "correct_entities": int(len(correct)),
        "scheme": ents.scheme, "mode": ents.mode,
        "per_type": {},
    }
    for name in ents.listed:
        k = ents.types.index(name)
        pk, rk, fk = prf(int(tp_type[k]), int(pred_type[k]), int(gold_type[k]))
        result["per_type"][name] = {
            "precision": pk, "recall": rk, "f1": fk,
            "tp": int(tp_type[k]), "fp": int(pred_type[k] - tp_type[k]),
            "fn": int(gold_type[k] - tp_type[k]), "support": int(gold_type[k]),
        }
    per = result["per_type"].values()
    result["macro"] = {m: float(np.mean([v[m] for v in per])) if per else 0.0 for m in ("precision", "recall", "f1")}
    return result


def confusion(gold_tags, pred_tags, first, *, mode: str = "conlleval", scheme: str | None = "auto") -> pd.DataFrame:
    """Entity types crossed at span level: rows are gold types plus ``spurious``, columns
    predicted types plus ``missed``.

    A gold entity whose exact boundaries are predicted counts under (gold type, predicted
    type); a gold entity with no prediction of its boundaries under (gold type, missed); a
    predicted entity with no gold one of its boundaries under (spurious, predicted type).
    So a row sums to the gold entities of its type, a column to the predicted ones."""
    ents = read_entities(gold_tags, pred_tags, first, mode=mode, scheme=scheme)
    k = len(ents.listed)
    rank = np.full(max(len(ents.types), 1), -1)
    rank[[ents.types.index(t) for t in ents.listed]] = np.arange(k)
    table = np.zeros((k + 1, k + 1), np.int64)
    np.add.at(table, (rank[ents.gold.label[ents.gold_hit]], rank[ents.pred.label[ents.pred_hit]]), 1)
    missed = np.ones(len(ents.gold), bool)
    missed[ents.gold_hit] = False
    spurious = np.ones(len(ents.pred), bool)
    spurious[ents.pred_hit] = False
    table[:k, k] = np.bincount(rank[ents.gold.label[missed]], minlength=k)
    table[k, :k] = np.bincount(rank[ents.pred.label[spurious]], minlength=k)
    frame = pd.DataFrame(table, index=[*ents.listed, SPURIOUS], columns=[*ents.listed, MISSED])
    frame.index.name, frame.columns.name = "gold", "predicted"
    return frame


def errors(words, gold_tags, pred_tags, first, n: int = 10, *, mode: str = "conlleval",
           scheme: str | None = "auto", context: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` most frequent false positives and false negatives.

    A false positive is a predicted entity with no gold entity of the same type and
    boundaries, a false negative the reverse (so a right span with the wrong type is both).
    Each table groups them by (``text``, ``type``), most frequent first (ties by text, then
    type), with their ``count`` and the ``context`` of the first occurrence: up to
    ``context`` words of its sentence on each side, the entity marked ``[New York]LOC``, and
    ``...`` where the sentence goes on."""
    words = np.asarray(words, dtype=object)
    first = np.asarray(first, bool)
    ents = read_entities(gold_tags, pred_tags, first, mode=mode, scheme=scheme)
    right = np.zeros(len(ents.gold), bool)
    right[ents.gold_hit[ents.correct]] = True
    right_pred = np.zeros(len(ents.pred), bool)
    right_pred[ents.pred_hit[ents.correct]] = True
    fp = T.Spans(ents.pred.start[~right_pred], ents.pred.end[~right_pred], ents.pred.label[~right_pred])
    fn = T.Spans(ents.gold.start[~right], ents.gold.end[~right], ents.gold.label[~right])
    return (_error_table(fp, words, ents.types, first, n, context),
            _error_table(fn, words, ents.types, first, n, context))


def _error_table(sp: T.Spans, words, types, first, n, context) -> pd.DataFrame:
    columns = ["text", "type", "count", "context"]
    if not len(sp) or n <= 0:
        return pd.DataFrame({c: pd.Series(dtype=int if c == "count" else object) for c in columns})
    spans = pd.DataFrame({
        "text": [" ".join(words[s:e]) for s, e in zip(sp.start, sp.end)],  # one join per error entity
        "type": np.asarray(types, dtype=object)[sp.label],
        "at": np.arange(len(sp)),
    })
    top = (spans.groupby(["text", "type"], sort=False)
           .agg(count=("at", "size"), at=("at", "first")).reset_index()
           .sort_values(["count", "text", "type"], ascending=[False, True, True], kind="stable")
           .head(n))
    # the sentence around each listed entity: [sentence start, next sentence start)
    starts = np.flatnonzero(first)
    at = top["at"].to_numpy()
    s, e = sp.start[at], sp.end[at]
    j = np.searchsorted(starts, s, side="right")
    lo_sent = np.where(j > 0, starts[np.maximum(j - 1, 0)], 0)
    hi_sent = np.append(starts, len(words))[np.minimum(j, len(starts))]
    lo, hi = np.maximum(lo_sent, s - context), np.minimum(hi_sent, e + context)
    top["context"] = [
        " ".join(["..."] * int(a > a0) + list(words[a:b]) + [f"[{text}]{kind}"] + list(words[c:d]) + ["..."] * int(d < d0))
        for a0, a, b, text, kind, c, d, d0 in zip(lo_sent, lo, s, top["text"], top["type"], e, hi, hi_sent)
    ]
    return top[columns].reset_index(drop=True)
