"""The run folder: an existing run is never overwritten by accident, --overwrite replaces it
only once the new run has a model, and a finished run leaves no checkpoint behind."""

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nerwin import config as cfg
from nerwin.cli import cli
from nerwin.errors import DataError
from nerwin.checkpoint import CHECKPOINT
from nerwin.train import Interrupted, train

from conftest import SAMPLE, sigint_during_step

SMALL = [f'data.train="{SAMPLE / "train.conll"}"', f'data.dev="{SAMPLE / "dev.conll"}"',
         "train.epochs=2", "model.hidden=[20]"]


def small(*overrides):
    return cfg.load(None, SMALL + list(overrides))


def invoke(*args):
    sets = sum((["--set", s] for s in SMALL), [])
    return CliRunner().invoke(cli, ["train", "--quiet", *sets, *map(str, args)])


def snapshot(folder):
    """Every file of a folder and its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def old_run(tmp_path):
    """A finished run of 2 epochs, hidden layer 20."""
    train(small(), tmp_path / "run", quiet=True)
    return tmp_path / "run"


def test_a_finished_run_removes_its_checkpoint(old_run):
    assert sorted(p.name for p in old_run.iterdir()) == ["config.toml", "lr.csv", "metrics.csv", "model.npz"]


def test_an_early_stopped_run_is_finished_too(tmp_path):
    run = train(small("train.epochs=10", "train.patience=1", "optimizer.lr=1e-12"), tmp_path / "run", quiet=True)
    assert len(run.history) < 10 and not (tmp_path / "run" / CHECKPOINT).exists()


def test_keep_checkpoint_keeps_it(tmp_path):
    result = invoke("--out", tmp_path / "run", "--keep-checkpoint")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / CHECKPOINT).is_file()


def test_an_interrupted_run_keeps_its_checkpoint_and_resumes_to_a_finished_run(tmp_path):
    with pytest.raises(Interrupted), sigint_during_step(30):   # 23 batches an epoch
        train(small(), tmp_path / "run", quiet=True)
    assert (tmp_path / "run" / CHECKPOINT).is_file()
    train(small(), tmp_path / "run", quiet=True, resume=True)
    assert not (tmp_path / "run" / CHECKPOINT).exists()


def test_resuming_a_finished_run_says_it_finished(old_run):
    result = CliRunner().invoke(cli, ["train", "--resume", str(old_run)])
    assert result.exit_code == 1
    assert result.output == (f"nerwin: error: {old_run}: the run finished and its checkpoint was removed; "
                             "there is nothing to resume (--keep-checkpoint keeps a finished run's checkpoint)\n")


def test_out_on_an_existing_run_refuses_and_names_resume_and_overwrite(old_run):
    before = snapshot(old_run)
    result = invoke("--out", old_run, "--set", "model.hidden=[30]")
    assert result.exit_code == 1
    assert result.output == (f"nerwin: error: {old_run}: already holds a run; continue it with "
                             f"'--resume {old_run}' or replace it with '--overwrite'\n")
    assert snapshot(old_run) == before
    with pytest.raises(DataError, match="already holds a run"):
        train(small(), old_run, quiet=True)


def test_out_on_an_empty_or_new_folder_trains(tmp_path):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "new" / "deeper"):
        assert invoke("--out", folder).exit_code == 0
        assert (folder / "model.npz").is_file()


def test_overwrite_replaces_the_run_and_leaves_nothing_beside_it(old_run):
    result = invoke("--out", old_run, "--overwrite", "--set", "model.hidden=[30]")
    assert result.exit_code == 0, result.output
    assert "hidden = [30]" in (old_run / "config.toml").read_text()
    assert sorted(p.name for p in old_run.iterdir()) == ["config.toml", "lr.csv", "metrics.csv", "model.npz"]
    assert [p.name for p in old_run.parent.iterdir()] == ["run"]


def test_overwrite_keeps_the_old_run_whole_until_the_new_one_has_a_model(old_run):
    before = snapshot(old_run)
    with pytest.raises(Interrupted, match=f"before its first model: {old_run} is left as it was"), \
            sigint_during_step(5):
        train(small("model.hidden=[30]"), old_run, quiet=True, overwrite=True)
    assert snapshot(old_run) == before
    assert [p.name for p in old_run.parent.iterdir()] == ["run"]   # the new run's folder is gone


def test_overwrite_swaps_in_the_new_run_at_its_first_model(old_run):
    """Interrupted in its second epoch, the new run is in place, with its model and its
    checkpoint, and resumes there."""
    with pytest.raises(Interrupted, match=f"resume with  nerwin train --resume {old_run}$"), \
            sigint_during_step(30):
        train(small("model.hidden=[30]"), old_run, quiet=True, overwrite=True)
    assert "hidden = [30]" in (old_run / "config.toml").read_text()
    assert {"model.npz", CHECKPOINT} <= {p.name for p in old_run.iterdir()}
    assert [p.name for p in old_run.parent.iterdir()] == ["run"]
    run = train(small("model.hidden=[30]"), old_run, quiet=True, resume=True)
    assert list(run.history["epoch"]) == [1, 2] and not (old_run / CHECKPOINT).exists()


def test_overwrite_and_resume_do_not_go_together(old_run):
    result = CliRunner().invoke(cli, ["train", "--resume", str(old_run), "--overwrite"])
    assert result.exit_code == 2 and "--overwrite" in result.output


# ---------------------------------------------------------------- what a killed --overwrite leaves

@pytest.fixture
def dead_pid():
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid():
    """The id of another process, running for the whole test."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield child.pid
    child.kill()
    child.wait()


def test_what_a_killed_overwrite_left_is_removed_by_the_next_training_of_the_run(old_run, dead_pid, live_pid):
    code = (f"import os\nfrom nerwin.runfolder import RunFolder\n"
            f"folder = RunFolder({str(old_run)!r}, overwrite=True)\n"
            f"(folder.path / 'config.toml').write_text('half')\nos._exit(9)\n")
    subprocess.run([sys.executable, "-c", code], check=False)
    killed = [p.name for p in old_run.parent.iterdir() if p.name != "run"]
    assert len(killed) == 1 and killed[0].startswith(".run.new-")     # what kill -9 mid-training leaves
    (old_run.parent / f".run.old-{dead_pid}").mkdir()                  # killed while removing the old run
    live = [f".run.new-{live_pid}.abcdefgh", f".run.old-{live_pid}"]  # another nerwin's, still training
    others = [f".run.new-{dead_pid}", f".run.old-{dead_pid}.bak", f".other.new-{dead_pid}.abcdefgh", "run.old-1"]
    for name in live + others:
        (old_run.parent / name).mkdir()
    result = invoke("--out", old_run, "--overwrite", "--set", "model.hidden=[30]")
    assert result.exit_code == 0, result.output
    assert "hidden = [30]" in (old_run / "config.toml").read_text()
    assert sorted(p.name for p in old_run.parent.iterdir()) == sorted(["run", *live, *others])


def test_a_refused_training_of_the_run_tidies_too(old_run, dead_pid):
    (old_run.parent / f".run.new-{dead_pid}.abcdefgh").mkdir()
    assert invoke("--out", old_run).exit_code == 1          # already holds a run
    assert [p.name for p in old_run.parent.iterdir()] == ["run"]


def test_killed_between_the_swaps_two_renames_the_old_run_comes_back(old_run, dead_pid):
    """Old run aside, new run not yet in place: the next training puts the old run back (the
    swap had not happened) and removes the new one."""
    before = snapshot(old_run)
    staged = old_run.parent / f".run.new-{dead_pid}.abcdefgh"
    shutil.copytree(old_run, staged)
    os.rename(old_run, old_run.parent / f".run.old-{dead_pid}")
    result = invoke("--out", old_run)
    assert result.exit_code == 1 and "already holds a run" in result.output
    assert snapshot(old_run) == before
    assert [p.name for p in old_run.parent.iterdir()] == ["run"]
