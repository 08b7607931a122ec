"""Float32 runs in float32 throughout and agrees with float64 to float32 accuracy."""
import numpy as np
from hypothesis import assume, given

import manual_rnn as mr
from cases import cases
from helpers import as_dict, assert_allclose


@given(cases())
def test_float32_matches_float64(case):
    """Float32 runs in float32 throughout and agrees with float64 to float32 accuracy.

    Tolerance: unit round-off is 6e-8; T <= 12 steps through <= 3 layers with weights at twice
    PyTorch's init amplify it by up to ~1e3 (the product of the step Jacobians), so we allow
    1e-3 relative plus 1e-4 of each gradient's scale. ReLU networks are compared only away from
    the kink: a pre-activation within float32 round-off of 0 takes the other side of the kink
    in float32, which is a true difference of the two computations, not an error. So for ReLU
    the float64 gradients are also taken at two points a relative 1e-5 (170 float32 ulps)
    to either side along a random direction; if they differ by more than half the
    tolerance, a kink is within reach and the draw is rejected, never loosened.
    """
    a64, a32 = case.arrays(np.float64), case.arrays(np.float32)
    args = lambda a: (case.spec, a["params"], a["xs"], a["targets"], case.loss, a["h0"],
                      a["lengths"], a["masks"])
    v64, g64, dx64, dh64 = mr.loss_and_grad(*args(a64), full=True)[:4]
    v32, g32, dx32, dh32 = mr.loss_and_grad(*args(a32), full=True)[:4]
    full64, full32 = as_dict(g64, dx64, dh64), as_dict(g32, dx32, dh32)
    assert v32.dtype == np.float32 and all(g.dtype == np.float32 for g in full32.values())
    bound = {key: 1e-4 * max(1.0, float(np.abs(g).max(initial=0))) + 1e-3 * np.abs(g)
             for key, g in full64.items()}
    if case.spec.nonlinearity == "relu":
        rng = np.random.default_rng(case.seed + 3)
        signs = lambda x: rng.choice([-1.0, 1.0], size=np.shape(x))
        along = {"xs": signs(a64["xs"]), **{k: signs(v) for k, v in a64["params"].items()}}

        def gradients_at(sign):
            moved = dict(a64, xs=a64["xs"] * (1 + sign * 1e-5 * along["xs"]),
                         params={k: v * (1 + sign * 1e-5 * along[k])
                                 for k, v in a64["params"].items()})
            return as_dict(*mr.loss_and_grad(*args(moved), full=True)[1:4])

        plus, minus = gradients_at(1), gradients_at(-1)
        assume(all(np.all(np.abs(plus[k] - minus[k]) <= bound[k] / 2) for k in full64))
    assert_allclose(v32, v64, rtol=1e-4, err_msg="loss")
    for key, g in full64.items():
        diff = np.abs(full32[key].astype(np.float64) - g)
        assert np.all(np.isfinite(full32[key])) and np.all(np.isfinite(g)), key
        assert np.all(diff <= bound[key]), (key, float(np.max(diff - bound[key])))


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
