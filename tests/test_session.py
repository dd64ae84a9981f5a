"""The test session itself: one BLAS thread (tests/conftest.py), the slow marker."""

import pytest


def test_blas_uses_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))
    pools = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert pools and [p["num_threads"] for p in pools] == [1] * len(pools)
