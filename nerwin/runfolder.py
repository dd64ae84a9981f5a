"""The folder a training run writes: an existing run is never overwritten by accident, and a
replacement (``overwrite``) is staged beside it and swapped in only once it has a model.

The swap is two renames in one parent folder (old run aside, new run in) and then the old
run's removal; until then the old run is whole, and should training stop before its first
model, the staged run is removed and the old one is left as it was.

The hidden folders beside the run carry the id of the process that made them,
``.NAME.new-PID.XXXXXXXX`` (the replacement) and ``.NAME.old-PID`` (the old run on its way
out), so that what a killed nerwin left (``kill -9``, a power cut) is recognised and tidied by
the next training of the same run; another nerwin's, still running, is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from nerwin.checkpoint import CHECKPOINT
from nerwin.errors import DataError
from nerwin.files import TEMP_SUFFIX, leftovers
from nerwin.tagger import MODEL_FILE

RUN_FILES = ("config.toml", MODEL_FILE, "metrics.csv", CHECKPOINT)


def holds_run(path: Path) -> bool:
    """Whether ``path`` is a folder a run has written to."""
    return any((path / name).exists() for name in RUN_FILES)


class RunFolder:
    """Where a run writes (:attr:`path`): ``target`` itself, or while a replacement is staged,
    a hidden sibling ``.NAME.new-PID.*`` that :meth:`settle` swaps in."""

    def __init__(self, target, resume: bool = False, overwrite: bool = False):
        self.target = self.path = Path(target)
        self._tidy()
        if resume or not holds_run(self.target):
            return
        if not overwrite:
            raise DataError(f"{self.target}: already holds a run; continue it with "
                            f"'--resume {self.target}' or replace it with '--overwrite'")
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.new-{os.getpid()}.",
                                              dir=self.target.parent))
        except OSError as e:
            raise DataError(f"{self.target.parent}: cannot create the new run's folder: {e.strerror}") from None

    def _tidy(self) -> None:
        """Clear what a killed replacement of this run left beside it: the staged and old
        folders of processes that are gone. One killed between the swap's two renames (its
        old run and its staged run both aside, nothing in the target's place) first gets its
        old run back, as if the swap had not begun."""
        parent, name = self.target.parent, re.escape(self.target.name)
        staged = leftovers(parent, rf"\.{name}\.new-(\d+)\.{TEMP_SUFFIX}")
        for old, pid in leftovers(parent, rf"\.{name}\.old-(\d+)").items():
            if pid in staged.values() and not os.path.lexists(self.target):
                try:
                    os.rename(old, self.target)
                except OSError as e:
                    raise DataError(f"{old}: holds the run a killed '--overwrite' had put aside; cannot put "
                                    f"it back in {self.target}: {e.strerror}") from None
            else:
                shutil.rmtree(old, ignore_errors=True)
        for new in staged:
            shutil.rmtree(new, ignore_errors=True)

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
