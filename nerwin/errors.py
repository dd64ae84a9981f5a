"""Errors a user can act on: one line, a non-zero exit status, no traceback."""

import re


class NerwinError(Exception):
    """A problem with the user's input; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class DataError(NerwinError):
    """A corpus, embedding or model file is not what was expected (exit status 1)."""

    exit_code = 1


class ConfigError(NerwinError):
    """A config file, key or value is wrong (exit status 2, like a usage error)."""

    exit_code = 2


def where(path, line=None) -> str:
    """``file:line`` prefix for messages."""
    return f"{path}:{line}" if line is not None else f"{path}"


def line_of(raw: bytes, offset: int) -> int:
    """1-based line of a byte offset in a file's bytes (LF, CRLF and CR end lines, as
    :func:`nerwin.data.read_conll` reads them)."""
    head = raw[:offset].replace(b"\r\n", b"\n")
    return head.count(b"\n") + head.count(b"\r") + 1


def shorten(text, width: int = 40) -> str:
    """``repr`` of a piece of the input for a message, cut to about ``width`` characters
    (a 10 MB field must not become a 10 MB message)."""
    text = str(text)
    return repr(text) if len(text) <= width else repr(text[:width]) + f"… ({len(text)} characters)"


LONGEST_MESSAGE = 600         # characters of a message shown on a terminal
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(message, width: int = LONGEST_MESSAGE) -> str:
    """``message`` fit for one line of a terminal: control characters (line breaks, escape
    sequences, bidirectional overrides) shown escaped, as ``\\n`` or ``\\x1b``, and a message
    longer than ``width`` cut in the middle, so the start (the file) and the end (what was
    expected) both show."""
    text = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), str(message))
    if len(text) <= width:
        return text
    head, tail = text[: width * 2 // 3], text[-(width // 3):]
    return f"{head}… ({len(text) - len(head) - len(tail):,} characters cut) …{tail}"
