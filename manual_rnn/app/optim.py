"""Optimisers with PyTorch's arguments, defaults and update rules, as pure functions over dicts.

    opt = Adam(lr=1e-3)
    state = opt.init(params)
    for xs, targets in batches:
        loss, grads = loss_and_grad(spec, params, xs, targets)
        grads, norm = clip_grad_norm(grads, max_norm=1.0)
        params, state = opt.step(params, grads, state)

Nothing passed in is ever modified: `step` returns new params and a new state. The state is a
flat dict of arrays ({"step": array(3), "exp_avg/head.weight": ..., ...}, buffers named as in
torch.optim), so `np.savez(path, **state)` and `dict(np.load(path))` restore it bit for bit,
and `dataclasses.asdict(opt)` is the optimiser's config. Grads and state are read in the dtype
of their parameter, so float32 params stay float32.

Each update rule is the pseudo-code of its torch.optim namesake, with g the gradient and t the
step count from 1; an option set to 0 or False drops its line. One deliberate departure:
centered RMSprop clamps its variance estimate at 0 when rounding makes it negative (PyTorch
gives NaN there).
"""
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import checks

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "OPTIMIZERS", "make", "clip_grad_norm"]


# ---- checking arguments -------------------------------------------------------------------------

def _real(expected, ok):
    """A rule accepting a real number for which ok(value) holds, stored as a Python float."""
    return lambda name, value: checks.real(name, value, expected, ok)


_POSITIVE = _real("a finite number > 0", lambda v: 0 < v < math.inf)
_NON_NEGATIVE = _real("a finite number >= 0", lambda v: 0 <= v < math.inf)
_FRACTION = _real("in [0, 1)", lambda v: 0 <= v < 1)
_PROPORTION = _real("in [0, 1]", lambda v: 0 <= v <= 1)
_ABOVE_ZERO = _real("> 0", lambda v: v > 0)  # inf allowed: no clipping


def _betas(name, value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {value!r}")
    return tuple(_FRACTION(f"{name}[{i}]", beta) for i, beta in enumerate(value))


def _validate(opt, **rules):
    """Check each field of a frozen dataclass with its rule and store the normalised value."""
    for name, rule in rules.items():
        object.__setattr__(opt, name, rule(name, getattr(opt, name)))


# ---- checking params, grads and state -----------------------------------------------------------

def _check_keys(what, found, expected):
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{what}: missing keys {missing}, unexpected keys {unexpected}")


def _float_arrays(params):
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    arrays = {k: np.asarray(p) for k, p in params.items()}
    for k, p in arrays.items():
        if not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"params[{k!r}] must be a float array, got dtype {p.dtype}")
    return arrays


def _read(what, key, value, like):
    """value as an array of like's dtype and shape (a copy, so no result aliases an input)."""
    a = np.array(value, dtype=like.dtype)
    if a.shape != like.shape:
        raise ValueError(f"{what}[{key!r}] must have shape {like.shape} like its parameter, "
                         f"got {a.shape}")
    return a


class _Optimizer:
    """init/step shared by the optimisers below; each supplies its buffers and its update."""

    def buffers(self):
        """{name: initial value} of the per-parameter buffers this configuration keeps."""
        raise NotImplementedError

    def update(self, p, g, buffers, t):
        """One step for one parameter: (new p, new buffers) from g and the old buffers."""
        raise NotImplementedError

    def init(self, params):
        """The state before the first step: step 0 and every buffer at its initial value."""
        state = {"step": np.array(0, dtype=np.int64)}
        for k, p in _float_arrays(params).items():
            for b, value in self.buffers().items():
                state[f"{b}/{k}"] = np.full_like(p, value)
        return state

    def step(self, params, grads, state):
        """One step of the update rule: (new params, new state); the arguments are left as is."""
        params = _float_arrays(params)
        _check_keys("grads must have the keys of params", grads, params)
        names = self.buffers()
        _check_keys(f"state must be what {type(self).__name__}.init(params) made", state,
                    ["step"] + [f"{b}/{k}" for k in params for b in names])
        t = int(state["step"]) + 1  # a Python int, so beta ** t stays a Python float
        new_params, new_state = {}, {"step": np.array(t, dtype=np.int64)}
        for k, p in params.items():
            g = _read("grads", k, grads[k], p)
            old = {b: _read("state", f"{b}/{k}", state[f"{b}/{k}"], p) for b in names}
            new_params[k], new = self.update(p, g, old, t)
            new_state.update({f"{b}/{k}": new[b] for b in names})
        return new_params, new_state


def _gradient(p, g, maximize, weight_decay):
    """The direction every rule starts from: -g when maximising, plus the L2 penalty's gradient."""
    g = -g if maximize else g
    return g + weight_decay * p if weight_decay else g


# ---- the optimisers -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

        g   = grad (negated if maximize) + weight_decay * p
        buf = g                                        at t = 1
        buf = momentum * buf + (1 - dampening) * g     at t > 1
        g   = g + momentum * buf   if nesterov,  else  buf
        p   = p - lr * g
    """
    lr: float = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    maximize: bool = False

    def __post_init__(self):
        _validate(self, lr=_POSITIVE, momentum=_NON_NEGATIVE, dampening=_PROPORTION,
                  weight_decay=_NON_NEGATIVE, nesterov=checks.flag, maximize=checks.flag)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={self.momentum}, dampening={self.dampening}")

    def buffers(self):
        return {"momentum_buffer": 0.0} if self.momentum else {}

    def update(self, p, g, buffers, t):
        g = _gradient(p, g, self.maximize, self.weight_decay)
        if not self.momentum:
            return p - self.lr * g, {}
        if t == 1:
            buf = g
        else:
            buf = self.momentum * buffers["momentum_buffer"] + (1 - self.dampening) * g
        g = g + self.momentum * buf if self.nesterov else buf
        return p - self.lr * g, {"momentum_buffer": buf}


@dataclass(frozen=True)
class Adagrad(_Optimizer):
    """Adagrad, as torch.optim.Adagrad.

        g   = grad (negated if maximize) + weight_decay * p
        sum = sum + g^2                                (sum starts at initial_accumulator_value)
        p   = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)
    """
    lr: float = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    maximize: bool = False

    def __post_init__(self):
        _validate(self, lr=_POSITIVE, lr_decay=_NON_NEGATIVE, weight_decay=_NON_NEGATIVE,
                  initial_accumulator_value=_NON_NEGATIVE, eps=_NON_NEGATIVE, maximize=checks.flag)

    def buffers(self):
        return {"sum": self.initial_accumulator_value}

    def update(self, p, g, buffers, t):
        g = _gradient(p, g, self.maximize, self.weight_decay)
        total = buffers["sum"] + g * g
        lr = self.lr / (1 + (t - 1) * self.lr_decay)
        return p - lr * (g / (np.sqrt(total) + self.eps)), {"sum": total}


@dataclass(frozen=True)
class RMSprop(_Optimizer):
    """RMSprop, as torch.optim.RMSprop.

        g          = grad (negated if maximize) + weight_decay * p
        square_avg = alpha * square_avg + (1 - alpha) * g^2
        v          = square_avg
        if centered:
            grad_avg = alpha * grad_avg + (1 - alpha) * g
            v        = max(square_avg - grad_avg^2, 0)
        if momentum > 0:
            buf = momentum * buf + g / (sqrt(v) + eps)
            p   = p - lr * buf
        else:
            p   = p - lr * g / (sqrt(v) + eps)
    """
    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    maximize: bool = False

    def __post_init__(self):
        _validate(self, lr=_POSITIVE, alpha=_FRACTION, eps=_NON_NEGATIVE,
                  weight_decay=_NON_NEGATIVE, momentum=_NON_NEGATIVE, centered=checks.flag,
                  maximize=checks.flag)

    def buffers(self):
        return {"square_avg": 0.0, **({"grad_avg": 0.0} if self.centered else {}),
                **({"momentum_buffer": 0.0} if self.momentum else {})}

    def update(self, p, g, buffers, t):
        g = _gradient(p, g, self.maximize, self.weight_decay)
        a = self.alpha
        new = {"square_avg": a * buffers["square_avg"] + (1 - a) * (g * g)}
        v = new["square_avg"]
        if self.centered:
            new["grad_avg"] = a * buffers["grad_avg"] + (1 - a) * g
            # The variance estimate is >= 0 in exact arithmetic; rounding can take it below.
            v = np.maximum(v - new["grad_avg"] ** 2, 0)
        scaled = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            new["momentum_buffer"] = self.momentum * buffers["momentum_buffer"] + scaled
            return p - self.lr * new["momentum_buffer"], new
        return p - self.lr * scaled, new


@dataclass(frozen=True)
class Adam(_Optimizer):
    """Adam, as torch.optim.Adam.

        g              = grad (negated if maximize) + weight_decay * p
        exp_avg        = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq     = beta2 * exp_avg_sq + (1 - beta2) * g^2
        v              = exp_avg_sq
        if amsgrad:
            max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)
            v              = max_exp_avg_sq
        p              = p - lr * m_hat / (sqrt(v_hat) + eps)
                         with m_hat = exp_avg / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
    """
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    maximize: bool = False

    decoupled: ClassVar[bool] = False  # AdamW's one difference: decay p itself, not via g

    def __post_init__(self):
        _validate(self, lr=_POSITIVE, betas=_betas, eps=_NON_NEGATIVE,
                  weight_decay=_NON_NEGATIVE, amsgrad=checks.flag, maximize=checks.flag)

    def buffers(self):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0,
                **({"max_exp_avg_sq": 0.0} if self.amsgrad else {})}

    def update(self, p, g, buffers, t):
        beta1, beta2 = self.betas
        if self.decoupled:
            g = _gradient(p, g, self.maximize, 0.0)
            p = p * (1 - self.lr * self.weight_decay)
        else:
            g = _gradient(p, g, self.maximize, self.weight_decay)
        new = {"exp_avg": beta1 * buffers["exp_avg"] + (1 - beta1) * g,
               "exp_avg_sq": beta2 * buffers["exp_avg_sq"] + (1 - beta2) * (g * g)}
        v = new["exp_avg_sq"]
        if self.amsgrad:
            v = new["max_exp_avg_sq"] = np.maximum(buffers["max_exp_avg_sq"], v)
        m_hat = new["exp_avg"] / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        return p - self.lr * (m_hat / (np.sqrt(v_hat) + self.eps)), new


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW.

        g = grad (negated if maximize)                 (no weight_decay * p here)
        p = p - lr * weight_decay * p
        then Adam's updates of exp_avg, exp_avg_sq, max_exp_avg_sq and p with this g and p.
    """
    weight_decay: float = 1e-2

    decoupled: ClassVar[bool] = True


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def make(name, **kwargs):
    """The optimiser called `name` in OPTIMIZERS, built from its keyword arguments."""
    if name not in OPTIMIZERS:
        raise ValueError(f"name must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](**kwargs)


# ---- gradient clipping --------------------------------------------------------------------------

def clip_grad_norm(grads: dict[str, np.ndarray],
                   max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """(grads scaled to a global L2 norm of at most max_norm, their norm before scaling).

    As torch.nn.utils.clip_grad_norm_: every array is multiplied by
    max_norm / (total_norm + 1e-6) when that is < 1, so the clipped norm is a hair under
    max_norm. Returns new arrays; the norm is summed in float64 whatever the grads' dtype.
    """
    max_norm = _ABOVE_ZERO("max_norm", max_norm)
    grads = {k: np.array(g) for k, g in grads.items()}  # copies: the input stays untouched
    total_norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64)))
                               for g in grads.values()))
    coef = max_norm / (total_norm + 1e-6)
    if coef < 1:
        grads = {k: g * coef for k, g in grads.items()}
    return grads, total_norm
