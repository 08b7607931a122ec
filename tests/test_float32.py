"""Float32 runs in float32 throughout and agrees with float64 to float32 accuracy."""
import numpy as np
from hypothesis import given

import manual_rnn as mr
from cases import cases
from helpers import as_dict


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
    v64, g64, dx64, dh64 = mr.loss_and_grad(*args(a64), full=True)[:4]
    v32, g32, dx32, dh32 = mr.loss_and_grad(*args(a32), full=True)[:4]
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


@given(cases())
def test_public_backward_keeps_float32(case):
    """backward(dys, dstate) of a float32 model returns float32, whatever dtype dys comes in."""
    a = case.arrays(np.float32)
    _, _, cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"], a["masks"])
    dstate = (tuple(d.astype(np.float64) for d in a["dstate"]) if isinstance(a["dstate"], tuple)
              else a["dstate"].astype(np.float64))
    grads, dxs, dh0 = mr.backward(case.spec, a["params"], cache, a["dys"].astype(np.float64),
                                  dstate)
    assert all(g.dtype == np.float32 for g in as_dict(grads, dxs, dh0).values())


def test_float32_with_a_loss_mask_stays_float32():
    spec = mr.Spec(cell="gru", input_size=2, hidden_size=3, output_size=1)
    params = mr.init_params(spec, dtype=np.float32)
    xs = np.ones((4, 2, 2), np.float32)
    mask = np.zeros((4, 2))
    mask[-1] = 1
    value, grads, dxs, dh0 = mr.loss_and_grad(spec, params, xs, np.zeros((4, 2, 1)),
                                               loss_mask=mask, full=True)[:4]
    assert value.dtype == np.float32
    assert all(g.dtype == np.float32 for g in as_dict(grads, dxs, dh0).values())


def arrays_in(tree):
    """Every ndarray in a nest of tuples, lists and dicts."""
    if isinstance(tree, np.ndarray):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from arrays_in(value)
    elif isinstance(tree, (tuple, list)):
        for value in tree:
            yield from arrays_in(value)


@given(cases())
def test_float32_cache_holds_only_float32(case):
    """Everything the forward pass keeps for the backward pass is float32 in a float32 model
    (a float64 array there doubles its memory and is a sign of a lost dtype= somewhere)."""
    a = case.arrays(np.float32)
    _, _, cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"], a["masks"])
    kept = [x for x in arrays_in(cache) if np.issubdtype(x.dtype, np.floating)]
    assert kept and all(x.dtype == np.float32 for x in kept), {x.dtype for x in kept}
