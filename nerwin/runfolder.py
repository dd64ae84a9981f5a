"""The folder a training run writes: an existing run is never overwritten by accident, and a
replacement (``overwrite``) is staged beside it and swapped in only once it has a model.

The swap is two renames in one parent folder (old run aside, new run in) and then the old
run's removal; until then the old run is whole, and should training stop before its first
model, the staged run is removed and the old one is left as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from nerwin.checkpoint import CHECKPOINT
from nerwin.errors import DataError
from nerwin.tagger import MODEL_FILE

RUN_FILES = ("config.toml", MODEL_FILE, "metrics.csv", CHECKPOINT)


def holds_run(path: Path) -> bool:
    """Whether ``path`` is a folder a run has written to."""
    return any((path / name).exists() for name in RUN_FILES)


class RunFolder:
    """Where a run writes (:attr:`path`): ``target`` itself, or while a replacement is staged,
    a hidden sibling ``.NAME.new-*`` that :meth:`settle` swaps in."""

    def __init__(self, target, resume: bool = False, overwrite: bool = False):
        self.target = self.path = Path(target)
        if resume or not holds_run(self.target):
            return
        if not overwrite:
            raise DataError(f"{self.target}: already holds a run; continue it with "
                            f"'--resume {self.target}' or replace it with '--overwrite'")
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.new-", dir=self.target.parent))
        except OSError as e:
            raise DataError(f"{self.target.parent}: cannot create the new run's folder: {e.strerror}") from None

    @property
    def staged(self) -> bool:
        """A replacement is being written beside the old run, which is still in place."""
        return self.path != self.target

    def settle(self) -> None:
        """Put a staged run in the target's place once it has its first model."""
        if not self.staged or not (self.path / MODEL_FILE).is_file():
            return
        old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
        try:
            os.rename(self.target, old)
            try:
                os.rename(self.path, self.target)
            except OSError:
                os.rename(old, self.target)
                raise
        except OSError as e:
            raise DataError(f"{self.target}: cannot put the new run in place: {e.strerror} "
                            f"(the new run is in {self.path})") from None
        self.path = self.target
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove a staged run that never got a model; the old run stays as it was."""
        if self.staged:
            shutil.rmtree(self.path, ignore_errors=True)

    def finish(self, keep_checkpoint: bool = False) -> None:
        """A finished run needs no checkpoint (resuming it would train nothing): remove it."""
        if not keep_checkpoint:
            (self.path / CHECKPOINT).unlink(missing_ok=True)
