"""The tools that verify gradients, built on the numerical core:

- `gradcheck`: central finite differences and the comparison that decides pass or fail;
- `rtrl`: real-time recurrent learning, the same gradients computed forward in time;
- `traces`: every step's states, gates and state gradients dL/dh_t, by name;
- `layouts`: parameters and data converted between manual_rnn's (PyTorch's) layout and the
  layouts people write by hand (CS231n, deeplearning.ai, Keras, ONNX, min-char-rnn);
- `harness`: checks a hand-written forward and backward pass, in any of those layouts,
  against manual_rnn on random networks, and points at the first wrong gradient and step.
"""
