"""manual_rnn against PyTorch itself: weights loaded from state_dict() by a dict comprehension
give the same outputs, final states and gradients as nn.RNN / nn.LSTM / nn.GRU + nn.Linear
with autograd (packed sequences for lengths)."""
import numpy as np

from helpers import assert_allclose, ground_truth

torch = ground_truth("torch", "the checks against PyTorch")

from hypothesis import given, settings, strategies as st  # noqa: E402

import manual_rnn as mr  # noqa: E402
from conftest import examples  # noqa: E402
from pytorch_models import (assert_state_close, make_inputs, specs,  # noqa: E402
                                     to_torch, torch_forward, torch_loss, torch_model)

TOL64 = dict(rtol=1e-10, atol=1e-12)


@settings(max_examples=examples(25))
@given(spec=specs(), T=st.integers(1, 6), B=st.one_of(st.none(), st.integers(1, 3)),
       with_h0=st.booleans(), with_lengths=st.booleans(), loss=st.sampled_from(["mse", "cross_entropy"]),
       seed=st.integers(0, 2**16))
def test_outputs_states_and_gradients_equal_pytorch(spec, T, B, with_h0, with_lengths, loss, seed):
    rnn, head, params = torch_model(spec, seed)
    rng = np.random.default_rng(seed)
    xs, h0, lengths = make_inputs(spec, rng, T, B, with_h0, with_lengths)
    ys, state, _ = mr.forward(spec, params, xs, h0, lengths)
    targets = (rng.normal(size=ys.shape) if loss == "mse"
               else rng.integers(0, spec.output_size, size=ys.shape[:-1]))
    value, grads, dxs, dh0 = mr.loss_and_grad(spec, params, xs, targets, loss, h0, lengths, full=True)[:4]

    zero_h0 = tuple(np.zeros_like(s) for s in state) if spec.cell == "lstm" else np.zeros_like(state)
    h0_t = to_torch(zero_h0 if h0 is None else h0, True)
    xs_t = to_torch(xs, True)
    ys_t, state_t = torch_forward(spec, rnn, head, xs_t, h0_t, lengths)
    assert_allclose(ys, ys_t.detach().numpy(), **TOL64)
    assert_state_close(state, state_t, **TOL64)

    value_t = torch_loss(spec, ys_t, torch.from_numpy(targets), lengths, loss)
    value_t.backward()
    assert_allclose(value, value_t.item(), **TOL64)
    expected = {n: p.grad for n, p in rnn.named_parameters()}
    expected |= {"head." + n: p.grad for n, p in head.named_parameters()}
    assert list(grads) == list(params) and set(grads) == set(expected)
    for name, grad in expected.items():
        assert_allclose(grads[name], grad.numpy(), **TOL64, err_msg=name)
    assert_allclose(dxs, xs_t.grad.numpy(), **TOL64)
    for d, d_t in zip(dh0 if spec.cell == "lstm" else (dh0,),
                      h0_t if spec.cell == "lstm" else (h0_t,)):
        assert_allclose(d, d_t.grad.numpy(), **TOL64)
