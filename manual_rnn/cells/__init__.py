"""One forward/backward pair per cell, for one direction of one layer over a whole sequence.

Every cell has the same contract, so `layers.py` stacks, reverses and masks them all alike:

    bias = input_bias(spec, p)
    states, cache = forward(spec, p, xproj, state0)
    dxproj, dp, dstate0 = backward(spec, p, cache, dstates, dlast)

`xproj` (T, B, G*H) is W_ih x_t + input_bias(spec, p) for every step, computed outside the time
loop as one matmul: b_ih, plus those parts of b_hh the cell adds unchanged. `p` holds this
direction's weights {"w_ih", "w_hh", "b_ih", "b_hh", "w_hr"} (None where absent); `state0` and
`states` are tuples, (h,) or (h, c) for the LSTM, `states` stacked over time (T, B, .).
`dstates` is the gradient reaching each step's state from outside the recurrence (the layer
above, the head), None for a state nothing outside reads (the LSTM's c, unless lengths end
sequences early); `dlast` is the gradient on the last step's state from beyond the sequence
(a later segment, or dstate). `backward` adds the gradient through time itself. `dp` holds
the gradients of w_hh, b_ih, b_hh and w_hr (those the spec has); w_ih's needs the layer's input,
so `layers.py` forms it from dxproj, again as one matmul over all steps.
"""
from . import gru, lstm, rnn

# The one registry of cells: Spec, the layers, the command line, training and the benchmarks all
# read it. Each cell module also declares GATES (blocks stacked in weight_ih's rows) and STATES.
CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
