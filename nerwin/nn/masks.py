"""Dropout masks drawn fast, and why they equal the plain ones.

The plain mask keeps a unit where its float32 uniform is ≥ rate:
``rng.random(shape, float32) >= rate``. :func:`dropout_mask` keeps exactly the same units
and leaves the generator exactly where ``rng.random`` would, without making the floats:

1. numpy's float32 uniform from a 32-bit draw u is ``(u >> 8) / 2²⁴``.
2. So ``(u >> 8) / 2²⁴ ≥ r`` ⇔ ``u >> 8 ≥ ⌈r·2²⁴⌉ = t`` ⇔ ``u ≥ t << 8``: one integer
   comparison per unit, against :func:`_least_kept` (r is the rate rounded to float32, as
   numpy compares it; no draw is kept when t = 2²⁴).
3. PCG64 gives 32-bit draws as the two halves of a 64-bit word, low half first, and
   keeps the upper half of a word it has not used yet. For an even number of units,
   starting with no half word kept, the draws are the raw words viewed as uint32 (on a
   little-endian machine), and ``rng.random`` ends with no half word kept either; its
   state then differs only in ``uinteger`` (the last word's upper half), set here alike.

Other cases (odd sizes, a half word buffered, other generators, big-endian machines) take
the plain path. ``tests/test_masks.py`` checks the two paths give the same masks and the
same generator state.
"""

from __future__ import annotations

import math
import sys

import numpy as np

_FAST_MASKS = sys.byteorder == "little"   # the low half of a 64-bit word comes first


def dropout_mask(shape, rate: float, rng, dtype=np.float32):
    """The inverted-dropout multiplier: 1/(1 - rate) for each unit kept (probability
    1 - rate), 0 for each dropped; None without ``rng`` or with rate 0 (prediction)."""
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


def _least_kept(rate: float) -> np.uint32 | None:
    """The least 32-bit draw u whose float32 uniform ``(u >> 8) / 2²⁴`` is ≥ rate (None if
    no draw is)."""
    top = math.ceil(float(np.float32(rate)) * 2 ** 24)
    return np.uint32(top << 8) if top < 2 ** 24 else None
