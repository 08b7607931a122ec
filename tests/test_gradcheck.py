"""The user-facing gradient checker: the module and the `manual-rnn gradcheck` command."""
import os
import subprocess
import sys

import numpy as np
import pytest

import manual_rnn as mr
from manual_rnn.app import cli
from manual_rnn.verify.gradcheck import TOLERANCES, compare, numerical_gradient
from helpers import assert_allclose, twin_available


def test_numerical_gradient_of_a_known_function():
    arrays = {"a": np.array([1.0, -2.0, 3.0]), "b": np.array([[0.5]])}
    before = {k: v.copy() for k, v in arrays.items()}
    grads = numerical_gradient(lambda d: np.sum(d["a"] ** 3) * d["b"][0, 0], arrays)
    assert_allclose(grads["a"], 3 * arrays["a"] ** 2 * 0.5, rtol=1e-8)
    assert_allclose(grads["b"], [[np.sum(arrays["a"] ** 3)]], rtol=1e-8)
    assert all(np.array_equal(arrays[k], before[k]) for k in arrays)


def test_compare_reports_per_key_errors():
    report = compare({"x": np.array([1.0, 2.0])}, {"x": np.array([1.0, 2.5])})
    assert report["x"].max_abs == pytest.approx(0.5)
    assert report["x"].max_rel == pytest.approx(0.2)
    assert not report["x"].ok(atol=1e-3, rtol=1e-3)
    # max_rel divides by the larger magnitude, floored at 1e-8 only where both are near zero
    small = compare({"x": np.array([1e-3, 0.0])}, {"x": np.array([4e-3, 1e-12])})
    assert small["x"].max_rel == pytest.approx(0.75)
    assert compare({"x": np.array([0.0])}, {"x": np.array([1e-10])})["x"].max_rel == (
        pytest.approx(1e-2))
    with pytest.raises(ValueError, match="keys"):
        compare({"x": 1}, {"y": 1})


def table_rows(out):
    """{gradient name: its table line's cells} from the command's output."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("gradient "))
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        name, rest = line.split(None, 1)
        shape, cells = rest.split(")", 1)         # the shape, "(12, 3)", holds a space
        rows[name] = cells.split()
    return lines[start], rows


def expected_names(spec):
    names = list(mr.param_shapes(spec)) + ["xs", "h0"]
    return names + ["c0"] if spec.cell == "lstm" else names


SPECS = {   # each argv's network, as the command must build it
    "rnn-sigmoid-lengths": (["--cell", "rnn", "--nonlinearity", "sigmoid", "--lengths", "random",
                             "--batch", "3"],
                            mr.Spec("rnn", 3, 4, 2, nonlinearity="sigmoid")),
    "lstm-proj-deep-bi-ce": (["--cell", "lstm", "--proj-size", "2", "--layers", "2",
                              "--bidirectional", "--loss", "cross_entropy"],
                             mr.Spec("lstm", 3, 4, 2, num_layers=2, bidirectional=True,
                                     proj_size=2)),
    "gru-float32-lengths": (["--cell", "gru", "--dtype", "float32", "--lengths", "5,2"],
                            mr.Spec("gru", 3, 4, 2)),
    "gru-reset-before-dropout-batch-first": (
        ["--cell", "gru", "--reset-before", "--layers", "3", "--dropout", "0.4", "--seed", "3",
         "--batch-first", "--lengths", "random", "--batch", "3", "--checkpoint-every", "2"],
        mr.Spec("gru", 3, 4, 2, num_layers=3, reset_after=False, dropout=0.4,
                batch_first=True)),
    "rnn-headless-unbatched-relu": (
        ["--cell", "rnn", "--headless", "--unbatched", "--nonlinearity", "relu", "--no-bias",
         "--loss", "cross_entropy", "--hidden", "3"],
        mr.Spec("rnn", 3, 3, None, nonlinearity="relu", bias=False)),
    "lstm-headless-bi-dropout": (
        ["--cell", "lstm", "--headless", "--bidirectional", "--layers", "2", "--dropout", "0.5",
         "--dtype", "float32"],
        mr.Spec("lstm", 3, 4, None, num_layers=2, bidirectional=True, dropout=0.5)),
}


@pytest.mark.parametrize("case", list(SPECS))
def test_gradcheck_command_passes_on_correct_code(case, capsys):
    argv, spec = SPECS[case]
    assert cli.main(["gradcheck", *argv]) == 0
    out = capsys.readouterr().out
    assert f"gradcheck: {spec}" in out
    head, rows = table_rows(out)
    assert list(rows) == expected_names(spec)
    assert all(cells[-1] == "ok" for cells in rows.values()) and "FAIL" not in out
    assert "finite differences max|a-b|" in head
    if twin_available():
        assert "JAX twin max|a-b|" in head and "not available" not in out
        # both references' columns (max|a-b|, used) are filled in on every row
        assert all(len(cells) == 2 + 2 + 1 for cells in rows.values())
    else:
        assert "JAX twin not available" in out
    n = len(rows)
    assert f"{n} of {n} gradients agree" in out
    dtype = "float32" if "float32" in argv else "float64"
    atol, rtol = TOLERANCES[dtype]["fd"]
    assert f"verdict ({dtype})" in out and f"atol {atol:.0e}, rtol {rtol:.0e}" in out
    if "--dropout" in argv:
        seed = argv[argv.index("--seed") + 1] if "--seed" in argv else "0"
        assert f"dropout masks (seed {seed}, rate {spec.dropout})" in out


def test_gradcheck_command_checks_the_loss_mask_and_says_what_it_compared(capsys):
    argv = ["gradcheck", "--cell", "lstm", "--loss-mask", "last", "--lengths", "3,5",
            "--batch-first", "--seq-len", "5"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "loss_mask=last" in out and "this check shows nothing" not in out
    head, rows = table_rows(out)
    assert "finite differences max|a-b|" in head and "JAX twin max|a-b|" in head
    assert list(rows) == expected_names(mr.Spec("lstm", 3, 4, 2, batch_first=True))
    assert all(cells[-1] == "ok" for cells in rows.values())
    assert f"{len(rows)} of {len(rows)} gradients agree" in out


def test_gradcheck_says_so_when_every_gradient_is_zero(capsys):
    """A loss mask of zeros leaves no loss: every gradient agrees, vacuously, and it says so."""
    from manual_rnn.verify.gradcheck import check_model
    spec = mr.Spec("rnn", 2, 3, 2)
    xs = np.ones((4, 2, 2))
    rows, note = check_model(spec, mr.init_params(spec), xs, np.zeros((4, 2, 2)),
                             loss_mask=np.zeros((4, 2)), use_twin=False)
    assert cli._verdict(rows, note, "float64") == 0
    assert "this check shows nothing" in capsys.readouterr().out
    rows, note = check_model(spec, mr.init_params(spec), xs, np.zeros((4, 2, 2)),
                             use_twin=False)
    assert cli._verdict(rows, note, "float64") == 0
    assert "this check shows nothing" not in capsys.readouterr().out


def test_loss_mask_last_marks_each_sequences_last_step():
    mask = cli._loss_mask("last", (4, 2), 0, np.array([2, 4]), np.random.default_rng(0))
    assert mask.tolist() == [[0, 0], [1, 0], [0, 0], [0, 1]]
    mask = cli._loss_mask("last", (2, 4), 1, None, np.random.default_rng(0))
    assert mask.tolist() == [[0, 0, 0, 1], [0, 0, 0, 1]]
    assert cli._loss_mask("last", (3,), 0, None, None).tolist() == [0, 0, 1]


def test_gradcheck_leaves_jax_global_config_alone():
    """The command computes the twin in float64 without flipping jax_enable_x64 for the
    process (a library must not change its caller's JAX)."""
    if not twin_available():
        pytest.skip("JAX is not installed")
    code = ("import jax; from manual_rnn.app import cli\n"
            "assert not jax.config.jax_enable_x64\n"
            "assert cli.main(['gradcheck', '--cell', 'gru', '--no-fd']) == 0\n"
            "assert not jax.config.jax_enable_x64, 'gradcheck flipped jax_enable_x64'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items()
                                            if k != "JAX_ENABLE_X64"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "JAX twin max|a-b|" in done.stdout


@pytest.mark.parametrize("relative_error", [1e-3, 1e-6])
def test_gradcheck_command_fails_on_a_planted_bug(monkeypatch, capsys, relative_error):
    """One weight's gradient off by a relative 1e-3, or 1e-6 (still 100x the float64 tolerance
    of the twin): exit 1, and that row alone FAILs."""
    from manual_rnn import model
    correct = model.loss_and_grad

    def buggy(*args, **kwargs):
        result = correct(*args, **kwargs)
        grads = result[1]
        grads["weight_hh_l0"] = grads["weight_hh_l0"] * (1 + relative_error)
        return result

    monkeypatch.setattr(model, "loss_and_grad", buggy)
    argv = ["gradcheck", "--cell", "rnn", "--seq-len", "3"]
    if relative_error < 1e-5:
        argv.append("--no-fd")          # below what finite differences can resolve
    assert cli.main(argv) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [l.split()[0] for l in lines if l.endswith("FAIL")] == ["weight_hh_l0"]


@pytest.mark.parametrize("argv, words", [
    (["--hidden", "0"], ["hidden_size", ">= 1", "0"]),
    (["--lengths", "a,b"], ["--lengths", "'a,b'"]),
    (["--lengths", "9,1"], ["lengths", "[1, T=5]"]),
    (["--fd-entries", "-1"], ["--fd-entries", ">= 0", "-1"]),
    (["--seq-len", "0"], ["--seq-len", ">= 1", "0"]),
    (["--batch", "-2"], ["--batch", ">= 1", "-2"]),
    (["--checkpoint-every", "0"], ["--checkpoint-every", ">= 1", "0"]),
    (["--dropout", "1.0", "--layers", "2"], ["--dropout", "[0, 1)", "1.0"]),
    (["--dropout", "nan", "--layers", "2"], ["--dropout", "nan"]),
    (["--unbatched", "--batch", "3"], ["--unbatched", "--batch", "3"]),
    (["--headless", "--output", "3"], ["--headless", "--output"]),
    (["--reset-before", "--cell", "lstm"], ["reset_after", "gru"]),
    (["--proj-size", "2", "--cell", "gru"], ["proj_size", "lstm"]),
    (["--no-fd", "--no-jax"], ["nothing to check against"]),
    (["--unbatched", "--lengths", "3"], ["lengths", "unbatched"]),
])
def test_gradcheck_command_rejects_bad_arguments(argv, words, capsys):
    assert cli.main(["gradcheck", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("manual-rnn gradcheck: error:")
    for word in words:
        assert word in err, (word, err)


def test_gradcheck_command_offers_the_registrys_cells_and_the_losses():
    from manual_rnn.activations import ACTIVATIONS
    from manual_rnn.cells import CELLS
    from manual_rnn.losses import LOSSES
    parser = cli.build_parser()
    check = parser._subparsers._group_actions[0].choices["gradcheck"]
    choices = {a.dest: a.choices for a in check._actions if a.choices}
    assert list(choices["cell"]) == list(CELLS)
    assert list(choices["loss"]) == list(LOSSES)
    assert list(choices["nonlinearity"]) == list(ACTIVATIONS)


def test_sampled_entries_are_checked_and_the_rest_masked():
    arrays = {"w": np.arange(12.0).reshape(3, 4)}
    grads = numerical_gradient(lambda d: np.sum(d["w"] ** 2), arrays, entries=5, seed=1)
    assert np.ma.isMaskedArray(grads["w"])
    checked = ~np.ma.getmaskarray(grads["w"])
    assert checked.sum() == 5
    assert not np.isnan(np.ma.getdata(grads["w"])).any()       # unsampled is a mask, not NaN
    assert_allclose(np.ma.getdata(grads["w"])[checked], 2 * arrays["w"][checked], rtol=1e-8)
    right = compare({"w": 2 * arrays["w"]}, grads)["w"]
    assert right.compared == 5 and right.max_abs < 1e-6 and right.ok(1e-7, 1e-5)
    wrong = 2 * arrays["w"] + np.where(checked, 1.0, 0.0)
    assert compare({"w": wrong}, grads)["w"].max_abs == pytest.approx(1.0)
    assert not compare({"w": wrong}, grads)["w"].ok(1e-3, 1e-3)
    # Off the sample, a wrong value is not seen (that is what sampling means) ...
    off = 2 * arrays["w"] + np.where(checked, 0.0, 1.0)
    assert compare({"w": off}, grads)["w"].ok(1e-7, 1e-5)
    # ... but a NaN there is: the gradient under test must be finite everywhere.
    holey = np.where(checked, 2 * arrays["w"], np.nan)
    assert not compare({"w": holey}, grads)["w"].ok(1e10, 1e10)


def test_one_sampled_entry_and_the_default_seed():
    arrays = {"w": np.arange(12.0).reshape(3, 4)}
    f = lambda d: np.sum(d["w"] ** 2)
    one = numerical_gradient(f, arrays, entries=1)["w"]
    assert (~np.ma.getmaskarray(one)).sum() == 1
    default = np.ma.getmaskarray(numerical_gradient(f, arrays, entries=4)["w"])
    assert np.array_equal(default, np.ma.getmaskarray(
        numerical_gradient(f, arrays, entries=4, seed=0)["w"]))
    assert not np.array_equal(default, np.ma.getmaskarray(
        numerical_gradient(f, arrays, entries=4, seed=1)["w"]))


def test_entries_must_be_a_positive_int():
    for bad, error in [(-1, ValueError), (0, ValueError), (2.5, TypeError)]:
        with pytest.raises(error, match="entries"):
            numerical_gradient(lambda d: 0.0, {"w": np.zeros(3)}, entries=bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("side", ["analytic", "reference", "both"])
def test_a_non_finite_value_on_either_side_fails_whatever_the_tolerance(bad, side):
    good = np.ones((2, 3))
    spoiled = good.copy()
    spoiled[1, 2] = bad
    a = spoiled if side in ("analytic", "both") else good
    b = spoiled if side in ("reference", "both") else good
    error = compare({"w": a}, {"w": b})["w"]
    assert error.nonfinite >= 1
    assert not error.ok(1e12, 1e12) and not error.ok(np.inf, np.inf)
    assert error.used(1.0, 1.0) == np.inf and error.max_abs == np.inf
    assert error.shares(1.0, 1.0).tolist() == [0.0] * 5 + [np.inf]  # the entry that is not
    # A NaN produced at a sampled entry of finite differences is never taken for "unsampled".
    sampled = numerical_gradient(lambda d: d["w"].sum() * bad, {"w": good}, entries=2)
    assert not compare({"w": good}, sampled)["w"].ok(1e12, 1e12)


def test_verdict_is_the_combined_tolerance_relative_to_the_arrays_scale():
    """|a - b| <= atol * max(1, max|b|) + rtol * |b| at every entry: neither a small absolute
    error on a tiny gradient nor a small relative error on a large one passes on its own."""
    b = np.array([1e-9, 1.0])
    tiny_wrong = compare({"w": np.array([-1e-9, 1.0])}, {"w": b})["w"]
    assert tiny_wrong.max_abs == pytest.approx(2e-9)
    assert tiny_wrong.ok(atol=1e-8, rtol=0) and not tiny_wrong.ok(atol=1e-10, rtol=1e-3)
    # an "abs or rel" rule would pass this: the absolute error is below atol
    assert tiny_wrong.max_abs <= 1e-8 and not tiny_wrong.ok(atol=1e-9, rtol=1e-5)
    big = np.array([1000.0, 1e-3])
    error = compare({"w": big + np.array([0.0, 5e-7])}, {"w": big})["w"]
    assert error.scale == 1000.0
    assert error.ok(atol=1e-9, rtol=0)          # 5e-7 <= 1e-9 * 1000
    assert not error.ok(atol=1e-10, rtol=1e-5)  # 5e-7 > 1e-10 * 1000 + 1e-5 * 1e-3
    assert error.used(1e-9, 0) == pytest.approx(0.5)
    # 5e-7 / (1e-9 * 1000 + 1e-3 * 1e-3): both terms of the bound count
    assert error.used(1e-9, 1e-3) == pytest.approx(0.25)
    assert error.ok(1e-9, 1e-3) and not error.ok(1e-10, 1e-4)
    assert error.shares(1e-9, 1e-3).tolist() == pytest.approx([0.0, 0.25])  # each entry's
    assert compare({"w": big}, {"w": big}, at_least=1e6)["w"].scale == 1e6
    assert compare({"w": b / 10}, {"w": b / 10}, at_least=1e-2)["w"].scale == 1.0  # never < 1
    zero = compare({"w": np.zeros(3)}, {"w": np.zeros(3)})["w"]
    assert zero.ok(0.0, 0.0) and zero.used(0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="shapes"):
        compare({"w": np.zeros(2)}, {"w": np.zeros(3)})
