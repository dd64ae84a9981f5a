"""nerwin.dask on a real two-process LocalCluster: parts equal the CLI's bytes, both workers work
and load the model once, the workers' environment, small task payloads, tagging bags and
dataframe columns, sweeps bit-identical to serial training, and a worker killed mid-run."""

import json
import os
import pickle
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'nerwin[dask]')")

from distributed import Client, get_task_stream  # noqa: E402

from conftest import SAMPLE  # noqa: E402
from test_parallel import cli_bytes, sample_sentences, write_corpus  # noqa: E402

from nerwin import config as cfg  # noqa: E402
from nerwin import dask as nd  # noqa: E402
from nerwin import parallel  # noqa: E402
from nerwin.predict import Predictor  # noqa: E402
from nerwin.tagger import shared_loads  # noqa: E402

TIMEOUT = 60


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, on 127.0.0.1, with nerwin's worker settings."""
    with nd.local_cluster(n_workers=2) as cluster, Client(cluster) as c:
        c.wait_for_workers(2, timeout=TIMEOUT)
        yield c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("dask-corpus"), 12)


def test_workers_have_one_blas_thread_and_keep_freed_memory(client):
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
    envs = client.run(lambda: {k: os.environ.get(k) for k in names})
    assert len(envs) == 2
    big = str(1 << 28)   # not Dask's 65536 trim threshold
    for env in envs.values():
        assert env == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_TRIM_THRESHOLD_": big,
                       "MALLOC_MMAP_THRESHOLD_": big}
    assert all(w["nthreads"] == 1 for w in client.scheduler_info()["workers"].values())


def test_parts_equal_the_cli_bytes_both_workers_tag_and_load_once(client, corpus, sample_run, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "group_bytes", lambda total, workers: 1000)   # a few files a task
    expected = cli_bytes("predict", "--model", sample_run, "--format", "jsonl", "--input", corpus[0].parent / "**" / "*.txt")
    with get_task_stream(client) as stream:
        summary = nd.tag_files(str(corpus[0].parent / "**" / "*.txt"), tmp_path, sample_run, client)
    outputs = parallel.output_paths(corpus, tmp_path, "jsonl")
    assert b"".join(p.read_bytes() for p in outputs) == expected
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(outputs)
    assert summary["files"] == len(corpus) and summary["skipped"] == 0
    assert summary["tokens"] == sum(len(json.loads(line)["tokens"]) for line in expected.splitlines())
    assert len({t["worker"] for t in stream.data}) == 2                       # both workers did work
    assert sorted(client.run(shared_loads).values()) == [1, 1]               # each loaded the model once
    again = nd.tag_files([str(p) for p in corpus], tmp_path, sample_run, client)
    assert again["skipped"] == len(corpus) and b"".join(p.read_bytes() for p in outputs) == expected


def test_task_payloads_are_small(client, sample_run):
    import dask.bag as db

    bag = nd.entities(db.from_sequence(["Angela Merkel visited Paris."] * 4, npartitions=2), sample_run)
    assert len(pickle.dumps(dict(bag.__dask_graph__()))) < 20_000            # the model goes by path
    called = Predictor.load(sample_run)
    called("Angela Merkel met zqxw in Paris.")                              # GloVe is open now
    assert len(pickle.dumps(called)) < 1_000


def test_entities_of_a_bag_and_of_a_dataframe_column(client, sample_run):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    texts = sample_sentences()[:30] + ["", "Angela Merkel met Emmanuel Macron in Paris."]
    predictor = Predictor.load(sample_run)
    expected = [[{"start": e.start, "end": e.end, "label": e.label, "text": e.text, "score": e.score}
                 for e in predictor(t)] for t in texts]
    assert any(expected)
    found = nd.entities(db.from_sequence(texts, npartitions=3), sample_run).compute()
    assert same_entities(found, expected) and json.loads(json.dumps(found)) == found
    frame = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=3)
    column = nd.entities(frame["text"], sample_run).compute()
    assert same_entities(column.tolist(), expected) and list(column.index) == list(range(len(texts)))


def same_entities(found, expected) -> bool:
    """The same entities; scores equal to float32 rounding (the BLAS may round a product of a few
    rows differently from the same rows among many)."""
    strip = lambda lists: [[{k: v for k, v in e.items() if k != "score"} for e in es] for es in lists]
    scores = lambda lists: [e["score"] for es in lists for e in es]
    return strip(found) == strip(expected) and scores(found) == pytest.approx(scores(expected), rel=1e-5)


def test_a_sweep_gives_the_models_of_serial_runs(client, tmp_path):
    from nerwin.train import train

    base = [f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"', "train.epochs=2"]
    sweep = {f"seed{s}": base + [f"train.seed={s}"] for s in (1, 2, 3, 4)}
    runs = nd.train_many(sweep, tmp_path / "sweep", client=client)
    assert [Path(r["run"]).name for r in runs] == ["seed1", "seed2", "seed3", "seed4"]
    for name, overrides in sweep.items():
        serial = train(cfg.load(None, overrides), tmp_path / "serial" / name, quiet=True)
        assert (tmp_path / "sweep" / name / "model.npz").read_bytes() == (serial.path / "model.npz").read_bytes()
    assert runs[0]["best_f1"] == pytest.approx(train(cfg.load(None, sweep["seed1"]), tmp_path / "again", quiet=True).best_f1)


def test_the_finetune_experiment_on_the_cluster_trains_the_serial_models(client, tmp_path):
    from nerwin.experiment import MODES, run

    args = dict(fractions=(0.5,), seeds=1, overrides=["model.hidden=[20]", "train.epochs=2"], min_steps=10, log=lambda m: None)
    serial = run(out=tmp_path / "serial", **args)
    spread = run(out=tmp_path / "dask", client=client, **args)
    pd_equal = serial["table"].equals(spread["table"])
    assert pd_equal, (serial["table"], spread["table"])
    for mode in MODES:
        name = f"runs/f0.5-s1-{mode}/model.npz"
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()


def test_a_worker_killed_mid_run_loses_nothing(client, sample_run, tmp_path):
    """Kill one worker's process while tag_files runs: Dask reruns its task; the parts are
    complete, none partial or twice, the same bytes as one process. (Runs last: it kills.)"""
    corpus = write_corpus(tmp_path / "in", 40, per_file=200)   # ~0.5 MB, a few tasks a worker
    out = tmp_path / "out"
    expected = cli_bytes("predict", "--model", sample_run, "--format", "jsonl", "--input", tmp_path / "in" / "**" / "*.txt")
    pids = client.run(os.getpid)
    result = {}
    runner = threading.Thread(target=lambda: result.update(nd.tag_files(corpus, out, sample_run, client)))
    runner.start()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and len(list(out.rglob("*.jsonl"))) < 2:
        time.sleep(0.02)
    done_at_kill = len(list(out.rglob("*.jsonl")))
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    runner.join(TIMEOUT * 3)
    assert not runner.is_alive()
    assert 0 < done_at_kill < len(corpus), "the run was not under way when the worker was killed"
    outputs = parallel.output_paths(corpus, out, "jsonl")
    assert result["files"] == len(corpus)
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(outputs)   # no partial or extra parts
    assert b"".join(p.read_bytes() for p in outputs) == expected
    client.wait_for_workers(2, timeout=TIMEOUT)                                  # the nanny restarted it
