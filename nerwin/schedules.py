"""Learning-rate schedules: pure functions of the step, ``lr = schedule(step)``.

``make_schedule`` builds one from config values; its ``step`` counts from 0 whatever it
counts. ``schedule_from_config`` gives the trainer a function of the update, counting
updates or epochs as the config says. Warm-up rises linearly from 0 to
the schedule's value over ``warmup`` steps.
"""

from __future__ import annotations

import inspect
import math


def constant(lr, step):
    return lr


def step_decay(lr, step, decay=0.5, every=1):
    """lr · decay^⌊step / every⌋."""
    return lr * decay ** (step // every)


def exponential(lr, step, decay=0.5, every=1):
    """lr · decay^(step / every): the smooth form of step decay."""
    return lr * decay ** (step / every)


def inverse_time(lr, step, decay=0.5, every=1):
    """lr / (1 + decay · step / every): the 1/t schedule."""
    return lr / (1 + decay * step / every)


def cosine(lr, step, total=1, min_lr=0.0):
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
    """``schedule(step) -> lr`` for a named schedule with linear warm-up; ``options`` are
    the rule's own (an option it does not take is a TypeError here, not at the first step)."""
    rule = SCHEDULES[name]
    inspect.signature(rule).bind(lr, 0, **options)

    def schedule(step: int) -> float:
        rate = rule(lr, step, **options)
        if warmup and step < warmup:
            rate *= (step + 1) / warmup
        return rate

    return schedule


def schedule_from_config(config: dict, n_batches: int):
    """``lr = schedule(k)``: the rate of update ``k`` (0-based) under a config's ``[schedule]``
    section, with ``n_batches`` updates an epoch. This is the one place that reads
    ``schedule.per``: per "step" the named schedule counts updates (its total, cosine's
    horizon, is epochs × n_batches); per "epoch" it counts epochs (total: epochs) and update
    ``k`` takes the rate of epoch ⌊k / n_batches⌋."""
    s, epochs = config["schedule"], config["train"]["epochs"]
    per_step = s["per"] == "step"
    given = {"decay": s["decay"], "every": s["every"], "min_lr": s["min_lr"],
             "total": epochs * n_batches if per_step else epochs}
    takes = inspect.signature(SCHEDULES[s["name"]]).parameters    # each rule gets only its own options
    rule = make_schedule(s["name"], config["optimizer"]["lr"], s["warmup"],
                         **{k: v for k, v in given.items() if k in takes})
    return rule if per_step else lambda k: rule(k // n_batches)
