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


def viterbi(scores: np.ndarray, lengths: np.ndarray, labels: LabelSet, cells: int = 1 << 21) -> np.ndarray:
    """The best allowed class sequence of each sentence under log-softmax scores.

    ``scores`` (n tokens, C) are the network's scores; ``lengths`` the sentence lengths.
    Returns the class of each token (n,). Sentences are decoded in groups of similar
    length (within a quarter of the shortest, plus 2), each padded to at most ``cells``
    (sentences x positions), so padding wastes little and one long sentence never pads a
    whole batch.
    """
    lengths = np.asarray(lengths, np.int64)
    out = np.zeros(len(scores), np.int64)
    if not len(scores):
        return out
    logp = log_softmax(scores.astype(np.float64))
    allowed = allowed_transitions(labels)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    i = 0
    while i < len(order):
        j, shortest = i + 1, lengths[order[i]]
        while (j < len(order) and (j + 1 - i) * lengths[order[j]] <= cells
               and lengths[order[j]] <= shortest + shortest // 4 + 2):   # padding stays small
            j += 1
        group = order[i:j]
        tokens = np.concatenate([np.arange(offsets[g], offsets[g] + lengths[g]) for g in group])
        out[tokens] = _viterbi_group(logp[tokens], lengths[group], *allowed)
        i = j
    return out


def _viterbi_group(logp, lengths, start, trans, end) -> np.ndarray:
    n, C = logp.shape
    NEG = -1e30
    penalty = np.where(trans, 0.0, NEG)                     # (C, C)
    m, T = len(lengths), int(lengths.max())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # padded (m, T, C) view of the scores; positions past a sentence's end are never read
    pos = offsets[:, None] + np.arange(T)[None, :]
    valid = np.arange(T)[None, :] < lengths[:, None]
    emit = logp[np.minimum(pos, n - 1)]
    best = emit[:, 0] + np.where(start, 0.0, NEG)            # (m, C)
    back = np.zeros((m, T, C), np.int32)
    for t in range(1, T):
        cand = best[:, :, None] + penalty[None]               # (m, C_prev, C)
        arg = cand.argmax(axis=1)
        new = np.take_along_axis(cand, arg[:, None, :], axis=1)[:, 0] + emit[:, t]
        live = valid[:, t][:, None]
        best = np.where(live, new, best)                      # finished sentences keep theirs
        back[:, t] = np.where(live, arg, 0)
    best = best + np.where(end, 0.0, NEG)
    # follow the back-pointers from each sentence's last position
    path = np.zeros((m, T), np.int64)
    last = lengths - 1
    final = best.argmax(axis=1)
    cur = final
    rows = np.arange(m)
    for t in range(T - 1, -1, -1):
        cur = np.where(last == t, final, cur)
        path[:, t] = cur
        inside = t <= last
        prev = back[rows, t, cur]
        cur = np.where(inside & (t > 0), prev, cur)
    return path[valid]
