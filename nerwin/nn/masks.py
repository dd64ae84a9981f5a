"""Dropout masks for a batch cut into parts, each part drawing its own rows.

One generator draws a batch's masks in a fixed order: the input mask for all N windows,
then each hidden layer's. When the batch is computed in parts on several threads, each
part draws exactly its rows of that same stream, from a copy of the generator moved ahead
to where those rows begin (``PCG64.advance``): the masks, and the generator's state
afterwards, are bit for bit those of drawing everything in one thread, and the drawing is
shared among the threads too. Each float32 uniform takes 32 of PCG64's 64 bits, so this
holds when every row starts on a whole 64-bit word (even widths); otherwise everything is
drawn up front and sliced.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from nerwin.nn.layers import dropout_mask


def mask_draws(rng, n: int, layers: list[tuple[int, float]], cuts: list[int], dtype) -> list[Callable[[], list]]:
    """For each part (rows ``cuts[i]:cuts[i+1]``), a function returning its masks, one per
    ``(width, rate)`` of ``layers`` (None where there is no dropout). ``rng`` is left
    where drawing all N rows of every mask would leave it."""
    parts = list(zip(cuts, cuts[1:]))
    drawn = [(width, rate) for width, rate in layers if rng is not None and rate > 0]
    if not drawn:
        return [lambda: [None] * len(layers)] * len(parts)
    if len(parts) == 1:
        return [lambda: [dropout_mask((n, width), rate, rng, dtype) for width, rate in layers]]
    if not _jumpable(rng, layers):
        masks = [dropout_mask((n, width), rate, rng, dtype) for width, rate in layers]
        return [lambda a=a, b=b: [m if m is None else m[a:b] for m in masks] for a, b in parts]

    start = rng.bit_generator.state
    total = sum(n * width for width, _ in drawn)       # float32 draws in all, an even number

    def draw(a, b):
        masks, offset = [], 0
        for width, rate in layers:
            if rate <= 0:
                masks.append(None)
                continue
            masks.append(dropout_mask((b - a, width), rate, _at(start, (offset + a * width) // 2), dtype))
            offset += n * width
        return masks

    end = _at(start, total // 2 - 1).bit_generator
    last = int(end.random_raw())          # the last 64-bit word: its upper half stays buffered
    state = end.state
    state["uinteger"] = last >> 32
    rng.bit_generator.state = state
    return [lambda a=a, b=b: draw(a, b) for a, b in parts]


def _jumpable(rng, layers) -> bool:
    state = rng.bit_generator.state
    return (state["bit_generator"] == "PCG64" and not state["has_uint32"]
            and all(width % 2 == 0 for width, rate in layers if rate > 0))


_local = threading.local()


def _at(state: dict, words: int) -> np.random.Generator:
    """A generator at ``state`` moved ahead by ``words`` 64-bit outputs (one per thread,
    reused: a new PCG64 asks the OS for entropy)."""
    bits = getattr(_local, "bits", None)
    if bits is None:
        bits = _local.bits = np.random.PCG64(0)
    bits.state = state
    bits.advance(words)
    return np.random.Generator(bits)
