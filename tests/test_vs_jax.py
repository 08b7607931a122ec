"""Every gradient of the hand-written backward pass equals jax.grad of the independent twin.

Float64 comparisons are tight: both sides compute the same sums in a different order, so they
agree to a few hundred ulps (rtol 1e-9). Float32 is compared with the float64 result instead,
in test_float32.py.
"""
import jax
import numpy as np
from hypothesis import given, note, settings

import manual_rnn as mr
import manual_rnn_reference as ref
from cases import cases
from conftest import TWIN_EXAMPLES
from helpers import as_dict, assert_dicts_close

jax.config.update("jax_enable_x64", True)

RTOL, ATOL = 1e-9, 1e-11


def zeros_like_state(state):
    return tuple(np.zeros_like(s) for s in state) if isinstance(state, tuple) else np.zeros_like(state)


@settings(max_examples=TWIN_EXAMPLES)
@given(cases())
def test_loss_and_every_gradient_match_twin(case):
    a = case.arrays()
    note(f"lengths={a['lengths']}")
    args = (case.spec, a["params"], a["xs"], a["targets"], case.loss, a["h0"], a["lengths"],
            a["masks"])
    value, grads, dxs, dh0 = mr.loss_and_grad(*args, full=True)[:4]
    ref_value, ref_grads, ref_dxs, ref_dh0 = ref.loss_and_grads(*args)
    np.testing.assert_allclose(value, ref_value, rtol=RTOL, atol=ATOL)
    assert_dicts_close(as_dict(grads, dxs, dh0), as_dict(ref_grads, ref_dxs, ref_dh0),
                       RTOL, ATOL)


@settings(max_examples=TWIN_EXAMPLES)
@given(cases())
def test_forward_and_backward_match_twin_vjp(case):
    """backward(dys, dstate) is the vector-Jacobian product of forward, state gradient included."""
    a = case.arrays()
    spec, params, xs, lengths = case.spec, a["params"], a["xs"], a["lengths"]
    ys, state, cache = mr.forward(spec, params, xs, a["h0"], lengths, a["masks"])
    h0 = a["h0"] if a["h0"] is not None else zeros_like_state(state)

    @jax.jit   # forward and its transpose as one compiled program: half the compile time
    def twin_vjp(p, x, h, cotangents):
        outputs, vjp = jax.vjp(lambda p, x, h: ref.forward(spec, p, x, h, lengths, a["masks"]),
                               p, x, h)
        return outputs, vjp(cotangents)

    (ref_ys, ref_state), (ref_grads, ref_dxs, ref_dh0) = twin_vjp(params, xs, h0,
                                                                  (a["dys"], a["dstate"]))
    np.testing.assert_allclose(ys, ref_ys, rtol=RTOL, atol=ATOL)
    assert_dicts_close({"state": state} if not isinstance(state, tuple) else dict(enumerate(state)),
                       {"state": ref_state} if not isinstance(state, tuple) else dict(enumerate(ref_state)),
                       RTOL, ATOL, "state ")
    grads, dxs, dh0 = mr.backward(spec, params, cache, a["dys"], a["dstate"])
    assert_dicts_close(as_dict(grads, dxs, dh0), as_dict(ref_grads, ref_dxs, tuple(ref_dh0)
                       if isinstance(ref_dh0, (tuple, list)) else ref_dh0), RTOL, ATOL)
