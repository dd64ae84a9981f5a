"""Installed as a user installs it: a wheel built from the tracked files, a fresh virtual
environment outside the source tree, the commands run from another folder.

The wheel is built from a copy of the files git tracks (as a clean clone has them), so a file
that is not committed, or not declared as package data, is missing here as it would be for a
user. Installing fetches the dependencies through pip (its cache makes this quick)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile

import pytest
from click.testing import CliRunner

from nerwin.cli import cli

from conftest import ROOT, SAMPLE

pytestmark = pytest.mark.slow
SENTENCE = "Angela Merkel visited Paris."


def run(*args, **kwargs):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def tracked_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the files to package are those git tracks")
    listed = run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    return [name for name in listed if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel ``pip wheel --no-deps`` builds from the tracked files, and pip's output."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
                "-w", base / "dist", source)
    [path] = (base / "dist").glob("nerwin-*.whl")
    return path, built.stdout + built.stderr


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel and its dependencies; the environment to run it in, from
    a folder that is not the source tree."""
    base = tmp_path_factory.mktemp("user")
    venv.create(base / "venv", with_pip=True)  # no system site-packages: nothing leaks in
    bin_dir = base / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", NERWIN_CACHE_DIR=str(base / "cache"))
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", wheel[0], env=env)
    (base / "work").mkdir()
    shutil.copy(SAMPLE / "test.conll", base / "work" / "gold.conll")
    return {"env": env, "cwd": base / "work", "bin": bin_dir}


def test_the_wheel_holds_every_module_the_model_and_its_card(wheel):
    path, _ = wheel
    names = set(zipfile.ZipFile(path).namelist())
    modules = {name for name in tracked_files() if name.startswith("nerwin/") and name.endswith(".py")}
    assert len(modules) > 20 and modules <= names, sorted(modules - names)
    assert {"nerwin/models/en.npz", "nerwin/models/en.json"} <= names
    assert {f"nerwin/static/{f}" for f in ("index.html", "app.js", "app.css", "favicon.svg")} <= names   # serve's page
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.split("/")[0] in ("tests", "data", "configs", "runs")]
    metadata = next(zipfile.ZipFile(path).read(n) for n in names if n.endswith(".dist-info/METADATA"))
    assert b"License-Expression: MIT" in metadata


def test_building_prints_no_warnings(wheel):
    _, output = wheel
    warnings = [line for line in output.splitlines() if re.search(r"\w+Warning\b", line)]
    assert warnings == []


def test_predict_from_another_folder_uses_the_shipped_model(installed):
    done = as_user(installed, "nerwin", "predict", SENTENCE)
    assert done.stdout == "[Angela Merkel]PER visited [Paris]LOC.\n"


def test_python_api_loads_the_shipped_model(installed):
    code = f"import nerwin; print(nerwin.__file__); print([(e.text, e.label) for e in nerwin.load()({SENTENCE!r})])"
    done = as_user(installed, "python", "-c", code)
    where, entities = done.stdout.splitlines()
    assert where.startswith(str(installed["bin"].parent)), where        # the installed copy
    assert entities == "[('Angela Merkel', 'PER'), ('Paris', 'LOC')]"


def test_version_is_the_projects(installed):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert as_user(installed, "nerwin", "--version").stdout == f"nerwin, version {version}\n"


def test_eval_scores_as_the_source_tree_does(installed):
    done = as_user(installed, "nerwin", "eval", "--data", "gold.conll", "--format", "json")
    here = CliRunner().invoke(cli, ["eval", "--data", str(SAMPLE / "test.conll"), "--format", "json"])
    assert here.exit_code == 0, here.output
    scored, expected = json.loads(done.stdout), json.loads(here.output)
    assert scored.pop("data") == "gold.conll" and expected.pop("data")
    assert scored == expected and scored["f1"] > 50


def as_user(installed, program, *args):
    """Run the venv's ``program`` in the user's working folder."""
    return run(installed["bin"] / program, *args, env=installed["env"], cwd=installed["cwd"])
