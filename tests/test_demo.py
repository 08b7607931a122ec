"""The main job: the notebook's toy problem, and the notebook's own bug caught by gradcheck."""
import subprocess
import sys

import numpy as np

import manual_rnn as mr
from manual_rnn.app import demo
from manual_rnn.verify.gradcheck import compare, numerical_gradient


def test_demo_from_the_notebook_weights_starts_at_the_notebooks_loss():
    lines = []
    params, ok = demo.run(init="notebook", epochs=300, out=lines.append)
    assert lines[0] == "Epoch 0 Loss 0.34250106"       # the notebook printed [[0.34250106]]
    losses = [float(l.split()[-1]) for l in lines if l.startswith("Epoch")]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.03
    verdict = [l for l in lines if l.startswith("Verdict: ")]
    assert ok and len(verdict) == 1
    n = len(mr.param_shapes(demo.SPEC)) + 2                     # every parameter, xs and h0
    assert verdict[0] == f"Verdict: ok: {n} of {n} gradients agree with their references"


def test_demo_command_runs_and_reports_its_check():
    done = subprocess.run([sys.executable, "-m", "manual_rnn", "demo", "--epochs", "101"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Epoch 100 Loss" in done.stdout and "FAIL" not in done.stdout
    assert "weight_hh_l0" in done.stdout


def notebook_backward(params, xs, targets):
    """The notebook's backward pass, transcribed with its bug (dWy assigned, not accumulated)."""
    wx, wh, wo = params["wx"], params["wh"], params["wo"]
    h = {-1: np.zeros((3, 1))}
    for t in range(len(xs)):
        h[t] = 1 / (1 + np.exp(-(wx @ xs[t].reshape(-1, 1) + wh @ h[t - 1])))
    dWx, dWh, dh_next = np.zeros_like(wx), np.zeros_like(wh), np.zeros((3, 1))
    for t in reversed(range(len(xs))):
        dy = wo @ h[t] - targets[t]
        dWy = dy @ h[t].T                                   # the bug: `=` where `+=` belongs
        dz = (wo.T @ dy + wh.T @ dh_next) * h[t] * (1 - h[t])
        dWx += dz @ xs[t].reshape(-1, 1).T
        dWh += dz @ h[t - 1].T
        dh_next = dz
    return {"wx": dWx, "wh": dWh, "wo": dWy}


def test_gradcheck_catches_the_notebooks_bug():
    nb = demo.notebook_params()
    params = {"wx": nb["weight_ih_l0"], "wh": nb["weight_hh_l0"], "wo": nb["head.weight"]}

    def loss(p):
        h, total = np.zeros((3, 1)), 0.0
        for x, target in zip(demo.XS, demo.TARGETS):
            h = 1 / (1 + np.exp(-(p["wx"] @ x.reshape(-1, 1) + p["wh"] @ h)))
            total += 0.5 * float(np.sum((p["wo"] @ h - target) ** 2))
        return total

    report = compare(notebook_backward(params, demo.XS, demo.TARGETS),
                     numerical_gradient(loss, params))
    assert report["wx"].ok(1e-7, 1e-5) and report["wh"].ok(1e-7, 1e-5)   # these were right
    assert not report["wo"].ok(1e-3, 1e-2)                                 # this was not
