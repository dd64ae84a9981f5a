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
