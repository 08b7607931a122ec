"""manual_rnn.verify.layouts: every layout converts exactly both ways, and a forward pass written
here from each source's own equations, in its own parameter and data layout (sharing no code
with manual_rnn), gives what mr.forward gives on the converted parameters and data. That is
what proves the gate orders, transposes and data axes right."""
import dataclasses
from functools import partial

import numpy as np
import pytest
from hypothesis import given, strategies as st

import manual_rnn as mr
from manual_rnn.verify import layouts
from manual_rnn.verify.layouts import DATA_LAYOUTS, LAYOUTS

# float64 throughout the comparisons; atol for entries near 0, where the sources' and
# manual_rnn's different orders of summation leave a few ulps of 1.
TOL = dict(rtol=1e-12, atol=1e-13)
SINGLE_BIAS = [name for name, a in LAYOUTS.items() if a.single_bias]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- each source's forward pass, from its own equations, in its own layout ------------------

def cs231n_rnn(p, x, h0):
    """rnn_forward: x (N, T, D), h0 (N, H) -> h (N, T, H) and the last h."""
    N, T, _ = x.shape
    h, prev_h = np.zeros((N, T, h0.shape[1])), h0
    for t in range(T):
        prev_h = np.tanh(x[:, t, :].dot(p["Wx"]) + prev_h.dot(p["Wh"]) + p["b"])
        h[:, t, :] = prev_h
    return h, prev_h


def cs231n_lstm(p, x, state):
    """lstm_forward over lstm_step_forward (gates i, f, o, g), from state (h0, c0), each (N, H)."""
    (prev_h, prev_c), (N, T, _) = state, x.shape
    H = prev_h.shape[1]
    h = np.zeros((N, T, H))
    for t in range(T):
        a = x[:, t, :].dot(p["Wx"]) + prev_h.dot(p["Wh"]) + p["b"]
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
        g = np.tanh(a[:, 3 * H:])
        prev_c = f * prev_c + i * g
        prev_h = o * np.tanh(prev_c)
        h[:, t, :] = prev_h
    return h, (prev_h, prev_c)


def deeplearning_ai_rnn(p, x, a0):
    """rnn_forward: x (n_x, m, T_x), a0 (n_a, m) -> Wya a + by (n_y, m, T_x), the logits the
    softmax takes, and the last a."""
    n_x, m, T_x = x.shape
    y, a_next = np.zeros((p["Wya"].shape[0], m, T_x)), a0
    for t in range(T_x):
        a_next = np.tanh(np.dot(p["Waa"], a_next) + np.dot(p["Wax"], x[:, :, t]) + p["ba"])
        y[:, :, t] = np.dot(p["Wya"], a_next) + p["by"]
    return y, a_next


def deeplearning_ai_lstm(p, x, state):
    """lstm_forward over lstm_cell_forward, from state (a0, c0), each (n_a, m)."""
    (a_next, c_next), (_, m, T_x) = state, x.shape
    y = np.zeros((p["Wy"].shape[0], m, T_x))
    for t in range(T_x):
        concat = np.concatenate((a_next, x[:, :, t]))
        ft = sigmoid(np.dot(p["Wf"], concat) + p["bf"])
        it = sigmoid(np.dot(p["Wi"], concat) + p["bi"])
        cct = np.tanh(np.dot(p["Wc"], concat) + p["bc"])
        c_next = ft * c_next + it * cct
        ot = sigmoid(np.dot(p["Wo"], concat) + p["bo"])
        a_next = ot * np.tanh(c_next)
        y[:, :, t] = np.dot(p["Wy"], a_next) + p["by"]
    return y, (a_next, c_next)


def keras_simple_rnn(p, x, h):
    """SimpleRNN(return_sequences=True, return_state=True): x (batch, timesteps, features)."""
    bias, outputs = p.get("bias", 0), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ p["kernel"] + bias + h @ p["recurrent_kernel"])
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def keras_lstm(p, x, state):
    """LSTMCell.call (gates i, f, c, o), from initial_state [h, c]."""
    (h, c), u = state, state[0].shape[1]
    bias, outputs = p.get("bias", 0), []
    for t in range(x.shape[1]):
        z = x[:, t] @ p["kernel"] + h @ p["recurrent_kernel"] + bias
        z0, z1, z2, z3 = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        i, f = sigmoid(z0), sigmoid(z1)
        c = f * c + i * np.tanh(z2)
        o = sigmoid(z3)
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1), (h, c)


def keras_gru(p, x, h, reset_after):
    """GRUCell.call (gates z, r, h), implementation 1."""
    u, kernel, rk = h.shape[1], p["kernel"], p["recurrent_kernel"]
    input_bias, recurrent_bias = np.zeros(3 * u), np.zeros(3 * u)
    if "bias" in p:
        input_bias, recurrent_bias = (p["bias"][0], p["bias"][1]) if reset_after else (
            p["bias"], None)
    outputs = []
    for t in range(x.shape[1]):
        x_z = x[:, t] @ kernel[:, :u] + input_bias[:u]
        x_r = x[:, t] @ kernel[:, u:2 * u] + input_bias[u:2 * u]
        x_h = x[:, t] @ kernel[:, 2 * u:] + input_bias[2 * u:]
        recurrent_z, recurrent_r = h @ rk[:, :u], h @ rk[:, u:2 * u]
        if reset_after:
            recurrent_z = recurrent_z + recurrent_bias[:u]
            recurrent_r = recurrent_r + recurrent_bias[u:2 * u]
        z, r = sigmoid(x_z + recurrent_z), sigmoid(x_r + recurrent_r)
        if reset_after:
            recurrent_h = r * (h @ rk[:, 2 * u:] + recurrent_bias[2 * u:])
        else:
            recurrent_h = (r * h) @ rk[:, 2 * u:]
        hh = np.tanh(x_h + recurrent_h)
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def onnx(step, p, X, state):
    """The operator over X (seq_length, batch, input) in each direction (1 runs backward in
    time): Y (seq_length, num_directions, batch, hidden) and Y_h (, Y_c)."""
    W, R = p["W"], p["R"]
    D, GH, _ = W.shape
    B = p.get("B", np.zeros((D, 2 * GH)))
    parts = state if isinstance(state, tuple) else (state,)
    T = X.shape[0]
    Y = np.zeros((T, D, X.shape[1], R.shape[2]))
    last = []
    for d in range(D):
        s = tuple(part[d] for part in parts)
        for t in (range(T) if d == 0 else reversed(range(T))):
            s = step(X[t], s, W[d], R[d], B[d, :GH], B[d, GH:])
            Y[t, d] = s[0]
        last.append(s)
    final = tuple(np.stack([s[k] for s in last]) for k in range(len(parts)))
    return Y, final if isinstance(state, tuple) else final[0]


def onnx_rnn_step(Xt, s, W, R, Wb, Rb):
    return (np.tanh(Xt @ W.T + s[0] @ R.T + Wb + Rb),)


def onnx_lstm_step(Xt, s, W, R, Wb, Rb):
    """Blocks i, o, f, c; no peepholes."""
    (H, C), split = s, partial(np.split, indices_or_sections=4)
    (Wi, Wo, Wf, Wc), (Ri, Ro, Rf, Rc) = split(W), split(R)
    (Wbi, Wbo, Wbf, Wbc), (Rbi, Rbo, Rbf, Rbc) = split(Wb), split(Rb)
    it = sigmoid(Xt @ Wi.T + H @ Ri.T + Wbi + Rbi)
    ft = sigmoid(Xt @ Wf.T + H @ Rf.T + Wbf + Rbf)
    ct = np.tanh(Xt @ Wc.T + H @ Rc.T + Wbc + Rbc)
    C = ft * C + it * ct
    ot = sigmoid(Xt @ Wo.T + H @ Ro.T + Wbo + Rbo)
    return ot * np.tanh(C), C


def onnx_gru_step(Xt, s, W, R, Wb, Rb, linear_before_reset):
    """Blocks z, r, h."""
    (H,), split = s, partial(np.split, indices_or_sections=3)
    (Wz, Wr, Wh), (Rz, Rr, Rh) = split(W), split(R)
    (Wbz, Wbr, Wbh), (Rbz, Rbr, Rbh) = split(Wb), split(Rb)
    zt = sigmoid(Xt @ Wz.T + H @ Rz.T + Wbz + Rbz)
    rt = sigmoid(Xt @ Wr.T + H @ Rr.T + Wbr + Rbr)
    if linear_before_reset:
        ht = np.tanh(Xt @ Wh.T + rt * (H @ Rh.T + Rbh) + Wbh)
    else:
        ht = np.tanh(Xt @ Wh.T + (rt * H) @ Rh.T + Rbh + Wbh)
    return ((1 - zt) * ht + zt * H,)


def min_char_rnn(p, xs, hprev):
    """lossFun's forward pass over columns xs[t] (V, B) from hprev (H, B)."""
    hs, ys = {-1: hprev}, []
    for t in range(len(xs)):
        hs[t] = np.tanh(np.dot(p["Wxh"], xs[t]) + np.dot(p["Whh"], hs[t - 1]) + p["bh"])
        ys.append(np.dot(p["Why"], hs[t]) + p["by"])
    return ys, hs[len(xs) - 1]


def notebook_rnn(p, x_seq, h0):
    """forward_prop; its 1-D steps reshaped to columns, as the notebook does."""
    h, y = {-1: h0}, []
    for t in range(len(x_seq)):
        x_t = x_seq[t].reshape(-1, 1) if x_seq[t].ndim == 1 else x_seq[t]
        z = np.dot(p["wx"], x_t) + np.dot(p["wh"], h[t - 1]) + p["bx"]
        h[t] = sigmoid(z)
        y.append(np.dot(p["wo"], h[t]) + p["by"])
    return y, h[len(x_seq) - 1]


FORWARD = {
    "cs231n_rnn": cs231n_rnn, "cs231n_lstm": cs231n_lstm,
    "deeplearning_ai_rnn": deeplearning_ai_rnn, "deeplearning_ai_lstm": deeplearning_ai_lstm,
    "keras_simple_rnn": keras_simple_rnn, "keras_lstm": keras_lstm,
    "keras_gru": partial(keras_gru, reset_after=True),
    "keras_gru_reset_before": partial(keras_gru, reset_after=False),
    "onnx_rnn": partial(onnx, onnx_rnn_step), "onnx_lstm": partial(onnx, onnx_lstm_step),
    "onnx_gru": partial(onnx, partial(onnx_gru_step, linear_before_reset=0)),
    "onnx_gru_linear_before_reset": partial(onnx, partial(onnx_gru_step, linear_before_reset=1)),
    "min_char_rnn": min_char_rnn, "notebook_rnn": notebook_rnn,
}


def source_data(adapter, spec, rng, T, B):
    """An input sequence and an initial state drawn directly in the source's own data layout."""
    I, H, D = spec.input_size, spec.hidden_size, spec.num_directions
    x_shape, state_shape = {
        "batch_major": ((B, T, I), (B, H)),          # CS231n x (N, T, D), h0 (N, H); Keras
        "feature_batch_time": ((I, B, T), (H, B)),   # deeplearning.ai x (n_x, m, T_x), a0
        "columns": ((I, B), (H, B)),                 # one column block per step; hprev
        "onnx": ((T, B, I), (D, B, H)),              # X, initial_h
    }[adapter.data.name]
    if adapter.data.name == "columns":
        one = adapter.name == "notebook_rnn" and B == 1      # the notebook's 1-D steps
        x = [rng.normal(size=(I,) if one else x_shape) for _ in range(T)]
    else:
        x = rng.normal(size=x_shape)
    state = tuple(rng.normal(size=state_shape) for _ in spec.state_names)
    return x, state if len(state) == 2 else state[0]


# ---- helpers over nested structures (lists of steps, (h, c) pairs, dicts) ---------------------

def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [np.asarray(tree)]


def tree_map(f, tree, *others):
    if isinstance(tree, dict):
        return {k: tree_map(f, tree[k], *(o[k] for o in others)) for k in tree}
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(f, *items) for items in zip(tree, *others))
    return f(tree, *others)


def vdot(a, b):
    return sum(float(np.vdot(x, y)) for x, y in zip(leaves(a), leaves(b)))


def assert_close(actual, expected, what=""):
    actual, expected = leaves(actual), leaves(expected)
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        assert np.isfinite(a).all() and np.isfinite(e).all(), what
        assert a.shape == e.shape, f"{what}: shape {a.shape} vs {e.shape}"
        np.testing.assert_allclose(a, e, **TOL, err_msg=what)


def assert_identical(actual, expected, what=""):
    """Same structure, keys in the same order, same shapes, dtypes and values."""
    if isinstance(expected, dict):
        assert list(actual) == list(expected), what
    a_leaves, e_leaves = leaves(actual), leaves(expected)
    assert len(a_leaves) == len(e_leaves), what
    for a, e in zip(a_leaves, e_leaves):
        assert np.isfinite(a).all(), what
        assert (a.dtype, a.shape) == (e.dtype, e.shape), (what, a.dtype, a.shape, e.dtype, e.shape)
        assert np.array_equal(a, e), what


# ---- strategies ------------------------------------------------------------------------------

@st.composite
def problems(draw, name):
    """(adapter, spec, T, B, rng) for a network the layout can express."""
    adapter = LAYOUTS[name]
    spec = adapter.make_spec(
        input_size=draw(st.integers(1, 4)), hidden_size=draw(st.integers(1, 4)),
        output_size=draw(st.integers(1, 3)) if adapter.head else None,
        bidirectional=adapter.max_directions == 2 and draw(st.booleans()),
        bias=not adapter.bias_optional or draw(st.booleans()))
    T, B = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    return adapter, spec, T, B, np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def foreign_params(adapter, spec, rng, dtype=np.float64):
    return {k: rng.normal(scale=0.7, size=shape).astype(dtype)
            for k, shape in adapter.foreign_shapes(spec).items()}


def manual_params(adapter, spec, rng, dtype=np.float64):
    """Random parameters the layout can hold: bias_hh zero where it has one bias per gate."""
    params = {k: rng.normal(scale=0.7, size=shape).astype(dtype)
              for k, shape in mr.param_shapes(spec).items()}
    if adapter.single_bias:
        params = {k: np.zeros_like(v) if k.startswith("bias_hh") else v for k, v in params.items()}
    return params


names = pytest.mark.parametrize("name", list(LAYOUTS))


def test_every_layout_has_a_forward_pass_here_and_a_registered_data_layout():
    assert set(FORWARD) == set(LAYOUTS)
    for adapter in LAYOUTS.values():
        assert DATA_LAYOUTS[adapter.data.name] is adapter.data
        assert type(adapter).__doc__ and adapter.source


@names
def test_docstring_names_every_foreign_array(name):
    adapter = LAYOUTS[name]
    spec = adapter.make_spec(2, 3, 1 if adapter.head else None)
    for key in adapter.foreign_shapes(spec):
        assert key in type(adapter).__doc__, key


# ---- (a) round trips are exact ------------------------------------------------------------------

@names
@given(data=st.data())
def test_parameter_round_trips_are_exact_both_ways(name, data):
    adapter, spec, T, B, rng = data.draw(problems(name))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    foreign = foreign_params(adapter, spec, rng, dtype)
    got_spec, params = adapter.to_manual(foreign)
    assert got_spec == spec == adapter.spec(foreign)
    assert list(params) == list(mr.param_shapes(spec))
    assert all(v.dtype == dtype for v in params.values())
    if adapter.single_bias and spec.bias:
        assert all(not v.any() for k, v in params.items() if k.startswith("bias_hh"))
    assert_identical(adapter.from_manual(spec, params), foreign, f"{name}: foreign and back")

    params = manual_params(adapter, spec, rng, dtype)
    foreign = adapter.from_manual(spec, params)
    assert list(foreign) == list(adapter.foreign_shapes(spec))
    got_spec, back = adapter.to_manual(foreign)
    assert got_spec == spec
    assert_identical(back, params, f"{name}: manual and back")


@names
@given(data=st.data())
def test_data_round_trips_are_exact(name, data):
    """Sequences and states, the source's -> manual_rnn's -> the source's and the other way
    round, with manual_rnn's side time-major and batch_first."""
    adapter, spec, T, B, rng = data.draw(problems(name))
    layout = adapter.data
    x, state = source_data(adapter, spec, rng, T, B)
    if name == "notebook_rnn" and B == 1:                # its 1-D steps come back as (I, 1)
        x = [step[:, None] for step in x]
    y, _ = FORWARD[name](foreign_params(adapter, spec, rng), x, state)   # in the source's layout
    for spec_ in (spec, dataclasses.replace(spec, batch_first=True)):
        xs, ys = layout.inputs_to_manual(spec_, x), layout.outputs_to_manual(spec_, y)
        h = layout.state_to_manual(spec_, state)
        assert xs.shape == ((B, T) if spec_.batch_first else (T, B)) + (spec.input_size,)
        assert ys.shape == xs.shape[:2] + (spec.output_features,)
        assert_identical(layout.inputs_from_manual(spec_, xs), x)
        assert_identical(layout.outputs_from_manual(spec_, ys), y)
        assert_identical(layout.state_from_manual(spec_, h), state)
        xs, ys = rng.normal(size=xs.shape), rng.normal(size=ys.shape)
        h = tree_map(lambda a: rng.normal(size=a.shape), h)
        assert_identical(layout.inputs_to_manual(spec_, layout.inputs_from_manual(spec_, xs)), xs)
        assert_identical(layout.outputs_to_manual(spec_, layout.outputs_from_manual(spec_, ys)),
                         ys)
        assert_identical(layout.state_to_manual(spec_, layout.state_from_manual(spec_, h)), h)


# ---- (b) the source's own forward pass gives what manual_rnn gives -------------------------------

@names
@given(data=st.data())
def test_the_sources_forward_pass_equals_manual_rnns(name, data):
    adapter, spec, T, B, rng = data.draw(problems(name))
    foreign = foreign_params(adapter, spec, rng)
    x, state0 = source_data(adapter, spec, rng, T, B)
    y_source, state_source = FORWARD[name](foreign, x, state0)

    spec_, params = adapter.to_manual(foreign)
    ys, state, _ = mr.forward(spec_, params, adapter.data.inputs_to_manual(spec, x),
                              adapter.data.state_to_manual(spec, state0))
    assert_close(adapter.data.outputs_from_manual(spec, ys), y_source, f"{name} outputs")
    assert_close(adapter.data.state_from_manual(spec, state), state_source, f"{name} state")
    assert_close(ys, adapter.data.outputs_to_manual(spec, y_source), f"{name} ys")
    assert_close(state, adapter.data.state_to_manual(spec, state_source), f"{name} h_n")


@names
@given(data=st.data())
def test_gradients_come_back_in_the_sources_layout(name, data):
    """mr.backward's gradients, converted back, are the directional derivative of the source's
    own forward pass along a random direction of its parameters, inputs and initial state."""
    adapter, spec, T, B, rng = data.draw(problems(name))
    foreign = foreign_params(adapter, spec, rng)
    x, state0 = source_data(adapter, spec, rng, T, B)
    y_weights, state_weights = FORWARD[name](foreign, x, state0)          # shapes to draw from
    y_weights = tree_map(lambda a: rng.normal(size=np.shape(a)), y_weights)
    state_weights = tree_map(lambda a: rng.normal(size=np.shape(a)), state_weights)

    def loss(point):
        y, state = FORWARD[name](*point)
        return vdot(y, y_weights) + vdot(state, state_weights)

    spec_, params = adapter.to_manual(foreign)
    _, _, cache = mr.forward(spec_, params, adapter.data.inputs_to_manual(spec, x),
                             adapter.data.state_to_manual(spec, state0))
    grads, dxs, dh0 = mr.backward(spec_, params, cache,
                                  adapter.data.outputs_to_manual(spec, y_weights),
                                  adapter.data.state_to_manual(spec, state_weights))
    analytic = (adapter.grads_from_manual(spec, grads),
                adapter.data.inputs_from_manual(spec, dxs),
                adapter.data.state_from_manual(spec, dh0))

    point = (foreign, x, state0)
    if name == "notebook_rnn" and B == 1:                   # its 1-D steps' gradient is a column
        point = (foreign, [step[:, None] for step in x], state0)
    direction = tree_map(lambda a: rng.normal(size=np.shape(a)), point)
    eps = 1e-6
    plus, minus = (tree_map(lambda a, d: a + sign * eps * d, point, direction) for sign in (1, -1))
    numeric = (loss(plus) - loss(minus)) / (2 * eps)
    predicted = vdot(analytic, direction)
    assert np.isfinite(predicted) and np.isfinite(numeric)
    assert abs(predicted - numeric) <= 1e-6 * max(1.0, abs(numeric)), (predicted, numeric)


@names
@given(data=st.data())
def test_grads_from_manual_is_the_adjoint_of_to_manual(name, data):
    """<grads_from_manual(g), d> = <g, to_manual(d)> for every g and d: the chain rule through
    the (linear) map from the source's parameters to manual_rnn's."""
    adapter, spec, T, B, rng = data.draw(problems(name))
    g = {k: rng.normal(size=s) for k, s in mr.param_shapes(spec).items()}   # bias_hh too
    d = foreign_params(adapter, spec, rng)
    assert np.isclose(vdot(adapter.grads_from_manual(spec, g), d),
                      vdot(g, adapter.to_manual(d)[1]), rtol=1e-12, atol=1e-12)


# ---- (c) what a layout cannot say is refused, naming it ------------------------------------------

@pytest.mark.parametrize("name", SINGLE_BIAS)
@given(data=st.data())
def test_a_nonzero_bias_hh_is_refused_or_folded_into_the_same_network(name, data):
    adapter, spec, T, B, rng = data.draw(problems(name))
    spec = dataclasses.replace(spec, bias=True)
    params = {k: rng.normal(scale=0.7, size=s) for k, s in mr.param_shapes(spec).items()}
    with pytest.raises(ValueError, match=r"params\['bias_hh_l0'\] is nonzero.*fold_bias=True"):
        adapter.from_manual(spec, params)
    folded = adapter.from_manual(spec, params, fold_bias=True)
    _, back = adapter.to_manual(folded)
    xs = rng.normal(size=(T, B, spec.input_size))
    h0 = tree_map(lambda a: rng.normal(size=a.shape), mr.zero_state(spec, B))
    expected, got = mr.forward(spec, params, xs, h0)[:2], mr.forward(spec, back, xs, h0)[:2]
    assert_close(got, expected, name)


def bad_specs(adapter, spec):
    """(field, a Spec differing from `spec` in that field only) for what the layout lacks."""
    out = [("num_layers", dataclasses.replace(spec, num_layers=2)),
           ("output_size", dataclasses.replace(spec, output_size=None if spec.has_head else 2))]
    if adapter.max_directions == 1:
        out.append(("bidirectional", dataclasses.replace(spec, bidirectional=True)))
    if not adapter.bias_optional:
        out.append(("bias", dataclasses.replace(spec, bias=False)))
    if spec.cell == "lstm":
        out.append(("proj_size", dataclasses.replace(spec, proj_size=1)))
    if spec.cell == "gru":
        out.append(("reset_after", dataclasses.replace(spec, reset_after=not spec.reset_after)))
    if spec.cell == "rnn":
        out.append(("nonlinearity", dataclasses.replace(spec, nonlinearity="relu")))
    other = "gru" if spec.cell != "gru" else "lstm"
    out.append(("cell", dataclasses.replace(spec, cell=other, nonlinearity="tanh",
                                            reset_after=True, proj_size=0)))
    return out


@names
def test_specs_the_layout_cannot_express_are_refused_naming_the_field(name):
    adapter = LAYOUTS[name]
    spec = adapter.make_spec(3, 4, 2 if adapter.head else None)
    for field, bad in bad_specs(adapter, spec):
        for call in (lambda: adapter.check_spec(bad), lambda: adapter.foreign_shapes(bad),
                     lambda: adapter.from_manual(bad, mr.init_params(bad)),
                     lambda: adapter.grads_from_manual(bad, mr.init_params(bad))):
            with pytest.raises(ValueError, match=rf"spec\.{field} must be"):
                call()
    with pytest.raises(TypeError, match="spec must be a manual_rnn Spec"):
        adapter.check_spec({"cell": spec.cell})


@names
def test_foreign_arrays_that_do_not_fit_are_refused_naming_the_array(name):
    adapter = LAYOUTS[name]
    spec = adapter.make_spec(3, 4, 2 if adapter.head else None)
    foreign = foreign_params(adapter, spec, np.random.default_rng(0))
    with pytest.raises(TypeError, match="foreign must be a dict"):
        adapter.to_manual(list(foreign.values()))
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        adapter.to_manual(foreign | {"extra": np.zeros(3)})
    for key, value in foreign.items():
        without = {k: v for k, v in foreign.items() if k != key}
        if key in ("bias", "B"):                      # Keras's and ONNX's bias is optional
            assert not adapter.to_manual(without)[0].bias
            continue
        with pytest.raises(ValueError, match=rf"missing \['{key}'\]|must hold '{key}'"):
            adapter.to_manual(without)
        for bad, error in [(np.zeros(value.shape + (1,)), ValueError),
                           (np.full(value.shape, np.nan), ValueError),
                           (value.astype(np.float32), TypeError),
                           (value.astype(np.int64), TypeError),
                           (value.tolist(), TypeError)]:
            with pytest.raises(error, match=rf"foreign\['{key}'\]|'{key}': 'float32'"):
                adapter.to_manual(foreign | {key: bad})


def test_messages_for_the_variants_point_to_the_right_layout():
    rng = np.random.default_rng(0)
    before = foreign_params(LAYOUTS["keras_gru_reset_before"],
                            LAYOUTS["keras_gru_reset_before"].make_spec(3, 4), rng)
    with pytest.raises(ValueError, match=r"foreign\['bias'\].*'keras_gru_reset_before' has that"):
        LAYOUTS["keras_gru"].to_manual(before)
    with pytest.raises(ValueError, match=r"spec\.reset_after.*'onnx_gru' has that"):
        LAYOUTS["onnx_gru_linear_before_reset"].check_spec(mr.Spec("gru", 3, 4, reset_after=False))
    with pytest.raises(ValueError, match=r"spec\.cell.*'cs231n_lstm' has that"):
        LAYOUTS["cs231n_rnn"].check_spec(mr.Spec("lstm", 3, 4))
    with pytest.raises(ValueError, match=r"foreign\['Wf'\] must be \(n_a, n_a \+ n_x\)"):
        LAYOUTS["deeplearning_ai_lstm"].to_manual({"Wf": np.zeros((4, 4))})
    with pytest.raises(ValueError, match=r"foreign\['W'\] must have num_directions 1 or 2"):
        LAYOUTS["onnx_rnn"].to_manual({"W": np.zeros((3, 4, 2)), "R": np.zeros((3, 4, 4))})
    spec = mr.Spec("rnn", 3, 4)
    with pytest.raises(TypeError, match="fold_bias must be a bool"):
        LAYOUTS["cs231n_rnn"].from_manual(spec, mr.init_params(spec), fold_bias=1)
    with pytest.raises(ValueError, match=r"^grads\['weight_hh_l0'\] must have shape"):
        LAYOUTS["cs231n_rnn"].grads_from_manual(spec, mr.init_params(spec) | {
            "weight_hh_l0": np.zeros((4, 3))})


def test_onnx_peepholes_are_refused_unless_all_zero():
    adapter = LAYOUTS["onnx_lstm"]
    spec = adapter.make_spec(3, 4, bidirectional=True)
    foreign = foreign_params(adapter, spec, np.random.default_rng(0))
    assert_identical(adapter.to_manual(foreign | {"P": np.zeros((2, 12))})[1],
                     adapter.to_manual(foreign)[1])
    for P, message in [(np.full((2, 12), 0.1), "nonzero peepholes"),
                       (np.full((2, 12), np.nan), "nonzero peepholes"),
                       (np.zeros((1, 12)), r"must be a numpy array of shape \(2, 12\)")]:
        with pytest.raises(ValueError, match=rf"foreign\['P'\].*{message}"):
            adapter.to_manual(foreign | {"P": P})
    with pytest.raises(ValueError, match=r"unexpected \['P'\]"):
        LAYOUTS["onnx_gru"].to_manual(foreign_params(LAYOUTS["onnx_gru"],
                                                     LAYOUTS["onnx_gru"].make_spec(3, 4),
                                                     np.random.default_rng(0))
                                      | {"P": np.zeros((1, 9))})


def test_data_that_does_not_fit_is_refused_naming_the_argument():
    spec, lstm = mr.Spec("rnn", 3, 4), mr.Spec("lstm", 3, 4)
    batch = DATA_LAYOUTS["batch_major"]
    with pytest.raises(ValueError, match=r"x must be 3-D \(N, T, F\), got shape \(2, 3\)"):
        batch.inputs_to_manual(spec, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"state must have one row .* got shape \(2, 5, 4\)"):
        batch.state_from_manual(spec, np.zeros((2, 5, 4)))
    with pytest.raises(TypeError, match=r"state must be a pair \(h, c\) for cell='lstm'"):
        batch.state_to_manual(lstm, np.zeros((5, 4)))
    with pytest.raises(TypeError, match=r"state must be one array for cell='rnn'"):
        batch.state_to_manual(spec, (np.zeros((5, 4)),))
    with pytest.raises(ValueError, match=r"xs must be 3-D \(B, T, F\) \(spec.batch_first\)"):
        batch.inputs_from_manual(dataclasses.replace(spec, batch_first=True), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"xs as a dict must be keyed by the steps 0 \.\. T-1"):
        layouts.columns_to_time_major({-1: np.zeros((3, 1)), 0: np.zeros((3, 1))})
    with pytest.raises(ValueError, match=r"xs must hold steps of one shape"):
        layouts.columns_to_time_major([np.zeros((3, 1)), np.zeros((3, 2))])
    with pytest.raises(TypeError, match=r"xs\[1\] must hold real numbers"):
        layouts.columns_to_time_major([np.zeros((3, 1)), np.array([["a"], ["b"], ["c"]])])
    with pytest.raises(ValueError, match=r"ys must have num_directions \* H features"):
        layouts.features_to_directions(np.zeros((2, 1, 5)), 2)
    with pytest.raises(ValueError, match=r"ys of a network with a read-out"):
        DATA_LAYOUTS["onnx"].outputs_from_manual(mr.Spec("rnn", 3, 4, 2), np.zeros((2, 1, 2)))
    with pytest.raises(TypeError, match="spec must be a manual_rnn Spec"):
        batch.inputs_to_manual(None, np.zeros((1, 2, 3)))


def test_min_char_rnns_dict_of_steps_converts():
    xs = {t: np.eye(4)[:, [t]] for t in range(3)}              # one-hot columns (V, 1)
    tm = layouts.columns_to_time_major(xs)
    assert tm.shape == (3, 1, 4) and np.array_equal(tm[:, 0], np.eye(4)[:3])


# ---- (d) nothing is modified, every result is new ------------------------------------------------

def assert_new(results, inputs):
    for out in leaves(results):
        assert not any(np.shares_memory(out, a) for a in leaves(inputs)), "a result is a view"


@names
@given(data=st.data())
def test_inputs_are_not_modified_and_results_are_new(name, data):
    adapter, spec, T, B, rng = data.draw(problems(name))
    foreign = foreign_params(adapter, spec, rng)
    params = manual_params(adapter, spec, rng)
    x, state = source_data(adapter, spec, rng, T, B)
    given_ = (foreign, params, x, state)
    saved = tree_map(np.copy, given_)
    converted = (adapter.to_manual(foreign)[1], adapter.from_manual(spec, params),
                 adapter.from_manual(spec, params, fold_bias=True),
                 adapter.grads_from_manual(spec, params),
                 adapter.data.inputs_to_manual(spec, x), adapter.data.outputs_to_manual(spec, x)
                 if adapter.data.name != "onnx" else (), adapter.data.state_to_manual(spec, state))
    assert_identical(given_, saved, "an argument changed")
    assert_new(converted, given_)

    for spec_ in (spec, dataclasses.replace(spec, batch_first=True)):   # time- and batch-major
        xs = adapter.data.inputs_to_manual(spec_, x)
        ys = rng.normal(size=xs.shape[:2] + (spec.output_features,))
        h = tree_map(lambda a: rng.normal(size=a.shape), mr.zero_state(spec, B))
        given_ = (xs, ys, h)
        saved = tree_map(np.copy, given_)
        converted = (adapter.data.inputs_from_manual(spec_, xs),
                     adapter.data.state_from_manual(spec_, h),
                     () if spec.has_head and adapter.data.name == "onnx"
                     else adapter.data.outputs_from_manual(spec_, ys))
        assert_identical(given_, saved, "an argument changed")
        assert_new(converted, given_)
