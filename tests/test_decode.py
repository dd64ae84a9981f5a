"""Constrained decoding: Viterbi finds the best sequence the tag scheme allows."""

import itertools

import numpy as np
import pytest

from nerwin import tags as T
from nerwin.decode import allowed_transitions, log_softmax, viterbi


def brute_force(logp, labels):
    start, trans, end = allowed_transitions(labels)
    best, best_path = -np.inf, None
    for path in itertools.product(range(logp.shape[1]), repeat=len(logp)):
        if not start[path[0]] or not end[path[-1]]:
            continue
        if not all(trans[a, b] for a, b in zip(path, path[1:])):
            continue
        total = sum(logp[t, c] for t, c in enumerate(path))
        if total > best:
            best, best_path = total, path
    return list(best_path)


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_equals_exhaustive_search(scheme, seed):
    rng = np.random.default_rng(seed)
    labels = T.LabelSet(["A", "B"], scheme)
    lengths = np.array([1, 4, 2, 3])
    S = rng.standard_normal((lengths.sum(), len(labels))) * 3
    got = viterbi(S, lengths, labels)
    logp = log_softmax(S)
    off = np.concatenate([[0], np.cumsum(lengths)])
    for i in range(len(lengths)):
        assert list(got[off[i]:off[i + 1]]) == brute_force(logp[off[i]:off[i + 1]], labels)


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
def test_viterbi_output_is_always_well_formed(scheme):
    rng = np.random.default_rng(9)
    labels = T.LabelSet(["LOC", "PER", "ORG"], scheme)
    lengths = rng.integers(1, 30, 200)
    S = rng.standard_normal((lengths.sum(), len(labels))) * 4
    classes = viterbi(S, lengths, labels)
    names = np.array(labels.names, dtype=object)[classes]
    first = np.zeros(len(names), bool)
    first[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
    prefix, type_, _ = T.parse(names)
    # reading the tags back needs no repair: every I/E continues, every entity is closed
    cont = T.continues(prefix, type_, first)
    assert not np.any(((prefix == T.I) | (prefix == T.E)) & ~cont)
    if scheme == "iobes":
        nxt = np.append(prefix[1:], T.O)
        nxt_first = np.append(first[1:], True)
        opened = (prefix == T.B) | (prefix == T.I)
        assert not np.any(opened & (nxt_first | ~np.isin(nxt, [T.I, T.E])))


def test_viterbi_fixes_an_ill_formed_argmax():
    labels = T.LabelSet(["PER"], "iobes")      # O, B, I, E, S
    # argmax would read B-PER O: an entity opened and never closed
    S = np.log(np.array([[0.01, 0.6, 0.01, 0.08, 0.3], [0.55, 0.01, 0.01, 0.43, 0.0001]]))
    assert S.argmax(axis=1).tolist() == [1, 0]
    assert viterbi(S, [2], labels).tolist() == [1, 3]   # B-PER E-PER: 0.6·0.43 > 0.3·0.55


def recurrence(S, lengths, labels):
    """The Viterbi recurrence as written, one sentence and one position at a time: every
    (previous, next) pair with its -1e30 penalty, first maximum on ties."""
    start, trans, end = allowed_transitions(labels)
    penalty = np.where(trans, 0.0, -1e30)
    logp = log_softmax(np.asarray(S, np.float64))
    out, at = [], 0
    for n in lengths[lengths > 0]:
        best, back = logp[at] + np.where(start, 0.0, -1e30), []
        for t in range(1, n):
            cand = best[:, None] + penalty              # (previous, next)
            back.append(cand.argmax(axis=0))
            best = cand.max(axis=0) + logp[at + t]
        path = [int((best + np.where(end, 0.0, -1e30)).argmax())]
        for arg in reversed(back):
            path.append(int(arg[path[-1]]))
        out += path[::-1]
        at += n
    return np.array(out, np.int64)


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
@pytest.mark.parametrize("types", [1, 2, 4, 9])
@pytest.mark.parametrize("kind", ["normal", "ties", "huge", "nan", "inf"])
def test_viterbi_equals_the_recurrence_sentence_by_sentence(scheme, types, kind):
    """All sentences at once, the max over allowed predecessors only, equals the plain
    recurrence, ties and non-finite or huge scores (where it tries every pair) included."""
    rng = np.random.default_rng(types)
    labels = T.LabelSet([f"T{k}" for k in range(types)], scheme)
    lengths = np.concatenate([rng.integers(0, 12, 60), [0, 40, 1, 0]])
    S = rng.standard_normal((lengths.sum(), len(labels))) * 3
    if kind == "ties":
        S = rng.integers(0, 2, S.shape).astype(np.float32)
    elif kind == "huge":
        S[rng.random(len(S)) < 0.5] *= 1e31
    elif kind == "nan":
        S[5, 1] = S[100, 0] = np.nan
    elif kind == "inf":
        S[7, 2] = np.inf
        S[50, 0] = -np.inf
    with np.errstate(invalid="ignore"):            # inf - inf in the log-softmax
        np.testing.assert_array_equal(viterbi(S, lengths, labels), recurrence(S, lengths, labels))


def test_a_long_sentence_decodes_as_it_does_alone():
    labels = T.LabelSet(["X"], "iob2")
    lengths = np.array([3] * 50 + [5000] + [2] * 50)
    S = np.random.default_rng(0).standard_normal((lengths.sum(), len(labels)))
    whole = viterbi(S, lengths, labels)
    alone = viterbi(S[150:5150], [5000], labels)
    np.testing.assert_array_equal(whole[150:5150], alone)
    np.testing.assert_array_equal(whole, recurrence(S, lengths, labels))
