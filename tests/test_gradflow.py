"""`manual-rnn gradflow`: the per-step gradient norms of a trained model, printed and drawn."""
import numpy as np
import pytest

from manual_rnn.app import checkpoint, cli
from manual_rnn.app import train as training
from manual_rnn.verify.traces import gradient_norms, trace


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("flow") / "run.npz")
    assert cli.main(["train", "--task", "adding", "--seq-len", "12", "--cell", "lstm",
                     "--hidden", "4", "--steps", "3", "--batch", "4", "--eval-every", "3",
                     "--eval-batch", "4", "--save", path]) == 0
    return path


def test_gradflow_prints_the_traces_norms_at_every_shown_step(trained, capsys, tmp_path):
    capsys.readouterr()
    plot = tmp_path / "flow.png"
    assert cli.main(["gradflow", "--checkpoint", trained, "--batch", "5", "--seed", "2",
                     "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    rows = {int(line.split()[0]): float(line.split()[1]) for line in out.splitlines()
            if line.strip() and line.split()[0].isdigit()}
    assert sorted(rows) == list(range(12))                   # T = 12: every step is shown
    state = checkpoint.load(trained)
    task = training.build_task(state.config, seq_len=12)
    batch = task.batch(np.random.default_rng(2), 5, split="eval")
    norms = gradient_norms(trace(state.spec, state.params, batch.xs, batch.targets, task.loss,
                                 loss_mask=batch.loss_mask))["l0"]
    for t, value in rows.items():
        assert value == pytest.approx(np.median(norms[t]), rel=1e-3)   # printed to 4 digits
    assert plot.stat().st_size > 1000 and f"wrote {plot}" in out


def test_gradflow_of_the_cell_state_needs_an_lstm(tmp_path, capsys):
    path = str(tmp_path / "gru.npz")
    assert cli.main(["train", "--task", "sine", "--seq-len", "5", "--cell", "gru", "--hidden",
                     "3", "--steps", "2", "--batch", "2", "--eval-every", "2",
                     "--eval-batch", "2", "--save", path]) == 0
    assert cli.main(["gradflow", "--checkpoint", path, "--state", "dc"]) == 2
    assert "--state dc needs an LSTM" in capsys.readouterr().err
    assert cli.main(["gradflow", "--checkpoint", path, "--batch", "0"]) == 2
    assert "--batch must be >= 1, got 0" in capsys.readouterr().err
