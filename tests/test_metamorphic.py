"""Properties the manual code must have on its own, whatever the twin says.

- A batch's loss and gradients are the mean of its sequences' own.
- A sequence of length l padded to T gives what the truncated sequence gives alone.
- backward is linear in the upstream gradients (dys, dstate).
- Dropout masks scale exactly the inputs of the layers above the first.
"""
import dataclasses

import numpy as np
from hypothesis import given, strategies as st

import manual_rnn as mr
from manual_rnn.model import backprop
from cases import Case, cases
from helpers import as_dict, assert_allclose, assert_dicts_close, state_parts

RTOL, ATOL = 1e-10, 1e-12


def one_sequence(case, a, b, steps=None):
    """Sequence b of a batched case, alone, as a batch of one, optionally cut to `steps`."""
    steps = case.T if steps is None else steps
    tb = case.spec.batch_first
    def pick(x):
        x = np.take(x, [b], axis=0 if tb else 1)
        return x[:, :steps] if tb else x[:steps]
    def pick_state(s):
        return None if s is None else (tuple(p[:, [b]] for p in s) if isinstance(s, tuple)
                                       else s[:, [b]])
    return pick(a["xs"]), pick(a["targets"]), pick_state(a["h0"])


@given(cases(dropout=False))
def test_batch_is_the_mean_of_its_sequences(case):
    if case.unbatched:
        case = Case(**{**case.__dict__, "unbatched": False})
    a = case.arrays()
    lengths = a["lengths"]
    value, grads, dxs, dh0 = mr.loss_and_grad(case.spec, a["params"], a["xs"], a["targets"],
                                               case.loss, a["h0"], lengths, full=True)[:4]
    per_value, per_grads = 0.0, {k: 0.0 for k in grads}
    for b in range(case.B):
        xs, targets, h0 = one_sequence(case, a, b)
        lb = None if lengths is None else lengths[[b]]
        v, g, dx, d0 = mr.loss_and_grad(case.spec, a["params"], xs, targets, case.loss, h0, lb, full=True)[:4]
        per_value += v / case.B
        per_grads = {k: per_grads[k] + g[k] / case.B for k in g}
        # Sequence b's own input and initial-state gradients, scaled by the batch mean's 1/B.
        assert_allclose(np.take(dxs, [b], axis=0 if case.spec.batch_first else 1),
                                   dx / case.B, rtol=RTOL, atol=ATOL)
        for part, own in zip(state_parts(dh0), state_parts(d0)):
            assert_allclose(part[:, [b]], own / case.B, rtol=RTOL, atol=ATOL)
    assert_allclose(value, per_value, rtol=RTOL, atol=ATOL)
    assert_dicts_close(grads, per_grads, RTOL, ATOL)


@given(cases(dropout=False))
def test_padding_equals_the_truncated_sequence(case):
    if case.unbatched or not case.with_lengths:
        case = Case(**{**case.__dict__, "unbatched": False, "with_lengths": True})
    a = case.arrays()
    spec, lengths = case.spec, a["lengths"]
    tb = spec.batch_first
    ys, state, _ = mr.forward(spec, a["params"], a["xs"], a["h0"], lengths)
    _, grads, dxs, dh0 = mr.loss_and_grad(spec, a["params"], a["xs"], a["targets"], case.loss,
                                           a["h0"], lengths, full=True)[:4]
    states = state_parts(state)
    for b in range(case.B):
        length = int(lengths[b])
        xs, targets, h0 = one_sequence(case, a, b, steps=length)
        ys_b, state_b, _ = mr.forward(spec, a["params"], xs, h0)
        mine = np.take(ys, [b], axis=0 if tb else 1)
        mine_valid, mine_pad = (mine[:, :length], mine[:, length:]) if tb else (
            mine[:length], mine[length:])
        assert_allclose(mine_valid, ys_b, rtol=RTOL, atol=ATOL)
        assert np.all(mine_pad == 0)
        for s, s_b in zip(states, state_parts(state_b)):
            assert_allclose(s[:, [b]], s_b, rtol=RTOL, atol=ATOL)
        dx = np.take(dxs, [b], axis=0 if tb else 1)
        assert np.all((dx[:, length:] if tb else dx[length:]) == 0)
    # The batch's gradient is the mean of the truncated sequences' gradients.
    mean = {k: 0.0 for k in grads}
    for b in range(case.B):
        xs, targets, h0 = one_sequence(case, a, b, steps=int(lengths[b]))
        _, g = mr.loss_and_grad(spec, a["params"], xs, targets, case.loss, h0)
        mean = {k: mean[k] + g[k] / case.B for k in g}
    assert_dicts_close(grads, mean, RTOL, ATOL)


@given(cases())
def test_backward_is_linear_in_upstream_gradients(case):
    a = case.arrays()
    spec = case.spec
    _, _, cache = mr.forward(spec, a["params"], a["xs"], a["h0"], a["lengths"], a["masks"])
    rng = np.random.default_rng(case.seed)
    dys2 = rng.normal(size=a["dys"].shape)
    dstate2 = (tuple(rng.normal(size=s.shape) for s in a["dstate"])
               if isinstance(a["dstate"], tuple) else rng.normal(size=a["dstate"].shape))
    alpha, beta = 0.7, -1.3
    combine = lambda x, y: (tuple(alpha * p + beta * q for p, q in zip(x, y))
                            if isinstance(x, tuple) else alpha * x + beta * y)
    one = as_dict(*mr.backward(spec, a["params"], cache, a["dys"], a["dstate"]))
    two = as_dict(*mr.backward(spec, a["params"], cache, dys2, dstate2))
    both = as_dict(*mr.backward(spec, a["params"], cache, combine(a["dys"], dys2),
                                combine(a["dstate"], dstate2)))
    assert_dicts_close(both, {k: alpha * one[k] + beta * two[k] for k in one}, 1e-9, 1e-11)


@given(cases(), st.integers(1, 13))
def test_checkpointed_bptt_gives_the_same_gradients(case, every):
    """Recomputing each segment's cache in the backward pass changes only the order of sums."""
    a = case.arrays()
    args = (case.spec, a["params"], a["xs"], a["targets"], case.loss, a["h0"], a["lengths"],
            a["masks"])
    plain = as_dict(*mr.loss_and_grad(*args, full=True)[:4][1:])
    value, grads, dxs, dh0 = mr.loss_and_grad(*args, checkpoint_every=every, full=True)[:4]
    assert_allclose(value, mr.loss_and_grad(*args, full=True)[:4][0], rtol=1e-13)
    assert_dicts_close(as_dict(grads, dxs, dh0), plain, 1e-11, 1e-13)
    ys, state, cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"],
                                  a["masks"], checkpoint_every=every)
    one = as_dict(*mr.backward(case.spec, a["params"], cache, a["dys"], a["dstate"]))
    _, _, plain_cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"],
                                   a["masks"])
    two = as_dict(*mr.backward(case.spec, a["params"], plain_cache, a["dys"], a["dstate"]))
    assert_dicts_close(one, two, 1e-11, 1e-13)
    # the gradient reaching each step's state, joined back from the segments in time order
    dys = cache["layout"].to_time_major(np.asarray(a["dys"]))
    per_step = [backprop(case.spec, a["params"], c, dys, None, keep_step_grads=True)[3]
                for c in (cache, plain_cache)]
    assert per_step[0].keys() == per_step[1].keys()
    for name, parts in per_step[1].items():
        for part, checkpointed in zip(parts, per_step[0][name]):
            assert_allclose(checkpointed, part, rtol=1e-11, atol=1e-13, err_msg=name)


@given(cases(), st.integers(1, 13))
def test_checkpointing_keeps_only_the_segment_starts(case, every):
    """With checkpoint_every=k each direction keeps ceil(T/k) segment-start states and no cell
    cache (backward recomputes them); without it, one segment with its cache."""
    a = case.arrays()
    for k, expected_segments in ((every, -(-case.T // every)), (None, 1)):
        _, _, cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"],
                                 a["masks"], checkpoint_every=k)
        layers, *_ = cache["stack"]
        for _, directions in layers:
            for _, _, saved in directions:
                assert len(saved) == expected_segments
                assert all((cell_cache is None) == (k is not None) for _, _, cell_cache in saved)


@given(cases(losses=("mse",)))
def test_loss_and_grad_runs_the_network_it_is_given(case):
    """loss_and_grad passes dropout masks and checkpointing on to the forward pass: its loss is
    the loss of forward's ys with those masks, and layers.forward sees checkpoint_every."""
    import manual_rnn.layers as layers
    from manual_rnn.model import loss_and_grad

    a = case.arrays()
    ys, state, _ = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"], a["masks"])
    per_step = 0.5 * np.sum((ys - a["targets"]) ** 2, axis=-1)
    if a["lengths"] is not None:
        valid = np.arange(case.T)[:, None] < a["lengths"]
        per_step = per_step * (valid.T if case.spec.batch_first else valid)
    expected = per_step.sum() / (1 if case.unbatched else case.B)
    value, *_, final = loss_and_grad(case.spec, a["params"], a["xs"], a["targets"],
                                            h0=a["h0"], lengths=a["lengths"],
                                            dropout_masks=a["masks"], full=True)
    assert_allclose(value, expected, rtol=1e-12)
    for s, f in zip(state_parts(state), state_parts(final)):
        np.testing.assert_array_equal(s, f)
    seen = []
    original = layers.forward

    def spy(*args):
        seen.append(args[-1])
        return original(*args)

    layers.forward = spy
    try:
        mr.loss_and_grad(case.spec, a["params"], a["xs"], a["targets"], "mse", a["h0"],
                          a["lengths"], a["masks"], checkpoint_every=3, full=True)[:4]
    finally:
        layers.forward = original
    assert seen == [3]


@given(cases(losses=("mse",)).filter(lambda c: c.spec.num_layers > 1))
def test_dropout_masks_scale_the_inputs_of_deeper_layers(case):
    """All-zero masks cut every layer above the first off from the one below: the same as no
    masks with the weights from below (weight_ih of layers > 0) set to zero."""
    a = case.arrays()
    dropping = dataclasses.replace(case.spec, dropout=0.5)
    zeros = [np.zeros_like(m) for m in mr.dropout_masks(dropping, a["xs"], seed=0)]
    cut = {k: (np.zeros_like(v) if k.startswith("weight_ih_l") and not k.startswith("weight_ih_l0")
               else v) for k, v in a["params"].items()}
    masked = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"], zeros)[0]
    expected = mr.forward(case.spec, cut, a["xs"], a["h0"], a["lengths"])[0]
    assert_allclose(masked, expected, rtol=RTOL, atol=ATOL)
    ones = [np.ones_like(m) for m in zeros]
    plain = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"])[0]
    assert_allclose(mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"],
                                          ones)[0], plain, rtol=RTOL, atol=ATOL)
