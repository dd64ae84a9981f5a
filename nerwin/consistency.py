"""Document-level consistency: one entity's type, once decoded, informs later ones.

A window sees five words, so a surname alone (``Gerrard scored``) is often typed ORG or LOC
although ``Steven Gerrard`` was tagged PER two sentences earlier. The rule ``per-surname``
(``model.consistency``) fixes that family of errors after decoding, span boundaries unchanged:

    an entity whose words, compared lower-cased, are the last word(s) of a multi-word PER
    entity found earlier in the same document is typed PER.

Chosen on dev (docs/model.md): extending it to every type, or to every suffix of any
entity, did not pay. A document remembers at most :data:`MAX_NAMES` name endings, so memory
stays bounded on a stream of any length.
"""

from __future__ import annotations

import numpy as np

from nerwin.tags import Spans

RULES = ("none", "per-surname")
PER = "PER"
MAX_NAMES = 5000     # name endings remembered per document


def per_surname(names: list[tuple[str, ...]], labels: np.ndarray, per: int,
                known: frozenset = frozenset()) -> tuple[np.ndarray, frozenset]:
    """The labels of one document's entities, in order, after the rule; and the name endings
    known after them.

    ``names`` are the entities' lower-cased words, ``labels`` (k,) their type indices, ``per``
    the index of PER; ``known`` the endings of the PER names earlier in the document (from its
    previous pieces). Pure: neither argument is changed.
    """
    labels = np.array(labels, copy=True)
    grown = set(known)
    for i, words in enumerate(names):
        if words in grown:
            labels[i] = per
        if labels[i] == per and len(words) > 1 and len(grown) < MAX_NAMES:
            grown.update(words[k:] for k in range(1, len(words)))
    return labels, frozenset(grown)


class DocumentConsistency:
    """The rule over a stream of documents given piece by piece, in order: it keeps the
    known names of the current document only."""

    def __init__(self, rule: str, types: list[str]):
        if rule not in RULES:
            raise ValueError(f"unknown consistency rule {rule!r}: expected one of {', '.join(RULES)}")
        self.per = types.index(PER) if rule == "per-surname" and PER in types else None
        self.doc, self.known = None, frozenset()

    def resume(self, doc: int, known: frozenset) -> "DocumentConsistency":
        """This pass, going on with document ``doc`` whose earlier pieces left it knowing the
        name endings ``known`` (:meth:`known_after`)."""
        self.doc, self.known = doc, known
        return self

    def known_after(self, names: list[tuple[str, ...]], labels: np.ndarray, known: frozenset) -> frozenset:
        """The name endings a document knows after entities ``names`` with their labels before
        the rule (as :meth:`__call__` gets them), given it knew ``known`` before them."""
        return known if self.per is None else per_surname(names, labels, self.per, known)[1]

    def __call__(self, spans: Spans, words, docs) -> Spans:
        """``spans`` with their labels made consistent; ``words`` are the tokens the spans index,
        ``docs`` (k,) the document of each span, never decreasing (and never going back to a
        document of an earlier call)."""
        if self.per is None or not len(spans):
            return spans
        docs = np.asarray(docs)
        labels = spans.label.copy()
        cuts = np.flatnonzero(np.diff(docs)) + 1
        for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(docs)]])):
            if docs[a] != self.doc:
                self.doc, self.known = docs[a], frozenset()
            names = [tuple(w.lower() for w in words[s:e])
                     for s, e in zip(spans.start[a:b].tolist(), spans.end[a:b].tolist())]
            labels[a:b], self.known = per_surname(names, labels[a:b], self.per, self.known)
        return Spans(spans.start, spans.end, labels)
