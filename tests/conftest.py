"""Hypothesis profiles: "dev" (the default, quick) and "thorough" (what .ci/run selects with
MANUAL_RNN_PROFILE=thorough).

Hypothesis would load its own built-in "ci" profile whenever CI is set, so we load ours by
name and never rely on that. Every failure prints the falsifying example (its seed and shapes)
and a reproduction blob.
"""
import os

# The twin's programs are tiny and each new shape compiles anew, so compiling dominates the
# suite's time; XLA's cheaper backend passes halve it and leave the arithmetic IEEE-exact.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 "
                                   "--xla_llvm_disable_expensive_passes=true")

from hypothesis import HealthCheck, settings  # noqa: E402

PROFILE = os.environ.get("MANUAL_RNN_PROFILE", "dev")
_common = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=20, **_common)
settings.register_profile("thorough", max_examples=150, **_common)
settings.load_profile(PROFILE)

# Every example checked against the JAX twin compiles a new XLA program (about 1 s here), so
# those tests draw fewer examples than the rest, to keep the suite within 5 minutes on 2 cores.
TWIN_EXAMPLES = {"dev": 15, "thorough": 90}[PROFILE]
