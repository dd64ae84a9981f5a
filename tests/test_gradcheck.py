"""The gradient checker itself: it sees every entry of a parameter whatever its memory
layout, and every shipped config passes it."""

import numpy as np
import pytest

from nerwin import config as cfg
from nerwin.gradcheck import check_config, numerical_gradient, relative_error
from nerwin.model import WindowNetwork
from nerwin.nn.initializers import INITIALIZERS
from nerwin.tagger import Tagger

from conftest import ROOT

CONFIGS = sorted(ROOT.glob("configs/**/*.toml"))


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_numerical_gradient_perturbs_any_layout(layout):
    base = np.random.default_rng(0).standard_normal((4, 6))
    x = {"C": base.copy(), "F": np.asfortranarray(base),
         "strided": np.repeat(base, 2, axis=1)[:, ::2]}[layout]
    weights = np.arange(x.size, dtype=np.float64).reshape(x.shape)
    numeric = numerical_gradient(lambda: float((weights * x * x).sum()), x)
    assert relative_error(2 * weights * base, numeric) < 1e-8
    assert np.array_equal(x, base)   # restored


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_passes_gradcheck(path):
    errors = check_config(cfg.load(path))
    assert max(errors.values()) < 1e-6, errors


def test_configs_are_found():
    assert len(CONFIGS) >= 3 and any("experiments" in str(p) for p in CONFIGS)


@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_new_parameters_are_c_contiguous(init):
    net = WindowNetwork.create(np.random.default_rng(0), 10, 4, 6, 2, 5, [30, 7], 3, init=init)
    assert all(p.flags.c_contiguous for p in net.params.values())
    assert all(p.flags.c_contiguous for p in net.astype(np.float64).params.values())


def test_loaded_parameters_are_c_contiguous(sample_run, tmp_path):
    tagger = Tagger.load(sample_run)
    tagger.network.params["W1"] = np.asfortranarray(tagger.network.params["W1"])
    tagger.save(tmp_path / "fortran.npz")
    loaded = Tagger.load(tmp_path / "fortran.npz")
    assert all(p.flags.c_contiguous for p in loaded.network.params.values())
    assert np.array_equal(loaded.network.params["W1"], tagger.network.params["W1"])
