"""Speed and memory figures: ``nerwin bench`` and ``make bench``.

Every figure is the median of several runs (min and max beside it), taken with the CoNLL-2003
config (float32) on CoNLL-2003 from ``NERWIN_CONLL_DIR``, or on a synthetic corpus of the
same shape when that is absent. Nothing here is a test: tests never assert a time.

Beside the default config's figures, the same figures for lighter work (``light``): no dropout,
no L2, argmax decoding, and a shorter end to end (in-memory sentences → windows → argmax → tag
strings), the bare window network that other implementations can be compared with.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nerwin import config as cfg
from nerwin.data import Corpus, read_conll
from nerwin.embeddings import load_pretrained
from nerwin.loadtest import serve_and_load
from nerwin.optim import make_optimizer
from nerwin.tagger import DEFAULT_MODEL, Tagger

ROOT = Path(__file__).resolve().parent.parent
TRAIN_SHAPE = (14041, 203621)   # eng.train sentences, tokens
TEST_SHAPE = (3453, 46435)      # eng.testb
LIGHT = "light: "               # the lighter work's figures in the table (and their heading)
LIGHT_HEADING = ("lighter work: no dropout, no L2, argmax decoding; its end to end from sentences in memory "
                 "to tag strings")


def summary(values) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def synthetic_corpus(shape, pretrained, rng, types=("LOC", "MISC", "ORG", "PER")) -> Corpus:
    """Sentences of Zipf-distributed GloVe words with random entity tags, of a given
    (sentences, tokens) shape."""
    n_sent, n_tok = shape
    lengths = np.full(n_sent, n_tok // n_sent)
    lengths[: n_tok - lengths.sum()] += 1
    ranks = np.minimum(rng.zipf(1.3, n_tok), 50000) - 1
    words = np.asarray(pretrained.words, dtype=object)[ranks]
    title = rng.random(n_tok) < 0.15
    words[title] = np.char.capitalize(words[title].astype(str)).astype(object)
    choices = np.array(["O"] * 12 + [f"{p}-{t}" for t in types for p in "BI"], dtype=object)
    tags = choices[rng.integers(0, len(choices), n_tok)]
    return Corpus(words, lengths, tags, path="<synthetic>", scheme="iob2")


def corpora(config, pretrained, rng):
    folder = os.environ.get("NERWIN_CONLL_DIR")
    if folder and (Path(folder) / "eng.train").is_file():
        return read_conll(Path(folder) / "eng.train"), read_conll(Path(folder) / "eng.testb"), "conll2003"
    return (synthetic_corpus(TRAIN_SHAPE, pretrained, rng), synthetic_corpus(TEST_SHAPE, pretrained, rng),
            "synthetic")


def train_speed(config, train_c, pretrained, finetune: str, batch: int, repeat: int) -> list[float]:
    """Windows per second of whole epochs: forward, backward, update, as the trainer runs them."""
    config = cfg.loads(cfg.dumps(config))
    config["embeddings"]["finetune"] = finetune
    rng = np.random.default_rng(0)
    tagger = Tagger.create(config, train_c, pretrained, rng)
    net, labels = tagger.network, tagger.labels
    X = tagger.featurize(train_c.words, train_c.lengths)
    y = labels.encode(train_c.spans(labels.types)[0], train_c.n_tokens)
    optimizer, n, lr = make_optimizer(config), len(y), config["optimizer"]["lr"]

    def epoch(limit=None):
        order = rng.permutation(n)
        for b in range(0, limit or n, batch):
            idx = order[b:b + batch]
            _, grads = net.loss_and_grads(X.words[idx], X.casing[idx], y[idx], rng, X.suffix[idx])
            optimizer.step(net.params, net.updates(grads), lr)

    epoch(limit=50 * batch)  # warm-up
    return [n / t for t in timed(epoch, repeat)]


def light_work(config) -> dict:
    """``config`` doing the bare window network's work: no dropout, no L2 penalty, argmax
    decoding; everything else (sizes, optimizer, epochs) as in ``config``."""
    config = cfg.loads(cfg.dumps(config))
    config["regularization"].update(dropout_input=0.0, dropout_hidden=0.0, word_dropout=0.0, l2=0.0)
    config["model"]["decode"] = "argmax"
    return config


def predict_speed(config, train_c, test_c, pretrained, repeat: int) -> dict:
    """Tokens per second on the test corpus: model only (windows → classes) and end to end
    (raw text → tokens → windows → tags → entities with offsets → JSON lines, to nowhere);
    and the light end to end (in-memory sentences → windows → argmax → tag strings)."""
    from nerwin.predict import tag_documents
    from nerwin.segment import text_chunks
    from nerwin.writers import JsonlWriter, Output

    tagger = Tagger.create(config, train_c, pretrained, np.random.default_rng(0))
    windows = tagger.featurize(test_c.words, test_c.lengths)
    n = test_c.n_tokens
    model_only = timed(lambda: tagger.predict_classes(windows, test_c.lengths), repeat)
    names = np.asarray(tagger.labels.names, dtype=object)

    def light_end_to_end():
        return names[tagger.scores(tagger.featurize(test_c.words, test_c.lengths)).argmax(axis=1)].tolist()

    argmax_only = timed(lambda: tagger.scores(windows).argmax(axis=1), repeat)
    light_e2e = timed(light_end_to_end, repeat)
    offsets = test_c.offsets
    text = "\n".join(" ".join(test_c.words[offsets[i]:offsets[i + 1]]) for i in range(len(test_c)))

    def end_to_end():
        with open(os.devnull, "wb") as sink:
            writer = JsonlWriter(Output(sink, os.devnull), tagger.labels.types, [None])
            writer.write(tag_documents(tagger, [text_chunks(text)]))

    e2e = timed(end_to_end, repeat)
    return {"model_only": [n / t for t in model_only], "end_to_end": [n / t for t in e2e],
            "model_only_argmax": [n / t for t in argmax_only], "end_to_end_light": [n / t for t in light_e2e]}


def call_latency(model, long_text: str, repeat: int = 200) -> dict:
    """Milliseconds per call of a loaded, warm tagger, ``nerwin.load(model)(text)``, in this
    process: a one-sentence text, and ``long_text``."""
    from nerwin.predict import Predictor

    predictor = Predictor.load(model)
    out = {}
    for name, text, n in (("one_sentence", "Angela Merkel met Emmanuel Macron in Paris to discuss the budget.", repeat),
                          ("text_350_tokens", long_text, max(repeat // 10, 5))):
        predictor(text)
        out[name] = summary([t * 1e3 for t in timed(lambda: predictor(text), n)])
    return out


def call_latency_child(model, long_text: str, repeat: int = 200) -> dict:
    """:func:`call_latency` in a fresh process with one BLAS thread, as a server's worker
    threads should run (docs/serving.md): with more, on a busy machine, waking BLAS threads
    for one sentence's small products costs more than the products."""
    code = ("import json, sys; from nerwin.bench import call_latency; "
            "print(json.dumps(call_latency(sys.argv[1], sys.stdin.read(), int(sys.argv[2]))))")
    out = subprocess.run([sys.executable, "-c", code, str(model), str(repeat)], input=long_text, capture_output=True,
                         text=True, cwd=ROOT, check=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout)


def jobs_speed(model: Path, test_c: Corpus, folder: Path, repeat: int, copies: int = 10,
               per_file: int = 12) -> dict:
    """End-to-end tokens per second of ``nerwin predict --format jsonl`` (a fresh process, to
    nowhere) on a corpus of many files: the test corpus's text ``copies`` times over,
    ``per_file`` sentences a file; one process, and ``--jobs N`` with one per core."""
    from nerwin.parallel import default_jobs

    offsets = test_c.offsets
    sentences = [" ".join(test_c.words[offsets[i]:offsets[i + 1]]) for i in range(len(test_c))] * copies
    for k in range(0, len(sentences), per_file):
        (folder / f"doc{k // per_file:05d}.txt").write_text("\n".join(sentences[k:k + per_file]) + "\n", encoding="utf-8")
    n, jobs = test_c.n_tokens * copies, default_jobs()
    args = [sys.executable, "-m", "nerwin", "predict", "--model", str(model), "--format", "jsonl", "--quiet",
            "--input", str(folder / "*.txt")]
    out = {}
    for name, extra in (("one_process", []), ("jobs", ["--jobs", str(jobs)])):
        out[name] = [n / t for t in timed(lambda: subprocess.run([*args, *extra], stdout=subprocess.DEVNULL, check=True,
                                                                  cwd=ROOT), repeat)]
    return {"n_jobs": jobs, "files": -(-len(sentences) // per_file), "tokens": n, **out}


def peak_rss_mb(args: list[str]) -> float:
    """Peak resident memory (MB) of a command, run in a fresh child process."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT)
    kb = int(out.stdout.strip() or -1)
    return kb / 1024 if kb > 0 else float("nan")


def matmul_share(config, train_c, pretrained, batch: int = 256, steps: int = 200) -> dict:
    """Share of a training step spent in the matrix products: the same products on
    matrices of the same shapes, timed alone, against whole steps."""
    step_time = 1 / statistics.median(train_speed(config, train_c, pretrained, "all", batch, 1)) * batch
    h = config["model"]["hidden"]
    rng = np.random.default_rng(0)
    w = config["model"]["window"]
    n_in = w * (50 + config["embeddings"]["casing_dim"])
    sizes = [n_in] + h + [17]
    mats = [(rng.standard_normal((batch, a)).astype(np.float32), rng.standard_normal((b, a)).astype(np.float32),
             rng.standard_normal((batch, b)).astype(np.float32)) for a, b in zip(sizes[:-1], sizes[1:])]

    def products():
        for X, W, D in mats:
            X @ W.T      # forward
            D.T @ X      # weight gradient Δᵀ X
            D @ W        # signal passed down Wᵀ δ
    products()
    t = statistics.median(timed(lambda: [products() for _ in range(steps)], 3)) / steps
    flops = sum(3 * 2 * batch * W.shape[0] * W.shape[1] for _, W, _ in mats)
    return {"step_ms": step_time * 1e3, "matmul_ms": t * 1e3, "matmul_share": t / step_time,
            "gflops_in_products": flops / t / 1e9}


def vectorization_lesson(n: int = 4096) -> dict:
    """The lecture's lesson: scoring n windows one at a time in a Python loop, against one
    matrix product for all of them."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 270)).astype(np.float32)
    W = rng.standard_normal((300, 270)).astype(np.float32)
    loop = statistics.median(timed(lambda: [W @ X[i] for i in range(n)], 3))
    matrix = statistics.median(timed(lambda: X @ W.T, 5))
    return {"windows": n, "loop_s": loop, "matrix_s": matrix, "speedup": loop / matrix}


def run(repeat: int = 3, quick: bool = False) -> dict:
    config = cfg.load(ROOT / "configs" / "conll2003.toml") if os.environ.get("NERWIN_CONLL_DIR") else None
    if config is None:
        config = cfg.load(ROOT / "configs" / "conll2003.toml", [
            'data.train="data/sample/train.conll"', 'data.dev="data/sample/dev.conll"'])
    pretrained = load_pretrained("glove-6b-50d")
    rng = np.random.default_rng(0)
    train_c, test_c, source = corpora(config, pretrained, rng)
    result = {"data": source, "threads": os.environ.get("OMP_NUM_THREADS", "default"),
              "train_windows_per_s": {}, "detail": {}}
    light = result["light"] = {"train_windows_per_s": {}, "predict_tokens_per_s": {}}
    for conf, figures, label in ((config, result, ""), (light_work(config), light, LIGHT)):
        for mode, finetune in (("frozen", "none"), ("finetune", "all")):
            figures["train_windows_per_s"][mode] = {}
            for batch in (128, 256):
                s = summary(train_speed(conf, train_c, pretrained, finetune, batch, 1 if quick else repeat))
                figures["train_windows_per_s"][mode][str(batch)] = s["median"]
                result["detail"][f"{label}train {mode} B={batch} windows/s"] = s
    speeds = predict_speed(config, train_c, test_c, pretrained, repeat)
    for figures, label, names in ((result, "", ("model_only", "end_to_end")),
                                  (light, LIGHT, ("model_only_argmax", "end_to_end_light"))):
        figures["predict_tokens_per_s"] = {}
        for key, name in zip(("model_only", "end_to_end"), names):
            figures["predict_tokens_per_s"][key] = statistics.median(speeds[name])
            result["detail"][f"{label}predict {key} tokens/s"] = summary(speeds[name])

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.npz"
        Tagger.create(config, train_c, pretrained, np.random.default_rng(0)).save(model)
        cli = [sys.executable, "-m", "nerwin"]
        cold = timed(lambda: subprocess.run([*cli, "predict", "--model", str(model), "Angela Merkel visited Paris."],
                                            capture_output=True, cwd=ROOT), repeat)
        result["cold_predict_s"] = statistics.median(cold)
        result["detail"]["cold predict s"] = summary(cold)
        rss = {"predict": peak_rss_mb([*cli, "predict", "--model", str(model), "Angela Merkel visited Paris."])}
        if source == "conll2003" and not quick:
            rss["train"] = peak_rss_mb([*cli, "train", "--config", "configs/conll2003.toml", "--set", "train.epochs=1",
                                        "--set", 'embeddings.finetune="all"', "--out", str(Path(tmp) / "run"), "--quiet"])
        else:
            rss["train"] = float("nan")
        result["peak_rss_mb"] = rss
        result["latency_ms"] = call_latency_child(model, " ".join(test_c.words[:350].tolist()))
        result["serve"] = serve_and_load(DEFAULT_MODEL, seconds=5 if quick else 20)   # real entities to check
        (Path(tmp) / "files").mkdir()
        many = jobs_speed(model, test_c, Path(tmp) / "files", repeat)
        result["predict_tokens_per_s"]["jobs"] = statistics.median(many["jobs"])
        result["detail"][f"predict {many['files']} files, 1 process tokens/s"] = summary(many["one_process"])
        result["detail"][f"predict {many['files']} files, --jobs {many['n_jobs']} tokens/s"] = summary(many["jobs"])
    result["profile"] = matmul_share(config, train_c, pretrained)
    result["vectorization"] = vectorization_lesson()
    return result


def table(result: dict) -> str:
    lines = [f"nerwin bench on {result['data']} (float32; median, min–max of {next(iter(result['detail'].values()))['runs']} runs)"]

    def row(name, s):
        fmt = (lambda v: f"{v:,.0f}") if "/s" in name else (lambda v: f"{v:.3f}")
        return f"  {name:44s} {fmt(s['median']):>12}   ({fmt(s['min'])} – {fmt(s['max'])})"
    detail = result["detail"]
    lines += [row(name, s) for name, s in detail.items() if not name.startswith(LIGHT)]
    for what, mb in result["peak_rss_mb"].items():
        lines.append(f"  {'peak RSS ' + what + ' MB':44s} {mb:>12.0f}")
    for name, s in result.get("latency_ms", {}).items():
        lines.append(f"  {'call latency ' + name.replace('_', ' ') + ' ms':44s} {s['median']:>12.2f}   "
                     f"({s['min']:.2f} – {s['max']:.2f}, {s['runs']} calls, warm, 1 BLAS thread)")
    if v := result.get("serve"):
        lines.append(f"  {'serve: requests/s':44s} {v['requests_per_s']:>12.0f}   ({v['clients']} clients, "
                     f"{v['seconds']:.0f} s, {v['requests']} requests, loopback)")
        lines.append(f"  {'serve: latency p50 / p95 ms':44s} {v['p50_ms']:>12.1f}   / {v['p95_ms']:.1f}")
        lines.append(f"  {'serve: statuses':44s} {json.dumps(v['statuses']):>12}   wrong answers {v['n_problems']}, "
                     f"server RSS {v['rss_start_mb']:.0f} -> {v['rss_end_mb']:.0f} MB, exit {v['exit_status']}")
    p = result["profile"]
    lines.append(f"  {'training step (B=256) ms':44s} {p['step_ms']:>12.2f}   matrix products {p['matmul_ms']:.2f} ms "
                 f"= {100 * p['matmul_share']:.0f}% ({p['gflops_in_products']:.0f} GFLOP/s), rest {100 * (1 - p['matmul_share']):.0f}%")
    v = result["vectorization"]
    lines.append(f"  {'vectorization lesson':44s} {v['windows']} windows: Python loop {v['loop_s'] * 1e3:.1f} ms, "
                 f"one matrix product {v['matrix_s'] * 1e3:.2f} ms, {v['speedup']:.0f}x")
    light = [row(name, s) for name, s in detail.items() if name.startswith(LIGHT)]
    lines += [f"  {LIGHT_HEADING}:", *light] if light else []
    return "\n".join(lines)


def main(json_out: bool = False, repeat: int = 3, quick: bool = False) -> None:
    result = run(repeat, quick)
    print(json.dumps(result, indent=2) if json_out else table(result))
