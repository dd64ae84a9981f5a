"""From per-window class scores to a tag sequence per sentence.

``argmax`` takes each window's best class on its own; the sequence may then be ill-formed
(``O I-PER``, ``B-PER O`` in IOBES), which the scorer repairs. ``viterbi`` finds, for each
sentence, the sequence of highest total log-probability among those the tag scheme allows
(IOB2: I-X only after B-X or I-X; IOBES: I-X and E-X only inside an entity, which must end
with E-X), by dynamic programming over positions — all sentences at once, one numpy step per
position, never a loop over tokens.
"""

from __future__ import annotations

import numpy as np

from nerwin.tags import LabelSet

NEG = -1e30    # the log-score of a transition the tag scheme forbids
DECODERS = ("argmax", "viterbi")


def allowed_transitions(labels: LabelSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(start, trans, end)``: which class may begin a sentence, follow another, end one."""
    names = labels.names
    prefix = [n[0] for n in names]
    kind = [n[2:] for n in names]
    C = len(names)
    trans = np.zeros((C, C), bool)
    for i in range(C):
        for j in range(C):
            a, b = prefix[i], prefix[j]
            same = kind[i] == kind[j]
            inside = a in "BI"       # an entity is open after B or I
            if labels.scheme == "iobes":
                trans[i, j] = (same and b in "IE") if inside else b in "OBS"
            else:  # iob2
                trans[i, j] = b in "OB" or (b == "I" and inside and same)
    start = np.array([p in ("OBS" if labels.scheme == "iobes" else "OB") for p in prefix])
    end = np.array([p in ("OES" if labels.scheme == "iobes" else "OBI") for p in prefix])
    return start, trans, end


def log_softmax(S: np.ndarray) -> np.ndarray:
    S = S - S.max(axis=1, keepdims=True)
    return S - np.log(np.exp(S).sum(axis=1, keepdims=True))


def viterbi(scores: np.ndarray, lengths: np.ndarray, labels: LabelSet) -> np.ndarray:
    """The best allowed class sequence of each sentence under log-softmax scores.

    ``scores`` (n tokens, C) are the network's scores; ``lengths`` the sentence lengths.
    Returns the class of each token (n,). With δ_t(j) the best log-probability of a
    sequence ending in class j at position t,

        δ_0(j) = log p_0(j) + start(j),   δ_t(j) = max_i [δ_{t-1}(i) + trans(i, j)] + log p_t(j),

    start and trans being 0 where allowed, -1e30 where not; the last class is the argmax of
    δ_{T-1}(j) + end(j), followed back along the argmax pointers (the first maximum on ties).
    Sentences are sorted longest first, so those still running at position t are a prefix:
    one numpy step per position for all sentences at once, no padding.
    """
    lengths = np.asarray(lengths, np.int64)
    out = np.zeros(len(scores), np.int64)
    if not len(scores):
        return out
    logp = log_softmax(scores.astype(np.float64))
    start, trans, end = allowed_transitions(labels)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    first = (np.cumsum(lengths) - lengths)[order]           # first token of each sentence
    running = np.searchsorted(-lengths[order], -np.arange(lengths[order[0]]))  # #(length > t)
    at = np.concatenate([[0], np.cumsum(running)])          # back[at[t]:at[t+1]]: position t
    members, group, penalty = _predecessors(trans, logp, len(running))
    row = np.arange(len(members)) * members.shape[1]        # where each group starts in members.ravel()
    back = np.empty((at[-1], len(start)), np.int64)
    best = logp[first] + np.where(start, 0.0, NEG)          # δ_0 (m, C)
    for t in range(1, len(running)):
        a = running[t]
        cand = best[:a][:, members]                         # (a, groups, candidates)
        if penalty is not None:
            cand += penalty
        arg = cand.argmax(axis=2)
        back[at[t]:at[t + 1]] = members.ravel()[(arg + row)[:, group]]   # the previous class
        best[:a] = cand.max(axis=2)[:, group] + logp[first[:a] + t]
    cur = (best + np.where(end, 0.0, NEG)).argmax(axis=1)   # each sentence's last class
    for t in range(len(running) - 1, -1, -1):
        a = running[t]
        out[first[:a] + t] = cur[:a]
        if t:
            cur[:a] = back[at[t]:at[t + 1]][np.arange(a), cur[:a]]
    return out


def _predecessors(trans, logp, longest):
    """What the max over previous classes runs on: ``members`` (groups, k) previous classes,
    ``group`` (C,) the group of each next class, and a penalty to add (or None).

    When every log-probability is finite and a whole sentence's sum stays far above -1e30,
    a forbidden transition can never win (O may always start and follow anything but an open
    entity, B-X may follow O, I-X and E-X may follow B-X), so the max runs over the allowed
    previous classes only, and next classes allowed after the same set share it: K + 1 sets
    of at most 2K + 1 classes for K types, instead of C x C pairs. A set is padded at its end
    with copies of a member, which change neither its maximum nor where that first occurs.
    Otherwise every pair is tried with the -1e30 penalty, as the recurrence says.
    """
    C = len(trans)
    sets: dict[tuple, int] = {}
    group = np.array([sets.setdefault(tuple(np.flatnonzero(trans[:, j])), len(sets)) for j in range(C)])
    if all(sets) and np.isfinite(logp).all() and logp.min() * longest > -1e25:
        k = max(map(len, sets))
        return np.array([list(s) + [s[0]] * (k - len(s)) for s in sets]), group, None
    return np.tile(np.arange(C), (C, 1)), np.arange(C), np.where(trans.T, 0.0, NEG)
