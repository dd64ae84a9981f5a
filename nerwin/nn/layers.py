"""Layers with hand-written backward passes.

Convention (the lecture's, batched): a minibatch of N inputs is a matrix X (N, n_in);
W is (n_out, n_in) as in ``z = Wx + b``, so the batch computes ``Z = X Wᵀ + b``.
Backward receives the error signal Δ = ∂J/∂Z (N, n_out) and

* adds ``Δᵀ X`` into ∂J/∂W (the sum over the batch of the outer products ``δ xᵀ``),
* adds ``Σ_n δ`` into ∂J/∂b,
* returns ``Δ W`` (each row ``Wᵀδ``), the signal passed down.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np


def accumulate(grads: dict, name: str, value) -> None:
    """``grads[name] += value``, where an absent gradient counts as zero (no zero-filled
    buffer to allocate and add to)."""
    if name in grads:
        grads[name] += value
    else:
        grads[name] = value


def reusable(buffers: dict, name: str, like: np.ndarray) -> np.ndarray:
    """A scratch buffer shaped like ``like``, kept in ``buffers`` under ``name`` and reused
    while shape and dtype stay the same (no allocation per training step)."""
    buf = buffers.get(name)
    if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
        buf = buffers[name] = np.empty_like(like)
    return buf


def linear(params, grads, W: str, b: str, X):
    """``Z = X Wᵀ + b`` with parameters named ``W``, ``b`` in ``params``/``grads``.

    ``backprop(delta, columns)`` returns the signal for the input columns asked for: all
    (None), a slice of them, or none (False) — so a frozen input costs no matrix product.
    """
    Wm = params[W]
    Z = X @ Wm.T
    Z += params[b]

    def backprop(delta, columns=None):
        accumulate(grads, W, delta.T @ X)
        accumulate(grads, b, delta.sum(axis=0))
        if columns is False:
            return None
        return delta @ (Wm if columns is None else Wm[:, columns])

    return Z, backprop


def _identity(dX, columns=None):
    return dX


def dropout_mask(shape, rate: float, rng, dtype=np.float32):
    """The inverted-dropout multiplier: 1/(1 - rate) for each unit kept (probability
    1 - rate), 0 for each dropped; None without ``rng`` or with rate 0 (prediction).

    A unit is kept where its float32 uniform ``rng.random(shape, float32)`` is ≥ rate.
    That uniform is ``(u >> 8) / 2²⁴`` for a 32-bit draw u, and PCG64 hands out the two
    halves of each 64-bit word in turn, so comparing the raw words' halves with an integer
    threshold keeps exactly the same units, without making floats, and leaves the
    generator where ``rng.random`` would (odd sizes and other generators take that path).
    """
    if rng is None or rate <= 0:
        return None
    size = int(np.prod(shape))
    bits, least = rng.bit_generator, _least_kept(rate)
    if (_FAST_MASKS and least is not None and size % 2 == 0 and isinstance(bits, np.random.PCG64)
            and not bits.state["has_uint32"]):
        words = bits.random_raw(size // 2)
        keep = np.greater_equal(words.view(np.uint32).reshape(shape), least)
        if size:
            state = bits.state          # what rng.random leaves: the last word's upper half buffered
            state["uinteger"] = int(words[-1] >> np.uint64(32))
            bits.state = state
        return np.multiply(keep, np.dtype(dtype).type(1.0 / (1.0 - rate)))   # 1/(1 - rate) or 0, one pass
    mask = rng.random(shape, dtype=np.float32)
    np.greater_equal(mask, rate, out=mask)   # 1 where kept, 0 where dropped
    mask = mask.astype(dtype, copy=False)
    mask *= 1.0 / (1.0 - rate)
    return mask


_FAST_MASKS = sys.byteorder == "little"   # the low half of a 64-bit word comes first


def _least_kept(rate: float) -> np.uint32 | None:
    """The least 32-bit draw u whose float32 uniform ``(u >> 8) / 2²⁴`` is ≥ rate (None if
    no draw is)."""
    top = math.ceil(float(np.float32(rate)) * 2 ** 24)
    return np.uint32(top << 8) if top < 2 ** 24 else None


def dropout(X, rate: float, rng, inplace: bool = False):
    """Inverted dropout: keep each unit with probability 1 - rate, scaled by 1/(1 - rate).

    With ``rng`` None or rate 0 it is the identity (prediction). ``inplace`` scales X itself
    (the caller owns it). ``backprop(dX, columns)`` takes the signal of all columns or of
    the given slice of them, and scales that array in place.
    """
    mask = dropout_mask(X.shape, rate, rng, X.dtype)
    if mask is None:
        return X, _identity

    def backprop(dX, columns=None):
        dX *= mask if columns is None else mask[:, columns]
        return dX

    if inplace:
        X *= mask
        return X, backprop
    return X * mask, backprop


@dataclass
class SparseRows:
    """The gradient of an embedding table: only the ``rows`` a batch used carry ``values``.

    ``rows`` (k,) are distinct row indices, ``values`` (k, d) their summed gradients.
    """

    rows: np.ndarray
    values: np.ndarray

    def to_dense(self, shape) -> np.ndarray:
        dense = np.zeros(shape, self.values.dtype)
        dense[self.rows] = self.values
        return dense

    def without(self, rows) -> "SparseRows":
        """The same gradient with the given rows left out (rows kept frozen)."""
        keep = ~np.isin(self.rows, rows)
        return SparseRows(self.rows[keep], self.values[keep])

    def __iadd__(self, other: "SparseRows") -> "SparseRows":
        return scatter_rows(np.concatenate([self.rows, other.rows]),
                            np.concatenate([self.values, other.values]))


def scatter_rows(ids, grads) -> SparseRows:
    """Sum gradient rows that share an id: ``G[i] = Σ_{k: ids[k] = i} grads[k]``.

    A word that occurs twice in a window (or in a batch) gets both contributions.
    Sorting the ids and summing runs with ``np.add.reduceat`` avoids a slow scatter.
    """
    if not len(ids):
        return SparseRows(ids[:0], grads[:0])
    keys = ids
    if 0 <= ids.min() and ids.max() < 2 ** 16:
        keys = ids.astype(np.uint8 if ids.max() < 2 ** 8 else np.uint16)   # radix sort: O(n)
    order = np.argsort(keys, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    values = np.add.reduceat(np.take(grads, order, axis=0), starts, axis=0)
    return SparseRows(sorted_ids[starts], values)


def embed(table, ids):
    """Gather a window of vectors: ``ids`` (N, w) -> X (N, w·d), the w vectors side by side.

    ``backprop(dX)`` splits each row of dX back into its w word vectors and sums them per
    table row, returning a :class:`SparseRows` gradient for the table.
    """
    n, w = ids.shape
    d = table.shape[1]
    X = table.take(ids.reshape(-1), axis=0).reshape(n, w * d)
    return X, lambda dX: unembed(ids, dX)


def unembed(ids, dX) -> SparseRows:
    """The backward of :func:`embed`: each row of dX (N, w·d) split into its w vectors,
    summed per table row (``ids`` (N, w))."""
    n, w = ids.shape
    return scatter_rows(ids.reshape(-1), dX.reshape(n * w, dX.shape[1] // w))


def score(params, grads, U: str, c: str, H):
    """Class scores ``S = H U + c``: each row is ``s = Uᵀh + c`` with U (n_hidden, C).

    Backward adds ``Hᵀ Δ`` into ∂J/∂U and returns ``Δ Uᵀ``.
    """
    Um = params[U]
    S = H @ Um
    S += params[c]

    def backprop(delta):
        accumulate(grads, U, H.T @ delta)
        accumulate(grads, c, delta.sum(axis=0))
        return delta @ Um.T

    return S, backprop
