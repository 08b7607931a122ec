"""The user-facing gradient checker: the module and the `manual-rnn gradcheck` command."""
import numpy as np
import pytest

from manual_rnn.app import cli
from manual_rnn.cells import rnn
from manual_rnn.verify.gradcheck import compare, numerical_gradient


def test_numerical_gradient_of_a_known_function():
    arrays = {"a": np.array([1.0, -2.0, 3.0]), "b": np.array([[0.5]])}
    before = {k: v.copy() for k, v in arrays.items()}
    grads = numerical_gradient(lambda d: np.sum(d["a"] ** 3) * d["b"][0, 0], arrays)
    np.testing.assert_allclose(grads["a"], 3 * arrays["a"] ** 2 * 0.5, rtol=1e-8)
    np.testing.assert_allclose(grads["b"], [[np.sum(arrays["a"] ** 3)]], rtol=1e-8)
    assert all(np.array_equal(arrays[k], before[k]) for k in arrays)


def test_compare_reports_per_key_errors():
    report = compare({"x": np.array([1.0, 2.0])}, {"x": np.array([1.0, 2.5])})
    assert report["x"].max_abs == pytest.approx(0.5)
    assert report["x"].max_rel == pytest.approx(0.2)
    assert not report["x"].ok(atol=1e-3, rtol=1e-3)
    with pytest.raises(ValueError, match="keys"):
        compare({"x": 1}, {"y": 1})


@pytest.mark.parametrize("argv", [
    ["--cell", "rnn", "--nonlinearity", "sigmoid", "--lengths", "random", "--batch", "3"],
    ["--cell", "lstm", "--proj-size", "2", "--layers", "2", "--bidirectional",
     "--loss", "cross_entropy"],
    ["--cell", "gru", "--dtype", "float32", "--lengths", "5,2"],
])
def test_gradcheck_command_passes_on_correct_code(argv, capsys):
    assert cli.main(["gradcheck", *argv]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "JAX twin" in out and "xs" in out and "h0" in out


def test_gradcheck_command_fails_on_a_planted_bug(monkeypatch, capsys):
    """Drop the recurrent term's weight gradient at the first step: exit 1, that row FAILs."""
    correct = rnn.backward

    def buggy(spec, p, cache, dstates, dlast):
        dxproj, dp, dstate0 = correct(spec, p, cache, dstates, dlast)
        dp["w_hh"] = dp["w_hh"] - np.outer(dxproj[0, 0], cache[0, 0])
        return dxproj, dp, dstate0

    monkeypatch.setattr(rnn, "backward", buggy)
    assert cli.main(["gradcheck", "--cell", "rnn", "--seq-len", "3"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [l.split()[0] for l in lines if l.endswith("FAIL")] == ["weight_hh_l0"]


def test_gradcheck_command_rejects_bad_arguments(capsys):
    assert cli.main(["gradcheck", "--hidden", "0"]) == 2
    assert "hidden_size" in capsys.readouterr().err
    assert cli.main(["gradcheck", "--lengths", "a,b"]) == 2


def test_sampled_entries_are_checked_and_the_rest_skipped():
    arrays = {"w": np.arange(12.0).reshape(3, 4)}
    grads = numerical_gradient(lambda d: np.sum(d["w"] ** 2), arrays, entries=5, seed=1)
    checked = ~np.isnan(grads["w"])
    assert checked.sum() == 5
    np.testing.assert_allclose(grads["w"][checked], 2 * arrays["w"][checked], rtol=1e-8)
    wrong = 2 * arrays["w"] + 1.0
    assert compare({"w": 2 * arrays["w"]}, grads)["w"].max_abs < 1e-6
    assert compare({"w": wrong}, grads)["w"].max_abs == pytest.approx(1.0)
