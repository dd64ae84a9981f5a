"""Entity-level scoring as the CoNLL shared task's ``conlleval`` does it.

An entity is correct when its type and both boundaries match exactly. Precision, recall and
F1 are micro-averaged over entities (the "overall" line of conlleval), and given per type;
token accuracy counts tokens whose tag string equals the gold one. Entities are read from
both tag sequences by :func:`nerwin.tags.spans` (conlleval's reading, ill-formed tags
included).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nerwin import tags as T


def _keys(sp: T.Spans, n_types: int, longest: int) -> np.ndarray:
    """One integer per entity: (start, length, type) packed, for set operations."""
    length = (sp.end - sp.start).astype(np.int64)
    return (sp.start.astype(np.int64) * (longest + 1) + length) * max(n_types, 1) + sp.label


def prf(tp, n_pred, n_gold):
    p = 100.0 * tp / n_pred if n_pred else 0.0
    r = 100.0 * tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(gold_tags, pred_tags, first) -> dict:
    """Score predicted tag strings against gold ones (flat arrays, ``first`` marks sentence
    starts). Both may be in any scheme. Returns a plain dict (see :func:`report`)."""
    gp, gt, types = T.parse(gold_tags)
    pp, pt, types = T.parse(pred_tags, types)
    gold, pred = T.spans(gp, gt, first), T.spans(pp, pt, first)
    n_types = len(types)
    longest = int(max((gold.end - gold.start).max(initial=0), (pred.end - pred.start).max(initial=0)))
    correct = np.intersect1d(_keys(gold, n_types, longest), _keys(pred, n_types, longest))
    tp_type = np.bincount(correct % max(n_types, 1), minlength=n_types) if n_types else np.zeros(0, int)
    gold_type = np.bincount(gold.label, minlength=n_types)
    pred_type = np.bincount(pred.label, minlength=n_types)
    tokens = len(gold_tags)
    accuracy = 100.0 * float(np.mean(np.asarray(gold_tags) == np.asarray(pred_tags))) if tokens else 0.0

    p, r, f = prf(len(correct), len(pred), len(gold))
    result = {
        "precision": p, "recall": r, "f1": f,
        "token_accuracy": accuracy,
        "tokens": int(tokens), "gold_entities": int(len(gold)), "predicted_entities": int(len(pred)),
        "correct_entities": int(len(correct)),
        "per_type": {},
    }
    for k in np.argsort(types):
        pk, rk, fk = prf(tp_type[k], pred_type[k], gold_type[k])
        result["per_type"][types[k]] = {
            "precision": pk, "recall": rk, "f1": fk,
            "tp": int(tp_type[k]), "fp": int(pred_type[k] - tp_type[k]),
            "fn": int(gold_type[k] - tp_type[k]), "support": int(gold_type[k]),
        }
    return result


def report(result: dict) -> pd.DataFrame:
    """The per-type figures and the overall line as a table."""
    rows = {t: v for t, v in result["per_type"].items()}
    rows["overall"] = {
        "precision": result["precision"], "recall": result["recall"], "f1": result["f1"],
        "tp": result["correct_entities"],
        "fp": result["predicted_entities"] - result["correct_entities"],
        "fn": result["gold_entities"] - result["correct_entities"],
        "support": result["gold_entities"],
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame[["precision", "recall", "f1", "tp", "fp", "fn", "support"]]
