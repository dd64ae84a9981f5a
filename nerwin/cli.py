"""The ``nerwin`` command: thin click shells over train, evaluate, predict and gradcheck."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click
import numpy as np

from nerwin.errors import DataError, NerwinError


class NerwinGroup(click.Group):
    """Turns :class:`NerwinError` into one line on stderr and its exit status."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NerwinError as e:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"nerwin: error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("nerwin: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=NerwinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks (also NERWIN_DEBUG=1).")
@click.version_option(package_name="nerwin")
@click.pass_context
def cli(ctx, debug):
    """Window-based named-entity recognition with a hand-written numpy network."""
    ctx.obj = {"debug": debug or os.environ.get("NERWIN_DEBUG") == "1"}


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                              help="TOML config (default: built-in defaults, as configs/default.toml).")
set_option = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                          help="Override a config key; repeatable.")
model_option = click.option("--model", required=True, type=click.Path(path_type=Path),
                            help="A model file or a run folder.")


@cli.command()
@config_option
@set_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Run folder (default runs/NAME-TIME).")
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path),
              help="Continue the run in this folder from its checkpoint (same config and data).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-epoch lines.")
def train(config_path, overrides, out, resume, quiet):
    """Train a tagger; keep the best model by dev F1 in the run folder.

    Ctrl-C or SIGTERM finishes the current step, saves a checkpoint and says how to resume."""
    from nerwin import config as cfg
    from nerwin.train import default_run_dir, train as run_training

    if resume:
        if out and out != resume:
            raise click.UsageError("--resume continues in its own folder; leave out --out")
        saved = resume / "config.toml"
        if not saved.is_file():
            raise DataError(f"{resume}: not a run folder (no config.toml)")
        config = cfg.load(config_path or saved, overrides)
        run = run_training(config, resume, quiet=quiet, resume=True)
    else:
        config = cfg.load(config_path, overrides)
        run = run_training(config, out or default_run_dir(config_path), quiet=quiet)
    click.echo(f"{run.path}\tbest dev F1 {run.best_f1:.2f} (epoch {run.best_epoch})")


@cli.command("eval")
@model_option
@click.option("--data", required=True, type=click.Path(path_type=Path), help="A CoNLL file with gold tags.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write 'word gold predicted' lines here.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of the data file.")
def evaluate(model, data, fmt, output, encoding):
    """Score a model on a gold corpus: entity P/R/F1 as conlleval computes them."""
    from nerwin.data import read_conll
    from nerwin.files import atomic_write_text
    from nerwin.metrics import report, score
    from nerwin.tagger import Tagger

    tagger = Tagger.load(model)
    corpus = read_conll(data, encoding=encoding)
    predicted = tagger.tag(corpus)
    result = score(corpus.tags, predicted, corpus.first)
    result.update(data=str(data), scheme=corpus.scheme)
    missing = sorted(set(corpus.entity_types()) - set(tagger.labels.types))
    if missing:
        click.echo(f"nerwin: warning: {data}: types the model never saw in training, scored as misses: "
                   f"{', '.join(missing)}", err=True)
    if output:
        lines, off = [], corpus.offsets
        for i in range(len(corpus)):
            for k in range(off[i], off[i + 1]):
                lines.append(f"{corpus.words[k]} {corpus.tags[k]} {predicted[k]}\n")
            lines.append("\n")
        atomic_write_text(output, "".join(lines))
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"{data}: {result['tokens']} tokens, {result['gold_entities']} entities ({corpus.scheme})")
        click.echo(report(result).to_string(float_format=lambda v: f"{v:.2f}"))
        click.echo(f"token accuracy: {result['token_accuracy']:.2f}%")


@cli.command()
@model_option
@click.argument("text", nargs=-1)
@click.option("--input", "inputs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Read text from this file (repeatable); '-' is standard input.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "conll"]), default="text", show_default=True)
@click.option("--scheme", type=click.Choice(["iob1", "iob2", "iobes"]), default="iob2", show_default=True,
              help="Tag scheme of jsonl and conll output.")
def predict(model, text, inputs, fmt, scheme):
    """Tag raw text given as arguments, files or standard input."""
    from nerwin.predict import format_conll, format_jsonl, format_text, predict_texts
    from nerwin.tagger import Tagger

    tagger = Tagger.load(model)
    texts = list(text)
    for path in inputs:
        texts.append(_read_text(path))
    if not texts:
        texts = [sys.stdin.read()]
    for doc, sentences in zip(texts, predict_texts(tagger, texts, scheme)):
        if fmt == "text":
            click.echo(format_text(doc, sentences))
        elif fmt == "jsonl":
            if sentences:
                click.echo(format_jsonl(sentences))
        else:
            click.echo(format_conll(sentences), nl=False)


def _read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected text to tag)") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None


@cli.command()
@config_option
@set_option
@click.option("--seed", default=0, show_default=True, help="Seed of the random network and batch.")
@click.option("--tolerance", default=1e-6, show_default=True, help="Largest relative error accepted.")
def gradcheck(config_path, overrides, seed, tolerance):
    """Check every analytic gradient against centred differences (float64)."""
    from nerwin import config as cfg
    from nerwin.gradcheck import check_network, random_batch, random_network

    config = cfg.load(config_path, overrides)
    rng = np.random.default_rng(seed)
    net, n_classes = random_network(config, rng)
    window = config["model"]["window"]
    words, casing, y = random_batch(rng, len(net.params["E"]), len(net.params.get("C", [0])), window, n_classes)
    hidden = [min(h, 7) for h in config["model"]["hidden"]]
    errors = check_network(net, words, casing, y, seed=seed)
    worst = max(errors.values())
    click.echo(f"gradient check: {config['model']['activation']} activation, {config['loss']['name']} loss, "
               f"hidden {hidden}, window {window}, float64, relative error per parameter:")
    for name, err in errors.items():
        click.echo(f"  {name:3s} {err:.2e}  {'ok' if err <= tolerance else 'FAIL'}")
    if worst > tolerance:
        click.echo(f"nerwin: error: largest relative error {worst:.2e} is above {tolerance:g}", err=True)
        sys.exit(1)
    click.echo(f"all gradients agree (largest relative error {worst:.2e} ≤ {tolerance:g})")


@cli.group("config")
def config_group():
    """Show or check configs."""


@config_group.command("show")
@config_option
@set_option
def config_show(config_path, overrides):
    """Print the resolved config (defaults, file, overrides) as TOML."""
    from nerwin import config as cfg

    click.echo(cfg.dumps(cfg.load(config_path, overrides)), nl=False)


@config_group.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def config_check(path):
    """Validate a config file; exit 2 with the first problem."""
    from nerwin import config as cfg

    cfg.load(path)
    click.echo(f"{path}: ok")


@cli.command()
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sort", default="best_dev_f1", show_default=True, help="Column to sort by (descending).")
def compare(runs, sort):
    """Runs side by side: the config keys that differ and each run's best dev F1.

    RUNS are run folders, or folders searched for runs (default: runs/)."""
    from nerwin.runs import compare as compare_runs, find_runs

    folders = []
    for path in runs or [Path("runs")]:
        found = [path] if (path / "metrics.csv").is_file() else find_runs(path)
        if not found:
            raise DataError(f"{path}: no run folders found (expected config.toml and metrics.csv)")
        folders += found
    table = compare_runs(folders)
    if sort in table.columns:
        table = table.sort_values(sort, ascending=False)
    click.echo(table.to_string(float_format=lambda v: f"{v:.2f}"))


@cli.command()
@click.option("--json", "json_out", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--repeat", default=3, show_default=True, help="Runs per figure (the median is reported).")
@click.option("--quick", is_flag=True, help="One run per training figure; skip the training memory figure.")
def bench(json_out, repeat, quick):
    """Speed and memory figures (CoNLL-2003 from NERWIN_CONLL_DIR, else a synthetic corpus)."""
    from nerwin.bench import main as run_bench

    run_bench(json_out, repeat, quick)


def main():
    cli(prog_name="nerwin")
