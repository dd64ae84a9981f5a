"""Sparse embedding gradients against np.add.at."""

import numpy as np
import pytest

from nerwin.nn.sparse import scatter_rows


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_scatter_rows_matches_add_at(rng):
    ids = rng.integers(0, 50, 400)
    values = rng.standard_normal((400, 4))
    g = scatter_rows(ids, values)
    expected = np.zeros((50, 4))
    np.add.at(expected, ids, values)
    np.testing.assert_allclose(g.to_dense((50, 4)), expected)
    assert np.all(np.diff(g.rows) > 0)
