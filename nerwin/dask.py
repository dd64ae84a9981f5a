"""nerwin on a Dask cluster (``pip install 'nerwin[dask]'``): tag many files, tag the text
columns of Dask collections, and train sweeps of configs, one task per file or run.

Workers load the model by path (it must be readable there: a shared folder on a cluster), once
per process (:func:`nerwin.parallel.load_model`); nothing large travels in a task. Outputs are
written atomically, so a task that Dask reruns after its worker died never leaves a partial or
a duplicate part.

A cluster nerwin starts (:func:`local_cluster`, ``--scheduler local``) has one thread per worker
process, one BLAS thread per process, and glibc's malloc keeping freed memory for reuse, as
``--jobs`` workers do (:data:`nerwin.parallel.KEEP_MEMORY`): Dask's nanny sets
``MALLOC_TRIM_THRESHOLD_`` to 64 kB by default, which turns nerwin's large numpy temporaries into
an mmap/munmap and page faults each (about +45 % CPU). docs/scale.md says how to set up a
cluster of your own the same way.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from nerwin import parallel
from nerwin.errors import NerwinError
from nerwin.files import remove_stale_temporaries

# the worker settings of a cluster nerwin starts: those of --jobs workers (one BLAS thread,
# malloc keeping freed memory), set in each worker's environment before it starts
WORKER_CONFIG = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in parallel.WORKER_ENV.items()}


def _require():
    """Dask and distributed, or a clear error naming the extra that installs them."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise NerwinError("this needs Dask: pip install 'nerwin[dask]'") from None


def local_cluster(n_workers: int | None = None, dashboard: bool = False, **kwargs):
    """A ``distributed.LocalCluster`` of worker processes for nerwin: one per core by default,
    one thread each, bound to 127.0.0.1, with the worker settings of :data:`WORKER_CONFIG`; a
    dashboard only if asked. Other keyword arguments go to ``LocalCluster``."""
    _require()
    import dask
    from distributed import LocalCluster

    options = dict(n_workers=n_workers or parallel.default_jobs(), threads_per_worker=1, processes=True,
                   host="127.0.0.1", dashboard_address=":8787" if dashboard else None)
    with dask.config.set(WORKER_CONFIG):   # read by each nanny as it is created
        return LocalCluster(**{**options, **kwargs})


@contextmanager
def connect(scheduler: str):
    """A client of the scheduler at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``), or
    of a :func:`local_cluster` started for the block when ``scheduler`` is ``local``."""
    _require()
    from distributed import Client

    if scheduler == "local":
        with local_cluster() as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError, ValueError) as e:
        raise NerwinError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    with client:
        yield client


@contextmanager
def _client(client):
    """``client``, else the current client, else a local cluster for the block."""
    if client is not None:
        yield client
        return
    from distributed import get_client

    try:
        yield get_client()
    except ValueError:    # no client in this process
        with connect("local") as client:
            yield client


# ---------------------------------------------------------------- files


def tag_files(paths_or_glob, out_dir, model=None, client=None, fmt: str = "jsonl", scheme: str = "iob2",
              batch_size: int = 2000) -> dict:
    """Tag files into ``out_dir``, one output per input (:func:`nerwin.parallel.output_paths`);
    inputs whose output exists are skipped. A task tags a run of consecutive files, about
    :func:`nerwin.parallel.group_bytes` of text, their sentences batched together.

    ``paths_or_glob`` is a path, a glob pattern (``"docs/**/*.txt"``) or a list of them. Each
    output holds the document index and source the file has in the whole run, so the outputs
    concatenated in input order are what ``nerwin predict`` writes for the same inputs. Returns
    the summary of :func:`nerwin.parallel.summarize`: files, skipped, tokens, entities,
    seconds, and each file's."""
    _require()
    from nerwin.segment import expand_inputs

    if isinstance(paths_or_glob, (str, Path)):
        paths_or_glob = [paths_or_glob]
    inputs = [p for p in expand_inputs(map(Path, paths_or_glob)) if str(p) != "-"]
    outputs = parallel.output_paths(inputs, Path(out_dir), fmt)
    path = parallel.model_path(model)
    remove_stale_temporaries(outputs)
    files = [(str(p), str(o), k, str(p)) for k, (p, o) in enumerate(zip(inputs, outputs))]
    sizes = [p.stat().st_size for p in inputs]
    start = time.perf_counter()
    with _client(client) as c:
        workers = max(1, len(c.scheduler_info()["workers"]))
        runs = [[files[k] for k in part] for part in parallel.groups(sizes, parallel.group_bytes(sum(sizes), workers))]
        futures = c.map(parallel.tag_many, runs, model=path, fmt=fmt, scheme=scheme, batch_size=batch_size)
        parts = [s for summaries in c.gather(futures) for s in summaries]
    remove_stale_temporaries(outputs)    # those of workers killed mid-file
    return parallel.summarize(parts, time.perf_counter() - start)


# ---------------------------------------------------------------- collections


def entities(texts, model=None):
    """The entities of each text of a ``dask.bag`` of str, or of a ``dask.dataframe`` text
    column: a bag, or a Series, of lists of ``{"start", "end", "label", "text", "score"}``
    (offsets into the text; JSON-serialisable). One line tags a Parquet column on a cluster::

        df["entities"] = nerwin.dask.entities(df["text"], "model.npz")
    """
    _require()
    import dask.bag as db

    path = parallel.model_path(model)
    if isinstance(texts, db.Bag):
        return texts.map_partitions(_tag_texts, path)
    import dask.dataframe as dd
    import pandas as pd

    if isinstance(texts, dd.Series):
        return texts.map_partitions(_tag_series, path, meta=pd.Series([], dtype=object, name=texts.name))
    raise TypeError(f"expected a dask.bag of str or a dask.dataframe column, got {type(texts).__name__}")


def _tag_texts(texts, path: str) -> list[list[dict]]:
    from nerwin.predict import Predictor

    return [[asdict(e) for e in found] for found in Predictor(parallel.load_model(path)).pipe(texts)]


def _tag_series(texts, path: str):
    import pandas as pd

    return pd.Series(_tag_texts(texts.tolist(), path), index=texts.index, name=texts.name, dtype=object)


# ---------------------------------------------------------------- sweeps


def train_many(configs_or_overrides, out="runs/sweep", config_path=None, client=None) -> list[dict]:
    """Train many models, one Dask task each, each in its own run folder under ``out``.

    Each item is a resolved config (dict) or a list of ``--set`` overrides
    (``["train.seed=2", "model.hidden=[300, 100]"]``) applied to ``config_path`` (default: the
    built-in defaults); a dict of such items names the run folders (else ``run-000``, ...).
    A run is the same, bit for bit, as ``nerwin train`` with the same config on the same
    machine. Returns each run's folder, best dev F1 and its epoch, in order; ``nerwin compare
    OUT`` compares them."""
    _require()
    from nerwin import config as cfg

    items = configs_or_overrides
    named = items.items() if isinstance(items, dict) else ((f"run-{k:03d}", v) for k, v in enumerate(items))
    runs = []
    for name, item in named:
        config = item if isinstance(item, dict) else cfg.load(config_path, list(item))
        runs.append((cfg.dumps(config), str(Path(out) / name)))
    with _client(client) as c:
        return c.gather(c.map(_train_run, *zip(*runs), pure=False)) if runs else []


def _train_run(config_text: str, out: str) -> dict:
    from nerwin import config as cfg
    from nerwin.train import train

    run = train(cfg.loads(config_text), out, quiet=True)
    return {"run": str(run.path), "best_f1": run.best_f1, "best_epoch": run.best_epoch}
