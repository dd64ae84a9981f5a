"""Loading a model checks everything it holds: finite parameters, distinct entity types,
sane nesting, so a model that cannot be right is refused in one line rather than tagging
everything O; damaged, foreign and pickled files are refused too, by the loader and by
`nerwin predict`, and never unpickled."""

import json
import pickle

import numpy as np
import pytest

from nerwin.data import read_conll
from nerwin.errors import DataError
from nerwin.evaluate import evaluate
from nerwin.tagger import SHIPPED_MODELS, VERSION, Tagger

from conftest import SAMPLE, train_sample
from helpers import assert_fails, invoke

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


def rewrite(model, path, header=None, drop=(), **replace):
    arrays = arrays_of(model)
    if header is not None:
        raw = header if isinstance(header, bytes) else json.dumps(header).encode()
        arrays["header"] = np.frombuffer(raw, np.uint8)
    for k in drop:
        del arrays[k]
    arrays.update({k.replace("__", "/"): v for k, v in replace.items()})
    np.savez(path, **arrays)
    return path


def header_of(model, **changes):
    header = json.loads(arrays_of(model)["header"].tobytes())
    header.update(changes)
    return header


def make_bad_model(kind, model, tmp_path):
    path = tmp_path / f"{kind}.npz"
    if kind == "truncated":
        data = model.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "lone npy":
        np.save(path.with_suffix(".npy"), np.arange(10.0))
        path = path.with_suffix(".npy")
    elif kind == "a corpus":
        path = SAMPLE / "dev.conll"
    elif kind == "wrong version":
        rewrite(model, path, header_of(model, version=99))
    elif kind == "header not json":
        rewrite(model, path, b"\x00{not json")
    elif kind == "header a json list":
        rewrite(model, path, b'["nerwin-model", 1]')
    elif kind == "header without types":
        header = header_of(model)
        del header["types"]
        rewrite(model, path, header)
    elif kind == "header with a bad scheme":
        rewrite(model, path, header_of(model, scheme="bio"))
    elif kind == "stored config invalid":
        rewrite(model, path, header_of(model, config="[model]\nwindow = 4\n"))
    elif kind == "missing vocab":
        rewrite(model, path, drop=["vocab"])
    elif kind == "missing header":
        rewrite(model, path, drop=["header"])
    elif kind == "missing array":
        rewrite(model, path, drop=["param/c"])
    elif kind == "shape not as in header":
        W1 = arrays_of(model)["param/W1"]
        rewrite(model, path, param__W1=np.zeros((W1.shape[0] + 1, W1.shape[1]), W1.dtype))
    elif kind == "shapes agree but do not fit":
        W1 = arrays_of(model)["param/W1"]
        shapes = header_of(model)["shapes"] | {"W1": [W1.shape[0], W1.shape[1] - 1]}
        rewrite(model, path, header_of(model, shapes=shapes), param__W1=W1[:, :-1].copy())
    elif kind == "integer parameters":
        rewrite(model, path, param__b1=arrays_of(model)["param/b1"].astype(np.int64))
    elif kind == "duplicate vocabulary":
        words = arrays_of(model)["vocab"].tobytes().decode().split("\n")
        words[-1] = words[-2]
        rewrite(model, path, vocab=np.frombuffer("\n".join(words).encode(), np.uint8))
    else:
        raise AssertionError(kind)
    return path


BAD_MODELS = [
    ("truncated", "not a nerwin model"),
    ("random bytes", "not a nerwin model"),
    ("empty", "not a nerwin model"),
    ("lone npy", "not a nerwin model"),
    ("a corpus", "not a nerwin model"),
    ("wrong version", f"model format version 99, this nerwin reads version {VERSION}"),
    ("header not json", "not a nerwin model"),
    ("header a json list", "not a nerwin model"),
    ("header without types", "the model header has no valid 'types'"),
    ("header with a bad scheme", "the model header holds values of the wrong kind"),
    ("stored config invalid", "(stored config): model.window = 4: expected an odd number"),
    ("missing vocab", "the model file has no 'vocab' array"),
    ("missing header", "not a nerwin model"),
    ("missing array", "c is missing, the header says (17,)"),
    ("shape not as in header", "parameter shapes do not match the model's header: W1"),
    ("shapes agree but do not fit", "the parameters do not fit together"),
    ("integer parameters", "parameter b1 holds int64"),
    ("duplicate vocabulary", "the vocabulary lists a word twice"),
]


@pytest.mark.parametrize("kind, needle", BAD_MODELS, ids=[m[0] for m in BAD_MODELS])
def test_model_refused(tiny_model, tmp_path, kind, needle):
    path = make_bad_model(kind, tiny_model, tmp_path)
    with pytest.raises(DataError) as info:
        Tagger.load(path)
    assert str(info.value).startswith(f"{path}") and needle in str(info.value)


@pytest.mark.parametrize("kind, needle", BAD_MODELS, ids=[m[0] for m in BAD_MODELS])
def test_model_refused_by_predict(tiny_model, tmp_path, kind, needle):
    path = make_bad_model(kind, tiny_model, tmp_path)
    assert_fails(invoke("predict", "--model", path, "Paris"), 1, f"{path}", needle)


class Unpickled:
    """Unpickling this creates a file: the marker proves whether pickle ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_object_array_is_never_unpickled(tiny_model, tmp_path):
    marker = tmp_path / "unpickled"
    evil = np.array([Unpickled(marker)], dtype=object)
    for name, arrays in [("header", {"header": evil}), ("vocab", arrays_of(tiny_model) | {"vocab": evil}),
                         ("param", arrays_of(tiny_model) | {"param/W1": evil})]:
        path = tmp_path / f"evil_{name}.npz"
        np.savez(path, **arrays)
        assert_fails(invoke("predict", "--model", path, "Paris"), 1, f"{path}")
        with pytest.raises(DataError):
            Tagger.load(path)
    assert not marker.exists()


def test_good_model_still_loads(tiny_model):
    assert Tagger.load(tiny_model).labels.types == ["LOC", "MISC", "ORG", "PER"]
    assert invoke("predict", "--model", tiny_model.parent, "Paris").exit_code == 0


# ---------------------------------------------------------------- suffix features


@pytest.fixture(scope="module")
def suffix_run(tmp_path_factory):
    """A model with suffix features, trained briefly on the sample corpus (the run folder)."""
    return train_sample(tmp_path_factory.mktemp("suffixes") / "run", 3, "embeddings.suffix_length=3",
                        "embeddings.suffix_dim=5")


def test_a_model_with_suffixes_saves_and_loads_its_suffix_table(suffix_run):
    arrays = arrays_of(suffix_run / "model.npz")
    tagger = Tagger.load(suffix_run)
    assert "suffixes" in arrays and arrays["param/A"].shape == (len(tagger.suffixes), 5)
    assert tagger.suffixes.length == 3 and list(tagger.suffixes.words[:3]) == ["<unk>", "<s>", "</s>"]
    assert {"ing", "ion", "ian"} <= set(tagger.suffixes.words)
    again = Tagger.from_bytes(tagger.file_bytes())
    assert list(again.suffixes.words) == list(tagger.suffixes.words)
    assert again.file_bytes() == tagger.file_bytes() == (suffix_run / "model.npz").read_bytes()
    assert list(pickle.loads(pickle.dumps(tagger)).suffixes.words) == list(tagger.suffixes.words)


def test_a_model_with_suffixes_tags_through_its_suffix_vectors(suffix_run):
    tagger = Tagger.load(suffix_run)
    result = evaluate(tagger, read_conll(SAMPLE / "dev.conll"))
    assert result["f1"] > 20, result
    words = np.array("Angela Merkel visited Nashville and Hamburg .".split(), dtype=object)
    windows = tagger.featurize(words, [len(words)])
    sfx = tagger.suffixes
    assert windows.suffix[:, 2].tolist() == sfx.ids(sfx.keys(words)).tolist()
    assert windows.suffix[0, :2].tolist() == [sfx.pad_left] * 2 and sfx.ids(["ing"])[0] > 2
    before = tagger.scores(windows)
    tagger.network.params["A"][:] = 0
    assert not np.array_equal(tagger.scores(windows), before)
    out = invoke("predict", "--model", suffix_run, "--format", "jsonl", "Angela Merkel visited Nashville .")
    assert out.exit_code == 0 and json.loads(out.output)["tokens"]


@pytest.mark.parametrize("edit, needle", [
    (lambda a: a.pop("suffixes"), "the suffix features are incomplete"),
    (lambda a: a.update(suffixes=a["suffixes"][:-4]), r"the suffix vectors have \d+ rows, the suffix table \d+"),
    (lambda a: a.update(suffixes=np.frombuffer(b"<unk>\xff", np.uint8)), "cannot read the model's suffix table"),
    (lambda a: a.update(suffixes=np.frombuffer(b"<unk>\n<s>\n</s>\nion\nion", np.uint8)), "lists a suffix twice"),
    (lambda a: a.update(suffixes=a["suffixes"].astype(np.int64)), "cannot read the model's suffix table"),
], ids=["no suffix table", "table cut short", "not UTF-8", "a suffix twice", "not text"])
def test_a_damaged_suffix_table_is_refused(suffix_run, tmp_path, edit, needle):
    arrays = arrays_of(suffix_run / "model.npz")
    edit(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=needle):
        Tagger.load(tmp_path / "bad.npz")


def test_a_suffix_table_in_a_model_without_suffix_features_is_refused(tiny_model, tmp_path):
    path = rewrite(tiny_model, tmp_path / "odd.npz", suffixes=np.frombuffer(b"<unk>\n<s>\n</s>", np.uint8))
    with pytest.raises(DataError, match="the suffix features are incomplete"):
        Tagger.load(path)


def test_a_model_without_suffix_features_loads_and_saves_as_before(tiny_model):
    """A model without suffix features (as every model written before they existed): no
    suffix table, no suffix key in its config, and saved again it is the same file."""
    tagger = Tagger.load(tiny_model)
    assert tagger.suffixes is None and "A" not in tagger.network.params
    assert tagger.file_bytes() == tiny_model.read_bytes()
    assert "suffix" not in json.loads(arrays_of(tiny_model)["header"].tobytes())["config"]   # the stored TOML text


def test_the_shipped_model_saves_again_as_the_same_bytes():
    tagger = Tagger.load(SHIPPED_MODEL)
    assert tagger.suffixes is not None and tagger.file_bytes() == SHIPPED_MODEL.read_bytes()
