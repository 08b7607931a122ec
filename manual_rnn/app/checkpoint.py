"""Checkpoints: a training run's whole state in one .npz file, written atomically.

    checkpoint.save("run.npz", state)       # state: a train.TrainState
    state = checkpoint.load("run.npz")      # the same TrainState, checked

The file holds the parameters as "params/NAME", the optimiser state as "opt/NAME" and one
string array "meta": JSON with the format version, the spec, the config, the step, the random
generators' states, the loss history and, for a character model, its vocabulary. Nothing is
pickled: np.load(path, allow_pickle=False) reads it.

`save` writes a temporary file in the same directory, fsyncs it and renames it over the target
with os.replace, which is atomic on POSIX and Windows: a crash leaves the old checkpoint or the
new one, never half of one. `load` reads everything, checks it against the spec and the
optimiser and raises ValueError naming the file and the problem.
"""
import contextlib
import json
import os
import secrets
import zipfile
from dataclasses import asdict

import numpy as np

from . import train
from ..spec import Spec, check_params

FORMAT = "manual_rnn.checkpoint"
VERSION = 1
META, PARAMS, OPT = "meta", "params/", "opt/"


def save(path, state):
    """Write `state` (a train.TrainState) to `path` atomically; returns the path."""
    path = os.fspath(path)
    history = state.history.upto(state.step)
    meta = {"format": FORMAT, "version": VERSION, "spec": asdict(state.spec),
            "config": asdict(state.config), "step": int(state.step), "rng": state.rng,
            "history": history.as_dict(), "vocab": state.vocab,
            "data_fingerprint": state.data_fingerprint}
    arrays = {META: np.array(json.dumps(meta))}
    arrays.update({PARAMS + k: np.asarray(v) for k, v in state.params.items()})
    arrays.update({OPT + k: np.asarray(v) for k, v in state.opt_state.items()})

    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())  # the data is on disk before the name points at it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)
    return path


def _sync_directory(directory):
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """The train.TrainState saved at `path`.

    Raises FileNotFoundError when there is no such file, and ValueError naming the file and the
    problem when it is not a complete, consistent checkpoint (truncated, corrupt, another
    format, parameters that do not fit the spec, an optimiser state that does not fit the
    parameters, ...). Never modifies the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such checkpoint file: {path!r}")

    def bad(problem):
        return ValueError(f"checkpoint {path!r} {problem}")

    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):
            raise ValueError("it holds a single array")
        with archive:
            # Read every member now: zipfile checks each one's CRC as it reads it.
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise bad(f"is not a readable .npz file (truncated or corrupt?): {error}") from None
    if META not in arrays:
        raise bad(f"has no {META!r} entry: not a manual_rnn checkpoint")
    try:
        meta = json.loads(str(arrays.pop(META)))
    except (json.JSONDecodeError, ValueError) as error:
        raise bad(f"has a corrupt {META!r} entry: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise bad("is not a manual_rnn checkpoint (no format tag)")
    if meta.get("version") != VERSION:
        raise bad(f"has format version {meta.get('version')!r}; this manual_rnn reads "
                  f"version {VERSION}")
    missing = [k for k in ("spec", "config", "step", "rng", "history", "vocab",
                           "data_fingerprint") if k not in meta]
    if missing:
        raise bad(f"lacks {missing} in its {META!r} entry")
    try:
        return _state(meta, arrays)
    except (ValueError, TypeError, KeyError) as error:
        raise bad(f"is inconsistent: {error}") from None


def _state(meta, arrays):
    """The TrainState described by meta and arrays, checked; raises ValueError or TypeError."""
    if not isinstance(meta["spec"], dict):
        raise ValueError(f"spec must be a dict, got {meta['spec']!r:.80}")
    spec = Spec(**meta["spec"])
    config = train.config_from_dict(meta["config"])
    for field, name in (("cell", "cell"), ("hidden_size", "hidden"), ("num_layers", "layers"),
                        ("dropout", "dropout")):
        if getattr(spec, field) != getattr(config, name):
            raise ValueError(f"spec {field}={getattr(spec, field)!r} does not match config "
                             f"{name}={getattr(config, name)!r}")

    params = {k[len(PARAMS):]: v for k, v in arrays.items() if k.startswith(PARAMS)}
    opt_state = {k[len(OPT):]: v for k, v in arrays.items() if k.startswith(OPT)}
    stray = sorted(k for k in arrays if not k.startswith((PARAMS, OPT)))
    if stray:
        raise ValueError(f"unexpected entries {stray}")
    dtype = check_params(spec, params)
    if dtype != np.dtype(config.dtype):
        raise ValueError(f"parameters are {dtype} but config dtype={config.dtype!r}")

    expected = train.build_optimizer(config).init(params)
    missing, unexpected = sorted(set(expected) - set(opt_state)), sorted(set(opt_state) -
                                                                         set(expected))
    if missing or unexpected:
        raise ValueError(f"the {config.optimizer} state does not fit the parameters: missing "
                         f"{missing}, unexpected {unexpected}")
    for k, like in expected.items():
        if opt_state[k].shape != like.shape or opt_state[k].dtype != like.dtype:
            raise ValueError(f"optimiser state {k!r} must be {like.dtype} {like.shape}, got "
                             f"{opt_state[k].dtype} {opt_state[k].shape}")

    step = meta["step"]
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= config.steps:
        raise ValueError(f"step must be an int in [0, steps={config.steps}], got {step!r}")
    if int(opt_state["step"]) != step:
        raise ValueError(f"the optimiser has taken {int(opt_state['step'])} steps, the run "
                         f"{step}")

    rng = meta["rng"]
    if not isinstance(rng, dict) or sorted(rng) != ["data", "dropout"]:
        raise ValueError(f"rng must hold the 'data' and 'dropout' generator states, got "
                         f"{rng!r:.80}")
    for generator in rng.values():
        train.restore(generator)  # raises on a malformed state

    history = _history(meta["history"], step)
    vocab, data_fingerprint = meta["vocab"], meta["data_fingerprint"]
    if config.task == "char":
        if not isinstance(vocab, str) or len(vocab) != spec.input_size or \
                len(vocab) != spec.output_size:
            raise ValueError(f"a char model needs its vocabulary of {spec.input_size} "
                             f"characters, got {vocab!r:.80}")
        if not isinstance(data_fingerprint, str):
            raise ValueError("a char model needs the fingerprint of its text")
    return train.TrainState(config=config, spec=spec, params=params, opt_state=opt_state,
                            step=step, rng=rng, history=history, vocab=vocab,
                            data_fingerprint=data_fingerprint)


def _history(values, step):
    if not isinstance(values, dict):
        raise ValueError(f"history must be a dict, got {values!r:.80}")
    history = train.History(**values)
    for name, column in history.as_dict().items():
        if not isinstance(column, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in column):
            raise ValueError(f"history {name} must be a list of numbers")
    if len(history.train_loss) != step:
        raise ValueError(f"history has {len(history.train_loss)} training losses for "
                         f"{step} steps")
    if not len(history.eval_step) == len(history.eval_loss) == len(history.eval_metric):
        raise ValueError("history's evaluation columns differ in length")
    return history
