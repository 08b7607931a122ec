"""An RNN written as deeplearning.ai's Sequence Models course builds it ("Building your Recurrent
Neural Network - Step by Step"), checked by manual_rnn's harness.

Plain NumPy from the course's equations, sharing no code with manual_rnn. Column vectors, a
batch of m examples as columns, the sequence on the last axis:

    a_next = tanh(Waa a_prev + Wax xt + ba)            xt (n_x, m), a_prev (n_a, m)
    yt_pred = softmax(Wya a_next + by)

rnn_forward runs the cell over x (n_x, m, T_x) from a0 and returns a (n_a, m, T_x), y_pred and
the caches; rnn_backward takes da (n_a, m, T_x), the upstream gradient on every hidden state,
and returns the gradients as a dict. The gradients of Wya and by are the loss's business, so
rnn_backward leaves them out, as the course does.

    python examples/deeplearning_ai_rnn.py          # checks both pairs, prints the verdicts
"""
import argparse

import numpy as np


def softmax(x):
    e_x = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e_x / e_x.sum(axis=0, keepdims=True)


def rnn_cell_forward(xt, a_prev, parameters):
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)
    yt_pred = softmax(np.dot(Wya, a_next) + by)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters):
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    Wax, Waa = parameters["Wax"], parameters["Waa"]
    dtanh = (1 - a_next ** 2) * da_next                # through a_next = tanh(z)
    dxt = np.dot(Wax.T, dtanh)
    dWax = np.dot(dtanh, xt.T)
    da_prev = np.dot(Waa.T, dtanh)
    dWaa = np.dot(dtanh, a_prev.T)
    dba = np.sum(dtanh, axis=1, keepdims=True)        # summed over the batch
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def rnn_backward(da, caches):
    caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T_x))
    dWax, dWaa, dba = np.zeros((n_a, n_x)), np.zeros((n_a, n_a)), np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        # a<t> reaches the loss directly (da) and through a<t+1> (da_prevt)
        gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        dx[:, :, t] = gradients["dxt"]
        da_prevt = gradients["da_prev"]
        dWax += gradients["dWax"]
        dWaa += gradients["dWaa"]
        dba += gradients["dba"]
    return {"dx": dx, "da0": da_prevt, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from manual_rnn.verify.harness import check_bptt

    ok = True
    for functions, step in (((rnn_forward, rnn_backward), False),
                            ((rnn_cell_forward, rnn_cell_backward), True)):
        report = check_bptt("deeplearning_ai_rnn", *functions, step=step,
                            examples=args.examples, seed=args.seed, raise_on_failure=False)
        print(report, end="\n\n")
        ok &= report.ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
