"""Learning-rate schedules: pure functions of the step, ``lr = schedule(step)``.

``make_schedule`` builds one from config values; ``step`` counts updates (or epochs, when
the trainer is told to step per epoch), starting at 0. Warm-up rises linearly from 0 to
the schedule's value over ``warmup`` steps.
"""

from __future__ import annotations

import math


def constant(lr, step, **_):
    return lr


def step_decay(lr, step, decay=0.5, every=1, **_):
    """lr · decay^⌊step / every⌋."""
    return lr * decay ** (step // every)


def exponential(lr, step, decay=0.5, every=1, **_):
    """lr · decay^(step / every): the smooth form of step decay."""
    return lr * decay ** (step / every)


def inverse_time(lr, step, decay=0.5, every=1, **_):
    """lr / (1 + decay · step / every): the 1/t schedule."""
    return lr / (1 + decay * step / every)


def cosine(lr, step, total=1, min_lr=0.0, **_):
    """min_lr + (lr - min_lr) · (1 + cos(π · min(step, total) / total)) / 2."""
    t = min(step, total) / max(total, 1)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * t))


SCHEDULES = {
    "constant": constant,
    "step": step_decay,
    "exponential": exponential,
    "inverse_time": inverse_time,
    "cosine": cosine,
}


def make_schedule(name: str, lr: float, warmup: int = 0, **options):
    """``schedule(step) -> lr`` for a named schedule with linear warm-up."""
    rule = SCHEDULES[name]

    def schedule(step: int) -> float:
        rate = rule(lr, step, **options)
        if warmup and step < warmup:
            rate *= (step + 1) / warmup
        return rate

    return schedule


def schedule_from_config(config: dict, n_batches: int | None = None):
    """The schedule of a config's ``[schedule]`` section, as training uses it: its steps are
    updates when ``schedule.per`` is "step" (``n_batches`` per epoch, so the total, cosine's
    horizon, is epochs × n_batches), else epochs (total = epochs; ``n_batches`` unused)."""
    s, epochs = config["schedule"], config["train"]["epochs"]
    if s["per"] == "step" and n_batches is None:
        raise ValueError("a schedule stepped per update needs the number of batches per epoch")
    total = epochs * n_batches if s["per"] == "step" else epochs
    return make_schedule(s["name"], config["optimizer"]["lr"], s["warmup"], decay=s["decay"],
                         every=s["every"], min_lr=s["min_lr"], total=total)
