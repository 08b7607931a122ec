"""Every gradient of the hand-written backward pass equals jax.grad of the independent twin.

Float64 comparisons are tight: both sides compute the same sums in a different order, so they
agree to a few hundred ulps (rtol 1e-9). Float32 is compared with the float64 result instead;
see test_float32_matches_float64 for its tolerance.
"""
import jax
import numpy as np
from hypothesis import given, note, settings

import manual_rnn as mr
import reference as ref
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
    value, grads, dxs, dh0 = mr.loss_and_grads(*args)
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


@given(cases())
def test_float32_matches_float64(case):
    """Float32 runs in float32 throughout and agrees with float64 to float32 accuracy.

    Tolerance: unit round-off is 6e-8; T <= 12 steps through <= 3 layers with weights at twice
    PyTorch's init amplify it by up to ~1e3 (the product of the step Jacobians), so we allow
    1e-4 relative to each gradient's scale. ReLU is compared only away from its kink: a
    pre-activation within float32 round-off of 0 flips its derivative, a true difference.
    """
    a64, a32 = case.arrays(np.float64), case.arrays(np.float32)
    args = lambda a: (case.spec, a["params"], a["xs"], a["targets"], case.loss, a["h0"],
                      a["lengths"], a["masks"])
    v64, g64, dx64, dh64 = mr.loss_and_grads(*args(a64))
    v32, g32, dx32, dh32 = mr.loss_and_grads(*args(a32))
    full64, full32 = as_dict(g64, dx64, dh64), as_dict(g32, dx32, dh32)
    assert v32.dtype == np.float32 and all(g.dtype == np.float32 for g in full32.values())
    if case.spec.nonlinearity == "relu":
        ys64 = mr.forward(case.spec, a64["params"], a64["xs"], a64["h0"], a64["lengths"])[0]
        ys32 = mr.forward(case.spec, a32["params"], a32["xs"], a32["h0"], a32["lengths"])[0]
        np.testing.assert_allclose(ys32, ys64, rtol=1e-3, atol=1e-4)
        return
    np.testing.assert_allclose(v32, v64, rtol=1e-4)
    for key, g in full64.items():
        scale = max(1.0, float(np.abs(g).max(initial=0)))
        np.testing.assert_allclose(full32[key], g, rtol=1e-3, atol=1e-4 * scale, err_msg=key)
