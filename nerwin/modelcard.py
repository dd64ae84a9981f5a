"""The shipped model's card: dev and test scores, overall and per type, as JSON.

    python -m nerwin.modelcard nerwin/models/en.npz $NERWIN_CONLL_DIR > nerwin/models/en.json

The tests score the shipped model again and compare with this file (and the README's
model card), so the card can never drift from the model.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nerwin.data import read_conll
from nerwin.evaluate import evaluate
from nerwin.tagger import Tagger

SPLITS = {"dev": "eng.testa", "test": "eng.testb"}


def card(model_path, conll_dir) -> dict:
    tagger = Tagger.load(model_path)
    out = {"model": Path(model_path).name, "config": tagger.config, "splits": {}}
    for split, name in SPLITS.items():
        corpus = read_conll(Path(conll_dir) / name)
        start = time.perf_counter()
        result = evaluate(tagger, corpus)
        seconds = time.perf_counter() - start
        out["splits"][split] = {
            "file": name, "f1": round(result["f1"], 2), "precision": round(result["precision"], 2),
            "recall": round(result["recall"], 2), "token_accuracy": round(result["token_accuracy"], 2),
            "per_type_f1": {t: round(v["f1"], 2) for t, v in result["per_type"].items()},
            "tokens_per_s": round(corpus.n_tokens / seconds),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(card(sys.argv[1], sys.argv[2]), indent=2))
