"""The notebook's toy problem, trained with correct BPTT, then gradient-checked.

The notebook this project grew from trained a 3-unit sigmoid RNN to map the inputs [1, 2] to
the targets [0.5, 0.8] with plain SGD (lr 0.01, 2000 epochs). Its backward pass had a bug:
`dWy = np.dot(dy, h[t].T)` *assigned* the output-weight gradient at every step instead of
accumulating it, so only step 0's term survived. And its update function declared
`global wx, wy, ...` while assigning `wo`, which made `wo` a local and stopped the cell with an
UnboundLocalError. `--init notebook` starts from the weights it printed.
"""
import numpy as np

from ..model import loss_and_grad
from ..spec import Spec, init_params
from ..verify.gradcheck import TOLERANCES, check_model, describe_tolerances, format_table
from .optim import SGD

SPEC = Spec(cell="rnn", input_size=1, hidden_size=3, output_size=1, nonlinearity="sigmoid")
XS = np.array([[1.0], [2.0]])          # unbatched: (T, I)
TARGETS = np.array([[0.5], [0.8]])     # (T, O)

# The weights the notebook printed (wx, wh, wo); its biases bx and by started at zero.
NOTEBOOK = {
    "weight_ih_l0": [[-1.12842626], [0.13693645], [-0.01567228]],
    "weight_hh_l0": [[0.40316286, 0.37694561, -0.00980171],
                     [-1.47310901, 0.65082041, -0.17920119],
                     [0.92837611, -0.36532238, 0.31541256]],
    "head.weight": [[0.44378544, 0.25123416, -0.23855756]],
}


def notebook_params():
    """The notebook's printed weights, named as PyTorch names them. Its one hidden bias bx goes
    into bias_ih_l0; PyTorch's second hidden bias, bias_hh_l0, starts at zero too."""
    params = {name: np.zeros(shape) for name, shape in
              {"bias_ih_l0": (3,), "bias_hh_l0": (3,), "head.bias": (1,)}.items()}
    params.update({name: np.array(value) for name, value in NOTEBOOK.items()})
    return params


def run(init="random", seed=0, epochs=2000, lr=0.01, every=100, out=print):
    """Train, print the loss every `every` epochs as the notebook did, then check gradients.

    Returns (params, ok): ok is True when every gradient agrees with its references. A run
    whose loss or parameters stop being finite is reported as diverged (ok False)."""
    params = notebook_params() if init == "notebook" else init_params(SPEC, seed=seed)
    optimiser = SGD(lr=lr)
    state = optimiser.init(params)
    # A diverging run overflows on its way to inf; the check below says so once, in words.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs + 1):
            loss, grads = loss_and_grad(SPEC, params, XS, TARGETS)
            if epoch % every == 0 and epoch < epochs:
                out(f"Epoch {epoch} Loss {loss:.8f}")
            if epoch == epochs:
                break
            params, state = optimiser.step(params, grads, state)
            if not all(np.isfinite(p).all() for p in params.values()):
                out(f"Diverged at epoch {epoch}: the parameters are no longer finite (loss "
                    f"{loss:.4g}); try a smaller lr (now {lr})")
                return params, False
    out(f"Final loss {loss:.8f} after {epochs} epochs")
    rows, note = check_model(SPEC, params, XS, TARGETS)
    out("\nGradient check of the trained model (max errors over each array):")
    out(format_table(rows, TOLERANCES["float64"]))
    if note:
        out(note)
    out(describe_tolerances("float64", [k for k in ("fd", "jax") if k in rows[0].errors]))
    failed = [r.name for r in rows if not r.ok]
    out(f"Verdict: {'FAIL, ' + ', '.join(failed) + ' disagree' if failed else 'ok'}: "
        f"{len(rows) - len(failed)} of {len(rows)} gradients agree with their references")
    return params, not failed
