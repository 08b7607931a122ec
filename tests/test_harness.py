"""manual_rnn.verify.harness, both ways: hand-written BPTT that is right passes on every case
Hypothesis draws, and each planted bug is caught, shrunk to a small network and reported with
the right gradient, the right step and the right diagnosis. Plus what the harness does with
functions that raise, return the wrong thing or modify their arguments, and its command line.

The foreign implementations are the examples' (examples/cs231n_lstm.py, deeplearning_ai_rnn.py,
min_char_rnn.py) and four written here: CS231n's Elman RNN (its sequence functions without step
functions), and in the generic protocol the notebook's sigmoid RNN, Keras's SimpleRNN and a step
of the ONNX RNN operator. Bugs are planted by replacing one line of a
function's source, so each bug is a one-line diff of code that passes.
"""
import argparse
import importlib.util
import inspect
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from manual_rnn.verify import harness
from manual_rnn.verify.harness import Case, check_bptt, check_case, protocol

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CS231N_LSTM = load_example("cs231n_lstm")
DLAI_RNN = load_example("deeplearning_ai_rnn")
MIN_CHAR = load_example("min_char_rnn")


# ---- two implementations written here -------------------------------------------------------

def rnn_forward(x, h0, Wx, Wh, b):
    """CS231n's rnn_forward, written without step functions: x (N, T, D) -> h (N, T, H)."""
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev = h0
    for t in range(T):
        prev = np.tanh(x[:, t].dot(Wx) + prev.dot(Wh) + b)
        h[:, t] = prev
    return h, (x, h0, h, Wx, Wh)


def rnn_backward(dh, cache):
    x, h0, h, Wx, Wh = cache
    N, T, H = dh.shape
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dprev = np.zeros((N, H))
    for t in reversed(range(T)):
        prev = h[:, t - 1] if t > 0 else h0
        dz = (dh[:, t] + dprev) * (1 - h[:, t] ** 2)
        dx[:, t] = dz.dot(Wx.T)
        dWx += x[:, t].T.dot(dz)
        dWh += prev.T.dot(dz)
        db += dz.sum(axis=0)
        dprev = dz.dot(Wh.T)
    return dx, dprev, dWx, dWh, db


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    return next_h, (x, prev_h, next_h, Wx, Wh)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, next_h, Wx, Wh = cache
    dz = dnext_h * (1 - next_h ** 2)
    return dz.dot(Wx.T), dz.dot(Wh.T), x.T.dot(dz), prev_h.T.dot(dz), dz.sum(axis=0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def notebook_forward(x, h0, parameters):
    """The notebook's sigmoid RNN in the generic protocol: x a list of T columns (I, N)."""
    p = parameters
    hs, ys = [h0], []
    for x_t in x:
        hs.append(sigmoid(p["wx"] @ x_t + p["wh"] @ hs[-1] + p["bx"]))
        ys.append(p["wo"] @ hs[-1] + p["by"])
    return ys, (x, hs, p)


def notebook_backward(dy, cache):
    """Also returns dh_steps: dL/dh_t at every step, so the harness can follow it in time."""
    x, hs, p = cache
    grads = {k: np.zeros_like(v) for k, v in
             (("dwx", p["wx"]), ("dwh", p["wh"]), ("dwo", p["wo"]), ("dbx", p["bx"]),
              ("dby", p["by"]))}
    dx, dh_steps = [None] * len(x), [None] * len(x)
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(len(x))):
        h = hs[t + 1]
        grads["dwo"] += dy[t] @ h.T
        grads["dby"] += dy[t].sum(axis=1, keepdims=True)
        dh = p["wo"].T @ dy[t] + dh_next
        dh_steps[t] = dh
        dz = dh * h * (1 - h)
        grads["dwx"] += dz @ x[t].T
        grads["dwh"] += dz @ hs[t].T
        grads["dbx"] += dz.sum(axis=1, keepdims=True)
        dx[t] = p["wx"].T @ dz
        dh_next = p["wh"].T @ dz
    return grads | {"dx": dx, "dh0": dh_next, "dh_steps": dh_steps}


def keras_forward(x, h0, parameters):
    """Keras's SimpleRNN in the generic protocol: x (N, T, D), row vectors, h = tanh(x kernel
    + bias + h recurrent_kernel)."""
    p, hs = parameters, [h0]
    for t in range(x.shape[1]):
        hs.append(np.tanh(x[:, t] @ p["kernel"] + p["bias"] + hs[-1] @ p["recurrent_kernel"]))
    return np.stack(hs[1:], axis=1), (x, hs, p)


def keras_backward(dh, cache):
    x, hs, p = cache
    grads = {"d" + k: np.zeros_like(v) for k, v in p.items()}
    dx, dnext = np.zeros_like(x), np.zeros_like(hs[0])
    for t in reversed(range(x.shape[1])):
        dz = (dh[:, t] + dnext) * (1 - hs[t + 1] ** 2)
        grads["dkernel"] += x[:, t].T @ dz
        grads["drecurrent_kernel"] += hs[t].T @ dz
        grads["dbias"] += dz.sum(axis=0)
        dx[:, t] = dz @ p["kernel"].T
        dnext = dz @ p["recurrent_kernel"].T
    return grads | {"dx": dx, "dh0": dnext}


def onnx_step_forward(x, prev_h, parameters):
    """One step of the ONNX RNN operator in the generic protocol: x (batch, input), states
    (num_directions, batch, hidden), Ht = tanh(Xt W^T + Ht-1 R^T + Wb + Rb)."""
    W, R, B = parameters["W"][0], parameters["R"][0], parameters["B"][0]
    H = R.shape[0]
    next_h = np.tanh(x @ W.T + prev_h[0] @ R.T + B[:H] + B[H:])[None]
    return next_h, (x, prev_h, next_h, W, R)


def onnx_step_backward(dnext_h, cache):
    x, prev_h, next_h, W, R = cache
    dz = dnext_h[0] * (1 - next_h[0] ** 2)
    db = dz.sum(axis=0)
    return {"dx": dz @ W, "dprev_h": (dz @ R)[None], "dW": (dz.T @ x)[None],
            "dR": (dz.T @ prev_h[0])[None], "dB": np.concatenate([db, db])[None]}


HERE = sys.modules[__name__]


def plant(module, function, old, new):
    """A copy of `module`'s namespace in which `function`'s source has `old` replaced by `new`
    (which must occur once) and every function of the module is bound to the copy, so that
    callers call the planted function."""
    namespace = dict(vars(module))
    for name, value in vars(module).items():
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            namespace[name] = types.FunctionType(value.__code__, namespace, name,
                                                 value.__defaults__)
    source = inspect.getsource(getattr(module, function))
    assert source.count(old) == 1, f"{old!r} must occur once in {function}"
    exec(compile(source.replace(old, new), f"<planted {function}>", "exec"), namespace)
    return types.SimpleNamespace(**namespace)


# ---- right implementations pass ----------------------------------------------------------

RIGHT = {
    "cs231n_lstm": ("cs231n_lstm", CS231N_LSTM.lstm_forward, CS231N_LSTM.lstm_backward, False),
    "cs231n_lstm_step": ("cs231n_lstm", CS231N_LSTM.lstm_step_forward,
                         CS231N_LSTM.lstm_step_backward, True),
    "cs231n_rnn": ("cs231n_rnn", rnn_forward, rnn_backward, False),
    "cs231n_rnn_step": ("cs231n_rnn", rnn_step_forward, rnn_step_backward, True),
    "deeplearning_ai_rnn": ("deeplearning_ai_rnn", DLAI_RNN.rnn_forward, DLAI_RNN.rnn_backward,
                            False),
    "deeplearning_ai_rnn_cell": ("deeplearning_ai_rnn", DLAI_RNN.rnn_cell_forward,
                                 DLAI_RNN.rnn_cell_backward, True),
    "min_char_rnn": ("min_char_rnn", MIN_CHAR.lossFun, None, False),
    "notebook_rnn": ("notebook_rnn", notebook_forward, notebook_backward, False),
    "keras_simple_rnn": ("keras_simple_rnn", keras_forward, keras_backward, False),
    "onnx_rnn_step": ("onnx_rnn", onnx_step_forward, onnx_step_backward, True),
}


@pytest.mark.parametrize("name", RIGHT)
def test_a_right_implementation_passes_every_case(name):
    layout, forward, backward, step = RIGHT[name]
    report = check_bptt(layout, forward, backward, step=step)    # raises with the report
    assert report.ok and report.examples >= 1
    # Two right orders of summation differ by some ulps of the terms summed, which exceed an
    # array's largest entry where terms cancel: over ~10^4 random cases per step layout a right
    # implementation used at most 1.2e-3 of the tolerance (median 3e-5). Below 1e-2, the default
    # tolerance stays 100 times wider than round-off.
    assert all(used < 1e-2 for used in report.worst_used.values()), report.worst_used
    assert str(report).startswith(f"PASS  {layout}")
    # one case's full report: no step's state gradient departs from the reference's either
    proto = protocol(layout, step)
    case = Case(T=3, N=1 if proto.indices else 2, D=3, H=4, seed=1,
                O=3 if proto.indices or proto.adapter.head else None)
    one = check_case(layout, forward, backward, step=step, case=case)
    assert one.ok and one.first_wrong == {}, one.first_wrong


def test_the_globals_a_loss_function_reads_are_restored():
    before = {k: getattr(MIN_CHAR, k) for k in ("Wxh", "Whh", "Why", "bh", "by", "vocab_size")}
    copies = {k: np.copy(v) for k, v in before.items()}
    check_bptt("min_char_rnn", MIN_CHAR.lossFun, examples=3, seed=0)
    for k, v in before.items():
        assert getattr(MIN_CHAR, k) is v and np.array_equal(v, copies[k])


# ---- planted bugs are caught, and reported right --------------------------------------------

def test_the_notebooks_dWhy_assignment_bug(monkeypatch):
    monkeypatch.setattr(MIN_CHAR, "PLANT_BUG", True)
    report = check_bptt("min_char_rnn", MIN_CHAR.lossFun, raise_on_failure=False, seed=0)
    assert report.wrong == ["dWhy"]
    assert report.case.T == 2 and report.case.H == 1
    assert "it equals the term of step 0 alone" in report.row("dWhy").note
    text = str(report)
    assert "check_case('min_char_rnn', lossFun, case=Case(T=2" in text
    again = check_case("min_char_rnn", MIN_CHAR.lossFun, case=report.case)
    assert again.wrong == ["dWhy"]
    with pytest.raises(AssertionError, match="dWhy"):
        check_bptt("min_char_rnn", MIN_CHAR.lossFun, seed=0)


def lstm_step(old, new):
    ns = plant(CS231N_LSTM, "lstm_step_backward", old, new)
    return ns


def test_a_dropped_dnext_c_term_is_found_where_dnext_c_first_matters():
    ns = plant(CS231N_LSTM, "lstm_step_backward", "dc = dnext_c + dnext_h", "dc = dnext_h")
    report = check_bptt("cs231n_lstm", ns.lstm_step_forward, ns.lstm_step_backward, step=True,
                        raise_on_failure=False)
    T = report.case.T
    assert T == 2                                  # one step alone never has a dnext_c
    assert report.wrong == ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"]
    # The last step gets dnext_c = 0; the one before gets it and drops it, so the first state
    # gradient to depart is the one step T-2 hands back, that of step T-3 (here the initial's).
    assert report.first_wrong["state:dc"] == T - 3 and report.first_wrong["state:dh"] == T - 3
    wrong_alone = tuple(range(T - 1))
    assert {k: v for k, v in report.alone.items() if v} == {
        k: wrong_alone for k in ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")}
    assert "check_case('cs231n_lstm', lstm_step_forward, lstm_step_backward" in str(report)


def test_a_wrong_gate_in_dprev_c_is_found_in_the_cell_state_gradient():
    ns = plant(CS231N_LSTM, "lstm_step_backward", "dprev_c = dc * f", "dprev_c = dc * i")
    report = check_bptt("cs231n_lstm", ns.lstm_step_forward, ns.lstm_step_backward, step=True,
                        raise_on_failure=False)
    assert report.case.T == 1 and report.wrong == ["dprev_c"]
    assert report.first_wrong["state:dc"] == report.case.T - 2
    assert "state:dh" not in report.first_wrong
    assert report.alone["dprev_c"] == tuple(range(report.case.T))
    assert report.alone["dWx"] == ()


def test_a_wrong_sigmoid_derivative_is_found_in_its_gate_block():
    ns = plant(CS231N_LSTM, "lstm_step_backward", "di * i * (1 - i)", "di * i")
    report = check_bptt("cs231n_lstm", ns.lstm_forward, ns.lstm_backward,
                        raise_on_failure=False)
    case = report.case
    assert (case.T, case.N, case.D, case.H) == (1, 1, 1, 1)
    assert report.wrong == ["dx", "dh0", "dWx", "dWh", "db"]
    assert report.first_wrong["dx"] == case.T - 1
    assert report.row("db").where == "[0]"         # the input gate's block: columns 0..H-1


def test_a_wrong_gate_in_the_forward_pass_is_reported_as_the_forward_pass():
    ns = plant(CS231N_LSTM, "lstm_step_forward", "o = sigmoid(a[:, 2 * H:3 * H])",
               "o = sigmoid(a[:, H:2 * H])")
    report = check_bptt("cs231n_lstm", ns.lstm_step_forward, ns.lstm_step_backward, step=True,
                        raise_on_failure=False)
    assert "next_h" in report.wrong and "next_c" not in report.wrong
    assert report.first_wrong["forward:next_h"] == 0


def test_an_off_by_one_step_in_dWh():
    ns = plant(HERE, "rnn_backward", "prev = h[:, t - 1] if t > 0 else h0", "prev = h[:, t]")
    report = check_bptt("cs231n_rnn", ns.rnn_forward, ns.rnn_backward, raise_on_failure=False)
    assert report.wrong == ["dWh"] and report.case.T == 1


def test_a_transposed_weight_in_the_recurrence():
    ns = plant(HERE, "rnn_backward", "dprev = dz.dot(Wh.T)", "dprev = dz.dot(Wh)")
    report = check_bptt("cs231n_rnn", ns.rnn_forward, ns.rnn_backward, raise_on_failure=False)
    case = report.case
    assert (case.T, case.H) == (1, 2)              # a 1 x 1 Wh is its own transpose
    assert report.wrong == ["dh0"]


def test_a_transposed_weight_gradient():
    ns = plant(HERE, "rnn_backward", "dWh += prev.T.dot(dz)", "dWh += dz.T.dot(prev)")
    report = check_bptt("cs231n_rnn", ns.rnn_forward, ns.rnn_backward, raise_on_failure=False)
    assert report.wrong == ["dWh"] and report.case.H == 2
    assert report.row("dWh").note == "it is the transpose"


def test_the_gradient_from_the_next_step_dropped():
    ns = plant(HERE, "rnn_backward", "dz = (dh[:, t] + dprev)", "dz = (dh[:, t])")
    report = check_bptt("cs231n_rnn", ns.rnn_forward, ns.rnn_backward, raise_on_failure=False)
    T = report.case.T
    assert T == 2 and report.wrong == ["dx", "dh0", "dWx", "dWh", "db"]
    assert report.first_wrong["dx"] == T - 2       # the last step has nothing after it


def test_a_bias_gradient_not_summed_over_the_batch():
    ns = plant(HERE, "rnn_backward", "db += dz.sum(axis=0)", "db += dz[0]")
    report = check_bptt("cs231n_rnn", ns.rnn_forward, ns.rnn_backward, raise_on_failure=False)
    assert report.wrong == ["db"] and report.case.N == 2


def test_a_wrong_sign():
    ns = plant(DLAI_RNN, "rnn_cell_backward", "dba = np.sum(dtanh", "dba = -np.sum(dtanh")
    report = check_bptt("deeplearning_ai_rnn", ns.rnn_forward, ns.rnn_backward,
                        raise_on_failure=False)
    assert report.wrong == ["dba"]
    assert report.row("dba").note == "it has the opposite sign"


def test_a_forgotten_reverse_in_time():
    ns = plant(DLAI_RNN, "rnn_backward", "for t in reversed(range(T_x)):", "for t in range(T_x):")
    report = check_bptt("deeplearning_ai_rnn", ns.rnn_forward, ns.rnn_backward,
                        raise_on_failure=False)
    T = report.case.T
    assert T == 2 and report.wrong == ["dx", "da0", "dWax", "dWaa", "dba"]
    assert report.first_wrong["dx"] == T - 1       # the first step it backpropagates is wrong


def test_a_wrong_tanh_derivative_in_a_cell():
    ns = plant(DLAI_RNN, "rnn_cell_backward", "(1 - a_next ** 2)", "(1 - a_next)")
    report = check_bptt("deeplearning_ai_rnn", ns.rnn_cell_forward, ns.rnn_cell_backward,
                        step=True, raise_on_failure=False)
    assert report.case.T == 1
    assert report.wrong == ["dxt", "da_prev", "dWax", "dWaa", "dba"]
    assert report.alone["dxt"] == (0,) and report.alone["a_next"] == ()


def test_a_tanh_derivative_in_a_sigmoid_network_is_followed_through_dh_steps():
    ns = plant(HERE, "notebook_backward", "dz = dh * h * (1 - h)", "dz = dh * (1 - h ** 2)")
    report = check_bptt("notebook_rnn", ns.notebook_forward, ns.notebook_backward,
                        raise_on_failure=False)
    T = report.case.T
    assert report.wrong == ["dx", "dh0", "dwx", "dwh", "dbx"]   # dwo and dby only need h
    assert report.exposed and report.first_wrong["state:dh"] == T - 2
    assert "dL/dh_t (dh_steps)" in str(report)


# ---- robustness: whatever the functions do, the report says what was expected ------------------

CASE = Case(T=3, N=2, D=2, H=3, seed=1)


def wrapped(backward, change):
    """backward with its results passed through change(results)."""
    def changed(*args):
        return change(backward(*args))
    changed.__name__ = backward.__name__
    return changed


def test_a_function_that_raises():
    def lstm_backward(dh, cache):
        raise ValueError("shapes do not align")
    report = check_case("cs231n_lstm", CS231N_LSTM.lstm_forward, lstm_backward, case=CASE)
    assert not report.ok
    assert report.problems == [
        "lstm_backward raised ValueError: shapes do not align (at test_harness.py:"
        f"{lstm_backward.__code__.co_firstlineno + 1}: raise ValueError(\"shapes do not "
        "align\"))"]
    failed = check_bptt("cs231n_lstm", CS231N_LSTM.lstm_forward, lstm_backward, examples=5,
                        raise_on_failure=False)
    assert (failed.case.T, failed.case.N, failed.case.H) == (1, 1, 1)


def test_a_wrong_shape_names_the_expected_one():
    backward = wrapped(rnn_backward, lambda r: (r[0], r[1], r[2].T, r[3], r[4]))
    report = check_case("cs231n_rnn", rnn_forward, backward, case=CASE)
    assert report.problems == ["dWx has shape (3, 2); expected (2, 3) (it is transposed)"]
    assert [r.name for r in report.rows] == ["h", "dx", "dh0", "dWh", "db"]


def test_a_wrong_dtype():
    backward = wrapped(rnn_backward, lambda r: r[:4] + (r[4].astype(np.float32),))
    report = check_case("cs231n_rnn", rnn_forward, backward, case=CASE)
    assert report.problems == ["db has dtype float32; expected float64, the dtype of the arrays "
                               "your functions are given"]


def test_nan_fails_and_is_counted():
    def nan(r):
        dWh = r[3].copy()
        dWh[1, 2] = np.nan
        return r[:3] + (dWh, r[4])
    report = check_case("cs231n_rnn", rnn_forward, wrapped(rnn_backward, nan), case=CASE)
    assert report.wrong == ["dWh"] and not report.problems
    assert report.row("dWh").note == "1 NaN or infinite entries"
    assert report.row("dWh").where == "[1, 2]"


def test_a_dict_missing_a_key_and_one_with_a_stranger():
    backward = wrapped(DLAI_RNN.rnn_backward,
                       lambda g: {k: v for k, v in g.items() if k != "dba"} | {"dWy": 0})
    report = check_case("deeplearning_ai_rnn", DLAI_RNN.rnn_forward, backward,
                        case=Case(T=2, N=1, D=2, H=2, O=2))
    assert report.problems == [
        "rnn_backward's dict lacks 'dba'; expected keys dx, da0, dWax, dWaa, dba",
        "rnn_backward's dict has unexpected keys 'dWy'; expected dx, da0, dWax, dWaa, dba "
        "(and optionally dh_steps, dc_steps)"]
    assert not report.wrong                      # the gradients it did return are right


def test_the_wrong_number_of_results():
    backward = wrapped(rnn_backward, lambda r: r[:4])
    report = check_case("cs231n_rnn", rnn_forward, backward, case=CASE)
    assert report.problems == ["rnn_backward returned a tuple of 4; expected 5 values: dx, dh0, "
                               "dWx, dWh, db"]


def test_modifying_an_argument_is_reported_and_the_harness_keeps_its_own_copies():
    def rnn_backward_in_place(dh, cache):
        x = cache[0]
        result = rnn_backward(dh, cache)
        dh *= 2                                   # the caller's upstream gradient
        x[...] = 0                                # rnn_forward's argument, kept in the cache
        return result
    rnn_backward_in_place.__name__ = "rnn_backward"
    report = check_case("cs231n_rnn", rnn_forward, rnn_backward_in_place, case=CASE)
    assert report.problems == [
        "rnn_backward modified x, which rnn_forward was given, in place (the arrays you are "
        "given are the caller's: copy before writing)",
        "rnn_backward modified dh, in place (the arrays you are given are the caller's: copy "
        "before writing)"]
    assert not report.wrong                      # computed before it wrote


def test_a_step_function_returning_the_wrong_shape_stops_at_that_step():
    def rnn_step_forward_wide(x, prev_h, Wx, Wh, b):
        next_h, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
        return np.hstack([next_h, next_h]), cache
    rnn_step_forward_wide.__name__ = "rnn_step_forward"
    report = check_case("cs231n_rnn", rnn_step_forward_wide, rnn_step_backward, case=CASE,
                        step=True)
    assert report.problems == ["next_h at step 0 has shape (2, 6); expected (2, 3)"]


def test_own_signatures():
    def lstm_forward(x, h0, c0, Wx, Wh, b):
        return CS231N_LSTM.lstm_forward(x, h0, Wx, Wh, b)     # ignores c0: wrong when c0 != 0
    report = check_bptt("cs231n_lstm", lstm_forward, CS231N_LSTM.lstm_backward,
                        signatures=("lstm_forward(x, h0, c0, Wx, Wh, b) -> h, cache",
                                    "lstm_backward(dh, cache) -> dx, dh0, dWx, dWh, db"),
                        raise_on_failure=False, examples=10)
    assert "h" in report.wrong
    with pytest.raises(ValueError, match="unknown argument 'w'"):
        check_case("cs231n_rnn", rnn_forward, rnn_backward, case=CASE,
                   signatures=("rnn_forward(x, h0, w) -> h, cache", "b(dh, cache) -> dx"))


def test_arguments_that_make_no_check():
    with pytest.raises(ValueError, match="layout must be one of"):
        check_bptt("cs231n_gru", rnn_forward, rnn_backward)
    with pytest.raises(ValueError, match="step=True does not apply"):
        check_bptt("min_char_rnn", MIN_CHAR.lossFun, step=True)
    with pytest.raises(TypeError, match="backward must be a function"):
        check_bptt("cs231n_rnn", rnn_forward)
    with pytest.raises(ValueError, match="has no read-out"):
        check_case("cs231n_rnn", rnn_forward, rnn_backward, case=Case(T=1, N=1, D=1, H=1, O=2))


def test_without_hypothesis_check_bptt_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(ImportError, match="pip install hypothesis"):
        check_bptt("cs231n_rnn", rnn_forward, rnn_backward)
    assert check_case("cs231n_rnn", rnn_forward, rnn_backward, case=CASE).ok


# ---- the command line and the examples ---------------------------------------------------------

def cli(argv):
    parser = argparse.ArgumentParser()
    harness.add_arguments(parser)
    return harness.run(parser.parse_args(argv))


def test_the_command_line_checks_a_file(capsys, tmp_path):
    path = os.path.join(EXAMPLES, "cs231n_lstm.py")
    assert cli([path, "--layout", "cs231n_lstm", "--examples", "5", "--seed", "0"]) == 0
    assert cli([path, "--layout", "cs231n_lstm", "--step", "--examples", "5"]) == 0
    assert capsys.readouterr().out.count("PASS  cs231n_lstm") == 2
    buggy = tmp_path / "my_rnn.py"
    source = inspect.getsource(rnn_step_backward).replace("rnn_step_backward", "my_step_backward")
    buggy.write_text("import numpy as np\n\n" + inspect.getsource(rnn_step_forward).replace(
        "rnn_step_forward", "my_step_forward") + source.replace("dz.sum(axis=0)", "dz[0]"))
    assert cli([f"{buggy}:my", "--layout", "cs231n_rnn", "--step", "--examples", "10"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL  cs231n_rnn") and "db" in out
    assert "my_step_backward(dnext_h, cache) -> dx, dprev_h, dWx, dWh, db" in out
    with pytest.raises(ValueError, match="has no function 'rnn_forward'"):
        cli([str(buggy), "--layout", "cs231n_rnn"])


def test_the_min_char_rnn_example_prints_the_report_of_its_bug():
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "min_char_rnn.py"), "--bug",
                           "--examples", "20"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("FAIL  min_char_rnn")
    assert "WRONG: it equals the term of step 0 alone" in done.stdout


def test_a_function_that_is_wrong_only_sometimes_is_asked_whether_it_is_deterministic():
    calls = []

    def rnn_backward_sometimes(dh, cache):
        calls.append(1)
        dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
        return dx, dh0, dWx, dWh, db * (2 if len(calls) % 3 == 0 else 1)
    report = check_bptt("cs231n_rnn", rnn_forward, rnn_backward_sometimes, examples=20,
                        raise_on_failure=False)
    assert not report.ok
    assert "are your functions deterministic" in report.problems[-1]
