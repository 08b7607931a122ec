"""Random networks and data for the property tests, drawn by Hypothesis, and the generators of
every array a test feeds to both manual_rnn and its references.

A `Case` is small and printable (spec, shapes, a seed); its arrays come from
np.random.default_rng(seed), so a failing example's printout reproduces it exactly.

The generators here share nothing with manual_rnn but the parameter names: shapes are written
out from PyTorch's layout (`param_shapes`), weights are drawn uniform(-s, s) (`draw_params`),
dropout masks directly as Bernoulli draws (`draw_masks`), states and data as normal draws. So a
bug in mr.init_params, mr.param_shapes or mr.dropout_masks cannot hide from a comparison with
the twin or PyTorch; those functions have tests of their own (tests/test_init.py).
"""
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import manual_rnn as mr

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def param_shapes(spec):
    """{name: shape} of PyTorch's nn.RNN / nn.LSTM / nn.GRU state_dict (weight_ih, weight_hh,
    bias_ih, bias_hh, weight_hr per layer and direction), then nn.Linear's as head.*."""
    G, H = GATES[spec.cell], spec.hidden_size
    P = spec.proj_size or H                      # features of h_t
    D = 2 if spec.bidirectional else 1
    shapes = {}
    for k in range(spec.num_layers):
        for suffix in ("", "_reverse")[:D]:
            shapes[f"weight_ih_l{k}{suffix}"] = (G * H, spec.input_size if k == 0 else D * P)
            shapes[f"weight_hh_l{k}{suffix}"] = (G * H, P)
            if spec.bias:
                shapes[f"bias_ih_l{k}{suffix}"] = (G * H,)
                shapes[f"bias_hh_l{k}{suffix}"] = (G * H,)
            if spec.proj_size:
                shapes[f"weight_hr_l{k}{suffix}"] = (P, H)
    if spec.output_size is not None:
        shapes["head.weight"] = (spec.output_size, D * P)
        shapes["head.bias"] = (spec.output_size,)
    return shapes


def draw_params(spec, rng, gain=1.0, dtype=np.float64):
    """Every parameter uniform(-s, s) with s = gain / sqrt(fan): fan = hidden_size for the
    recurrent weights and biases, the read-out's input features for head.* (gain 1 is
    PyTorch's init; larger gains saturate the gates). Drawn in float64, then cast."""
    shapes = param_shapes(spec)
    head_in = shapes["head.weight"][1] if "head.weight" in shapes else None
    params = {}
    for name, shape in shapes.items():
        fan = head_in if name.startswith("head.") else spec.hidden_size
        s = gain / math.sqrt(fan)
        params[name] = rng.uniform(-s, s, size=shape).astype(dtype)
    return params


def sequence_shape(spec, T, B, features=None):
    """The layout of xs (and of targets, outputs, masks): (T, B), (B, T) or, for B=None, (T,)."""
    shape = (T,) if B is None else ((B, T) if spec.batch_first else (T, B))
    return shape if features is None else shape + (features,)


def output_features(spec):
    D = 2 if spec.bidirectional else 1
    return spec.output_size if spec.output_size is not None else D * (spec.proj_size or
                                                                        spec.hidden_size)


def state_shapes(spec, B):
    """(h,) or (h, c) shapes: (layers * directions, B, features), no B axis for B=None."""
    rows = spec.num_layers * (2 if spec.bidirectional else 1)
    lead = (rows,) if B is None else (rows, B)
    shapes = [lead + (spec.proj_size or spec.hidden_size,)]
    if spec.cell == "lstm":
        shapes.append(lead + (spec.hidden_size,))
    return shapes


def draw_state(spec, rng, B, dtype=np.float64):
    parts = tuple(rng.normal(size=s).astype(dtype) for s in state_shapes(spec, B))
    return parts if spec.cell == "lstm" else parts[0]


def draw_masks(spec, rng, T, B, rate, dtype=np.float64):
    """num_layers - 1 inverted-dropout masks: 0 with probability `rate`, else 1 / (1 - rate)."""
    D = 2 if spec.bidirectional else 1
    shape = sequence_shape(spec, T, B, D * (spec.proj_size or spec.hidden_size))
    keep = 1.0 - rate
    return [(rng.binomial(1, keep, size=shape) / keep).astype(dtype)
            for _ in range(spec.num_layers - 1)]


def draw_targets(spec, rng, loss, T, B, dtype=np.float64):
    if loss == "mse":
        return rng.normal(size=sequence_shape(spec, T, B, output_features(spec))).astype(dtype)
    return rng.integers(0, output_features(spec), size=sequence_shape(spec, T, B))


@dataclass(frozen=True)
class Case:
    spec: mr.Spec
    T: int
    B: int
    unbatched: bool
    with_h0: bool
    with_lengths: bool
    loss: str
    seed: int
    with_dropout: bool = False

    def arrays(self, dtype=np.float64):
        """params, xs, h0, lengths, targets, upstream gradients dys / dstate, dropout masks."""
        rng = np.random.default_rng(self.seed)
        spec = self.spec
        B = None if self.unbatched else self.B
        # Twice PyTorch's init, so every gate saturates somewhere and every term of the
        # backward pass carries weight in the comparison.
        params = draw_params(spec, rng, gain=2.0, dtype=dtype)
        xs = rng.normal(size=sequence_shape(spec, self.T, B, spec.input_size)).astype(dtype)
        h0 = draw_state(spec, rng, B, dtype) if self.with_h0 else None
        lengths = rng.integers(1, self.T + 1, size=self.B) if self.with_lengths else None
        targets = draw_targets(spec, rng, self.loss, self.T, B, dtype)
        dys = rng.normal(size=sequence_shape(spec, self.T, B, output_features(spec))).astype(dtype)
        dstate = draw_state(spec, rng, B, dtype)
        masks = (draw_masks(spec, rng, self.T, B, spec.dropout, dtype) if self.with_dropout
                 else None)
        return dict(params=params, xs=xs, h0=h0, lengths=lengths, targets=targets, dys=dys,
                    dstate=dstate, masks=masks)

    def layout(self, features=None):
        return sequence_shape(self.spec, self.T, None if self.unbatched else self.B, features)


@st.composite
def specs(draw, cells=("rnn", "lstm", "gru"), max_layers=3, max_size=8):
    cell = draw(st.sampled_from(cells))
    size = st.integers(1, max_size)
    hidden = draw(size)
    layers = draw(st.integers(1, max_layers))
    return mr.Spec(
        cell=cell, input_size=draw(size), hidden_size=hidden,
        output_size=draw(st.one_of(size, st.none())),
        num_layers=layers, bidirectional=draw(st.booleans()),
        nonlinearity=draw(st.sampled_from(("tanh", "relu", "sigmoid"))) if cell == "rnn"
        else "tanh",
        bias=draw(st.booleans()), batch_first=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0,
        dropout=draw(st.sampled_from((0.0, 0.2, 0.5, 0.8))) if layers > 1 else 0.0,
        reset_after=draw(st.booleans()) if cell == "gru" else True)


@st.composite
def cases(draw, cells=("rnn", "lstm", "gru"), max_layers=3, max_T=12, max_B=4,
          losses=("mse", "cross_entropy"), dropout=True):
    """with_dropout cases train with masks drawn by `draw_masks` (when the spec has dropout)."""
    spec = draw(specs(cells, max_layers))
    B = draw(st.integers(1, max_B))
    unbatched = B == 1 and draw(st.booleans())
    return Case(spec=spec, T=draw(st.integers(1, max_T)), B=B, unbatched=unbatched,
                with_h0=draw(st.booleans()),
                with_lengths=not unbatched and draw(st.booleans()),
                loss=draw(st.sampled_from(losses)),
                seed=draw(st.integers(0, 2**32 - 1)),
                with_dropout=dropout and spec.dropout > 0 and draw(st.booleans()))


def flatten_state(prefix, state):
    """{"h0": ..} or {"h0[0]": h, "h0[1]": c}: states as named arrays for comparisons."""
    if isinstance(state, tuple):
        return {f"{prefix}[{i}]": s for i, s in enumerate(state)}
    return {prefix: state}
