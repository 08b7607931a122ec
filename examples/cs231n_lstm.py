"""An LSTM written as CS231n's assignment 3 asks (rnn_layers.py), checked by manual_rnn's harness.

The functions below are plain NumPy from the assignment's equations, sharing no code with
manual_rnn. Row vectors, weights multiplied from the right, gate blocks over the columns in the
order i, f, o, g:

    a = x Wx + prev_h Wh + b                          x (N, D), prev_h (N, H), a (N, 4H)
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2H]), sigmoid(a[:, 2H:3H])
    g = tanh(a[:, 3H:])
    next_c = f * prev_c + i * g                       next_h = o * tanh(next_c)

lstm_forward runs the step over x (N, T, D) from h0 (and c0 = 0) and returns h (N, T, H);
lstm_backward takes dh (N, T, H), the upstream gradient on every hidden state.

    python examples/cs231n_lstm.py                  # checks both pairs, prints the verdicts
    python examples/cs231n_lstm.py --examples 300 --seed 1
"""
import argparse

import numpy as np


def sigmoid(x):
    """A numerically stable sigmoid, as the assignment's rnn_layers.py defines it."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    do = dnext_h * tanh_c
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)    # c reaches the loss through h and c
    di, df, dg = dc * g, dc * prev_c, dc * i
    dprev_c = dc * f
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros_like(h0)
    caches = []
    for t in range(T):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(cache)
    return h, caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):                       # BPTT runs the steps backwards
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dprev_h, dprev_c, cache[t])
        dWx += dWx_t                                   # weights are shared: their gradients sum
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from manual_rnn.verify.harness import check_bptt

    ok = True
    for functions, step in (((lstm_forward, lstm_backward), False),
                            ((lstm_step_forward, lstm_step_backward), True)):
        report = check_bptt("cs231n_lstm", *functions, step=step, examples=args.examples,
                            seed=args.seed, raise_on_failure=False)
        print(report, end="\n\n")
        ok &= report.ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
