"""Both cores on one minibatch: the batch is cut into parts, one per thread.

numpy releases the GIL inside its matrix products and element-wise loops, so threads of
one process run the parts of a batch at the same time; the element-wise work (dropout,
activations, losses), which BLAS threads never share, then uses every core too. While the
workers are open, BLAS runs one thread per caller so the parts do not fight over cores.
The parts' results are combined in a fixed order: numbers do not depend on timing.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator


class Workers:
    """Runs tasks side by side: the first in the calling thread, the rest on a pool.

    A batch is cut into ``parts`` runs of windows, fewer if a run would hold less than
    ``min_rows`` (below that, handing a part to a thread costs more than it saves).
    """

    def __init__(self, pool: ThreadPoolExecutor, parts: int, min_rows: int = 64):
        self.pool, self.parts, self.min_rows = pool, parts, min_rows

    def parts_for(self, n: int) -> int:
        return max(1, min(self.parts, n // self.min_rows))

    def run(self, tasks: list[Callable]) -> list:
        """Each task's result, in the order given. Tasks run in a copy of the caller's
        context, so settings such as ``np.errstate`` hold on every thread."""
        rest = [self.pool.submit(contextvars.copy_context().run, task) for task in tasks[1:]]
        return [tasks[0]()] + [f.result() for f in rest]


@contextmanager
def batch_workers(threads: int) -> Iterator[Workers | None]:
    """Workers for ``threads`` parts per batch (None for one: the plain single-threaded
    path, BLAS threads left as they are)."""
    if threads <= 1:
        yield None
        return
    from threadpoolctl import ThreadpoolController

    with ThreadPoolExecutor(threads - 1, thread_name_prefix="nerwin-part") as pool, \
            ThreadpoolController().limit(limits=1, user_api="blas"):
        yield Workers(pool, threads)
