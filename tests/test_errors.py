"""Messages fit for one terminal line: control characters escaped, long values cut."""

import click
import pytest
from click.testing import CliRunner

from nerwin.cli import cli
from nerwin.errors import LONGEST_MESSAGE, one_line, shorten


@pytest.mark.parametrize("raw, shown", [
    ("a\nb", "a\\nb"), ("B-\x1b[31mRED", "B-\\x1b[31mRED"), ("x\rY", "x\\rY"), ("tab\there", "tab\\there"),
    ("nul\0", "nul\\x00"), ("c1\x85", "c1\\x85"), ("ls\u2028", "ls\\u2028"), ("rlo\u202eevil", "rlo\\u202eevil"),
    ("plain é 😀 text", "plain é 😀 text"),
])
def test_control_characters_are_shown_escaped(raw, shown):
    assert one_line(raw) == shown


def test_a_long_message_keeps_its_start_and_end():
    message = "/data/" + "x" * 100_000 + ".conll:3: expected 2 columns"
    shown = one_line(message)
    assert len(shown) < LONGEST_MESSAGE + 60
    assert shown.startswith("/data/xxx") and shown.endswith(".conll:3: expected 2 columns")
    assert "characters cut" in shown


def test_shorten_cuts_and_escapes():
    assert shorten("a\nb") == "'a\\nb'"
    assert shorten("y" * 1000).endswith("… (1000 characters)")


def test_a_path_with_a_newline_and_an_escape_gives_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["eval", "--model", str(tmp_path / "m\n\x1b[31m.npz"),
                                      "--data", "x.conll"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "\x1b" not in result.output
    assert "m\\n\\x1b[31m.npz" in result.output


def test_no_path_option_lets_click_check_readability_first():
    """nerwin's own readers say "cannot read: Permission denied" in one line; click would print
    a four-line usage error first (as root the case cannot be made, so check the mechanism)."""
    def commands(group):
        for command in group.commands.values():
            yield from commands(command) if isinstance(command, click.Group) else [command]
    paths = [p for c in commands(cli) for p in c.params if isinstance(p.type, click.Path)]
    assert paths and not [p.name for p in paths if p.type.readable]
