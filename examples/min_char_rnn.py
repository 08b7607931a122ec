"""A character-level RNN in the style of Karpathy's min-char-rnn.py, checked by manual_rnn's
harness, with the notebook's classic bug to plant.

Plain NumPy from min-char-rnn's equations, sharing no code with manual_rnn. One sequence of
characters, one-hot column vectors xs[t] (vocab_size, 1), the weights as module globals as in
the original:

    hs[t] = tanh(Wxh xs[t] + Whh hs[t-1] + bh)         ys[t] = Why hs[t] + by
    ps[t] = softmax(ys[t])                             loss = -sum_t log ps[t][targets[t]]

lossFun(inputs, targets, hprev) returns the loss, the gradient of every weight and the last
hidden state. (The original clips the gradients to [-5, 5] inside lossFun; here the training
loop clips them, so lossFun returns the true gradient.)

--bug plants the bug of the course notebook this project grew from: the output weight's
gradient assigned at every step, `dWhy = dy hs[t]^T`, where it must accumulate. The loop runs
backwards, so only step 0's term survives; the loss still falls, so training never shows it.

    python examples/min_char_rnn.py                 # the harness's verdict: PASS
    python examples/min_char_rnn.py --bug           # the report of the smallest failing case
    python examples/min_char_rnn.py --train 200     # then a few Adagrad steps on this file
"""
import argparse

import numpy as np

PLANT_BUG = False                                      # --bug sets it

hidden_size, vocab_size = 16, 8
rng = np.random.default_rng(0)
Wxh = rng.normal(size=(hidden_size, vocab_size)) * 0.01
Whh = rng.normal(size=(hidden_size, hidden_size)) * 0.01
Why = rng.normal(size=(vocab_size, hidden_size)) * 0.01
bh = np.zeros((hidden_size, 1))
by = np.zeros((vocab_size, 1))


def lossFun(inputs, targets, hprev):
    """inputs, targets: lists of character indices; hprev: the (hidden_size, 1) state before."""
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    for t in range(len(inputs)):                       # forward
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))
        loss += -np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):             # backward through time
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1                            # softmax and cross-entropy together
        if PLANT_BUG:
            dWhy = np.dot(dy, hs[t].T)                 # the bug: `=` where `+=` belongs
        else:
            dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext                # h[t] feeds y[t] and h[t+1]
        dhraw = (1 - hs[t] * hs[t]) * dh
        dbh += dhraw
        dWxh += np.dot(dhraw, xs[t].T)
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


def train(steps, seq_length=12):
    """A few Adagrad steps on this file's own text, as min-char-rnn trains."""
    global Wxh, Why, by, vocab_size
    with open(__file__) as f:
        data = f.read()
    chars = sorted(set(data))
    vocab_size, index = len(chars), {c: i for i, c in enumerate(chars)}
    Wxh = rng.normal(size=(hidden_size, vocab_size)) * 0.01
    Why = rng.normal(size=(vocab_size, hidden_size)) * 0.01
    by = np.zeros((vocab_size, 1))
    params = [Wxh, Whh, Why, bh, by]
    memory = [np.zeros_like(p) for p in params]
    hprev, p, smooth = np.zeros((hidden_size, 1)), 0, -np.log(1.0 / vocab_size) * seq_length
    for n in range(steps):
        if p + seq_length + 1 >= len(data):
            hprev, p = np.zeros((hidden_size, 1)), 0
        inputs = [index[c] for c in data[p:p + seq_length]]
        targets = [index[c] for c in data[p + 1:p + seq_length + 1]]
        loss, *grads, hprev = lossFun(inputs, targets, hprev)
        smooth = smooth * 0.999 + loss * 0.001
        for param, grad, mem in zip(params, grads, memory):
            np.clip(grad, -5, 5, out=grad)
            mem += grad * grad
            param += -0.1 * grad / np.sqrt(mem + 1e-8)   # in place: the globals see it
        p += seq_length
        if n % 100 == 0:
            print(f"step {n}: smoothed loss {smooth:.3f}")


def main(argv=None):
    global PLANT_BUG
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bug", action="store_true", help="plant the dWhy = bug")
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=0, metavar="STEPS")
    args = parser.parse_args(argv)
    PLANT_BUG = args.bug

    from manual_rnn.verify.harness import check_bptt

    report = check_bptt("min_char_rnn", lossFun, examples=args.examples, seed=args.seed,
                        raise_on_failure=False)
    print(report)
    if args.train:
        print()
        train(args.train)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
