"""What a network is: its `Spec`, the names and shapes of its parameters, their initialisation.

Parameter names, shapes and initialisation follow PyTorch's `nn.RNN` / `nn.LSTM` / `nn.GRU`
state_dict exactly, plus an `nn.Linear` read-out called `head`, so a PyTorch model loads with

    params = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    params |= {"head." + k: v.detach().numpy() for k, v in linear.state_dict().items()}
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import checks
from .activations import ACTIVATIONS
from .cells import CELLS

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Spec:
    """The shape of a recurrent network, with an optional linear read-out at every step.

    cell:          "rnn" (Elman), "lstm" or "gru", with PyTorch's equations.
    output_size:   features of the read-out y_t = W_head h_t + b_head; None for a headless
                   network, whose outputs are the top layer's hidden states.
    nonlinearity:  the Elman cell's activation, "tanh", "relu" or "sigmoid"; LSTM and GRU
                   take no choice here, so it must stay "tanh" for them.
    proj_size:     LSTM only: h_t = W_hr (o_t * tanh(c_t)) has proj_size features (0 = off).
    dropout:       probability of zeroing a layer's output before the next layer reads it
                   (between layers only, as in PyTorch); applied only when masks are passed.
    batch_first:   inputs and outputs are (B, T, F) instead of (T, B, F); states stay
                   (layers * directions, B, H) as in PyTorch.
    reset_after:   GRU only: True applies the reset gate after the recurrent matmul,
                   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) (PyTorch, cuDNN, Keras's
                   default); False before it, n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
                   (Cho et al. 2014, Keras's reset_after=False, ONNX's linear_before_reset=0).
    """

    cell: str
    input_size: int
    hidden_size: int
    output_size: int | None = None
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    bias: bool = True
    batch_first: bool = False
    proj_size: int = 0
    dropout: float = 0.0
    reset_after: bool = True

    def __post_init__(self):
        checks.choice("cell", self.cell, CELLS)
        checks.choice("nonlinearity", self.nonlinearity, ACTIVATIONS)
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to cell='rnn' only; cell={self.cell!r} "
                             f"got nonlinearity={self.nonlinearity!r}")
        for name in ("input_size", "hidden_size", "num_layers"):
            checks.integer(name, getattr(self, name), 1)
        if self.output_size is not None:
            checks.integer("output_size", self.output_size, 1)
        checks.integer("proj_size", self.proj_size, 0)
        if self.proj_size and self.cell != "lstm":
            raise ValueError(f"proj_size applies to cell='lstm' only, got cell={self.cell!r} "
                             f"with proj_size={self.proj_size}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"proj_size must be < hidden_size={self.hidden_size}, "
                             f"got {self.proj_size}")
        for name in ("bidirectional", "bias", "batch_first", "reset_after"):
            checks.flag(name, getattr(self, name))
        if not self.reset_after and self.cell != "gru":
            raise ValueError(f"reset_after applies to cell='gru' only; cell={self.cell!r} got "
                             f"reset_after=False")
        checks.real("dropout", self.dropout, "a probability in [0, 1)", lambda v: 0 <= v < 1)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(f"dropout applies between layers, so dropout={self.dropout} does "
                          f"nothing with num_layers=1", UserWarning, stacklevel=3)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def gates(self) -> int:
        """Gate blocks stacked in weight_ih's rows: 1 (Elman), 4 (LSTM) or 3 (GRU)."""
        return CELLS[self.cell].GATES

    @property
    def state_names(self) -> tuple[str, ...]:
        """The parts of a state: ("h", "c") for the LSTM, ("h",) for the others."""
        return CELLS[self.cell].STATES

    @property
    def has_head(self) -> bool:
        return self.output_size is not None

    @property
    def output_features(self) -> int:
        """Features of the network's output at each step: the read-out's, or the top layer's."""
        if self.output_size is not None:
            return self.output_size
        return self.num_directions * self.state_size

    @property
    def state_size(self) -> int:
        """Features of h_t: proj_size for a projected LSTM, hidden_size otherwise."""
        return self.proj_size or self.hidden_size

    def state_shapes(self, batch: int | None = None) -> list[tuple[int, ...]]:
        """The shape of each part of a state, (layers * directions, batch, features) as in
        PyTorch; without the batch axis for one unbatched sequence (batch=None)."""
        rows = self.num_layers * self.num_directions
        features = {"h": self.state_size, "c": self.hidden_size}
        lead = (rows,) if batch is None else (rows, batch)
        return [lead + (features[name],) for name in self.state_names]

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.num_directions * self.state_size


def zero_state(spec: Spec, batch: int | None = None, dtype=np.float64):
    """The zero state `forward` starts from when h0 is None: an array, or (h, c) for the LSTM."""
    parts = tuple(np.zeros(shape, dtype) for shape in spec.state_shapes(batch))
    return parts if len(parts) > 1 else parts[0]


def direction_suffixes(spec: Spec) -> tuple[str, ...]:
    return ("", "_reverse")[: spec.num_directions]


def param_shapes(spec: Spec) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in PyTorch's state_dict order, then the head."""
    return dict(_param_shapes(spec))


@functools.lru_cache(maxsize=64)
def _param_shapes(spec: Spec) -> tuple[tuple[str, tuple[int, ...]], ...]:
    # Cached (a Spec is frozen, so hashable): every training step checks its params against it.
    G, H, P = spec.gates, spec.hidden_size, spec.state_size
    shapes: dict[str, tuple[int, ...]] = {}
    for k in range(spec.num_layers):
        for s in direction_suffixes(spec):
            shapes[f"weight_ih_l{k}{s}"] = (G * H, spec.layer_input_size(k))
            shapes[f"weight_hh_l{k}{s}"] = (G * H, P)
            if spec.bias:
                shapes[f"bias_ih_l{k}{s}"] = (G * H,)
                shapes[f"bias_hh_l{k}{s}"] = (G * H,)
            if spec.proj_size:
                shapes[f"weight_hr_l{k}{s}"] = (P, H)
    if spec.output_size is not None:
        shapes["head.weight"] = (spec.output_size, spec.num_directions * P)
        shapes["head.bias"] = (spec.output_size,)
    return tuple(shapes.items())


def init_params(spec: Spec, seed: int = 0, dtype=np.float64) -> dict[str, np.ndarray]:
    """Fresh parameters drawn as PyTorch draws them, from `np.random.default_rng(seed)`.

    Recurrent weights and biases: U(-1/sqrt(H), 1/sqrt(H)). Head (nn.Linear): weight and bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = directions * state_size, the features it
    reads. Drawn in float64 and then cast, so a float32 model is the float64 one rounded.
    """
    dtype = np.dtype(dtype)
    if dtype not in DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    rng = np.random.default_rng(seed)
    params = {}
    head_fan_in = spec.num_directions * spec.state_size
    for name, shape in param_shapes(spec).items():
        fan = head_fan_in if name.startswith("head.") else spec.hidden_size
        bound = 1.0 / math.sqrt(fan)
        params[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
    return params


def check_params(spec: Spec, params) -> np.dtype:
    """Raise unless `params` has exactly the spec's keys and shapes, one float dtype, all finite.

    Returns that dtype: the dtype every computation and result of the model takes.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    shapes = _param_shapes(spec)
    names = {name for name, _ in shapes}
    missing = [name for name, _ in shapes if name not in params]
    unexpected = [k for k in params if k not in names]
    if missing or unexpected:
        raise ValueError(f"params do not match the spec: missing {missing}, unexpected {unexpected}")
    dtypes = set()
    for name, shape in shapes:
        value = params[name]
        if not isinstance(value, np.ndarray):
            raise TypeError(f"params[{name!r}] must be a numpy array, got {type(value).__name__}")
        if value.shape != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape}, got {value.shape}")
        if value.dtype not in DTYPES:
            raise TypeError(f"params[{name!r}] must be float32 or float64, got {value.dtype}")
        if not checks.all_finite(value):
            raise ValueError(f"params[{name!r}] holds non-finite values")
        dtypes.add(value.dtype)
    if len(dtypes) > 1:
        raise TypeError(f"params must share one dtype, got {sorted(map(str, dtypes))}")
    return dtypes.pop()
