"""Sparse gradients of embedding tables: only the rows a batch used.

A batch of N windows of w words touches at most N·w of the V rows of E; its gradient is
kept as those rows and their summed values (:class:`SparseRows`), and the optimizers update
only them. :func:`scatter_rows` makes one from the per-word gradients and equals
``np.add.at(np.zeros((V, d)), ids, grads)`` restricted to the rows that occur
(``tests/test_sparse.py`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def scatter_rows(ids, grads) -> SparseRows:
    """Sum gradient rows that share an id: ``G[i] = Σ_{k: ids[k] = i} grads[k]``.

    A word that occurs twice in a window (or in a batch) gets both contributions.
    Sorting the ids and summing runs with ``np.add.reduceat`` avoids a slow scatter; ids
    below 2¹⁶ sort as uint8/uint16 keys, which numpy radix-sorts in O(n).
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
