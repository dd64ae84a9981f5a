"""Configs: TOML files read with ``tomllib``, dotted ``--set`` overrides, strict validation.

A config is a plain two-level dict ``{section: {key: value}}``. :data:`DEFAULTS` lists every
key with its default; a file or override names only what it changes. Validation happens
before any work starts: unknown keys (with the nearest valid one suggested), wrong types
and out-of-range values are :class:`~nerwin.errors.ConfigError` (exit status 2).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import re
import tomllib
from pathlib import Path

from nerwin.consistency import RULES
from nerwin.decode import DECODERS
from nerwin.errors import ConfigError, shorten
from nerwin.nn.activations import ACTIVATIONS, PARAMETRIC
from nerwin.nn.initializers import INITIALIZERS
from nerwin.nn.losses import LOSSES
from nerwin.optim import OPTIMIZERS
from nerwin.schedules import SCHEDULES

DEFAULTS = {
    "data": {
        "train": "data/sample/train.conll",
        "dev": "data/sample/dev.conll",
        "test": "data/sample/test.conll",
        "encoding": "utf-8",
        "scheme": "iobes",
        "case_variants": [],
    },
    "embeddings": {
        "source": "glove-6b-50d",
        "lowercase": True,
        "normalize_digits": False,
        "min_count": 2,
        "finetune": "all",
        "lr": 0.0,
        "dim": 50,
        "casing_dim": 4,
        "uncased": False,
        "suffix_length": 0,
        "suffix_dim": 16,
        "suffix_min_count": 2,
    },
    "model": {
        "window": 5,
        "hidden": [300, 300],
        "activation": "relu",
        "init": "he_uniform",
        "maxout_pieces": 2,
        "decode": "viterbi",
        "consistency": "none",
        "prelu_init": 0.25,
    },
    "loss": {
        "name": "softmax",
        "o_weight": 1.0,
    },
    "regularization": {
        "l2": 0.0,
        "l2_biases": False,
        "l2_embeddings": False,
        "dropout_input": 0.0,
        "dropout_hidden": 0.0,
        "word_dropout": 0.0,
    },
    "optimizer": {
        "name": "adam",
        "lr": 0.001,
        "momentum": 0.9,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "clip_norm": 5.0,
    },
    "schedule": {
        "name": "constant",
        "per": "epoch",
        "warmup": 0,
        "decay": 0.5,
        "every": 1,
        "min_lr": 0.0,
    },
    "train": {
        "epochs": 10,
        "batch_size": 256,
        "seed": 1,
        "patience": 0,
        "eval_every": 1,
        "eval_batch_size": 2048,
    },
}

CHOICES = {
    "data.scheme": ("iob2", "iobes"),
    "embeddings.finetune": ("all", "seen", "none"),
    "model.activation": tuple(ACTIVATIONS) + PARAMETRIC,
    "model.init": tuple(INITIALIZERS),
    "loss.name": tuple(LOSSES),
    "optimizer.name": tuple(OPTIMIZERS),
    "schedule.name": tuple(SCHEDULES),
    "model.decode": DECODERS,
    "model.consistency": RULES,
    "schedule.per": ("epoch", "step"),
}

# (low, high, low inclusive, high inclusive) for numbers
RANGES = {
    "embeddings.min_count": (1, None, True, True),
    "embeddings.lr": (0, None, True, True),
    "embeddings.casing_dim": (0, 64, True, True),
    "embeddings.suffix_length": (0, 16, True, True),
    "embeddings.suffix_dim": (1, 256, True, True),
    "embeddings.suffix_min_count": (1, None, True, True),
    "embeddings.dim": (1, 1024, True, True),
    "model.maxout_pieces": (2, 16, True, True),
    "model.window": (1, 21, True, True),
    "loss.o_weight": (0, None, False, True),
    "regularization.l2": (0, None, True, True),
    "regularization.dropout_input": (0, 1, True, False),
    "regularization.dropout_hidden": (0, 1, True, False),
    "regularization.word_dropout": (0, 1, True, False),
    "optimizer.lr": (0, None, False, True),
    "optimizer.momentum": (0, 1, True, False),
    "optimizer.beta1": (0, 1, True, False),
    "optimizer.beta2": (0, 1, True, False),
    "optimizer.eps": (0, None, False, True),
    "optimizer.weight_decay": (0, None, True, True),
    "optimizer.clip_norm": (0, None, True, True),
    "schedule.warmup": (0, None, True, True),
    "schedule.decay": (0, None, True, True),
    "schedule.every": (1, None, True, True),
    "schedule.min_lr": (0, None, True, True),
    "train.epochs": (1, None, True, True),
    "train.batch_size": (1, None, True, True),
    "train.seed": (0, None, True, True),
    "train.patience": (0, None, True, True),
    "train.eval_batch_size": (1, None, True, True),
    "train.eval_every": (1, None, True, True),
}

# list-of-string keys: the names each may hold (each at most once)
NAME_LISTS = {"data.case_variants": ("lower", "upper", "title")}

# A feature's switch and the keys that only matter while it is on: a model stores its config
# without them while the switch is 0 (:func:`stored`), so a model trained without the
# feature is the very file it was before the feature existed.
SWITCHED = {"embeddings.suffix_length": ("embeddings.suffix_length", "embeddings.suffix_dim",
                                         "embeddings.suffix_min_count"),
            "regularization.word_dropout": ("regularization.word_dropout",)}


def defaults() -> dict:
    return copy.deepcopy(DEFAULTS)


def load(path=None, overrides=()) -> dict:
    """Defaults, updated by the TOML file at ``path`` and by ``section.key=value`` overrides,
    then validated."""
    config = defaults()
    origin, sources = "defaults", {}
    if path is not None:
        origin = str(path)
        try:
            with open(path, "rb") as f:
                raw = f.read(LARGEST_CONFIG + 1)
            text = raw.decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read config: {e}") from None
        if len(raw) > LARGEST_CONFIG:
            raise ConfigError(f"{path}: larger than {LARGEST_CONFIG:,} bytes; expected a TOML config")
        merge(config, parse_toml(text, path), origin)
    for item in overrides:
        key, value = parse_override(item)
        section, _, name = key.partition(".")
        merge(config, {section: {name: value}}, f"--set {item}")
        sources[key] = f"--set {item}"
    validate(config, origin, sources)
    return config


def parse_override(item: str):
    """``section.key=value``: the value is read as a TOML value, else taken as a string. The
    value is one line: a line break (which would let it add TOML of its own) is an error."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or key.count(".") != 1 or len(key) > 100:
        raise ConfigError(f"--set {shorten(item)}: expected section.key=value, like optimizer.lr=0.01")
    if _LINE_BREAK.search(raw):
        raise ConfigError(f"--set {shorten(item)}: the value holds a line break; expected one line")
    _check_nesting(raw, f"--set {shorten(item)}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


LARGEST_CONFIG = 1 << 20      # bytes of TOML
DEEPEST = 8                   # brackets or dotted-key parts: a config needs 2 (section.key = [list])
_LINE_BREAK = re.compile("[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_TOML_PARTS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}.=,\n]')


def parse_toml(text: str, origin) -> dict:
    """TOML text as a dict, its nesting checked first (:func:`_check_nesting`)."""
    _check_nesting(text, origin)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{origin}: invalid TOML: {e}") from None


def _check_nesting(text: str, origin) -> None:
    """Nesting deeper than :data:`DEEPEST` levels (of brackets, or parts of a dotted key) is a
    :class:`ConfigError`, found in one pass before parsing, so a 100,000-deep array or a
    50,000-part key never becomes a RecursionError or gigabytes of dicts."""
    open_, parts, in_key = [], 0, True      # in_key: where dots split a key into parts
    for m in _TOML_PARTS.finditer(text):
        c = m[0]
        if c in "[{":
            open_.append(c)
            in_key = c == "{" or in_key
        elif c in "]}" and open_:
            open_.pop()
        elif c == "=":
            in_key, parts = False, 0
        elif c == "," and open_ and open_[-1] == "{" or c == "\n" and not open_:
            in_key, parts = True, 0
        elif c == "." and in_key:
            parts += 1
        if len(open_) > DEEPEST or parts >= DEEPEST:
            raise ConfigError(f"{origin}: nested deeper than {DEEPEST} levels; expected "
                              "[section] and key = value lines")


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" — did you mean {close[0]!r}?" if close else ""


def merge(config: dict, data: dict, origin: str) -> None:
    """Copy ``data`` into ``config``, refusing unknown sections and keys."""
    all_keys = [f"{s}.{k}" for s, keys in DEFAULTS.items() for k in keys]
    for section, values in data.items():
        if section not in DEFAULTS:
            if isinstance(values, dict) and values:
                dotted = f"{section}.{next(iter(values))}"
                raise ConfigError(f"{origin}: unknown key {dotted!r}{_suggest(dotted, all_keys)}")
            raise ConfigError(f"{origin}: unknown section [{section}]{_suggest(section, DEFAULTS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table of keys")
        for key, value in values.items():
            if key not in DEFAULTS[section]:
                dotted = f"{section}.{key}"
                raise ConfigError(f"{origin}: unknown key {dotted!r}{_suggest(dotted, all_keys)}")
            config[section][key] = value


def _type_ok(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return isinstance(value, type(default))


def validate(config: dict, origin: str = "config", sources: dict | None = None) -> None:
    """Check every key's type and range; messages name where the value came from
    (``sources`` maps ``section.key`` to an origin, such as the ``--set`` that gave it)."""
    at = lambda dotted: (sources or {}).get(dotted, origin)
    for section, keys in DEFAULTS.items():
        for key, default in keys.items():
            dotted, value = f"{section}.{key}", config[section][key]
            if dotted in NAME_LISTS:
                _check_names(at(dotted), dotted, value, NAME_LISTS[dotted])
                continue
            if not _type_ok(value, default):
                kind = "a list of integers" if isinstance(default, list) else type(default).__name__
                raise ConfigError(f"{at(dotted)}: {dotted} = {value!r}: expected {kind}")
            if isinstance(default, float):
                config[section][key] = value = float(value)
                if not math.isfinite(value):
                    raise ConfigError(f"{at(dotted)}: {dotted} = {value!r}: expected a finite number")
            if dotted in CHOICES and value not in CHOICES[dotted]:
                raise ConfigError(
                    f"{at(dotted)}: {dotted} = {value!r}: expected one of {', '.join(CHOICES[dotted])}"
                    f"{_suggest(str(value), CHOICES[dotted])}"
                )
            if dotted in RANGES:
                _check_range(at(dotted), dotted, value, *RANGES[dotted])
    try:
        b"a".decode(config["data"]["encoding"], errors="ignore")  # also refuses non-text codecs
    except LookupError:
        raise ConfigError(f"{at('data.encoding')}: data.encoding = {config['data']['encoding']!r}: unknown encoding") from None
    if config["model"]["window"] % 2 == 0:
        raise ConfigError(f"{at('model.window')}: model.window = {config['model']['window']}: expected an odd number")
    hidden = config["model"]["hidden"]
    if not hidden or len(hidden) > DEEPEST_NETWORK or min(hidden) < 1:
        raise ConfigError(f"{at('model.hidden')}: model.hidden: expected one or more positive layer sizes (at most {DEEPEST_NETWORK})")
    if (weights := network_weights(config)) > LARGEST_NETWORK:
        raise ConfigError(f"{at('model.hidden')}: model.hidden = {hidden}: a network of {weights:,} "
                          f"weights, more than the {LARGEST_NETWORK:,} nerwin trains")


DEEPEST_NETWORK = 16          # hidden layers
LARGEST_NETWORK = 1 << 28     # weights besides the word vectors: 1 GiB as float32


def network_weights(config: dict) -> int:
    """How many weights the hidden layers take (the window's inputs times the first layer's
    width, and so on; maxout has one set per piece), known before anything is allocated."""
    m, e = config["model"], config["embeddings"]
    pieces = m["maxout_pieces"] if m["activation"] == "maxout" else 1
    suffix_dim = e["suffix_dim"] if e["suffix_length"] else 0
    sizes = [m["window"] * (e["dim"] + e["casing_dim"] + suffix_dim), *m["hidden"]]
    return sum(a * b * pieces for a, b in zip(sizes, sizes[1:]))


def _check_names(origin, dotted, value, names):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{origin}: {dotted} = {value!r}: expected a list of names from {', '.join(names)}")
    for v in value:
        if v not in names:
            raise ConfigError(f"{origin}: {dotted}: {v!r} is not one of {', '.join(names)}{_suggest(v, names)}")
    if len(set(value)) < len(value):
        raise ConfigError(f"{origin}: {dotted} = {value!r}: a name is given twice")


def _check_range(origin, dotted, value, low, high, low_inc, high_inc):
    bad = (low is not None and (value < low if low_inc else value <= low)) or (
        high is not None and (value > high if high_inc else value >= high)
    )
    if bad:
        lo = "" if low is None else ("≥ " if low_inc else "> ") + str(low)
        hi = "" if high is None else ("≤ " if high_inc else "< ") + str(high)
        raise ConfigError(f"{origin}: {dotted} = {value!r}: expected a value {' and '.join(filter(None, [lo, hi]))}")


_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def resolve_path(config: dict, dotted: str) -> Path:
    """A data path from the config, with ``$VAR`` / ``${VAR}`` taken from the environment and
    ``~`` / ``~user`` expanded."""
    section, key = dotted.split(".")
    raw = config[section][key]

    def var(m):
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(f"{dotted} = {raw!r}: environment variable {name} is not set")
        return os.environ[name]

    path = Path(_VAR.sub(var, raw))
    try:
        return path.expanduser()
    except RuntimeError:                        # ~nosuchuser/x
        raise ConfigError(f"{dotted} = {raw!r}: no such user's home folder as {path.parts[0]!r}") from None


def dumps(config: dict) -> str:
    """The config as TOML text (the types a config holds: str, bool, int, float, lists of int or str)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)  # a JSON string is a valid TOML basic string (\n, \", \uXXXX)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    blocks = []
    for section, keys in config.items():
        lines = [f"[{section}]"] + [f"{k} = {value(v)}" for k, v in keys.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def stored(config: dict) -> dict:
    """The config as a model stores it: without the keys of a feature that is off (:data:`SWITCHED`)."""
    off = {key for switch, keys in SWITCHED.items() if not _get(config, switch) for key in keys}
    return {section: {k: v for k, v in values.items() if f"{section}.{k}" not in off}
            for section, values in config.items()}


def _get(config: dict, dotted: str):
    section, key = dotted.split(".")
    return config[section][key]


def loads(text: str, origin: str = "config") -> dict:
    """A config from TOML text (as stored in a model), validated."""
    config = defaults()
    merge(config, parse_toml(text, origin), origin)
    validate(config, origin)
    return config
