"""Hypothesis profiles, "dev" (the default, quick) and "thorough" (what .ci/run selects with
MANUAL_RNN_PROFILE=thorough), and the coverage table of the comparisons with the JAX twin.

Hypothesis would load its own built-in "ci" profile whenever CI is set, so we load ours by
name and never rely on that. Every failure prints the falsifying example (its seed and shapes)
and a reproduction blob. Tests that set their own number of examples take it from
`examples(n)`: n under "dev", scaled as the profile's default is under "thorough".

At the end of a run that compared cases with the twin, the table of what was drawn is printed
(tests/grid.py keeps the books, one file per pytest-xdist worker); a run that went through the
whole plan and still missed a required combination fails.
"""
import os
import shutil
import tempfile

# The twin's programs are tiny and each new network compiles anew, so compiling dominates the
# suite's time. XLA's cheaper backend passes and its older CPU fusion emitters each cut the
# compile time (together by about 2x here, measured over a set of twin programs), and leave the
# arithmetic IEEE float64: the twin agrees with manual_rnn and PyTorch to ~1e-15 either way.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 "
                                   "--xla_llvm_disable_expensive_passes=true "
                                   "--xla_cpu_use_fusion_emitters=false")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

PROFILE = os.environ.get("MANUAL_RNN_PROFILE", "dev")
if PROFILE not in ("dev", "thorough"):
    raise ValueError(f"MANUAL_RNN_PROFILE must be 'dev' or 'thorough', got {PROFILE!r}")
_common = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLES = {"dev": 20, "thorough": 150}
settings.register_profile("dev", max_examples=EXAMPLES["dev"], **_common)
settings.register_profile("thorough", max_examples=EXAMPLES["thorough"], **_common)
settings.load_profile(PROFILE)


def examples(dev):
    """A test's number of examples: `dev` under the dev profile, scaled like the default
    (x7.5) under thorough."""
    return max(1, round(dev * EXAMPLES[PROFILE] / EXAMPLES["dev"]))


# ---- the coverage table ---------------------------------------------------------------------

def pytest_configure(config):
    if hasattr(config, "workerinput"):       # a pytest-xdist worker: the controller set it up
        return
    import grid
    directory = tempfile.mkdtemp(prefix="manual_rnn_coverage_")
    os.environ[grid.DIRECTORY] = directory    # inherited by the workers, started after this
    config._twin_coverage = {"directory": directory}


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    state = getattr(config, "_twin_coverage", None)
    if state is None:
        return
    import grid
    records = grid.read(state["directory"])
    shutil.rmtree(state["directory"], ignore_errors=True)
    if not records:
        return
    planned = {n.id for n in grid.plan()}
    ran = {r["network"] for r in records if r["source"] == "grid"}
    complete = planned <= ran
    problems = []
    if complete:
        problems += [f"never drawn: {gap}" for gap in grid.missing(records)]
        f64 = [r for r in records if r["dtype"] == "float64"]
        networks = {r["spec"] for r in f64}
        if len(f64) < grid.MIN_CASES or len(networks) < grid.MIN_NETWORKS:
            problems.append(f"{len(f64)} float64 cases over {len(networks)} networks; the "
                            f"{PROFILE} profile needs {grid.MIN_CASES} over {grid.MIN_NETWORKS}")
        share = sum(r["T>=2"] for r in records) / len(records)
        if share < 0.9:
            problems.append(f"only {share:.0%} of the cases have T >= 2 (90% needed)")
    state.update(records=records, complete=complete, problems=problems)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = getattr(config, "_twin_coverage", None)
    if not state or not state.get("records"):
        return
    import coverage_table
    write = terminalreporter.write_line
    terminalreporter.section("comparisons with the JAX twin")
    for line in coverage_table.lines(state["records"], state["complete"]):
        write(line)
    for problem in state["problems"]:
        write(f"COVERAGE FAILED: {problem}", red=True, bold=True)
