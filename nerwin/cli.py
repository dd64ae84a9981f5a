"""The ``nerwin`` command: thin click shells over train, evaluate, predict and gradcheck."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

import nerwin
from nerwin.consistency import RULES
from nerwin.errors import DataError, NerwinError, one_line


class StandardOutput:
    """``sys.stdout`` while a command runs: writes that cannot be done are a one-line
    :class:`DataError` instead of nothing (stdout closed with ``>&-``, where Python's is None)
    or a traceback (``> /dev/full``). A reader gone away (``| head``) stays a
    :class:`BrokenPipeError`, which click ends quietly with exit status 1."""

    def __init__(self, stream, binary: bool = False):
        self.stream, self.binary = stream, binary

    def _do(self, method, *args):
        if self.stream is None:
            raise DataError("standard output is closed: nowhere to write")
        try:
            return getattr(self.stream, method)(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise DataError(f"standard output: cannot write: {e.strerror}") from None

    def write(self, data):
        if not isinstance(data, bytes if self.binary else str):  # click probes which kind it is
            raise TypeError(f"write() argument must be {'bytes' if self.binary else 'str'}")
        return self._do("write", data)

    def flush(self):
        return self._do("flush")

    @property
    def buffer(self):
        return StandardOutput(self.stream and self.stream.buffer, binary=True)

    def isatty(self):
        return self.stream is not None and self.stream.isatty()

    def __getattr__(self, name):      # encoding, errors, fileno...: the stream's own
        if self.stream is not None:
            return getattr(self.stream, name)
        if name in ("encoding", "errors"):      # what click asks of a text stream
            return {"encoding": "utf-8", "errors": "strict"}[name]
        raise AttributeError(name)


class NerwinGroup(click.Group):
    """Turns :class:`NerwinError` into one line on stderr and its exit status, and a failed
    write to standard output into one too (:class:`StandardOutput`)."""

    def main(self, *args, **kwargs):
        real, sys.stdout = sys.stdout, StandardOutput(sys.stdout)
        try:
            return super().main(*args, **kwargs)
        except NerwinError as e:      # writing --help or --version, before any command runs
            click.echo(f"nerwin: error: {one_line(e)}", err=True)
            sys.exit(e.exit_code)
        finally:
            if isinstance(sys.stdout, StandardOutput):
                sys.stdout = real

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NerwinError as e:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"nerwin: error: {one_line(e)}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("nerwin: interrupted", err=True)
            ctx.exit(130)


def _print_version(ctx, param, value):
    """``--version``: read from the installed package's metadata only when asked (it costs
    a tenth of a second to import)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"nerwin, version {nerwin.__version__}")
        ctx.exit()


@click.group(cls=NerwinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks (also NERWIN_DEBUG=1).")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.pass_context
def cli(ctx, debug):
    """Window-based named-entity recognition with a hand-written numpy network."""
    ctx.obj = {"debug": debug or os.environ.get("NERWIN_DEBUG") == "1"}


def _path(**kwargs) -> click.Path:
    """A path parameter as a ``Path``, its readability left unchecked: nerwin's own reader or
    writer says what is wrong with it, in one line naming the file."""
    return click.Path(readable=False, path_type=Path, **kwargs)


# The built-in defaults are not configs/default.toml (that is `make run`'s sample setup:
# iob2, 12 epochs); tests/test_cli.py holds this help to the difference.
config_option = click.option("--config", "config_path", type=_path(dir_okay=False),
                              help="TOML config; keys it leaves out take the built-in defaults, which "
                                   "'nerwin config show' prints (default: the built-in defaults alone).")
set_option = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                          help="Override a config key; repeatable.")
# a string, not a Path: "en" names the shipped model, "./en" a folder of that name
model_option = click.option("--model", default="en", show_default=True, type=click.Path(readable=False), metavar="NAME|PATH",
                            help="A shipped model (en: English, CoNLL-2003), a model file or a run folder.")
consistency_option = click.option("--consistency", type=click.Choice(RULES), default=None,
                                  help="Document-level consistency rule (default: the model's "
                                       "model.consistency); per-surname types a surname PER after the full name.")


def _with_consistency(tagger, consistency):
    """The tagger, decoding with ``--consistency`` when it is given (a new tagger: one loaded
    once per process stays as it is)."""
    return tagger.with_consistency(consistency) if consistency else tagger


@cli.command()
@config_option
@set_option
@click.option("--out", type=_path(file_okay=False), help="Run folder (default runs/NAME-TIME).")
@click.option("--resume", type=_path(file_okay=False),
              help="Continue the run in this folder from its checkpoint (same config and data).")
@click.option("--overwrite", is_flag=True,
              help="Replace the run already in --out; it stays whole until the new run has its first model.")
@click.option("--keep-checkpoint", is_flag=True,
              help="Keep checkpoint.npz when the run finishes (an interrupted run always keeps it).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-epoch lines.")
def train(config_path, overrides, out, resume, overwrite, keep_checkpoint, quiet):
    """Train a tagger; keep the best model by dev F1 in the run folder.

    Ctrl-C or SIGTERM finishes the current step, saves a checkpoint and says how to resume.
    A finished run removes its checkpoint.npz (resuming it would train nothing)."""
    from nerwin import config as cfg
    from nerwin.train import default_run_dir, train as run_training

    if resume:
        if out and out != resume:
            raise click.UsageError("--resume continues in its own folder; leave out --out")
        if overwrite:
            raise click.UsageError("--resume continues a run and --overwrite replaces one; give only one")
        saved = resume / "config.toml"
        if not saved.is_file():
            raise DataError(f"{resume}: not a run folder (no config.toml)")
        config = cfg.load(config_path or saved, overrides)
        run = run_training(config, resume, quiet=quiet, resume=True, keep_checkpoint=keep_checkpoint)
    else:
        config = cfg.load(config_path, overrides)
        run = run_training(config, out or default_run_dir(config_path), quiet=quiet, overwrite=overwrite,
                           keep_checkpoint=keep_checkpoint)
    click.echo(f"{run.path}\tbest dev F1 {run.best_f1:.2f} (epoch {run.best_epoch})")


@cli.command("eval")
@model_option
@click.option("--data", required=True, type=_path(), help="A CoNLL file with gold tags.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True)
@click.option("--scheme", type=click.Choice(["auto", "iob1", "iob2", "iobes"]), default="auto", show_default=True,
              help="Tag scheme of the data (auto: detected); predictions are written in it too.")
@click.option("--mode", type=click.Choice(["conlleval", "strict"]), default="conlleval", show_default=True,
              help="conlleval: read ill-formed tags as the CoNLL scorer does; strict: only entities "
                   "well-formed in the scheme count (as seqeval's strict mode).")
@click.option("--confusion", is_flag=True, help="Also show gold against predicted entity types, span by span.")
@click.option("--errors", "n_errors", type=click.IntRange(min=0), default=0, metavar="N",
              help="Also list the N most frequent false positives and false negatives, in context.")
@click.option("--output", type=_path(dir_okay=False),
              help="Write 'word gold predicted' lines here.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of the data file.")
@click.option("--case", "cases", callback=lambda ctx, param, value: _case_list(value), metavar="LIST",
              help="Score the file as written and/or re-cased: a comma list of as-is, lower, upper, "
                   "title (e.g. as-is,lower,upper); each variant is reported under its name.")
@consistency_option
def evaluate(model, data, fmt, scheme, mode, confusion, n_errors, output, encoding, cases, consistency):
    """Score a model on a gold corpus: entity P/R/F1 as conlleval computes them."""
    from nerwin import scoring, tables
    from nerwin.data import read_conll, recase
    from nerwin.files import atomic_write_text
    from nerwin.tagger import Tagger

    tagger = _with_consistency(Tagger.load(model), consistency)
    corpus = read_conll(data, encoding=encoding)
    repaired = corpus.repair_warning()
    if repaired:
        click.echo(f"nerwin: warning: {one_line(repaired)}", err=True)
    if scheme != "auto" and scheme != corpus.scheme:
        click.echo(one_line(f"nerwin: warning: {data}: tags look like {corpus.scheme}, read as {scheme} as asked"), err=True)
        corpus.scheme = scheme
    missing = sorted(set(corpus.entity_types()) - set(tagger.labels.types))
    if missing:
        click.echo(one_line(f"nerwin: warning: {data}: types the model never saw in training, scored as misses: "
                            f"{', '.join(missing)}"), err=True)
    if output and cases and len(cases) > 1:
        raise click.UsageError("--output writes the predictions of one case variant; give one --case")
    reports = {}
    for case in cases or ["as-is"]:
        variant = recase(corpus, case)
        words, predicted = variant.words, tagger.tag(variant)  # tags written in the corpus's scheme
        args = (corpus.tags, predicted, corpus.first)
        result = {"data": str(data), **({"case": case} if cases else {}),
                  **scoring.score(*args, mode=mode, scheme=corpus.scheme)}
        table = scoring.confusion(*args, mode=mode, scheme=corpus.scheme) if confusion else None
        errors = scoring.errors(words, *args, n_errors, mode=mode, scheme=corpus.scheme) if n_errors else None
        reports[case] = (result, table, errors)
    if output:
        lines, off = [], corpus.offsets
        for i in range(len(corpus)):
            for k in range(off[i], off[i + 1]):
                lines.append(f"{words[k]} {corpus.tags[k]} {predicted[k]}\n")
            lines.append("\n")
        atomic_write_text(output, "".join(lines))
    if cases:
        click.echo(tables.format_cases(reports, fmt))
    else:
        result, table, errors = reports["as-is"]
        click.echo(tables.format_report(result, fmt, table, errors))


def _case_list(value: str | None) -> list[str] | None:
    """``--case as-is,lower`` as a list of known, distinct case names."""
    from nerwin.data import CASES

    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in CASES]
    if unknown or not names:
        raise click.BadParameter(f"{unknown[0] if unknown else value!r}: expected a comma list of "
                                 f"{', '.join(CASES)}")
    if len(set(names)) < len(names):
        raise click.BadParameter(f"{value!r}: a case is given twice")
    return names


@cli.command()
@model_option
@click.argument("text", nargs=-1)
@click.option("--input", "inputs", multiple=True, type=_path(dir_okay=False),
              help="Read text from this file or glob pattern, quoted ('docs/*.txt'); repeatable; "
                   "'-' is standard input.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "conll", "html"]), default="text",
              show_default=True)
@click.option("--scheme", type=click.Choice(["iob1", "iob2", "iobes"]), default="iob2", show_default=True,
              help="Tag scheme of jsonl and conll output.")
@click.option("--output", type=_path(dir_okay=False),
              help="Write here instead of standard output (a file is replaced only when complete; "
                   "a device or FIFO is written to as it is).")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(min=1),
              help="Sentences per network call.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=0),
              help="Worker processes (0: one per core), given runs of input files and pieces of large "
                   "ones; the output is the same as with one.")
@click.option("--output-dir", type=_path(file_okay=False),
              help="Write one output per input file here (its path below the inputs' common folder, "
                   "plus .jsonl, .txt, ...); inputs whose output exists are skipped.")
@click.option("--scheduler", metavar="ADDRESS|local",
              help="Tag the input files on a Dask cluster (needs nerwin[dask] and --output-dir): "
                   "a scheduler address, or 'local' for worker processes on this machine.")
@consistency_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def predict(model, text, inputs, fmt, scheme, output, batch_size, jobs, output_dir, scheduler, consistency, quiet):
    """Tag raw text given as arguments, files or standard input (when neither is given).

    Files and standard input are streamed: read in pieces, cut between sentences, tagged
    BATCH_SIZE sentences at a time. Offsets count characters from the start of each
    argument or file."""
    from nerwin import parallel
    from nerwin.predict import tag_documents
    from nerwin.segment import expand_inputs, text_chunks
    from nerwin.writers import WRITERS, open_output

    if output is None and sys.__stdout__ is None:       # started with >&-
        raise DataError("standard output is closed: nowhere to write (give --output FILE)")
    paths = expand_inputs(inputs)
    if not text and not paths:
        paths = [Path("-")]
    if sys.stdin is None and Path("-") in paths:        # started with <&-
        raise DataError("standard input is closed: no text to tag (give TEXT or --input FILE)")
    jobs = jobs or parallel.default_jobs()
    files_only = not text and all(str(p) != "-" for p in paths)
    if output_dir and output:
        raise click.UsageError("--output writes one file, --output-dir one file per input: choose one")
    if scheduler and not output_dir:
        raise click.UsageError("--scheduler writes one output per input file: give --output-dir")
    if scheduler and jobs != 1:
        raise click.UsageError("--jobs runs processes here, --scheduler on a Dask cluster: choose one")
    if consistency and (output_dir or jobs > 1):
        raise click.UsageError("--consistency applies to tagging in this process; worker processes "
                               "decode as the model's config says (model.consistency)")
    if output_dir and not files_only:
        raise click.UsageError("--output-dir tags input files (--input): TEXT arguments and standard input "
                               "have no file to name an output after")
    if jobs > 1 and text:
        raise click.UsageError("--jobs tags input files and standard input: TEXT arguments are tagged by one process")
    try:  # the bar's total: known when every input is a regular file
        total = sum(p.stat().st_size for p in paths) if all(str(p) != "-" and p.is_file() for p in paths) else None
    except OSError:
        total = None
    show = not quiet and sys.stderr.isatty()
    if output_dir:
        if scheduler:
            from nerwin.dask import connect, tag_files

            with connect(scheduler) as client:
                summary = tag_files(paths, output_dir, model, client, fmt, scheme, batch_size)
        else:
            with _progress_bar(total, not show) as bar:
                summary = parallel.tag_to_folder(paths, output_dir, model, jobs, fmt, scheme, batch_size, bar.update)
        if not quiet:
            click.echo(f"nerwin: {summary['files']} files ({summary['skipped']} already done), {summary['tokens']:,} "
                       f"tokens, {summary['entities']:,} entities in {summary['seconds']:.1f} s -> {output_dir}",
                       err=True)
        return
    with _progress_bar(total, not show) as bar, open_output(output, sys.stdout.buffer) as out:
        if jobs > 1:
            parallel.tag_to_stream(paths, out, model, jobs, fmt, scheme, batch_size, bar.update)
            return
        tagger = _with_consistency(parallel.load_model(model), consistency)
        documents = [text_chunks(t) for t in text] + [_read_text(p, bar.update) for p in paths]
        writer = WRITERS[fmt](out, tagger.labels.types, [None] * len(text) + [str(p) for p in paths])
        writer.write(tag_documents(tagger, documents, scheme, batch_size))


class _NoBar:
    """A progress bar that shows nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        pass


def _progress_bar(total, disable: bool):
    """tqdm's byte counter on stderr; a do-nothing stand-in when disabled, so a plain
    ``nerwin predict`` never imports tqdm."""
    if disable:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="predict", file=sys.stderr)


def _read_text(path: Path, progress=None):
    """The text of a file, or of standard input for '-', streamed in pieces."""
    from nerwin.segment import file_chunks, read_chunks

    if str(path) == "-":
        return read_chunks(sys.stdin.buffer, progress=progress)
    return file_chunks(path, progress)


@cli.command()
@config_option
@set_option
@click.option("--seed", default=0, show_default=True, help="Seed of the random network and batch.")
@click.option("--tolerance", default=1e-6, show_default=True, help="Largest relative error accepted.")
def gradcheck(config_path, overrides, seed, tolerance):
    """Check every analytic gradient against centred differences (float64)."""
    from nerwin import config as cfg
    from nerwin.gradcheck import check_config

    config = cfg.load(config_path, overrides)
    errors = check_config(config, seed)
    window = config["model"]["window"]
    hidden = [min(h, 7) for h in config["model"]["hidden"]]
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
@click.argument("path", type=_path())
def config_check(path):
    """Validate a config file; exit 2 with the first problem."""
    from nerwin import config as cfg

    cfg.load(path)
    click.echo(f"{path}: ok")


@cli.command()
@click.argument("runs", nargs=-1, type=_path())
@click.option("--sort", default="best_dev_f1", show_default=True, help="Column to sort by (descending).")
def compare(runs, sort):
    """Runs side by side: the config keys that differ and each run's best dev F1.

    RUNS are run folders, or folders searched for runs (default: runs/)."""
    from nerwin.runs import compare as compare_runs, find_runs, to_text

    folders = []
    for path in runs or [Path("runs")]:
        found = [path] if (path / "metrics.csv").is_file() else find_runs(path)
        if not found:
            raise DataError(f"{path}: no run folders found (expected config.toml and metrics.csv)")
        folders += found
    table = compare_runs(folders)
    if sort in table.columns:
        table = table.sort_values(sort, ascending=False)
    click.echo(to_text(table))


@cli.command()
@click.argument("run", type=_path(file_okay=False))
@click.option("--out", type=_path(file_okay=False),
              help="Write report.md and the plots here (default: the run folder).")
def report(run, out):
    """Write RUN's report: report.md (settings, best dev F1, per-epoch and per-type tables)
    and PNG plots of loss, dev F1, learning rate and per-type F1 (plots need matplotlib)."""
    from nerwin.report import write_report

    if not run.is_dir():
        raise DataError(f"{run}: no such run folder")
    written = write_report(run, out)
    if written["hint"]:
        click.echo(f"nerwin: {written['hint']}", err=True)
    for path in [written["report"], *written["plots"]]:
        click.echo(path)


@cli.command("runs")
@click.argument("folder", default="runs", type=_path())
def list_runs_command(folder):
    """List the runs under FOLDER (default: runs/): key settings, best dev F1 and its epoch,
    epochs run, minutes, and when metrics.csv was written, oldest first."""
    from nerwin.runs import list_runs, to_text

    table = list_runs(folder, warn=lambda m: click.echo(f"nerwin: warning: {one_line(m)}", err=True))
    click.echo(to_text(table))


@cli.group()
def experiment():
    """Experiments that show what a switch does."""


@experiment.command("finetune")
@click.option("--data-dir", type=_path(file_okay=False),
              help="Folder with eng.train/eng.testa or train.conll/dev.conll (default: the sample corpus).")
@click.option("--fractions", default="0.01,0.05,0.2,1.0", show_default=True, help="Fractions of the training sentences.")
@click.option("--seeds", default=1, show_default=True, help="Seeds (subsets and initialisations) per fraction.")
@click.option("--out", default="runs/finetune", show_default=True, type=_path(file_okay=False))
@config_option
@set_option
@click.option("--min-steps", default=1500, show_default=True,
              help="Train small subsets for more epochs, up to this many updates.")
@click.option("--scheduler", metavar="ADDRESS|local",
              help="Train the models on a Dask cluster (needs nerwin[dask]): a scheduler address, "
                   "or 'local' for worker processes on this machine.")
@click.option("--quiet", "-q", is_flag=True, help="No line per trained model.")
def experiment_finetune(data_dir, fractions, seeds, out, config_path, overrides, min_steps, scheduler, quiet):
    """Frozen vs fine-tuned word vectors against training-set size (the TV/telly/television case)."""
    from nerwin.experiment import run

    try:
        values = tuple(float(f) for f in fractions.split(","))
    except ValueError:
        raise click.BadParameter(f"{fractions!r}: expected numbers separated by commas", param_hint="--fractions")
    if not all(0 < f <= 1 for f in values):
        raise click.BadParameter("fractions must lie in (0, 1]", param_hint="--fractions")
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    if scheduler:
        from nerwin.dask import connect

        with connect(scheduler) as client:
            result = run(data_dir, values, seeds, out, config_path, overrides, min_steps, log=log, client=client)
    else:
        result = run(data_dir, values, seeds, out, config_path, overrides, min_steps, log=log)
    summary = result["summary"]
    click.echo(summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    click.echo(f"tables: {out / 'summary.md'}, {out / 'summary.csv'}, {out / 'results.csv'}, {out / 'drift.csv'}")
    if result["plot"]:
        click.echo(f"plot: {result['plot']}")
    else:
        click.echo("plot: not drawn (pip install 'nerwin[plot]' for matplotlib)")


@cli.command()
@click.option("--json", "json_out", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--repeat", default=3, show_default=True, help="Runs per figure (the median is reported).")
@click.option("--quick", is_flag=True, help="One run per training figure; skip the training memory figure.")
def bench(json_out, repeat, quick):
    """Speed and memory figures (CoNLL-2003 from NERWIN_CONLL_DIR, else a synthetic corpus)."""
    from nerwin.bench import main as run_bench

    run_bench(json_out, repeat, quick)


@cli.command()
@model_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put a proxy in front).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Requests served at once; more wait for a free thread.")
@click.option("--max-bytes", default=1 << 20, show_default=True, type=click.IntRange(min=1),
              help="Largest request body; a larger one is refused (413).")
@click.option("--quiet", "-q", is_flag=True, help="No line per request.")
def serve(model, host, port, threads, max_bytes, quiet):
    """Serve the tagger over HTTP: POST /ner, GET /health, GET /model, and a page at /.

    SIGTERM or Ctrl-C finishes the requests in flight, then exits."""
    from nerwin.serve import app, make_server, serve_until_stopped

    application = app(model, max_bytes)
    try:
        server = make_server(application, host, port, threads, quiet)
    except OSError as e:
        raise DataError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    url_host = f"[{host}]" if ":" in host else host
    click.echo(f"nerwin: serving on http://{url_host}:{server.server_address[1]}/ (Ctrl-C to stop)", err=True)
    if host not in ("127.0.0.1", "::1", "localhost"):
        click.echo("nerwin: warning: other machines can connect; there is no authentication or TLS "
                   "(see docs/serving.md)", err=True)
    serve_until_stopped(server)
    click.echo("nerwin: stopped", err=True)


def main():
    cli(prog_name="nerwin")
