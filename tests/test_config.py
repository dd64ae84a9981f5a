"""Config loading, overrides, validation, paths and TOML round trips; bad configs refused in
one line by `nerwin config check` and `nerwin train`."""

import copy
from pathlib import Path

import pytest

from nerwin import config as C
from nerwin.errors import ConfigError

from helpers import BAD, assert_fails, invoke


def write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_without_file_gives_defaults():
    cfg = C.load()
    assert cfg == C.DEFAULTS
    assert cfg is not C.DEFAULTS
    assert cfg["optimizer"]["lr"] == 0.001
    assert cfg["model"]["hidden"] == [300, 300]
    assert cfg["data"]["scheme"] == "iobes"


def test_defaults_are_a_deep_copy():
    cfg = C.defaults()
    cfg["model"]["hidden"].append(1)
    cfg["optimizer"]["lr"] = 5.0
    assert C.DEFAULTS["model"]["hidden"] == [300, 300]
    assert C.DEFAULTS["optimizer"]["lr"] == 0.001


def test_file_overrides_keys(tmp_path):
    path = write(tmp_path, '[optimizer]\nname = "sgd"\nlr = 0.1\n\n[model]\nwindow = 3\nhidden = [50]\n')
    cfg = C.load(path)
    assert cfg["optimizer"]["name"] == "sgd"
    assert cfg["optimizer"]["lr"] == 0.1
    assert cfg["model"]["window"] == 3
    assert cfg["model"]["hidden"] == [50]
    # untouched keys keep their defaults
    assert cfg["optimizer"]["momentum"] == 0.9
    assert cfg["model"]["activation"] == "relu"
    assert cfg["train"] == C.DEFAULTS["train"]


def test_int_for_float_key_becomes_float(tmp_path):
    cfg = C.load(write(tmp_path, "[optimizer]\nlr = 1\n"))
    assert cfg["optimizer"]["lr"] == 1.0
    assert isinstance(cfg["optimizer"]["lr"], float)


def test_shipped_config_loads():
    path = Path(__file__).resolve().parent.parent / "configs" / "conll2003.toml"
    cfg = C.load(path)
    assert cfg["data"]["train"] == "${NERWIN_CONLL_DIR}/eng.train"
    assert cfg["embeddings"]["normalize_digits"] is True
    assert cfg["regularization"]["dropout_input"] == 0.2


def test_set_overrides(tmp_path):
    cfg = C.load(None, ["optimizer.lr=0.01", "model.hidden=[10, 10]", "model.activation=tanh"])
    assert cfg["optimizer"]["lr"] == 0.01
    assert cfg["model"]["hidden"] == [10, 10]
    assert cfg["model"]["activation"] == "tanh"


def test_set_overrides_win_over_file(tmp_path):
    path = write(tmp_path, "[optimizer]\nlr = 0.5\n[train]\nepochs = 3\n")
    cfg = C.load(path, ["optimizer.lr=0.01", "model.hidden=[10, 10]", "model.activation=tanh"])
    assert cfg["optimizer"]["lr"] == 0.01
    assert cfg["train"]["epochs"] == 3
    assert cfg["model"]["hidden"] == [10, 10]
    assert cfg["model"]["activation"] == "tanh"


def test_parse_override():
    assert C.parse_override("optimizer.lr=0.01") == ("optimizer.lr", 0.01)
    assert C.parse_override(" train.epochs = 7 ") == ("train.epochs", 7)
    assert C.parse_override("embeddings.lowercase=false") == ("embeddings.lowercase", False)
    assert C.parse_override('data.train="a b.conll"') == ("data.train", "a b.conll")
    assert C.parse_override("data.train=/tmp/x.conll") == ("data.train", "/tmp/x.conll")
    assert C.parse_override("model.hidden=[10, 20]") == ("model.hidden", [10, 20])


@pytest.mark.parametrize("item", ["optimizer.lr", "lr=0.1", "a.b.c=1", "=1"])
def test_bad_override_syntax(item):
    with pytest.raises(ConfigError, match="expected section.key=value"):
        C.load(None, [item])


def test_unknown_key_suggests_dotted_key():
    with pytest.raises(ConfigError) as info:
        C.load(None, ["optimizer.lrr=0.01"])
    msg = str(info.value)
    assert "unknown key 'optimizer.lrr'" in msg
    assert "did you mean 'optimizer.lr'" in msg
    assert msg.startswith("--set optimizer.lrr=0.01: ")


def test_unknown_key_in_file(tmp_path):
    path = write(tmp_path, "[optimizer]\nlearning_rat = 0.1\n")
    with pytest.raises(ConfigError) as info:
        C.load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: unknown key 'optimizer.learning_rat'")
    assert "did you mean" in msg


def test_unknown_section_with_key_suggests_dotted_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        C.load(None, ["optimiser.lr=0.01"])
    msg = str(info.value)
    assert msg.startswith("--set optimiser.lr=0.01: unknown key 'optimiser.lr'")
    assert "did you mean 'optimizer.lr'" in msg
    path = write(tmp_path, "[optimiser]\nlr = 0.1\n")
    with pytest.raises(ConfigError) as info:
        C.load(path)
    assert str(info.value).startswith(f"{path}: unknown key 'optimiser.lr'")
    assert "did you mean 'optimizer.lr'" in str(info.value)


@pytest.mark.parametrize("text", ["[optimiser]\n", "optimiser = 3\n"])
def test_unknown_empty_section_suggests_section(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        C.load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: unknown section [optimiser]")
    assert "did you mean 'optimizer'" in msg


def test_unknown_key_without_close_match():
    with pytest.raises(ConfigError) as info:
        C.load(None, ["train.zzzzzzzzzz=1"])
    assert "unknown key 'train.zzzzzzzzzz'" in str(info.value)
    assert "did you mean" not in str(info.value)


def test_section_must_be_table(tmp_path):
    with pytest.raises(ConfigError, match=r"\[model\] must be a table"):
        C.load(write(tmp_path, "model = 3\n"))


@pytest.mark.parametrize(
    "override, fragment",
    [
        ('optimizer.lr="fast"', "optimizer.lr = 'fast': expected float"),
        ("train.epochs=1.5", "train.epochs = 1.5: expected int"),
        ("embeddings.lowercase=1", "embeddings.lowercase = 1: expected bool"),
        ("train.seed=true", "expected int"),
        ('model.hidden=[10, "a"]', "expected a list of integers"),
        ("model.hidden=10", "expected a list of integers"),
        ("model.activation=3", "expected str"),
    ],
)
def test_wrong_type(override, fragment):
    with pytest.raises(ConfigError) as info:
        C.load(None, [override])
    assert fragment in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("optimizer.lr=-0.1", "optimizer.lr = -0.1: expected a value > 0"),
        ("optimizer.lr=0", "expected a value > 0"),
        ("regularization.dropout_hidden=1.0", "regularization.dropout_hidden = 1.0: expected a value ≥ 0 and < 1"),
        ("regularization.dropout_input=-0.1", "dropout_input"),
        ("model.window=4", "model.window = 4: expected an odd number"),
        ("model.window=23", "expected a value ≥ 1 and ≤ 21"),
        ("train.epochs=0", "train.epochs = 0"),
        ("model.hidden=[]", "model.hidden: expected one or more positive layer sizes"),
        ("model.hidden=[10, 0]", "positive layer sizes"),
        ("model.activation=tanhh", "did you mean 'tanh'"),
        ("data.scheme=iob1", "expected one of iob2, iobes"),
        ('data.case_variants=["lowr"]', "'lowr' is not one of lower, upper, title — did you mean 'lower'?"),
        ('data.case_variants=["lower", "lower"]', "a name is given twice"),
        ("data.case_variants=[1]", "expected a list of names from lower, upper, title"),
        ('data.case_variants="lower"', "expected a list of names"),
        ("embeddings.suffix_length=-1", "embeddings.suffix_length = -1: expected a value ≥ 0 and ≤ 16"),
        ("embeddings.suffix_length=17", "expected a value ≥ 0 and ≤ 16"),
        ("embeddings.suffix_dim=0", "embeddings.suffix_dim = 0: expected a value ≥ 1 and ≤ 256"),
        ("embeddings.suffix_min_count=0", "embeddings.suffix_min_count = 0: expected a value ≥ 1"),
        ("embeddings.suffix_length=2.5", "embeddings.suffix_length = 2.5: expected int"),
        ("regularization.word_dropout=1.0", "regularization.word_dropout = 1.0: expected a value ≥ 0 and < 1"),
        ("regularization.word_dropout=-0.1", "regularization.word_dropout = -0.1: expected a value ≥ 0"),
        ("regularization.word_dropout=true", "regularization.word_dropout = True: expected float"),
        ("regularization.word_dropout=inf", "regularization.word_dropout = inf: expected a finite number"),
    ],
)
def test_bad_values(override, fragment):
    with pytest.raises(ConfigError) as info:
        C.load(None, [override])
    assert fragment in str(info.value)


def test_boundary_values_accepted():
    cfg = C.load(None, ["regularization.dropout_hidden=0.0", "model.window=1", "model.window=21",
                        "regularization.dropout_input=0.99"])
    assert cfg["model"]["window"] == 21
    assert cfg["regularization"]["dropout_input"] == 0.99


def test_case_variants_default_empty_and_round_trip():
    assert C.load()["data"]["case_variants"] == []
    config = C.load(None, ['data.case_variants=["lower", "upper", "title"]'])
    assert C.loads(C.dumps(config)) == config


def test_invalid_toml(tmp_path):
    path = write(tmp_path, "[model\nwindow = 3\n")
    with pytest.raises(ConfigError) as info:
        C.load(path)
    assert str(info.value).startswith(f"{path}: invalid TOML")


def test_missing_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        C.load(path)
    assert str(info.value) == f"{path}: no such config file"


def test_error_names_file(tmp_path):
    path = write(tmp_path, "[optimizer]\nlr = -1.0\n")
    with pytest.raises(ConfigError) as info:
        C.load(path)
    assert str(info.value).startswith(f"{path}: optimizer.lr = -1.0")


# ---------------------------------------------------------------- resolve_path


def test_resolve_path_with_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("NERWIN_TEST_DIR", str(tmp_path))
    cfg = C.defaults()
    cfg["data"]["train"] = "${NERWIN_TEST_DIR}/eng.train"
    cfg["data"]["dev"] = "$NERWIN_TEST_DIR/eng.testa"
    assert C.resolve_path(cfg, "data.train") == tmp_path / "eng.train"
    assert C.resolve_path(cfg, "data.dev") == tmp_path / "eng.testa"


def test_resolve_path_plain_and_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = C.defaults()
    assert C.resolve_path(cfg, "data.train") == Path("data/sample/train.conll")
    cfg["data"]["test"] = "~/x.conll"
    assert C.resolve_path(cfg, "data.test") == tmp_path / "x.conll"


def test_resolve_path_unset_variable(monkeypatch):
    monkeypatch.delenv("NERWIN_SURELY_UNSET", raising=False)
    cfg = C.defaults()
    cfg["data"]["train"] = "${NERWIN_SURELY_UNSET}/eng.train"
    with pytest.raises(ConfigError) as info:
        C.resolve_path(cfg, "data.train")
    msg = str(info.value)
    assert "environment variable NERWIN_SURELY_UNSET is not set" in msg
    assert msg.startswith("data.train = '${NERWIN_SURELY_UNSET}/eng.train'")


# ---------------------------------------------------------------- dumps / loads


def test_dumps_loads_round_trip_defaults():
    text = C.dumps(C.defaults())
    assert "[optimizer]\n" in text
    assert 'name = "adam"' in text
    assert "hidden = [300, 300]" in text
    assert "lowercase = true" in text
    back = C.loads(text)
    assert back == C.DEFAULTS
    assert C.dumps(back) == text


def test_dumps_loads_round_trip_modified():
    cfg = C.load(None, ["optimizer.lr=0.01", "model.hidden=[10, 10]", "model.activation=tanh",
                        "optimizer.eps=1e-12"])
    cfg["data"]["train"] = 'C:\\data\\"quoted" file.conll'
    back = C.loads(C.dumps(cfg))
    assert back == cfg
    assert back["data"]["train"] == 'C:\\data\\"quoted" file.conll'
    assert back["optimizer"]["eps"] == 1e-12


def test_a_model_stores_the_suffix_keys_only_while_suffixes_are_on():
    off = C.load(None, ["embeddings.suffix_dim=8"])
    assert "suffix" not in C.dumps(C.stored(off))           # as models stored configs before suffixes
    assert "suffix_length = 0" in C.dumps(off)               # `config show` lists every key
    assert C.loads(C.dumps(C.stored(off)))["embeddings"]["suffix_length"] == 0
    on = C.load(None, ["embeddings.suffix_length=3", "embeddings.suffix_dim=8"])
    assert C.stored(on)["embeddings"] == on["embeddings"] and C.loads(C.dumps(C.stored(on))) == on


def test_a_model_stores_word_dropout_only_while_it_is_on():
    off = C.load()
    assert off["regularization"]["word_dropout"] == 0.0 and "word_dropout = 0.0" in C.dumps(off)
    assert "word_dropout" not in C.dumps(C.stored(off))     # as models stored configs before it
    on = C.load(None, ["regularization.word_dropout=0.25"])
    assert C.stored(on)["regularization"] == on["regularization"] and C.loads(C.dumps(C.stored(on))) == on


def test_loads_validates():
    text = C.dumps(C.defaults()).replace("window = 5", "window = 6")
    with pytest.raises(ConfigError, match="stored: model.window = 6: expected an odd number"):
        C.loads(text, "stored")


def test_load_does_not_mutate_defaults():
    before = copy.deepcopy(C.DEFAULTS)
    C.load(None, ["model.hidden=[1]", "optimizer.lr=0.5"])
    assert C.DEFAULTS == before


# --- hostile configs: nesting, size, injected lines -------------------------------------

@pytest.mark.parametrize("text", [
    "a = " + "[" * 100_000 + "]" * 100_000,
    "a = " + "{b = " * 50_000 + "1" + "}" * 50_000,
    "[train]\nepochs = " + "[" * 5_000 + "]" * 5_000,
    "a" + ".a" * 50_000 + " = 1",
    "[" + "a." * 50_000 + "a]",
    "x = {a = 1, " + "b." * 50_000 + "c = 2}",
])
def test_deep_nesting_is_one_config_error(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"deep.toml: nested deeper than {C.DEEPEST} levels"):
        C.load(path)
    with pytest.raises(ConfigError, match="stored: nested deeper"):
        C.loads(text, "stored")


@pytest.mark.parametrize("text", [
    '[model]\nhidden = [300, 200]  # a.b.c.d.e.f.g.h.i.j\n',
    '[data]\ntrain = "a.b.c.d.e.f.g.h.i.j.conll"\n',
    "[optimizer]\nlr = 0.001\n[model]\nhidden = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
])
def test_dots_and_lists_in_values_are_not_nesting(tmp_path, text):
    path = tmp_path / "ok.toml"
    path.write_text(text)
    C.load(path)


def test_an_endless_or_huge_config_file_is_refused():
    with pytest.raises(ConfigError, match=r"/dev/zero: larger than 1,048,576 bytes"):
        C.load("/dev/zero")


@pytest.mark.parametrize("value", ["3\n[model]\nwindow=7", "3\rx", "3\u2028x"])
def test_a_set_value_with_a_line_break_is_refused(value):
    with pytest.raises(ConfigError, match="the value holds a line break"):
        C.load(None, [f"train.epochs={value}"])


def test_a_deeply_nested_set_value_is_refused():
    with pytest.raises(ConfigError, match="nested deeper"):
        C.load(None, ["model.hidden=" + "[" * 5000 + "]" * 5000])


@pytest.mark.parametrize("hidden, needle", [
    ("[10000000000]", "a network of 2,700,000,000,000 weights"),
    ("[100000, 100000]", "a network of 10,027,000,000 weights"),
    ("[" + ", ".join(["1"] * 10_000) + "]", r"expected one or more positive layer sizes \(at most 16\)"),
])
def test_a_network_too_large_to_train_is_refused_at_config_time(hidden, needle):
    with pytest.raises(ConfigError, match=needle):
        C.load(None, [f"model.hidden={hidden}"])


def test_network_weights_counts_every_layer():
    config = C.load(None, ["model.hidden=[30, 20]", "model.window=3"])
    d = config["embeddings"]["dim"] + config["embeddings"]["casing_dim"]
    assert C.network_weights(config) == 3 * d * 30 + 30 * 20
    suffixes = C.load(None, ["model.hidden=[30, 20]", "model.window=3", "embeddings.suffix_length=3"])
    assert C.network_weights(suffixes) == 3 * (d + 16) * 30 + 30 * 20


def test_unknown_user_home_is_a_config_error():
    config = C.load(None, ['data.train="~nosuchuser-nerwin/x.conll"'])
    with pytest.raises(ConfigError, match="no such user's home folder"):
        C.resolve_path(config, "data.train")


BAD_CONFIGS = [
    ("invalid toml", "config_invalid.toml", ["invalid TOML", "line 2"]),
    ("unknown section", "config_unknown_section.toml", ["unknown key 'optimiser.lr'", "did you mean 'optimizer.lr'?"]),
    ("unknown key", "config_unknown_key.toml", ["unknown key 'optimizer.rate'"]),
    ("wrong type", "config_wrong_type.toml", ["train.epochs = 'ten': expected int"]),
    ("out of range", "config_out_of_range.toml", ["regularization.dropout_input = 1.5: expected a value ≥ 0 and < 1"]),
    ("nan", "config_nan.toml", ["optimizer.lr = nan: expected a finite number"]),
    ("unknown encoding", "config_bad_encoding.toml", ["data.encoding = 'klingon-8': unknown encoding"]),
    ("not utf-8", "config_not_utf8.toml", ["cannot read config"]),
    ("missing file", "no_such_config.toml", ["no such config file"]),
]


@pytest.mark.parametrize("command", [["config", "check"], ["train", "--config"]], ids=["check", "train"])
@pytest.mark.parametrize("name, fixture, needles", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_config_refused(tmp_path, command, name, fixture, needles):
    path = BAD / fixture
    assert_fails(invoke(*command, path, *(["--out", tmp_path / "run"] if command[0] == "train" else [])),
                 2, f"{path}: ", *needles)
    assert not (tmp_path / "run").exists()


def test_config_folder_and_bad_override(tmp_path):
    assert_fails(invoke("config", "show", "--set", 'data.encoding="rot13"'), 2, "data.encoding = 'rot13': unknown encoding")
    assert_fails(invoke("config", "check", tmp_path), 2, f"{tmp_path}: cannot read config")
    assert_fails(invoke("config", "show", "--set", "optimizer.lr=inf"), 2, "optimizer.lr = inf: expected a finite number")
    assert_fails(invoke("config", "show", "--set", "model.hidden"), 2, "expected section.key=value")
