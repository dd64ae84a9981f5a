"""Tagging on a process pool (``nerwin predict --jobs N``): the same bytes as one process, one
output per input written atomically and skipped when complete, workers with one BLAS thread
that load the model once, a killed run resumed; and small pickles of taggers."""

import io
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nerwin import parallel
from nerwin.cli import cli
from nerwin.predict import Predictor
from nerwin.writers import Output
from nerwin.tagger import Tagger, shared_loads

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def sample_sentences() -> list[str]:
    """The sample test corpus as raw text, one sentence a line."""
    sentences, words = [], []
    for line in (SAMPLE / "test.conll").read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if line.strip():
            words.append(line.split()[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    return sentences + ([" ".join(words)] if words else [])


def write_corpus(folder: Path, n_files: int, per_file: int = 6) -> list[Path]:
    """``n_files`` text files of ``per_file`` sample sentences (taken round and round), half
    of them in a subfolder, one with a byte that is not UTF-8."""
    sentences = sample_sentences()
    paths = []
    for k in range(n_files):
        path = folder / ("sub" if k % 2 else "") / f"doc{k:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        chunk = [sentences[(k * per_file + j) % len(sentences)] for j in range(per_file)]
        data = "\n\n".join(chunk).encode("utf-8") + b"\n"
        path.write_bytes(data.replace(b" ", b" \xff ", 1) if k == 3 else data)
        paths.append(path)
    return sorted(paths)


def cli_bytes(*args) -> bytes:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout_bytes


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), 10)


@pytest.mark.parametrize("fmt", ["jsonl", "html", "text", "conll"])
def test_two_processes_write_the_bytes_of_one(sample_run, corpus, fmt, monkeypatch):
    monkeypatch.setattr(parallel, "group_bytes", lambda total, workers: 1000)   # a few files a task
    expected = cli_bytes("predict", "--model", sample_run, "--format", fmt, *sum((["--input", p] for p in corpus), []))
    buffer = io.BytesIO()
    summary = parallel.tag_to_stream(corpus, Output(buffer, "memory"), sample_run, 2, fmt)
    assert buffer.getvalue() == expected
    assert summary["files"] == len(corpus) and summary["tokens"] > 0 and summary["entities"] > 0


def large_document(sentences: list[str], paragraphs: int) -> str:
    """One document of ``paragraphs`` paragraphs of sample sentences, blank lines between
    (one with CRLF line ends, one after a trailing blank, one with no sentence at all)."""
    out = []
    for k in range(paragraphs):
        out.append("\n".join(sentences[(3 * k + j) % len(sentences)] for j in range(3)))
    out[2] = out[2].replace("\n", "\r\n") + "\r\n"
    out[4] += "   "
    out[6] = " \t"
    return "\n\n".join(out) + "\n"


@pytest.mark.parametrize("fmt", ["jsonl", "html", "text", "conll"])
def test_pieces_of_a_large_file_write_the_bytes_of_one_process(sample_run, corpus, tmp_path, fmt, monkeypatch):
    monkeypatch.setattr(parallel, "group_bytes", lambda total, workers: 1000)   # a piece: ~1 kB
    big = tmp_path / "big.txt"
    big.write_text(large_document(sample_sentences(), 40), encoding="utf-8")
    inputs = [corpus[0], big, corpus[1], corpus[2]]      # small files around the large one
    tasks = list(parallel._stream_tasks(inputs, [os.path.getsize(p) for p in inputs], 1000, "m", fmt, "iob2", 7))
    assert sum(task[0] is parallel.score_piece for task, _ in tasks) > 4
    expected = cli_bytes("predict", "--model", sample_run, "--format", fmt, *sum((["--input", p] for p in inputs), []))
    buffer = io.BytesIO()
    summary = parallel.tag_to_stream(inputs, Output(buffer, "memory"), sample_run, 2, fmt, batch_size=7)
    assert buffer.getvalue() == expected
    assert summary["files"] == 4 and summary["tokens"] > 0


def test_the_consistency_rule_carries_from_piece_to_piece(sample_run, tmp_path, monkeypatch):
    """The surname alone, pieces after the full name, is typed PER as one process types it:
    a worker that applied the rule to its piece alone would type it ORG."""
    from nerwin.predict import Predictor

    monkeypatch.setattr(parallel, "group_bytes", lambda total, workers: 200)
    model = tmp_path / "rule.npz"
    Tagger.load(sample_run / "model.npz").with_consistency("per-surname").save(model)
    filler = "\n\n".join(sample_sentences()[:6])
    late = "Gerrard said on Tuesday the talks would resume ."
    text = f"Steven Gerrard scored twice .\n\n{filler}\n\n{late}\n"
    big = tmp_path / "big.txt"
    big.write_text(text, encoding="utf-8")
    expected = cli_bytes("predict", "--model", model, "--format", "jsonl", "--input", big)
    assert '"text": "Gerrard", "score"' in expected.decode().splitlines()[-1] \
        and '"label": "PER"' in expected.decode().splitlines()[-1]
    assert [e.label for e in Predictor.load(model)(late) if e.text == "Gerrard"] == ["ORG"]   # alone: not PER
    buffer = io.BytesIO()
    parallel.tag_to_stream([big], Output(buffer, "memory"), model, 2, "jsonl")
    assert buffer.getvalue() == expected
    *_, (offset, last) = segment_pieces(text, 200)
    assert last.startswith("Gerrard") and offset > 0      # the surname's piece is not the full name's


def segment_pieces(text: str, size: int) -> list:
    from nerwin.segment import pieces, text_chunks

    return list(pieces(text_chunks(text), size))


def test_standard_input_is_cut_into_pieces_too(sample_run, monkeypatch):
    monkeypatch.setattr(parallel, "group_bytes", lambda total, workers: 1000)
    text = large_document(sample_sentences(), 30)
    expected = CliRunner().invoke(cli, ["predict", "--model", str(sample_run), "--format", "jsonl"], input=text)
    result = CliRunner().invoke(cli, ["predict", "--model", str(sample_run), "--format", "jsonl", "--jobs", "2"],
                                input=text)
    assert expected.exit_code == 0 and result.exit_code == 0, result.output
    assert result.stdout_bytes == expected.stdout_bytes and b'"source": "-"' in result.stdout_bytes
    refused = CliRunner().invoke(cli, ["predict", "--model", str(sample_run), "--jobs", "2", "Paris"])
    assert refused.exit_code == 2 and "TEXT arguments" in refused.output


def test_files_go_in_groups_of_consecutive_files():
    assert parallel.groups([5, 5, 5, 20, 1, 1], 10) == [range(0, 2), range(2, 4), range(4, 6)]
    assert parallel.groups([], 10) == [] and parallel.groups([50], 10) == [range(0, 1)]
    assert parallel.group_bytes(10 << 20, 2) == 1 << 20 and parallel.group_bytes(1000, 2) == 1 << 16


def test_one_output_per_input_skipped_once_complete(sample_run, corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "group_bytes", lambda total, workers: 1000)   # a few files a task
    out = tmp_path / "out"
    expected = cli_bytes("predict", "--model", sample_run, "--format", "jsonl", "--input", corpus[0].parent / "**" / "*.txt")
    first = parallel.tag_to_folder(corpus, out, sample_run, 2, "jsonl")
    outputs = parallel.output_paths(corpus, out, "jsonl")
    assert outputs[0] == out / "doc000.txt.jsonl" and outputs[-1] == out / "sub" / "doc009.txt.jsonl"
    assert b"".join(p.read_bytes() for p in outputs) == expected
    assert first["files"] == len(corpus) and first["skipped"] == 0 and first["tokens"] > 0
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(outputs)   # nothing else left
    # a complete output is never redone; a killed writer's temporary file is cleared away
    stamps = {p: p.stat().st_mtime_ns for p in outputs}
    outputs[2].unlink()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (outputs[2].parent / f".{outputs[2].name}.{int(gone.stdout)}.abcd1234.tmp").write_text("half a line")
    again = parallel.tag_to_folder(corpus, out, sample_run, 1, "jsonl")
    assert again["skipped"] == len(corpus) - 1 and again["parts"][2]["skipped"] is False
    assert all(stamps[p] == p.stat().st_mtime_ns for p in outputs if p != outputs[2])
    assert b"".join(p.read_bytes() for p in outputs) == expected
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(outputs)


def test_workers_have_one_blas_thread_and_load_the_model_once(sample_run):
    before = {k: os.environ.get(k) for k in parallel.WORKER_ENV}
    with parallel.process_pool(2, parallel.model_path(sample_run)) as pool:
        seen = {}
        for _ in range(3):   # ask until both workers answered
            for pid, env, loads in [f.result() for f in [pool.submit(_worker_state) for _ in range(8)]]:
                seen[pid] = (env, loads)
    assert len(seen) == 2
    for env, loads in seen.values():
        assert env == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "MALLOC_MMAP_THRESHOLD_": str(1 << 28), "MALLOC_TRIM_THRESHOLD_": str(1 << 28)}
        assert loads == 1
    assert {k: os.environ.get(k) for k in parallel.WORKER_ENV} == before   # this process's settings are back


def test_small_inputs_start_no_more_workers_than_tasks(sample_run, tmp_path, monkeypatch):
    (tmp_path / "one.txt").write_text("Angela Merkel visited Paris .\n", encoding="utf-8")
    started, real = [], parallel.process_pool

    def recording(jobs, model=None):
        started.append(jobs)
        return real(jobs, model)

    monkeypatch.setattr(parallel, "process_pool", recording)
    buffer = io.BytesIO()
    summary = parallel.tag_to_stream([tmp_path / "one.txt"], Output(buffer, "memory"), sample_run, 4, fmt="jsonl")
    assert started == [1] and summary["tokens"] == 5 and buffer.getvalue()


def test_a_worker_that_dies_is_one_clear_error(sample_run, corpus):
    from nerwin.errors import NerwinError

    with pytest.raises(NerwinError, match="a worker process died"):
        with parallel.process_pool(2, parallel.model_path(sample_run)) as pool:
            list(parallel._in_order(pool, [((os._exit, 1), None), ((os._exit, 1), None)], 2))


def _worker_state():
    time.sleep(0.05)
    return os.getpid(), {k: os.environ.get(k) for k in parallel.WORKER_ENV}, shared_loads()


def test_a_bad_model_fails_before_any_worker_starts(corpus, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    result = CliRunner().invoke(cli, ["predict", "--model", str(bad), "--jobs", "2", "--input", str(corpus[0])])
    assert result.exit_code == 1 and "not a nerwin model" in result.output


def test_a_called_predictor_pickles_small_and_tags_the_same(sample_run):
    predictor = Predictor.load(sample_run)
    text = "Angela Merkel met Emmanuel Macron in Paris; zqxw unseen words go through GloVe."
    found = predictor(text)
    assert predictor.tagger.pretrained is not None         # the GloVe vectors are open now
    data = pickle.dumps(predictor)
    assert len(data) < 1_000
    copy = pickle.loads(data)
    assert copy(text) == found and copy.tagger is pickle.loads(data).tagger   # loaded once per process
    unnamed = Predictor(predictor.tagger)                   # no file behind it: its model's bytes
    assert len(pickle.dumps(unnamed)) < len(predictor.tagger.file_bytes()) + 1_000
    assert pickle.loads(pickle.dumps(unnamed))(text) == found
    tagger = pickle.loads(pickle.dumps(predictor.tagger))
    assert tagger.file_bytes() == predictor.tagger.file_bytes()
    assert Tagger.from_bytes(tagger.file_bytes()).file_bytes() == tagger.file_bytes()


def test_a_killed_jobs_run_resumes_to_the_same_output(sample_run, tmp_path):
    """Kill the whole process group of ``nerwin predict --jobs 2 --output-dir`` mid-run, run it
    again: the outputs are complete and the same bytes as one process writes."""
    corpus = write_corpus(tmp_path / "in", 40, per_file=200)   # ~0.5 MB, a few tasks a worker
    out = tmp_path / "out"
    args = [sys.executable, "-m", "nerwin", "predict", "--model", str(sample_run), "--format", "jsonl",
            "--jobs", "2", "--output-dir", str(out), "--input", str(tmp_path / "in" / "**" / "*.txt"), "--quiet"]
    job = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while job.poll() is None and time.monotonic() < deadline and len(list(out.rglob("*.jsonl"))) < 3:
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    written = len(list(out.rglob("*.jsonl")))
    assert written < len(corpus), "the run ended before it could be killed: give it more work"
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    outputs = parallel.output_paths(corpus, out, "jsonl")
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(outputs)   # no partial parts left
    expected = cli_bytes("predict", "--model", sample_run, "--format", "jsonl", "--input", tmp_path / "in" / "**" / "*.txt")
    assert b"".join(p.read_bytes() for p in outputs) == expected


def test_dask_missing_is_a_clear_error(monkeypatch):
    import nerwin.dask as nd
    from nerwin.errors import NerwinError

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(NerwinError, match=r"pip install 'nerwin\[dask\]'"):
        nd.local_cluster()


def test_staged_files_take_their_places_together_or_not_at_all(tmp_path):
    from nerwin.files import atomic_files

    with atomic_files() as stage:
        for name in "ab":
            with stage(tmp_path / name) as f:
                f.write(name.encode() * 3)
        assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []   # not yet
    assert (tmp_path / "a").read_bytes() == b"aaa" and (tmp_path / "b").read_bytes() == b"bbb"
    with pytest.raises(RuntimeError):
        with atomic_files() as stage:
            with stage(tmp_path / "c") as f:
                f.write(b"ccc")
            raise RuntimeError("the next file failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
