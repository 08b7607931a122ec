"""Training: truncated BPTT, a deterministic training loop, evaluation on held-out data.

    config = Config(task="sine", cell="lstm", hidden=32, steps=500)
    state = train(config)                       # a TrainState: params, optimiser state, history
    state = train(replace(config, steps=1000), state)     # continue; same as 1000 steps at once

Everything random comes from `config.seed` through three separate streams (data, dropout,
evaluation), so a run is a pure function of its config. A `TrainState` carries the generators'
states (`bit_generator.state`), so training on from a saved state (see `checkpoint`) ends with
exactly the parameters an uninterrupted run ends with.
"""
from __future__ import annotations

import hashlib
import math
import pathlib
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Iterator, Optional

import numpy as np

from .. import checks
from ..cells import CELLS
from ..losses import LOSSES
from ..model import dropout_masks as draw_dropout_masks
from ..model import forward, loss_and_grad
from ..spec import Spec, init_params
from . import tasks
from .optim import OPTIMIZERS, clip_grad_norm
from .optim import make as make_optimizer

# What task.metric measures, for reports and plots.
METRICS = {"toy": "notebook loss", "sine": "MSE", "adding": "MSE", "copy": "copy accuracy",
           "char": "bits/char"}

# Each stream gets its own seed sequence, [seed, stream]: adding dropout to a run, or changing
# the eval batch size, leaves the training data of that seed unchanged.
STREAMS = {"data": 1, "dropout": 2, "eval": 3}

# The config fields a resumed run may change: they decide how long to train and how often to
# look, not what a training step computes.
RESUMABLE = ("steps", "eval_every")


# ---- truncated BPTT -----------------------------------------------------------------------------

def tbptt_grads(spec, params, xs, targets, loss="mse", k=None, h0=None, loss_mask=None,
                dropout_masks=None):
    """Loss and gradients by truncated BPTT over windows of k steps: (loss, grads, final_state).

    Window w = steps [w k, (w + 1) k) starts from the state the previous window ended in, but no
    gradient flows back through that boundary: each window's backward pass ignores dL/dh0. Each
    window's loss is the loss of its own steps, normalised by the batch as `losses` does, so
    the window losses add up to the full sequence's loss and the gradients are their sum. With
    k >= T (or k None) there is one window, and the result is `loss_and_grad`'s bit for bit.

    xs, targets, loss_mask and dropout_masks (full-length, as `dropout_masks` draws them) are
    in the layout of the spec (time on axis 1 with batch_first, else axis 0); no `lengths`.
    """
    if k is not None:
        checks.integer("k (the truncation length)", k, 1)
    xs = np.asarray(xs)
    axis = 1 if spec.batch_first and xs.ndim == 3 else 0
    T = xs.shape[axis] if xs.ndim > axis else 0
    k = T if k is None else int(k)

    def window(a, start):
        if a is None:
            return None
        index = (slice(None),) * axis + (slice(start, start + k),)
        return np.asarray(a)[index]

    total, grads, state = None, None, h0
    # No steps at all: one call on the empty input, so that forward says what is wrong.
    for start in (range(0, T, k) if T else [0]):
        masks = None if dropout_masks is None else [window(m, start) for m in dropout_masks]
        value, g, _, _, state = loss_and_grad(
            spec, params, window(xs, start), window(targets, start), loss, h0=state,
            dropout_masks=masks, loss_mask=window(loss_mask, start), full=True)
        if grads is None:
            total, grads = value, g
        else:
            total = total + value
            grads = {name: grads[name] + g[name] for name in grads}
    return total, grads, state


# ---- configuration ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """Everything that decides a training run; a run is a pure function of it.

    task, seq_len, text: the task (`tasks.TASKS`), its length (None: the task's default) and,
        for "char" only, the path of its UTF-8 text.
    cell, hidden, layers, dropout: the network (`Spec`); sizes of input and output come from
        the task.
    optimizer, lr, clip: an `optim` optimiser with learning rate lr; gradients are clipped to a
        global norm of `clip` (None: never).
    tbptt: truncated BPTT over windows of this many steps (None: full BPTT).
    steps, batch: optimiser steps, and sequences per step.
    eval_every, eval_batch: evaluate every eval_every steps (and at the start and the end) on a
        fixed held-out set of eval_batch sequences.
    seed: parameters, data, dropout and the eval set all follow from it.
    dtype: "float64" or "float32" for parameters and arithmetic.
    """
    task: str = "sine"
    seq_len: Optional[int] = None
    text: Optional[str] = None
    cell: str = "lstm"
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-2
    clip: Optional[float] = 1.0
    tbptt: Optional[int] = None
    steps: int = 1000
    batch: int = 32
    seed: int = 0
    eval_every: int = 100
    eval_batch: int = 256
    dtype: str = "float64"

    def __post_init__(self):
        checks.choice("task", self.task, sorted(tasks.TASKS))
        checks.choice("cell", self.cell, CELLS)
        checks.choice("optimizer", self.optimizer, sorted(OPTIMIZERS))
        checks.choice("dtype", self.dtype, ("float64", "float32"))
        for name, lowest in (("hidden", 1), ("layers", 1), ("steps", 1), ("batch", 1),
                             ("seed", 0), ("eval_every", 1), ("eval_batch", 1)):
            checks.integer(name, getattr(self, name), lowest)
        for name, lowest in (("seq_len", 1), ("tbptt", 1)):
            if getattr(self, name) is not None:
                checks.integer(name, getattr(self, name), lowest)
        checks.real("lr", self.lr, "a finite number > 0", lambda v: 0 < v < math.inf)
        if self.clip is not None:
            checks.real("clip", self.clip, "a finite number > 0 (or None: no clipping)",
                        lambda v: 0 < v < math.inf)
        checks.real("dropout", self.dropout, "a probability in [0, 1)", lambda v: 0 <= v < 1)
        if self.dropout > 0 and self.layers == 1:
            raise ValueError(f"dropout applies between layers, so it needs layers >= 2; got "
                             f"dropout={self.dropout} with layers=1")
        if self.task == "char" and not self.text:
            raise ValueError("task 'char' needs a text file (text=PATH, --text PATH)")
        if self.task != "char" and self.text is not None:
            raise ValueError(f"a text file applies to task 'char' only, not {self.task!r}")
        if self.task == "toy" and self.seq_len is not None:
            raise ValueError(f"task 'toy' has a fixed length of 2 steps; seq_len does not apply "
                             f"(got {self.seq_len})")


def build_task(config, seq_len=None):
    """The task of a config; `seq_len` overrides the config's (for a short gradient check)."""
    seq_len = config.seq_len if seq_len is None else seq_len
    if config.task == "char":
        # A Path, never a str: CharText reads a long enough str that names no file as the text.
        return tasks.CharText(pathlib.Path(config.text), **_length(seq_len))
    if config.task == "toy":
        return tasks.Toy()
    return tasks.make(config.task, **_length(seq_len))


def _length(seq_len):
    return {} if seq_len is None else {"seq_len": seq_len}


def build_spec(config, task):
    return Spec(cell=config.cell, input_size=task.input_size, hidden_size=config.hidden,
                output_size=task.output_size, num_layers=config.layers, dropout=config.dropout)


def build_optimizer(config):
    return make_optimizer(config.optimizer, lr=config.lr)


def fingerprint(task):
    """A digest of a char task's vocabulary and text, so a resumed run can tell that its text
    file is still the one it was trained on. None for generated tasks."""
    if not isinstance(task, tasks.CharText):
        return None
    digest = hashlib.sha256(task.vocab.encode("utf-8"))
    for part in (task.train_ids, task.eval_ids):
        digest.update(np.ascontiguousarray(part, dtype="<i8").tobytes())
    return digest.hexdigest()


# ---- the state of a run -------------------------------------------------------------------------

@dataclass
class History:
    """The loss record of a run. train_loss[i] is the training loss of step i + 1 (before that
    step's update); eval_* hold the evaluations: at step 0, every eval_every steps, at the end."""
    train_loss: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_loss: list = field(default_factory=list)
    eval_metric: list = field(default_factory=list)

    def upto(self, step):
        """A copy holding only what happened up to `step`."""
        keep = sum(1 for s in self.eval_step if s <= step)
        return History(list(self.train_loss[:step]), list(self.eval_step[:keep]),
                       list(self.eval_loss[:keep]), list(self.eval_metric[:keep]))

    def as_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class TrainState:
    """Everything needed to continue a run exactly: what `checkpoint.save` writes.

    rng holds the `bit_generator.state` of the "data" and "dropout" streams after `step` steps
    (the eval set is drawn once from its own stream, so it needs no state). vocab and
    data_fingerprint describe a char task's text; both are None for generated tasks.

    The states that `run` yields share one growing History, so a state kept from an earlier
    step may hold later entries: `history.upto(step)` is its own record (`checkpoint.save` and
    every resumed run read it that way).
    """
    config: Config
    spec: Spec
    params: dict
    opt_state: dict
    step: int
    rng: dict
    history: History
    vocab: Optional[str] = None
    data_fingerprint: Optional[str] = None


def stream(seed, name):
    """The generator of one of the run's random streams, freshly seeded."""
    return np.random.default_rng([seed, STREAMS[name]])


def restore(bit_generator_state):
    """A Generator in exactly the given `bit_generator.state`."""
    if not isinstance(bit_generator_state, dict) or \
            bit_generator_state.get("bit_generator") != "PCG64":
        raise ValueError(f"expected a PCG64 bit_generator state, got {bit_generator_state!r:.80}")
    bits = np.random.PCG64()
    bits.state = bit_generator_state
    return np.random.Generator(bits)


def start(config, task=None):
    """The state of a fresh run: initial parameters and optimiser state, step 0."""
    task = build_task(config) if task is None else task
    spec = build_spec(config, task)
    params = init_params(spec, seed=config.seed, dtype=np.dtype(config.dtype))
    return TrainState(config=config, spec=spec, params=params,
                      opt_state=build_optimizer(config).init(params), step=0,
                      rng={name: stream(config.seed, name).bit_generator.state
                           for name in ("data", "dropout")},
                      history=History(), vocab=getattr(task, "vocab", None),
                      data_fingerprint=fingerprint(task))


def eval_set(config, task):
    """The run's held-out batch: the task's eval split, drawn once from the eval stream."""
    return task.batch(stream(config.seed, "eval"), config.eval_batch, split="eval")


def evaluate(spec, params, task, batch):
    """(the training loss, task.metric) of the model on a batch, without dropout."""
    ys, _, _ = forward(spec, params, batch.xs)
    valid = np.ones(batch.xs.shape[:2]) if batch.loss_mask is None else batch.loss_mask
    value, _ = LOSSES[task.loss](np.asarray(ys, np.float64), batch.targets, valid)
    return float(value), task.metric(ys, batch)


def check_resumable(state, config, task):
    """Raise ValueError unless `state` can continue as a run of `config` on `task`."""
    old = state.config
    changed = [f.name for f in fields(Config)
               if f.name not in RESUMABLE and getattr(old, f.name) != getattr(config, f.name)]
    if changed:
        raise ValueError("a resumed run keeps its configuration; these differ from the saved "
                         "run's: " + ", ".join(f"{n}={getattr(config, n)!r} (saved "
                                                f"{getattr(old, n)!r})" for n in changed))
    if state.step > config.steps:
        raise ValueError(f"the saved run is at step {state.step}, past steps={config.steps}; "
                         f"ask for more steps to train on")
    if fingerprint(task) != state.data_fingerprint:
        raise ValueError(f"the text of {config.text!r} is not the one the saved run was trained "
                         f"on (its characters or content changed)")


# ---- the loop -----------------------------------------------------------------------------------

def run(config, state=None, task=None) -> Iterator[TrainState]:
    """Train, yielding the state after every step; stop iterating at any time to pause.

    Starts fresh when state is None, else continues from `state` (which must come from a run of
    the same config, up to `RESUMABLE` fields). Evaluates on the held-out set at step 0, every
    config.eval_every steps and after the last step, recording it in the state's history;
    the state yielded after such a step already holds that evaluation. Raises ValueError when
    the loss stops being finite.
    """
    task = build_task(config) if task is None else task
    if state is None:
        state = start(config, task)
    else:
        check_resumable(state, config, task)
        state = replace(state, config=config)
    spec, params, opt_state = state.spec, state.params, state.opt_state
    history = state.history.upto(state.step)  # ours to append to; the caller's stays as it was
    optimizer = build_optimizer(config)
    data, dropout = restore(state.rng["data"]), restore(state.rng["dropout"])
    held_out = eval_set(config, task)

    def record_eval(step):
        loss, metric = evaluate(spec, params, task, held_out)
        history.eval_step.append(step)
        history.eval_loss.append(loss)
        history.eval_metric.append(metric)

    if not history.eval_step:
        record_eval(state.step)
    for step in range(state.step + 1, config.steps + 1):
        batch = task.batch(data, config.batch, split="train")
        # One seed per step whether or not this network drops anything, so that the stream
        # advances the same way for every config.
        masks = draw_dropout_masks(spec, batch.xs, seed=int(dropout.integers(2 ** 63)))
        loss, grads, _ = tbptt_grads(spec, params, batch.xs, batch.targets, task.loss,
                                     config.tbptt, loss_mask=batch.loss_mask,
                                     dropout_masks=masks)
        if not np.isfinite(loss):
            raise ValueError(f"training diverged at step {step}: the loss is {float(loss)}; "
                             f"try a smaller lr (now {config.lr}) or a clip")
        if config.clip is not None:
            grads, _ = clip_grad_norm(grads, config.clip)
        params, opt_state = optimizer.step(params, grads, opt_state)
        history.train_loss.append(float(loss))
        if step % config.eval_every == 0 or step == config.steps:
            record_eval(step)
        state = replace(state, params=params, opt_state=opt_state, step=step,
                        rng={"data": data.bit_generator.state,
                             "dropout": dropout.bit_generator.state},
                        history=history)
        yield state


def train(config, state=None, task=None, callback=None):
    """Run `run` to the end and return the final state; callback(state) after every step."""
    last = state
    for last in run(config, state, task):
        if callback is not None:
            callback(last)
    return replace(last, config=config)  # a resumed run already at config.steps trains no step


def config_from_dict(values):
    """A Config from `dataclasses.asdict(config)` (e.g. out of JSON)."""
    if not isinstance(values, dict):
        raise TypeError(f"config must be a dict, got {type(values).__name__}")
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"config has unknown fields {unknown}")
    return Config(**values)

