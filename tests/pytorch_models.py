"""PyTorch's nn.RNN / nn.LSTM / nn.GRU + nn.Linear as the ground truth of the semantics, for
tests/test_torch.py (manual_rnn against PyTorch) and tests/test_reference_vs_torch.py (the twin
against PyTorch). Imports no JAX, so the PyTorch checks of manual_rnn run without it."""
import numpy as np
import torch
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers import assert_allclose
from manual_rnn.spec import Spec

TORCH_CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


# ---- PyTorch side -------------------------------------------------------------------------------

def torch_rnn(spec, num_layers=None, input_size=None):
    kwargs = dict(input_size=input_size or spec.input_size, hidden_size=spec.hidden_size,
                  num_layers=num_layers or spec.num_layers, bias=spec.bias,
                  batch_first=spec.batch_first, bidirectional=spec.bidirectional)
    if spec.cell == "rnn":
        kwargs["nonlinearity"] = spec.nonlinearity
    if spec.proj_size:
        kwargs["proj_size"] = spec.proj_size
    return TORCH_CELLS[spec.cell](**kwargs).double()


def torch_model(spec, seed):
    """A fresh PyTorch network and head, and the same weights as a twin params dict."""
    torch.manual_seed(seed)
    rnn = torch_rnn(spec)
    head = torch.nn.Linear(spec.num_directions * spec.state_size, spec.output_size).double()
    params = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    params |= {"head." + k: v.detach().numpy() for k, v in head.state_dict().items()}
    return rnn, head, params


def valid_mask(spec, lengths, T):
    """(T, B) or (B, T) float mask of the steps that exist."""
    mask = (torch.arange(T)[:, None] < torch.as_tensor(lengths)[None, :]).double()
    return mask.T if spec.batch_first else mask


def run_rnn(spec, rnn, xs, h0, lengths):
    """PyTorch forward through packed sequences when lengths are given; padded outputs are 0."""
    if lengths is None:
        return rnn(xs, h0)
    T = xs.shape[1 if spec.batch_first else 0]
    packed = pack_padded_sequence(xs, torch.as_tensor(lengths), batch_first=spec.batch_first,
                                  enforce_sorted=False)
    out, state = rnn(packed, h0)
    out, _ = pad_packed_sequence(out, batch_first=spec.batch_first, total_length=T)
    return out, state


def torch_forward(spec, rnn, head, xs, h0, lengths):
    out, state = run_rnn(spec, rnn, xs, h0, lengths)
    ys = head(out)
    if lengths is not None:  # the twin reads out exactly 0 at padded steps, not the head bias
        ys = ys * valid_mask(spec, lengths, out.shape[1 if spec.batch_first else 0])[..., None]
    return ys, state


def to_torch(a, requires_grad=False):
    if a is None:
        return None
    if isinstance(a, tuple):
        return tuple(to_torch(x, requires_grad) for x in a)
    return torch.tensor(a, requires_grad=requires_grad)


# ---- random problems ----------------------------------------------------------------------------

@st.composite
def specs(draw):
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    hidden = draw(st.integers(1, 4))
    return Spec(
        cell, input_size=draw(st.integers(1, 3)), hidden_size=hidden,
        output_size=draw(st.integers(1, 3)), num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        nonlinearity=draw(st.sampled_from(["tanh", "relu"])) if cell == "rnn" else "tanh",
        bias=draw(st.booleans()), batch_first=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0)


def make_inputs(spec, rng, T, B, with_h0, with_lengths, dtype=np.float64):
    """xs, h0, lengths in the spec's layout; B=None means unbatched."""
    batch = () if B is None else (B,)
    shape = (T, *batch, spec.input_size)
    if B is not None and spec.batch_first:
        shape = (B, T, spec.input_size)
    xs = rng.normal(size=shape).astype(dtype)
    h0 = None
    if with_h0:
        LD = spec.num_layers * spec.num_directions
        h0 = rng.normal(size=(LD, *batch, spec.state_size)).astype(dtype)
        if spec.cell == "lstm":
            h0 = (h0, rng.normal(size=(LD, *batch, spec.hidden_size)).astype(dtype))
    lengths = None
    if with_lengths and B is not None:
        lengths = rng.integers(1, T + 1, size=B)
        lengths[rng.integers(B)] = T  # pad_packed_sequence's width is the longest sequence
    return xs, h0, lengths


def assert_state_close(state, expected, **tol):
    if isinstance(expected, tuple):
        assert isinstance(state, tuple) and len(state) == 2
        for s, e in zip(state, expected):
            assert_allclose(np.asarray(s), e.detach().numpy(), **tol)
    else:
        assert_allclose(np.asarray(state), expected.detach().numpy(), **tol)


def torch_loss(spec, ys, targets, lengths, loss):
    """The twin's loss written in PyTorch: (1/B) * sum over valid steps."""
    unbatched = ys.dim() == 2
    B = 1 if unbatched else ys.shape[0 if spec.batch_first else 1]
    if loss == "mse":
        per_step = 0.5 * ((ys - targets) ** 2).sum(-1)
    else:
        log_p = torch.log_softmax(ys, dim=-1)
        per_step = -log_p.gather(-1, targets[..., None]).squeeze(-1)
    if lengths is not None:
        per_step = per_step * valid_mask(spec, lengths, per_step.shape[1 if spec.batch_first else 0])
    return per_step.sum() / B
