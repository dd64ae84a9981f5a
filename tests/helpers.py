"""Helpers the test modules share: running the CLI, checking its one-line errors, and the
hand-made bad inputs under ``fixtures/bad``."""

from pathlib import Path

from click.testing import CliRunner

from nerwin.cli import cli

BAD = Path(__file__).resolve().parent / "fixtures" / "bad"


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_fails(result, code, *needles):
    """Exit status ``code``, one line ``nerwin: error: ...`` holding every needle, no traceback."""
    out = result.output
    assert result.exit_code == code, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    lines = out.strip("\n").split("\n")
    assert len(lines) == 1, out
    assert lines[0].startswith("nerwin: error: "), out
    for needle in needles:
        assert str(needle) in lines[0], out


def assert_usage_error(result, *needles):
    """click's usage message: exit status 2, one ``Error:`` line holding every needle."""
    out = result.output
    assert result.exit_code == 2, out
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    errors = [line for line in out.split("\n") if line.startswith("Error: ")]
    assert len(errors) == 1, out
    for needle in needles:
        assert str(needle) in errors[0], out

