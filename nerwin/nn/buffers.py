"""Arrays kept across calls instead of allocated anew: gradient sums and scratch space."""

from __future__ import annotations

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
