"""The deterministic plan of networks that tests/test_vs_jax.py compares with the JAX twin, and
the bookkeeping of which combinations every run drew.

Rather than hope that random draws reach every combination that matters, the plan enumerates
the product of the factors that change the backward pass's structure,

    cell x {1, >= 2 layers} x {one, two directions} x {lengths or none} x {bias or none} x loss

(96 combinations), `VARIANTS` times over. Within each variant and cell, every other option is
dealt out in turn over the networks it applies to (a shuffled round-robin), so each of them
reaches every cell in every variant: layouts (time-major, batch_first, unbatched), h0 or
none, read-out or headless, float64 or float32, dropout at rates 0.2, 0.5 and 0.8, loss_mask,
checkpoint_every, weight scales from PyTorch's init to saturating, the LSTM's projection, the
Elman cell's three nonlinearities and the GRU's two reset placements. Sizes, T and B are drawn.

Each network is compared on `DRAWS` independent data draws (weights, inputs, states, masks,
targets): one compile of the twin per network, then cheap calls.

`record` appends what each compared case was to a file per process, so the totals add up
under pytest-xdist; conftest.py prints the table at the end of the run and fails the run when
the whole plan ran and a required combination is missing.
"""
import itertools
import json
import os
from dataclasses import dataclass

import numpy as np

import manual_rnn as mr

PROFILE = os.environ.get("MANUAL_RNN_PROFILE", "dev")
VARIANTS = {"dev": 1, "thorough": 4}[PROFILE]
DRAWS = {"dev": 2, "thorough": 6}[PROFILE]
# A CI (thorough) run must compare at least this many float64 cases over this many networks.
MIN_CASES = {"dev": 0, "thorough": 1000}[PROFILE]
MIN_NETWORKS = {"dev": 0, "thorough": 300}[PROFILE]

CELLS = ("rnn", "lstm", "gru")
CORE = tuple(itertools.product(CELLS, ("1", "2+"), (1, 2), (False, True), (True, False),
                               ("mse", "cross_entropy")))
GAINS = {"init": 1.0, "double": 2.0, "saturating": 5.0}
DROPOUT_RATES = (0.2, 0.5, 0.8)


@dataclass(frozen=True)
class Network:
    """One network of the plan and how its data is drawn."""
    index: int
    spec: mr.Spec
    T: int
    B: int                 # sequences; 1 when unbatched
    unbatched: bool
    with_h0: bool
    with_lengths: bool
    loss: str
    dtype: str
    dropout_rate: float    # the masks' rate (0: no masks); the spec's dropout field says the same
    loss_mask: bool
    checkpoint_every: int  # 0: none
    gain: str

    @property
    def id(self):
        s = self.spec
        parts = [s.cell, f"L{s.num_layers}", "bi" if s.bidirectional else "uni",
                 "len" if self.with_lengths else "full", "bias" if s.bias else "nobias",
                 "ce" if self.loss == "cross_entropy" else "mse", str(self.index)]
        return "-".join(parts)

    def factors(self):
        """What this network is, as the coverage table counts it."""
        s = self.spec
        return {
            "cell": s.cell, "layers": "1" if s.num_layers == 1 else "2+",
            "directions": s.num_directions, "lengths": self.with_lengths, "bias": s.bias,
            "loss": self.loss, "layout": ("unbatched" if self.unbatched else
                                          "batch_first" if s.batch_first else "time_major"),
            "h0": self.with_h0, "head": s.has_head, "dtype": self.dtype,
            "dropout": self.dropout_rate, "loss_mask": self.loss_mask,
            "checkpoint_every": self.checkpoint_every > 0, "gain": self.gain,
            "projection": s.proj_size > 0, "nonlinearity": s.nonlinearity,
            "reset_after": s.reset_after, "T>=2": self.T >= 2,
        }


def _deal(networks, options, rng):
    """Options dealt out in turn over the networks, in a shuffled order: with n networks and
    k options each option goes to n // k or more of them."""
    order = rng.permutation(len(networks))
    offset = int(rng.integers(len(options)))
    return {networks[i]: options[(j + offset) % len(options)] for j, i in enumerate(order)}


def plan(variants=None):
    """Every network of the plan, in a fixed order (the same on every machine and run)."""
    variants = VARIANTS if variants is None else variants
    networks = []
    for variant in range(variants):
        rng = np.random.default_rng([2024, variant])
        rows = list(range(len(CORE)))
        choice = {}
        for cell in CELLS:
            mine = [i for i in rows if CORE[i][0] == cell]
            deep = [i for i in mine if CORE[i][1] == "2+"]
            padded = [i for i in mine if CORE[i][3]]
            whole = [i for i in mine if not CORE[i][3]]
            deal = {
                "layout": {**_deal(whole, ["time_major", "batch_first", "unbatched"], rng),
                           **_deal(padded, ["time_major", "batch_first"], rng)},
                "h0": _deal(mine, [False, True], rng),
                "head": _deal(mine, [True, True, False], rng),
                "dtype": _deal(mine, ["float64"] * 7 + ["float32"], rng),
                "dropout": _deal(deep, [0.0, *DROPOUT_RATES], rng),
                "loss_mask": _deal(mine, [False, False, True], rng),
                "checkpoint_every": _deal(mine, [False, False, True], rng),
                "gain": _deal(mine, list(GAINS), rng),
                "variety": _deal(mine, {"rnn": ["tanh", "relu", "sigmoid"],
                                        "lstm": [False, True], "gru": [True, False]}[cell], rng),
            }
            for i in mine:
                choice[i] = {key: deal[key].get(i) for key in deal}
        for i in rows:
            cell, layers, directions, with_lengths, bias, loss = CORE[i]
            c = choice[i]
            num_layers = 1 if layers == "1" else int(rng.choice([2, 2, 2, 3]))
            hidden = int(rng.integers(2, 7))
            T = 1 if rng.random() < 0.04 else int(rng.integers(2, 9))
            layout = c["layout"]
            unbatched = layout == "unbatched"
            spec = mr.Spec(
                cell, int(rng.integers(1, 6)), hidden,
                int(rng.integers(1, 6)) if c["head"] else None, num_layers=num_layers,
                bidirectional=directions == 2,
                nonlinearity=c["variety"] if cell == "rnn" else "tanh", bias=bias,
                batch_first=layout == "batch_first",
                proj_size=int(rng.integers(1, hidden)) if cell == "lstm" and c["variety"] else 0,
                dropout=c["dropout"] or 0.0,
                reset_after=c["variety"] if cell == "gru" else True)
            networks.append(Network(
                index=len(networks), spec=spec, T=T, B=1 if unbatched else int(rng.integers(1, 5)),
                unbatched=unbatched, with_h0=c["h0"], with_lengths=with_lengths, loss=loss,
                dtype=c["dtype"], dropout_rate=c["dropout"] or 0.0, loss_mask=c["loss_mask"],
                checkpoint_every=int(rng.integers(1, T + 1)) if c["checkpoint_every"] else 0,
                gain=c["gain"]))
    return networks


# ---- what must be covered -------------------------------------------------------------------

def required():
    """(factor, value, cell or None) triples that every run must draw at least once, and the
    core combinations."""
    need = []
    for cell in CELLS:
        need += [("layout", v, cell) for v in ("time_major", "batch_first", "unbatched")]
        need += [("h0", v, cell) for v in (False, True)]
        need += [("head", v, cell) for v in (True, False)]
        need += [("dtype", v, cell) for v in ("float64", "float32")]
        need += [("dropout", v, cell) for v in DROPOUT_RATES]
        need += [("loss_mask", True, cell), ("checkpoint_every", True, cell)]
        need += [("gain", v, cell) for v in GAINS]
    need += [("projection", v, "lstm") for v in (False, True)]
    need += [("nonlinearity", v, "rnn") for v in ("tanh", "relu", "sigmoid")]
    need += [("reset_after", v, "gru") for v in (True, False)]
    return need


CORE_KEYS = ("cell", "layers", "directions", "lengths", "bias", "loss")


def core_of(factors):
    return tuple(factors[k] for k in CORE_KEYS)


def missing(records):
    """Required combinations that none of `records` (factor dicts) drew."""
    seen_core = {core_of(r) for r in records}
    gaps = [("core",) + c for c in CORE if c not in seen_core]
    seen = {(k, r[k], r["cell"]) for r in records for k in r}
    gaps += [need for need in required() if need not in seen]
    return gaps


# ---- bookkeeping across processes -----------------------------------------------------------

DIRECTORY = "MANUAL_RNN_COVERAGE_DIR"


def record(source, network_id, factors):
    """Note one compared case: a line in this process's file of the run's directory."""
    directory = os.environ.get(DIRECTORY)
    if not directory:
        return
    line = json.dumps({"source": source, "network": network_id, **factors})
    with open(os.path.join(directory, f"{os.getpid()}.jsonl"), "a") as file:
        file.write(line + "\n")


def read(directory):
    records = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".jsonl"):
            with open(os.path.join(directory, name)) as file:
                records += [json.loads(line) for line in file if line.strip()]
    return records
