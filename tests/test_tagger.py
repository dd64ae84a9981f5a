"""Loading a model checks everything it holds: finite parameters, distinct entity types,
sane nesting, so a model that cannot be right is refused in one line rather than tagging
everything O."""

import json

import numpy as np
import pytest

from nerwin.errors import DataError
from nerwin.tagger import SHIPPED_MODELS, Tagger

SHIPPED_MODEL = SHIPPED_MODELS / "en.npz"


def arrays_of(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k].copy() for k in npz.files}


def edited(tmp_path, edit):
    arrays = arrays_of(SHIPPED_MODEL)
    edit(arrays)
    path = tmp_path / "edited.npz"
    np.savez(path, **arrays)
    return path


def set_header(arrays, **changes):
    header = json.loads(arrays["header"].tobytes()) | changes
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)


def poison(name, value, where):
    def edit(arrays):
        a = arrays[f"param/{name}"]
        a[where] = value
    return edit


@pytest.mark.parametrize("edit", [
    poison("W1", np.nan, ...), poison("U", np.inf, (0, 0)), poison("E", np.nan, slice(10, None)),
    poison("b2", -np.inf, 3), poison("C", np.nan, (5, 3)),
], ids=["NaN W1", "one inf in U", "NaN word vectors", "-inf in b2", "NaN casing"])
def test_non_finite_parameters_are_refused(tmp_path, edit):
    with pytest.raises(DataError, match=r"edited.npz: parameter \w+ holds NaN or infinite numbers"):
        Tagger.load(edited(tmp_path, edit))


def test_an_entity_type_listed_twice_is_refused(tmp_path):
    def edit(arrays):
        types = json.loads(arrays["header"].tobytes())["types"]
        set_header(arrays, types=[types[0], *types[:-1]])
    with pytest.raises(DataError, match="lists entity type '.+' twice"):
        Tagger.load(edited(tmp_path, edit))


def test_a_deeply_nested_header_is_refused(tmp_path):
    def edit(arrays):
        arrays["header"] = np.frombuffer(b"[" * 200_000 + b"]" * 200_000, np.uint8)
    with pytest.raises(DataError, match="not a nerwin model"):
        Tagger.load(edited(tmp_path, edit))


def test_the_shipped_model_passes_every_check():
    tagger = Tagger.load(SHIPPED_MODEL)
    assert np.isfinite(tagger.network.params["W1"]).all()
    assert len(set(tagger.labels.types)) == len(tagger.labels.types) > 0
