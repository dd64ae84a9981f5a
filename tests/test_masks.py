"""Dropout masks from raw PCG64 words equal the masks from float32 uniforms (the proof is in
nerwin/nn/masks.py)."""

import numpy as np
import pytest

from nerwin.nn import masks as M


@pytest.mark.parametrize("rate", [0.2, 0.3, 0.5, 1e-9, 0.999999, 1 - 2 ** -25])
@pytest.mark.parametrize("shape", [(256, 300), (3, 5), (4, 2), (0, 4)])
@pytest.mark.parametrize("warm", [0, 1])   # 1: the generator holds half a 64-bit word
def test_dropout_masks_from_raw_words_equal_masks_from_uniforms(rate, shape, warm, monkeypatch):
    """The integer-threshold masks keep exactly the units rng.random(float32) >= rate keeps,
    and leave the generator in the same state."""
    masks, states = [], []   # fast path, then rng.random's
    for fast in (True, False):
        monkeypatch.setattr(M, "_FAST_MASKS", fast)
        rng = np.random.default_rng(9)
        rng.random(warm, dtype=np.float32)
        masks.append(M.dropout_mask(shape, rate, rng))
        states.append(rng.bit_generator.state)
    np.testing.assert_array_equal(masks[0], masks[1])
    assert masks[0].dtype == masks[1].dtype == np.float32
    assert states[0] == states[1]
