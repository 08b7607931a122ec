"""Random networks and data for the property tests, drawn by Hypothesis.

A `Case` is small and printable (spec, shapes, a seed); its arrays come from
np.random.default_rng(seed), so a failing example's printout reproduces it exactly.
"""
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import manual_rnn as mr


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
        """params, xs, h0, lengths, targets, and upstream gradients dys / dstate."""
        rng = np.random.default_rng(self.seed)
        spec = self.spec
        params = mr.init_params(spec, seed=self.seed, dtype=dtype)
        # Scale weights up from PyTorch's small init so every gate saturates somewhere and
        # every term of the backward pass carries weight in the comparison.
        params = {k: (v * 2).astype(dtype) for k, v in params.items()}
        xs = rng.normal(size=self.layout(spec.input_size)).astype(dtype)
        rows = spec.num_layers * spec.num_directions
        state_shapes = [(rows, spec.state_size)]
        if spec.cell == "lstm":
            state_shapes.append((rows, spec.hidden_size))
        if not self.unbatched:
            state_shapes = [(r, self.B, f) for r, f in state_shapes]
        state = [rng.normal(size=s).astype(dtype) for s in state_shapes]
        h0 = (tuple(state) if spec.cell == "lstm" else state[0]) if self.with_h0 else None
        lengths = rng.integers(1, self.T + 1, size=self.B) if self.with_lengths else None
        if self.loss == "mse":
            targets = rng.normal(size=self.layout(spec.output_size)).astype(dtype)
        else:
            targets = rng.integers(0, spec.output_size, size=self.layout())
        dys = rng.normal(size=self.layout(spec.output_size)).astype(dtype)
        dstate = [rng.normal(size=s).astype(dtype) for s in state_shapes]
        dstate = tuple(dstate) if spec.cell == "lstm" else dstate[0]
        masks = mr.dropout_masks(spec, xs, self.seed) if self.with_dropout else None
        return dict(params=params, xs=xs, h0=h0, lengths=lengths, targets=targets, dys=dys,
                    dstate=dstate, masks=masks)

    def layout(self, features=None):
        shape = (self.T,) if self.unbatched else (
            (self.B, self.T) if self.spec.batch_first else (self.T, self.B))
        return shape if features is None else shape + (features,)


@st.composite
def specs(draw, cells=("rnn", "lstm", "gru"), max_layers=3, max_size=8):
    cell = draw(st.sampled_from(cells))
    size = st.integers(1, max_size)
    hidden = draw(size)
    layers = draw(st.integers(1, max_layers))
    return mr.Spec(
        cell=cell, input_size=draw(size), hidden_size=hidden, output_size=draw(size),
        num_layers=layers, bidirectional=draw(st.booleans()),
        nonlinearity=draw(st.sampled_from(("tanh", "relu", "sigmoid"))) if cell == "rnn"
        else "tanh",
        bias=draw(st.booleans()), batch_first=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0,
        dropout=draw(st.sampled_from((0.0, 0.5))) if layers > 1 else 0.0)


@st.composite
def cases(draw, cells=("rnn", "lstm", "gru"), max_layers=3, max_T=12, max_B=4,
          losses=("mse", "cross_entropy"), dropout=True):
    """with_dropout cases train with masks from mr.dropout_masks (when the spec has dropout)."""
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
