"""The shipped model's card: dev and test scores as written, lower-cased and upper-cased,
overall and per type, and what input the model expects, as JSON.

    python -m nerwin.modelcard nerwin/models/en.npz $NERWIN_CONLL_DIR > nerwin/models/en.json

The tests score the shipped model again and compare with this file (and the README's
model card), so the card can never drift from the model.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nerwin.data import read_conll, recase
from nerwin.evaluate import evaluate
from nerwin.tagger import Tagger

SPLITS = {"dev": "eng.testa", "test": "eng.testb"}
CASES = ("lower", "upper")   # scored besides the file as written

INPUT = ("English news-style text, tokenized as CoNLL-2003 is (nerwin predict does this). "
         "Trained on eng.train as written and on its lower- and upper-cased copies, so all "
         "lower-case text (captions, chat, queries) and ALL-CAPS text (headlines) are tagged too; "
         "best on ordinarily cased text. A surname on its own after the full name earlier in the "
         "same document is typed PER (model.consistency). Entity types: PER, ORG, LOC, MISC.")


def _scores(result: dict) -> dict:
    return {"f1": round(result["f1"], 2), "precision": round(result["precision"], 2),
            "recall": round(result["recall"], 2), "token_accuracy": round(result["token_accuracy"], 2),
            "per_type_f1": {t: round(v["f1"], 2) for t, v in result["per_type"].items()}}


def card(model_path, conll_dir) -> dict:
    """Scores of the model on dev and test: as written at the top level of each split, and
    under ``cases`` with every word lower-cased and upper-cased (as ``nerwin eval --case``)."""
    tagger = Tagger.load(model_path)
    out = {"model": Path(model_path).name, "input": INPUT, "config": tagger.config, "splits": {}}
    for split, name in SPLITS.items():
        corpus = read_conll(Path(conll_dir) / name)
        start = time.perf_counter()
        result = evaluate(tagger, corpus)
        seconds = time.perf_counter() - start
        out["splits"][split] = {
            "file": name, **_scores(result), "tokens_per_s": round(corpus.n_tokens / seconds),
            "cases": {case: _scores(evaluate(tagger, recase(corpus, case))) for case in CASES},
        }
    return out


if __name__ == "__main__":
    print(json.dumps(card(sys.argv[1], sys.argv[2]), indent=2))
