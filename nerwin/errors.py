"""Errors a user can act on: one line, a non-zero exit status, no traceback."""


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
