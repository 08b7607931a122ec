"""Check your own hand-written backpropagation through time against manual_rnn's.

    from manual_rnn.verify.harness import check_bptt

    check_bptt("cs231n_lstm", lstm_forward, lstm_backward)            # raises AssertionError
    check_bptt("cs231n_lstm", lstm_step_forward, lstm_step_backward, step=True)
    check_bptt("deeplearning_ai_rnn", rnn_forward, rnn_backward)
    check_bptt("min_char_rnn", lossFun)
    report = check_bptt(..., raise_on_failure=False)                  # report.ok, print(report)

    manual-rnn check rnn_layers.py --layout cs231n_lstm [--step] [--examples N] [--seed S]

Hypothesis draws networks (T = 1..8 steps, N = 1..4 sequences, D and H = 1..6 features) with
weights U(-s, s) at scales s from 0.1 to 5, where gates saturate, and their inputs, initial
state and upstream gradient. Your functions run on them in your layout (`layouts` converts);
manual_rnn's forward, backward and per-step traces (`traces`) run on the same network; every
gradient you return is compared with the reference entry by entry, in float64:

    |yours - reference| <= atol * max(1, max |reference|) + rtol * |reference|

(gradcheck's rule; NaN or infinity on either side fails; atol and rtol default to what the
library asks of its JAX twin, gradcheck.TOLERANCES["float64"]["jax"]). Your forward's outputs
are compared too. On a mismatch Hypothesis shrinks the case to the smallest failing network and the report
says which gradients are wrong and by how much (max abs and rel error, the worst entry, yours
and the reference's there); where in time it goes wrong (each step of dx, and the state
gradients where your code exposes them, counting back from the last step); what a wrong weight
gradient equals instead when that is simple (one step's term alone, the sum lacking one step's
term, zero, the opposite sign, the transpose); and a snippet that reproduces the case:

    report = check_case("cs231n_lstm", lstm_forward, lstm_backward,
                        case=Case(T=2, N=1, D=1, H=1, seed=0, scale=0.5))
    report.inputs, report.expected        # what your functions got, what they should return

Protocols. A protocol is the signatures of your functions, written as the source writes them.
The names say what each argument and result is, so a signature is all the harness needs:

    cs231n_rnn        rnn_forward(x, h0, Wx, Wh, b) -> h, cache
                      rnn_backward(dh, cache) -> dx, dh0, dWx, dWh, db
      step=True       rnn_step_forward(x, prev_h, Wx, Wh, b) -> next_h, cache
                      rnn_step_backward(dnext_h, cache) -> dx, dprev_h, dWx, dWh, db
    cs231n_lstm       lstm_forward(x, h0, Wx, Wh, b) -> h, cache                  (c0 = 0)
                      lstm_backward(dh, cache) -> dx, dh0, dWx, dWh, db
      step=True       lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> next_h, next_c, cache
                      lstm_step_backward(dnext_h, dnext_c, cache)
                          -> dx, dprev_h, dprev_c, dWx, dWh, db
    deeplearning_ai_rnn
                      rnn_forward(x, a0, parameters) -> a, y_pred, caches
                      rnn_backward(da, caches) -> {dx, da0, dWax, dWaa, dba}
      step=True       rnn_cell_forward(xt, a_prev, parameters) -> a_next, yt_pred, cache
                      rnn_cell_backward(da_next, cache) -> {dxt, da_prev, dWax, dWaa, dba}
    deeplearning_ai_lstm
                      lstm_forward(x, a0, parameters) -> a, y, c, caches          (c0 = 0)
                      lstm_backward(da, caches) -> {dx, da0, dWf, dbf, ..., dWo, dbo}
      step=True       lstm_cell_forward(xt, a_prev, c_prev, parameters)
                          -> a_next, c_next, yt_pred, cache
                      lstm_cell_backward(da_next, dc_next, cache)
                          -> {dxt, da_prev, dc_prev, dWf, dbf, ..., dWo, dbo}
    min_char_rnn      lossFun(inputs, targets, hprev)
                          -> loss, dWxh, dWhh, dWhy, dbh, dby, hprev
    any other layout  {cell}_forward(x, h0, [c0,] parameters) -> h (y with a read-out), cache
                      {cell}_backward(dh (dy), cache) -> {dx, dh0, [dc0,] d<each parameter>}
      step=True       {cell}_step_forward(x, prev_h, [prev_c,] parameters)
                          -> next_h, [next_c,] cache
                      {cell}_step_backward(dnext_h, [dnext_c,] cache)
                          -> {dx, dprev_h, [dprev_c,] d<each parameter>}

(`PROTOCOLS` holds them; `signatures=(forward, backward)` gives your own.) The names:

- arguments: x, xt (the layout's input sequence, or one step of it: batch_major (N, D),
  feature_batch_time (D, N), columns (D, N), onnx (N, D)); h0, a0, prev_h, a_prev, hprev and
  c0, prev_c, c_prev (the state, in the layout's form: (N, H), (H, N), ...); `parameters` (a
  dict of the layout's arrays) or the arrays one by one by their names (Wx, Wh, b); inputs and
  targets (min-char-rnn: lists of T character indices). A function that takes no parameters
  reads them from its module's globals, as min-char-rnn's lossFun does (Wxh, Whh, Why, bh, by
  and vocab_size): the harness sets them there for each call and restores them after.
- results: the first is the output that the upstream gradient is of: the hidden states (h, a,
  next_h, a_next) or the read-out before any softmax (y); next_c and c_next, the cell state;
  cache or caches, handed back to backward untouched; loss; hprev after a loss, the last state.
  Other results (y_pred, yt_pred, a second y, c) are the source's own and not checked.
- backward: first the upstream gradient on that output (on each step's next_h for a step
  function), then dnext_c or dc_next, then the cache. It returns the gradients as a tuple in
  the order of the signature, or as a dict ({...}): dx, dxt; dh0, da0, dprev_h, da_prev; dc0,
  dprev_c, dc_prev; and d + each parameter's name. A dict may add dh_steps and dc_steps,
  dL/dh_t and dL/dc_t at every step in the layout of the hidden states (what a step's backward
  receives as dnext_h and dnext_c); then the report says at which step they go wrong. Every
  other key is reported as unexpected. Where the output is the hidden state of a layout with
  a read-out (deeplearning.ai's), the read-out's weights have no gradient to return; returned
  anyway, they are compared with zero.

The weight gradients of a step function are summed over the steps, as BPTT sums them: the
harness drives your step forward through time and your step backward back through it (with
dnext_h = the upstream gradient on h_t + dprev_h of step t+1, dnext_c = dprev_c of step t+1),
compares every dnext_h and dnext_c with the reference's, and also checks each step alone, given
the reference's state before it and dnext_h, dnext_c after it.

Your functions get fresh float64 copies of every array; one that modifies an array it was given
(or that its cache keeps) is reported. So are an exception, a result of the wrong type, count,
shape or dtype, a dict missing a key, and NaN or infinite values. Hypothesis is a test extra:
`check_bptt` imports it when called and says how to install it if it is missing; `check_case`,
which runs one case, does not need it.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from .. import checks
from ..model import backward as manual_backward, forward as manual_forward, loss_and_grad
from ..spec import Spec, param_shapes
from .gradcheck import TOLERANCES, compare
from .layouts import LAYOUTS
from .traces import trace

# Yours and the reference are two analytic float64 computations of one gradient, as the JAX
# twin and manual_rnn are: they differ by round-off only, so the harness asks of yours what the
# library asks of the twin.
ATOL, RTOL = TOLERANCES["float64"]["jax"]
SCALES = (0.5, 0.1, 2.0, 5.0)   # weights U(-s, s); Hypothesis shrinks towards the first
SIZES = {"T": (1, 8), "N": (1, 4), "D": (1, 6), "H": (1, 6), "O": (1, 6)}

# ---- signatures and protocols ---------------------------------------------------------------

# What each name in a signature means (the module docstring says it in words).
# Arguments of a forward (or loss) function, besides `parameters` and the parameters' names:
INPUTS = {"x": "x", "xt": "x", "inputs": "indices", "targets": "targets"}
STATES = {"h0": "h", "a0": "h", "prev_h": "h", "a_prev": "h", "hprev": "h",
          "c0": "c", "prev_c": "c", "c_prev": "c"}
# The first result of a forward function, what the upstream gradient is of:
OUTPUTS = {"h": "hidden", "a": "hidden", "next_h": "hidden", "a_next": "hidden",
           "y": "readout", "loss": "loss"}
# Its other results that the harness uses (any other name is the source's own, unchecked):
NEXT_C = ("next_c", "c_next")
CACHES = ("cache", "caches")
FINAL = ("hprev",)                      # a loss function's last state
# Arguments of a backward function: the upstream gradient first, then dnext_c and the cache.
DNEXT_C = ("dnext_c", "dc_next")
# Gradients a backward function returns, by their canonical names (weights: "d" + the name):
GRADIENTS = {"dx": "dx", "dxt": "dx", "dh0": "dh0", "da0": "dh0", "dprev_h": "dh0",
             "da_prev": "dh0", "dc0": "dc0", "dprev_c": "dc0", "dc_prev": "dc0"}
STEP_GRADIENTS = ("dh_steps", "dc_steps")


@dataclass(frozen=True)
class Signature:
    """A function's signature as its source writes it: "name(a, b) -> c, d", or "-> {c, d}"
    for a function that returns a dict."""
    name: str
    args: tuple[str, ...]
    results: tuple[str, ...]
    returns_dict: bool = False

    @classmethod
    def parse(cls, text: str) -> "Signature":
        match = re.fullmatch(r"\s*(\w+)\s*\(([\w\s,]*)\)\s*->\s*(\{[\w\s,]*\}|[\w\s,]+)\s*", text)
        if not match:
            raise ValueError(f"a signature must read like 'name(a, b) -> c, d' or "
                             f"'name(a, b) -> {{c, d}}', got {text!r}")
        name, args, results = match.groups()
        as_dict = results.startswith("{")
        def split(names):
            return tuple(p.strip() for p in names.strip("{} ").split(",") if p.strip())
        return cls(name, split(args), split(results), as_dict)

    def __str__(self):
        results = ", ".join(self.results)
        return f"{self.name}({', '.join(self.args)}) -> " + (
            f"{{{results}}}" if self.returns_dict else results)


@dataclass(frozen=True)
class Protocol:
    """A layout's functions: their signatures, and what follows from the names in them."""
    layout: str
    forward: Signature            # the loss function, for a loss-function protocol
    backward: Optional[Signature] = None

    def __post_init__(self):
        checks.choice("layout", self.layout, LAYOUTS)
        for sig in (self.forward, self.backward):
            if sig is not None and not isinstance(sig, Signature):
                raise TypeError(f"signatures must be Signature objects, got {sig!r}")
        self._validate()

    # -- what the names say --

    @property
    def adapter(self):
        return LAYOUTS[self.layout]

    @property
    def cell(self) -> str:
        return self.adapter.cell

    @property
    def kind(self) -> str:
        """"loss" (one function returning the loss and gradients), "step" or "sequence"."""
        if self.output == "loss":
            return "loss"
        return "step" if self.forward.results[0] in ("next_h", "a_next") else "sequence"

    @property
    def output(self) -> str:
        """What the forward's first result is: "hidden", "readout" or "loss"."""
        return OUTPUTS.get(self.forward.results[0], "")

    @functools.cached_property
    def parameters(self) -> tuple[str, ...]:
        """The layout's parameter names, in its order."""
        return _parameter_names(self.layout)

    @property
    def params_style(self) -> str:
        """"dict" (a `parameters` argument), "positional" (by name) or "globals"."""
        if "parameters" in self.forward.args:
            return "dict"
        if any(a in self.parameters for a in self.forward.args):
            return "positional"
        return "globals"

    @property
    def takes_c(self) -> bool:
        return any(STATES.get(a) == "c" for a in self.forward.args)

    @property
    def indices(self) -> bool:
        return "inputs" in self.forward.args

    @functools.cached_property
    def gradient_names(self) -> dict[str, str]:
        """The gradients the functions return: {your name: canonical name}."""
        names = self.backward.results if self.backward else self.forward.results[1:]
        return {n: self._canonical(n) for n in names if self._canonical(n)}

    @property
    def globals(self) -> dict[str, str]:
        """Sizes a globals-reading function finds in its module: {name: Case field}."""
        return {"vocab_size": "D"} if self.params_style == "globals" and self.indices else {}

    def _canonical(self, name):
        if name in GRADIENTS:
            return GRADIENTS[name]
        if name.startswith("d") and name[1:] in self.parameters:
            return name
        return None

    def label(self, canonical: str) -> str:
        """Your name for a canonical gradient name."""
        for name, c in self.gradient_names.items():
            if c == canonical:
                return name
        return canonical

    def _validate(self):
        f, b, where = self.forward, self.backward, f"layout {self.layout!r}"
        known = set(INPUTS) | set(STATES) | {"parameters"} | set(self.parameters)
        unknown = [a for a in f.args if a not in known]
        if unknown:
            raise ValueError(f"{f.name}: unknown argument {unknown[0]!r}; arguments are named "
                             f"{sorted(set(INPUTS) | set(STATES))}, 'parameters' or the {where} "
                             f"parameters {list(self.parameters)}")
        if f.results[0] not in OUTPUTS:
            raise ValueError(f"{f.name}: the first result must be the output, one of "
                             f"{list(OUTPUTS)}, got {f.results[0]!r}")
        if self.output == "readout" and not self.adapter.head:
            raise ValueError(f"{f.name} returns a read-out y, and {where} has none: its output "
                             f"is the hidden state h")
        if self.kind == "loss":
            if b is not None:
                raise ValueError(f"{f.name} returns the loss and its gradients: pass no "
                                 f"backward function")
            if not (self.indices and "targets" in f.args and self.adapter.data.name == "columns"
                    and self.adapter.head):
                raise ValueError(f"{f.name}: a loss function is checked as min-char-rnn's, on "
                                 f"one sequence of character indices (inputs, targets) in a "
                                 f"layout with a read-out and column vectors")
            grads = f.results[1:]
        else:
            if b is None:
                raise ValueError(f"{f.name} needs its backward function")
            if "x" not in [INPUTS.get(a) for a in f.args]:
                raise ValueError(f"{f.name} must take the input x (or xt)")
            if not set(f.results) & set(CACHES):
                raise ValueError(f"{f.name} must return a cache ({' or '.join(CACHES)})")
            if not set(b.args) & set(CACHES):
                raise ValueError(f"{b.name} must take the cache ({' or '.join(CACHES)})")
            needs_c = self.cell == "lstm" and self.kind == "step"
            if needs_c and not (self.takes_c and set(f.results) & set(NEXT_C)
                                and set(b.args) & set(DNEXT_C)):
                raise ValueError(f"an LSTM step takes prev_c and returns next_c, and its "
                                 f"backward takes dnext_c: {f} / {b}")
            grads = b.results
        named = [a for a in f.args if a in self.parameters]
        if named and len(named) != len(self.parameters):
            missing = [p for p in self.parameters if p not in named]
            raise ValueError(f"{f.name} takes the parameters one by one, so it must take every "
                             f"one of {where}: {list(self.parameters)}; missing {missing}")
        if not any(STATES.get(a) == "h" for a in f.args):
            raise ValueError(f"{f.name} must take the initial state (h0, a0, prev_h, a_prev or "
                             f"hprev)")
        if self.takes_c and self.cell != "lstm":
            raise ValueError(f"{f.name} takes a cell state, which only an LSTM has")
        unknown = [g for g in grads if self._canonical(g) is None
                   and not (self.kind == "loss" and g in FINAL)]
        if unknown:
            raise ValueError(f"{(b or f).name}: unknown result {unknown[0]!r}; gradients are "
                             f"named {sorted(GRADIENTS)} or d + a parameter of {where}: "
                             f"{['d' + p for p in self.parameters]}")

    def __str__(self):
        return str(self.forward) + ("" if self.backward is None else f"; {self.backward}")


def _protocol(layout, forward, backward=None):
    return Protocol(layout, Signature.parse(forward),
                    None if backward is None else Signature.parse(backward))


def _parameter_names(layout, head=True):
    """The layout's parameter names in its order; head=False leaves out the read-out's."""
    adapter = LAYOUTS[layout]
    spec = adapter.make_spec(2, 3, 2 if adapter.head else None)
    names = tuple(adapter.foreign_shapes(spec))
    if head or not adapter.head:
        return names
    # The read-out's arrays are those that a gradient on head.* alone reaches.
    grads = {k: np.zeros(s) if not k.startswith("head.") else np.ones(s)
             for k, s in param_shapes(spec).items()}
    reached = adapter.grads_from_manual(spec, grads)
    return tuple(n for n in names if not reached[n].any())


def _generic(layout, step):
    """The protocol of a layout no assignment writes: parameters as a dict, gradients as one.
    A layout with a read-out outputs y; its step functions output the state, and their
    gradients leave the read-out out."""
    adapter = LAYOUTS[layout]
    cell, c = adapter.cell, adapter.cell == "lstm"
    weights = ", ".join("d" + n for n in _parameter_names(layout, head=not step))
    if step:
        return _protocol(
            layout, f"{cell}_step_forward(x, prev_h, {'prev_c, ' if c else ''}parameters) -> "
                    f"next_h, {'next_c, ' if c else ''}cache",
            f"{cell}_step_backward(dnext_h, {'dnext_c, ' if c else ''}cache) -> "
            f"{{dx, dprev_h, {'dprev_c, ' if c else ''}{weights}}}")
    out = "y" if adapter.head else "h"
    return _protocol(
        layout, f"{cell}_forward(x, h0, {'c0, ' if c else ''}parameters) -> {out}, cache",
        f"{cell}_backward(d{out}, cache) -> {{dx, dh0, {'dc0, ' if c else ''}{weights}}}")


_DLAI_LSTM = "dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo"
PROTOCOLS: dict[tuple[str, str], Protocol] = {
    ("cs231n_rnn", "sequence"): _protocol(
        "cs231n_rnn", "rnn_forward(x, h0, Wx, Wh, b) -> h, cache",
        "rnn_backward(dh, cache) -> dx, dh0, dWx, dWh, db"),
    ("cs231n_rnn", "step"): _protocol(
        "cs231n_rnn", "rnn_step_forward(x, prev_h, Wx, Wh, b) -> next_h, cache",
        "rnn_step_backward(dnext_h, cache) -> dx, dprev_h, dWx, dWh, db"),
    ("cs231n_lstm", "sequence"): _protocol(
        "cs231n_lstm", "lstm_forward(x, h0, Wx, Wh, b) -> h, cache",
        "lstm_backward(dh, cache) -> dx, dh0, dWx, dWh, db"),
    ("cs231n_lstm", "step"): _protocol(
        "cs231n_lstm", "lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> next_h, next_c, cache",
        "lstm_step_backward(dnext_h, dnext_c, cache) -> dx, dprev_h, dprev_c, dWx, dWh, db"),
    ("deeplearning_ai_rnn", "sequence"): _protocol(
        "deeplearning_ai_rnn", "rnn_forward(x, a0, parameters) -> a, y_pred, caches",
        "rnn_backward(da, caches) -> {dx, da0, dWax, dWaa, dba}"),
    ("deeplearning_ai_rnn", "step"): _protocol(
        "deeplearning_ai_rnn", "rnn_cell_forward(xt, a_prev, parameters) -> a_next, yt_pred, cache",
        "rnn_cell_backward(da_next, cache) -> {dxt, da_prev, dWax, dWaa, dba}"),
    ("deeplearning_ai_lstm", "sequence"): _protocol(
        "deeplearning_ai_lstm", "lstm_forward(x, a0, parameters) -> a, y, c, caches",
        f"lstm_backward(da, caches) -> {{dx, da0, {_DLAI_LSTM}}}"),
    ("deeplearning_ai_lstm", "step"): _protocol(
        "deeplearning_ai_lstm",
        "lstm_cell_forward(xt, a_prev, c_prev, parameters) -> a_next, c_next, yt_pred, cache",
        f"lstm_cell_backward(da_next, dc_next, cache) -> {{dxt, da_prev, dc_prev, {_DLAI_LSTM}}}"),
    ("min_char_rnn", "loss"): _protocol(
        "min_char_rnn",
        "lossFun(inputs, targets, hprev) -> loss, dWxh, dWhh, dWhy, dbh, dby, hprev"),
}


def protocol(layout: str, step: bool = False) -> Protocol:
    """The protocol `check_bptt` expects for `layout` (a key of LAYOUTS): the source's own
    functions where PROTOCOLS has them, else the generic one of the module docstring."""
    checks.choice("layout", layout, LAYOUTS)
    checks.flag("step", step)
    if (layout, "loss") in PROTOCOLS:
        if step:
            raise ValueError(f"layout {layout!r} is checked through its loss function, which "
                             f"runs the whole sequence: step=True does not apply")
        return PROTOCOLS[layout, "loss"]
    key = (layout, "step" if step else "sequence")
    return PROTOCOLS[key] if key in PROTOCOLS else _generic(layout, step)


# ---- cases ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One network and its data: every array is drawn from np.random.default_rng(seed).

    T steps, N sequences, D input features, H hidden units, O read-out features (None without
    a read-out; = D for character indices); weights U(-scale, scale)."""
    T: int
    N: int
    D: int
    H: int
    O: Optional[int] = None
    seed: int = 0
    scale: float = 0.5

    def __post_init__(self):
        for name in ("T", "N", "D", "H"):
            checks.integer(f"Case.{name}", getattr(self, name), 1)
        if self.O is not None:
            checks.integer("Case.O", self.O, 1)
        checks.integer("Case.seed", self.seed, 0)
        checks.real("Case.scale", self.scale, "a positive number", lambda v: v > 0)

    def __str__(self):
        def word(n, name):
            return name if n == 1 else name + "s"
        parts = [f"T={self.T} {word(self.T, 'step')}", f"N={self.N} {word(self.N, 'sequence')}",
                 f"D={self.D} {word(self.D, 'input')}", f"H={self.H} hidden"]
        if self.O is not None:
            parts.append(f"O={self.O} {word(self.O, 'output')}")
        return ", ".join(parts) + f", weights U(-{self.scale:g}, {self.scale:g}), seed {self.seed}"

    def code(self) -> str:
        o = "" if self.O is None else f", O={self.O}"
        return (f"Case(T={self.T}, N={self.N}, D={self.D}, H={self.H}{o}, seed={self.seed}, "
                f"scale={self.scale:g})")


def _check_case_fits(proto, case):
    head = proto.adapter.head
    if head and case.O is None:
        raise ValueError(f"layout {proto.layout!r} has a read-out: the case needs O")
    if not head and case.O is not None:
        raise ValueError(f"layout {proto.layout!r} has no read-out: the case's O must be None, "
                         f"got {case.O}")
    if proto.indices and (case.N != 1 or case.O != case.D or case.D < 2):
        raise ValueError(f"{proto.forward.name} reads one sequence of character indices: the "
                         f"case needs N=1 and O=D >= 2, got {case}")


def _cases(proto):
    """The Hypothesis strategy of the cases `proto`'s functions can take."""
    from hypothesis import strategies as st

    def span(key, low=None):
        return st.integers(low or SIZES[key][0], SIZES[key][1])

    @st.composite
    def cases(draw):
        T, H = draw(span("T")), draw(span("H"))
        if proto.indices:
            N, D = 1, draw(span("D", 2))
            O = D
        else:
            N, D = draw(span("N")), draw(span("D"))
            O = draw(span("O")) if proto.adapter.head else None
        return Case(T, N, D, H, O, draw(st.integers(0, 2**32 - 1)),
                    draw(st.sampled_from(SCALES)))
    return cases()


# ---- the layouts' data forms ------------------------------------------------------------------

# One step's array in each data layout: its sequence form without the time axis.
_STEP_FORMS = {"batch_major": (lambda s: s[:, 0], lambda a: a[:, None]),
               "feature_batch_time": (lambda s: s[..., 0], lambda a: a[..., None]),
               "columns": (lambda s: s[0], lambda a: [a]),
               "onnx": (lambda s: s[0], lambda a: a[None])}


@dataclass
class _Network:
    """A case's network and data in manual_rnn's layout, the reference's results, and the
    conversions to and from the layout's forms."""
    proto: Protocol
    case: Case

    def __post_init__(self):
        proto, case = self.proto, self.case
        adapter = self.adapter = proto.adapter
        self.data = adapter.data
        self.spec = adapter.make_spec(case.D, case.H, case.O if adapter.head else None)
        self.lstm = proto.cell == "lstm"
        # The reference differentiates what the user's output is: a headless network when the
        # output is the hidden state (the read-out's weights then have zero gradient).
        hidden = proto.output == "hidden"
        self.ref_spec = (dataclasses.replace(self.spec, output_size=None)
                         if hidden and self.spec.has_head else self.spec)
        # State parts convert one at a time, as a one-part (Elman) network's state.
        self.part_spec = Spec("rnn", case.D, case.H)
        rng = np.random.default_rng(case.seed)
        shapes = adapter.foreign_shapes(self.spec)
        self.foreign = {k: rng.uniform(-case.scale, case.scale, size=s) for k, s in shapes.items()}
        _, params = adapter.to_manual(self.foreign)
        self.params = {k: params[k] for k in param_shapes(self.ref_spec)}
        T, N, D, H = case.T, case.N, case.D, case.H
        if proto.indices:
            self.index = rng.integers(0, D, size=(T, N))
            self.xs = np.eye(D)[self.index]
        else:
            self.xs = rng.normal(size=(T, N, D))
        self.h0 = rng.uniform(-1, 1, size=(1, N, H))
        self.c0 = rng.normal(size=(1, N, H)) if self.lstm else None
        if self.lstm and not proto.takes_c:
            self.c0 = np.zeros_like(self.c0)
        state0 = (self.h0, self.c0) if self.lstm else self.h0
        if proto.kind == "loss":
            self.targets = rng.integers(0, case.O, size=(T, N))
            result = loss_and_grad(self.ref_spec, self.params, self.xs, self.targets,
                                   "cross_entropy", h0=state0, full=True)
            self.loss, grads, dxs, dh0, final = result
            self.ys = None
            self.steps = trace(self.ref_spec, self.params, self.xs, self.targets,
                               "cross_entropy", h0=state0)
        else:
            F = self.ref_spec.output_features
            self.dys = rng.normal(size=(T, N, F))
            self.ys, final, cache = manual_forward(self.ref_spec, self.params, self.xs, state0)
            grads, dxs, dh0 = manual_backward(self.ref_spec, self.params, cache, self.dys)
            self.steps = trace(self.ref_spec, self.params, self.xs, dys=self.dys, h0=state0)
        self.final = final
        self.dxs = dxs
        self.dh0 = dh0 if self.lstm else (dh0,)
        self.expected = self.foreign_grads(grads)
        self.expected["dx"] = self.data.inputs_from_manual(self.spec, dxs)
        self.expected["dh0"] = self.state_out(self.dh0[0])
        if self.lstm:
            self.expected["dc0"] = self.state_out(self.dh0[1])

    # -- conversions --

    def foreign_grads(self, grads):
        """manual_rnn's gradients (of ref_spec's parameters) under the layout's names, "d" +
        each parameter's; a read-out the reference left out gets zeros."""
        full = {k: grads[k] if k in grads else np.zeros(s)
                for k, s in param_shapes(self.spec).items()}
        return {"d" + k: v for k, v in self.adapter.grads_from_manual(self.spec, full).items()}

    def state_out(self, part):
        """One state part (1, N, H) in the layout's form."""
        return self.data.state_from_manual(self.part_spec, part)

    def state_in(self, value):
        return self.data.state_to_manual(self.part_spec, value)

    def step_out(self, a):
        """One step (N, F) of an input sequence, in the layout's step form."""
        return _STEP_FORMS[self.data.name][0](self.data.inputs_from_manual(self.spec, a[None]))

    def step_in(self, value):
        return self.data.inputs_to_manual(self.spec, _STEP_FORMS[self.data.name][1](value))[0]

    def hidden_out(self, a):
        """(T, N, H) hidden states (or their gradients) in the layout's form of outputs."""
        return self.data.outputs_from_manual(self.headless, a)

    def hidden_in(self, value):
        return self.data.outputs_to_manual(self.headless, value)

    @property
    def headless(self):
        return dataclasses.replace(self.spec, output_size=None)

    # -- the reference, one step at a time --

    def prev_state(self, t):
        """The reference's state before step t: (h, c) or (h,), each (1, N, H)."""
        if t == 0:
            return (self.h0, self.c0) if self.lstm else (self.h0,)
        h = self.steps["h_l0"][t - 1][None]
        return (h, self.steps["c_l0"][t - 1][None]) if self.lstm else (h,)

    def step_terms(self):
        """Each step's own share of the reference's gradients: for every t, the gradients of a
        one-step network from the reference's state before step t, given the output gradient
        at t and the state gradients after t. Returns a list of (foreign weight gradients,
        dx_t (N, D), (dprev_h, [dprev_c]) each (1, N, H))."""
        if hasattr(self, "_terms"):
            return self._terms
        steps, terms = self.steps, []
        for t in range(self.case.T):
            dy = steps["dy"][t]
            into_h = dy @ self.params["head.weight"] if self.ref_spec.has_head else dy
            dlast = (steps["dh_l0"][t] - into_h)[None]
            dstate = (dlast, steps["dc_l0"][t][None]) if self.lstm else dlast
            prev = self.prev_state(t)
            _, _, cache = manual_forward(self.ref_spec, self.params, self.xs[t:t + 1],
                                         prev if self.lstm else prev[0])
            grads, dx, dprev = manual_backward(self.ref_spec, self.params, cache, dy[None],
                                               dstate)
            terms.append((self.foreign_grads(grads), dx[0], dprev if self.lstm else (dprev,)))
        self._terms = terms
        return terms


# ---- the report ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One compared array: yours against the reference's."""
    name: str                   # your name for it: "dWx", "da0", "next_h", "loss"
    kind: str                   # "forward" or "gradient"
    shape: tuple
    max_abs: float
    max_rel: float
    used: float                 # the worst entry's share of the tolerance (<= 1 passes)
    where: str                  # the worst entry's index in your array, as you would write it
    yours: float
    expected: float
    ok: bool
    note: str = ""              # what a wrong gradient equals instead, NaN counts


@dataclass
class Report:
    """What a check found. `ok`, `problems` (calls that failed, wrong types, shapes, dtypes,
    keys, modified arguments), `rows` (every array compared), `wrong` (the names of the rows
    that disagree), `first_wrong` ({per-step quantity: the first step where it departs from the
    reference, counting back from T-1 for gradients (-1: the initial state), forward in time
    for forward values}), `alone` ({name: steps where your step backward, given the
    reference's inputs, is wrong}), the `case` (the smallest failing one after shrinking) and
    what your functions were given (`inputs`) and should have returned (`expected`)."""
    protocol: Protocol
    case: Optional[Case]
    atol: float
    rtol: float
    problems: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    first_wrong: dict[str, int] = field(default_factory=dict)
    alone: dict[str, tuple[int, ...]] = field(default_factory=dict)
    exposed: bool = False       # whether per-step state gradients were compared
    inputs: dict[str, Any] = field(default_factory=dict, repr=False)
    expected: dict[str, Any] = field(default_factory=dict, repr=False)
    examples: int = 0           # cases run by check_bptt (with the shrinking)
    found_at: int = 0           # the case at which the first failure was found
    worst_used: dict[str, float] = field(default_factory=dict)   # over all passing cases
    snippet: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.rows)

    @property
    def wrong(self) -> list[str]:
        return [r.name for r in self.rows if not r.ok]

    def row(self, name) -> Row:
        """The row of the array you call `name`."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; the rows are {[r.name for r in self.rows]}")

    def __str__(self):
        return _format(self)


def _format(report: Report) -> str:
    proto, case = report.protocol, report.case
    source = LAYOUTS[proto.layout].source
    lines = [f"{'PASS' if report.ok else 'FAIL'}  {proto.layout} ({source})",
             f"  {proto.forward}"]
    if proto.backward is not None:
        lines.append(f"  {proto.backward}")
    if report.ok and report.examples:
        lines.append(f"\n{report.examples} random cases agree: T {_span('T')}, "
                     f"N {'1' if proto.indices else _span('N')}, "
                     f"D {_span('D', 2 if proto.indices else None)}, H {_span('H')}"
                     + (f", O {_span('O')}" if proto.adapter.head and not proto.indices else "")
                     + f", weights U(-s, s) for s in {', '.join(f'{s:g}' for s in sorted(SCALES))}")
        if report.worst_used:
            worst = ", ".join(f"{k} {v:.1g}" for k, v in report.worst_used.items())
            lines.append(f"largest share of the tolerance used: {worst}")
    else:
        if report.examples:
            lines.append(f"\nsmallest failing case (the first failure came at case "
                         f"{report.found_at}; Hypothesis then shrank it, {report.examples} "
                         f"cases run in all):")
        else:
            lines.append("\ncase:")
        lines.append(f"  {case}")
    if report.problems:
        lines.append("\nproblems:")
        lines += [f"  - {p}" for p in report.problems]
    if report.rows and case is not None and not (report.ok and report.examples):
        if proto.kind == "step":
            lines.append(f"\nyour step functions driven through T={case.T} steps: forward "
                         f"values of every step; gradients {proto.label('dx')} of every step, "
                         f"{_start_names(proto)} of step 0, and the weights' gradients summed "
                         f"over the steps")
        lines.append("")
        lines += _table(report.rows)
    if not report.ok and any(r.kind == "gradient" for r in report.rows):
        lines += _steps_text(report)
    lines.append(f"\ntolerance: |yours - reference| <= {report.atol:g} * max(1, max|reference|)"
                 f" + {report.rtol:g} * |reference| at every entry, in float64; NaN or "
                 f"infinity fails")
    if report.snippet and not report.ok:
        lines.append("\nreproduce:")
        lines += ["    " + s for s in report.snippet.splitlines()]
    return "\n".join(lines)


def _span(key, low=None):
    return f"{low or SIZES[key][0]}..{SIZES[key][1]}"


def _start_names(proto):
    names = [proto.label("dh0")] + ([proto.label("dc0")] if proto.takes_c else [])
    return " and ".join(names)


def _table(rows):
    head = ["", "shape", "max|a-b|", "max rel", "worst at", "yours", "reference", ""]
    body = []
    for r in rows:
        verdict = "ok" if r.ok else "WRONG" + (f": {r.note}" if r.note else "")
        body.append([r.name, str(r.shape), f"{r.max_abs:.2e}", f"{r.max_rel:.2e}", r.where,
                     _num(r.yours), _num(r.expected), verdict])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head) - 1)]
    def fmt(cells):
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)) + (
            "  " + cells[-1] if cells[-1] else "")
    return [fmt(head).rstrip()] + [fmt(b).rstrip() for b in body]


def _num(v):
    return f"{v:.6g}"


def _steps_text(report):
    proto, case, lines = report.protocol, report.case, []
    names = {"dh": "dL/dh_t", "dc": "dL/dc_t"}
    if proto.kind != "loss":
        lines.append(f"\nwhere in time (counting back from the last step, t = {case.T - 1}):")
    if proto.kind == "step":
        for part, arg in (("dh", proto.backward.args[0]),
                          ("dc", next((a for a in proto.backward.args if a in DNEXT_C), None))):
            if arg is None:
                continue
            t = report.first_wrong.get(f"state:{part}")
            lines.append(f"  {names[part]}, the {arg} your step backward receives: "
                         + _departure(t, case.T, proto.label("dh0" if part == "dh" else "dc0")
                                      + " of step 0"))
    elif proto.kind == "sequence":
        if report.exposed:
            for part in ("dh", "dc"):
                if f"{part}_steps" in report.expected:
                    t = report.first_wrong.get(f"state:{part}")
                    lines.append(f"  {names[part]} ({part}_steps): " + _departure(
                        t, case.T, proto.label("dh0" if part == "dh" else "dc0")))
        elif proto.backward.returns_dict:
            lines.append(f"  {names['dh']}: not exposed; add dh_steps (and dc_steps) to "
                         f"{proto.backward.name}'s dict to have it compared at every step")
        else:
            lines.append(f"  {names['dh']}: not exposed; check the step functions (step=True, "
                         f"--step) to follow it step by step")
    dx = proto.label("dx")
    if "dx" in report.first_wrong:
        t = report.first_wrong["dx"]
        lines.append(f"  {dx}: first wrong at step t = {t}" + (
            f"; right at t = {_steps(range(case.T - 1, t, -1))}" if t < case.T - 1 else ""))
    elif any(r.name == dx for r in report.rows):
        lines.append(f"  {dx}: right at every step")
    forward = [(k.split(":", 1)[1], t) for k, t in report.first_wrong.items()
               if k.startswith("forward:")]
    for name, t in forward:
        lines.append(f"  forward {name}: first wrong at step t = {t} (counting forward)")
    if report.alone:
        lines.append("\neach step alone (your step functions at step t, given the reference's "
                     "state before it and its gradients after it):")
        groups = {}
        for name, steps in report.alone.items():
            groups.setdefault(tuple(sorted(steps, reverse=True)), []).append(name)
        for steps, group in sorted(groups.items(), key=lambda g: not g[0]):
            lines.append(f"  {', '.join(group)}: " + (
                f"wrong at t = {_steps(steps)}" if steps else "right at every step"))
    return lines


def _departure(t, T, start):
    if t is None:
        return f"agrees at every step and in {start}"
    if t == -1:
        return f"agrees at every step; first wrong in {start}, the initial state's gradient"
    return f"first departs at t = {t}" + (
        f"; agrees at t = {_steps(range(T - 1, t, -1))}" if t < T - 1 else "")


def _steps(ts):
    ts = list(ts)
    if len(ts) > 3 and ts == list(range(ts[0], ts[-1] - 1, -1)):
        return f"{ts[0]}..{ts[-1]}"
    return ", ".join(str(t) for t in ts)


# ---- running one case -----------------------------------------------------------------------

class _Stop(Exception):
    """A problem after which the case cannot go on (the message is in the report)."""


_MISSING = object()


class _Run:
    """One case through the user's functions and the reference, collecting a Report."""

    def __init__(self, proto, forward, backward, case, atol, rtol, detail):
        _check_case_fits(proto, case)
        self.proto, self.fns = proto, {"forward": forward, "backward": backward}
        self.net = _Network(proto, case)
        self.atol, self.rtol, self.detail = atol, rtol, detail
        self.report = Report(proto, case, atol, rtol)
        self.given = []            # (what, function that got it, the array passed, a copy)

    def run(self) -> Report:
        try:
            getattr(self, "_" + self.proto.kind)()
        except _Stop:
            pass
        return self.report

    # -- calling the user's code --

    def _arrays(self, sig, values):
        """Fresh copies of the arguments, remembered to check that nothing modifies them."""
        out = []
        for name, value in zip(sig.args, values):
            if name in CACHES:                      # the user's own, handed back untouched
                out.append(value)
                continue
            value = _copy(value)
            for label, a in _leaves(name, value):
                self.given.append((label, sig.name, a, a.copy()))
            out.append(value)
        return out

    def _call(self, fn, sig, values, params=None):
        args = self._arrays(sig, values)
        if self.report.inputs.get(sig.name) is None:
            self.report.inputs[sig.name] = dict(zip(sig.args, args))
        saved = {}
        if params is not None:                      # a function that reads module globals
            namespace = getattr(fn, "__globals__", None)
            if namespace is None:
                self._stop(f"{sig.name} takes no parameters, so it must read them from its "
                           f"module's globals, but it is not a plain Python function")
            params = dict(zip(params, self._arrays(
                Signature(sig.name, tuple(params), ()), params.values())))
            for name, value in params.items():
                saved[name] = namespace.get(name, _MISSING)
                namespace[name] = value
        try:
            result = fn(*args)
        except Exception as error:                  # the user's bug, reported, never raised
            self._stop(f"{sig.name} raised {type(error).__name__}: {error}{_where(error)}")
        finally:
            for name, value in saved.items():
                if value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
        self._unmodified(sig.name)
        return result

    def _unmodified(self, caller):
        for label, receiver, a, copy in self.given:
            if not np.array_equal(a, copy, equal_nan=True):
                also = "" if receiver == caller else f", which {receiver} was given"
                self._problem(f"{caller} modified {label}{also}, in place (the arrays you are "
                              f"given are the caller's: copy before writing)")
                copy[...] = a                       # report each modification once

    def _results(self, sig, result):
        """{your name: value} of a function's results, after checking their count."""
        if sig.returns_dict:
            if not isinstance(result, dict):
                self._stop(f"{sig.name} returned {_kind(result)}; expected a dict with keys "
                           f"{', '.join(sig.results)}")
            missing = [k for k in sig.results if k not in result]
            if missing:
                self._problem(f"{sig.name}'s dict lacks {', '.join(map(repr, missing))}; "
                              f"expected keys {', '.join(sig.results)}")
            extra = [k for k in result if k not in sig.results and not (
                isinstance(k, str) and (self.proto._canonical(k) or k in STEP_GRADIENTS))]
            if extra:
                self._problem(f"{sig.name}'s dict has unexpected keys "
                              f"{', '.join(map(repr, extra))}; expected {', '.join(sig.results)}"
                              f" (and optionally dh_steps, dc_steps)")
            return {k: v for k, v in result.items() if k not in extra}
        if not isinstance(result, (tuple, list)) or len(result) != len(sig.results):
            self._stop(f"{sig.name} returned {_kind(result)}; expected {len(sig.results)} "
                       f"values: {', '.join(sig.results)}")
        return dict(zip(sig.results, result))

    def _array(self, name, value, expected, where=""):
        """value as a float64 array shaped like `expected` (an array, or a list of arrays for
        the columns layout), or None after reporting why it is not."""
        if isinstance(expected, list):
            if not isinstance(value, (list, tuple)) or len(value) != len(expected):
                self._problem(f"{name}{where} is {_kind(value)}; expected a list of "
                              f"{len(expected)} arrays {expected[0].shape}, one per step")
                return None
            parts = [self._array(f"{name}[{t}]", v, e, where)
                     for t, (v, e) in enumerate(zip(value, expected))]
            return None if any(p is None for p in parts) else np.stack(parts)
        if not isinstance(value, np.ndarray):
            if not isinstance(value, (float, int, np.generic, list, tuple)):
                self._problem(f"{name}{where} is {_kind(value)}; expected an array of shape "
                              f"{expected.shape}")
                return None
            value = np.asarray(value)
        if value.dtype != np.float64:
            self._problem(f"{name}{where} has dtype {value.dtype}; expected float64, the dtype "
                          f"of the arrays your functions are given")
            return None
        if value.shape != expected.shape:
            transposed = value.ndim == 2 and value.shape == expected.shape[::-1]
            self._problem(f"{name}{where} has shape {value.shape}; expected {expected.shape}"
                          + (" (it is transposed)" if transposed else ""))
            return None
        return value

    def _problem(self, text):
        if text not in self.report.problems:
            self.report.problems.append(text)

    def _stop(self, text):
        self._problem(text)
        raise _Stop

    # -- comparing --

    def _compare(self, name, kind, yours, expected, listed=False, hint=None):
        a, b = np.asarray(yours, np.float64), np.asarray(expected, np.float64)
        error = compare({name: a}, {name: b})[name]
        ok = error.ok(self.atol, self.rtol)
        share = error.shares(self.atol, self.rtol)     # every entry is compared: a's order
        index = np.unravel_index(int(np.argmax(share)), a.shape) if a.size else ()
        note = ""
        if error.nonfinite:
            note = f"{int(np.sum(~np.isfinite(a)))} NaN or infinite entries"
        elif not ok and hint is not None:
            note = hint(a) or ""
        row = Row(name, kind, a.shape if not listed else _list_shape(expected), error.max_abs,
                  error.max_rel, error.used(self.atol, self.rtol), _index(index, listed),
                  float(a[index]) if a.size else float("nan"),
                  float(b[index]) if b.size else float("nan"), ok, note)
        self.report.rows.append(row)
        return row

    def _close(self, a, b):
        return compare({"a": np.asarray(a, np.float64)},
                       {"a": np.asarray(b, np.float64)})["a"].ok(self.atol, self.rtol)

    def _hint(self, canonical):
        """What a wrong weight gradient equals instead, when that is simple."""
        if not self.detail or canonical in ("dx", "dh0", "dc0"):
            return None
        expected = self.net.expected[canonical]

        def hint(a):
            T = self.net.case.T
            if self._close(a, np.zeros_like(a)):
                return "it is zero"
            if self._close(a, -expected):
                return "it has the opposite sign"
            if a.ndim == 2 and a.shape[0] == a.shape[1] and self._close(a, expected.T):
                return "it is the transpose"
            if T > 1:
                terms = [g[canonical] for g, _, _ in self.net.step_terms()]
                for t, term in enumerate(terms):
                    if self._close(a, term):
                        return (f"it equals the term of step {t} alone; the reference sums the "
                                f"terms of steps 0..{T - 1}")
                for t, term in enumerate(terms):
                    if self._close(a, expected - term):
                        return f"it lacks the term of step {t}"
            return None
        return hint

    def _gradients(self, returned, canonical_of):
        """Compare every gradient returned, in the signature's order, then any extras."""
        order = list(self.proto.gradient_names)
        for name in sorted(returned, key=lambda k: order.index(k) if k in order else len(order)):
            value = returned[name]
            canonical = canonical_of(name)
            if canonical is None:
                continue
            expected = self.net.expected[canonical]
            a = self._array(name, value, expected)
            if a is None:
                continue
            self.report.expected[name] = expected
            self._compare(name, "gradient", a, _stacked(expected),
                          listed=isinstance(expected, list), hint=self._hint(canonical))
            if canonical == "dx":
                self._per_step_dx(self.net.data.inputs_to_manual(self.net.spec, value))

    def _per_step_dx(self, dxs):
        for t in reversed(range(self.net.case.T)):
            if not self._close(dxs[t], self.net.dxs[t]):
                self.report.first_wrong["dx"] = t
                return

    def _state_departure(self, part, per_step, initial):
        """The first t, counting back, where the user's per-step state gradient (time-major,
        (T, N, H)) departs from the reference's; -1 when only the initial state's does."""
        ref = self.net.steps[f"{part}_l0"]
        for t in reversed(range(self.net.case.T)):
            if not self._close(per_step[t], ref[t]):
                self.report.first_wrong[f"state:{part}"] = t
                return
        index = 0 if part == "dh" else 1
        if initial is not None and not self._close(initial, self.net.dh0[index]):
            self.report.first_wrong[f"state:{part}"] = -1

    # -- the protocols --

    def _forward_values(self, sig, state_parts, x, params):
        """The forward function's arguments in the order of its signature."""
        values = []
        for arg in sig.args:
            role = INPUTS.get(arg) or STATES.get(arg) or arg
            if role in ("x", "indices", "targets"):
                values.append(x[role])
            elif role in ("h", "c"):
                values.append(state_parts[0 if role == "h" else 1])
            elif role == "parameters":
                values.append(params)
            else:
                values.append(params[arg])
        return values

    def _sequence(self):
        net, proto = self.net, self.proto
        f, b = proto.forward, proto.backward
        state = (net.state_out(net.h0), net.state_out(net.c0) if net.lstm else None)
        x = {"x": net.data.inputs_from_manual(net.spec, net.xs)}
        out = self._results(f, self._call(self.fns["forward"], f, self._forward_values(
            f, state, x, net.foreign)))
        ys = net.hidden_out(net.ys) if proto.output == "hidden" else \
            net.data.outputs_from_manual(net.ref_spec, net.ys)
        mine = self._array(f.results[0], out[f.results[0]], ys)
        self.report.expected[f.results[0]] = ys
        if mine is not None:
            self._compare(f.results[0], "forward", mine, _stacked(ys), isinstance(ys, list))
        dys = (net.hidden_out(net.dys) if proto.output == "hidden"
               else net.data.outputs_from_manual(net.ref_spec, net.dys))
        cache = out[next(r for r in f.results if r in CACHES)]
        values = [dys if a == b.args[0] else cache for a in b.args]
        grads = self._results(b, self._call(self.fns["backward"], b, values))
        self._gradients(grads, proto._canonical)
        for part in ("dh", "dc"):
            name = f"{part}_steps"
            if name in grads and (part == "dh" or net.lstm):
                expected = net.hidden_out(net.steps[f"{part}_l0"])
                mine = self._array(name, grads[name], expected)
                self.report.expected[name] = expected
                if mine is not None:
                    self.report.exposed = True
                    label = proto.label("dh0" if part == "dh" else "dc0")
                    compared = any(r.name == label for r in self.report.rows)
                    start = net.state_in(grads[label]) if compared else None
                    self._state_departure(part, net.hidden_in(grads[name]), start)

    def _loss(self):
        net, proto, f = self.net, self.proto, self.proto.forward
        indices = [int(i) for i in net.index[:, 0]]
        targets = [int(i) for i in net.targets[:, 0]]
        x = {"indices": indices, "targets": targets}
        state = (net.state_out(net.h0), None)
        params = None
        if proto.params_style == "globals":
            params = dict(net.foreign) | {k: getattr(net.case, v)
                                          for k, v in proto.globals.items()}
        values = self._forward_values(f, state, x, net.foreign)
        out = self._results(f, self._call(self.fns["forward"], f, values, params))
        loss = out["loss"]
        if isinstance(loss, np.ndarray) and loss.size == 1:
            loss = loss.reshape(())
        if not isinstance(loss, (float, int, np.floating, np.ndarray)) or np.ndim(loss):
            self._problem(f"{f.name}'s loss is {_kind(loss)}; expected a number")
        else:
            self._compare("loss", "forward", np.float64(loss), np.float64(net.loss))
        for name in f.results[1:]:
            if name in FINAL:
                expected = net.state_out(net.final)
                mine = self._array(name, out[name], expected)
                if mine is not None:
                    self._compare(name, "forward", mine, expected)
        self._gradients({k: v for k, v in out.items() if k in proto.gradient_names},
                        proto._canonical)

    def _step(self):
        net, proto, f, b = self.net, self.proto, self.proto.forward, self.proto.backward
        T, lstm = net.case.T, net.lstm
        next_c = next((r for r in f.results if r in NEXT_C), None)
        cache_name = next(r for r in f.results if r in CACHES)
        # Forward through time, each step from the user's own last state.
        state = (net.h0, net.c0) if lstm else (net.h0,)
        caches, hs, cs = [], [], []
        for t in range(T):
            parts = [net.state_out(p) for p in state] + [None]
            x = {"x": net.step_out(net.xs[t])}
            out = self._results(f, self._call(self.fns["forward"], f, self._forward_values(
                f, parts, x, net.foreign)))
            state = []
            for name, ref in ((f.results[0], "h_l0"), (next_c, "c_l0")):
                if name is None:
                    continue
                expected = net.state_out(net.steps[ref][t][None])
                mine = self._array(name, out[name], expected, f" at step {t}")
                if mine is None:
                    raise _Stop
                state.append(net.state_in(mine))
                (hs if ref == "h_l0" else cs).append(mine)
            caches.append(out[cache_name])
        for name, ref, mine in ((f.results[0], "h_l0", hs), (next_c, "c_l0", cs)):
            if name is None:
                continue
            expected = np.stack([net.state_out(net.steps[ref][t][None]) for t in range(T)])
            row = self._compare(name, "forward", np.stack(mine), expected, listed=True)
            if not row.ok:
                self.report.first_wrong[f"forward:{name}"] = next(
                    t for t in range(T) if not self._close(mine[t], expected[t]))
        # Backward through time, from the last step.
        weights = [k for k in net.expected if k not in ("dx", "dh0", "dc0")]
        sums = {}
        dxs = [None] * T
        dnext = [np.zeros_like(net.h0)] + ([np.zeros_like(net.h0)] if lstm else [])
        seen = {"dh": [None] * T, "dc": [None] * T}
        for t in reversed(range(T)):
            dnext[0] = dnext[0] + net.dys[t][None]
            seen["dh"][t] = dnext[0][0]
            if lstm:
                seen["dc"][t] = dnext[1][0]
            grads = self._step_backward(b, [net.state_out(d) for d in dnext], caches[t], t)
            canon = {proto._canonical(k): v for k, v in grads.items()}
            dxs[t] = net.step_in(canon["dx"]) if "dx" in canon else None
            dnext = [net.state_in(canon["dh0"]) if "dh0" in canon else np.zeros_like(net.h0)]
            if lstm:
                dnext.append(net.state_in(canon["dc0"]) if "dc0" in canon
                             else np.zeros_like(net.h0))
            for k, v in canon.items():
                if k in weights:                   # shared by every step: the terms add up
                    sums[k] = sums.get(k, 0) + v
        totals = {}
        if all(d is not None for d in dxs):
            totals["dx"] = net.data.inputs_from_manual(net.spec, np.stack(dxs))
        totals["dh0"] = net.state_out(dnext[0])
        if lstm:
            totals["dc0"] = net.state_out(dnext[1])
        totals |= sums
        returned = proto.gradient_names.values()
        self._gradients({proto.label(k): totals[k] for k in
                         [c for c in ("dx", "dh0", "dc0") if c in returned and c in totals]
                         + [c for c in returned if c in sums]}, proto._canonical)
        self.report.exposed = True
        self._state_departure("dh", np.stack(seen["dh"]), dnext[0])
        if lstm:
            self._state_departure("dc", np.stack(seen["dc"]), dnext[1])
        if self.detail and not self.report.ok:
            self._alone()

    def _step_backward(self, b, dnext, cache, t):
        values = []
        for a in b.args:
            if a in CACHES:
                values.append(cache)
            elif a in DNEXT_C:
                values.append(dnext[1])
            else:
                values.append(dnext[0])
        grads = self._results(b, self._call(self.fns["backward"], b, values))
        net, checked = self.net, {}
        for name, value in grads.items():
            canonical = self.proto._canonical(name)
            if canonical is None:
                continue
            if canonical == "dx":
                expected = net.step_out(net.xs[0])
            elif canonical in ("dh0", "dc0"):
                expected = net.state_out(net.h0)
            else:
                expected = net.expected[canonical]
            mine = self._array(name, value, expected, f" at step {t}")
            if mine is None:
                raise _Stop
            checked[name] = mine
        return checked

    def _alone(self):
        """Each step alone: the user's step forward and backward at step t, given the
        reference's state before it and its state gradients after it."""
        net, proto, f, b = self.net, self.proto, self.proto.forward, self.proto.backward
        cache_name = next(r for r in f.results if r in CACHES)
        next_c = next((r for r in f.results if r in NEXT_C), None)
        wrong = {}
        try:
            for t, (grads, dx, dprev) in enumerate(net.step_terms()):
                parts = [net.state_out(p) for p in net.prev_state(t)] + [None]
                out = self._results(f, self._call(self.fns["forward"], f, self._forward_values(
                    f, parts, {"x": net.step_out(net.xs[t])}, net.foreign)))
                for name, ref in ((f.results[0], "h_l0"), (next_c, "c_l0")):
                    if name is not None:
                        expected = net.state_out(net.steps[ref][t][None])
                        wrong.setdefault(name, [])
                        if not self._close(out[name], expected):
                            wrong[name].append(t)
                dnext = [net.state_out(net.steps["dh_l0"][t][None])]
                if net.lstm:
                    dnext.append(net.state_out(net.steps["dc_l0"][t][None]))
                mine = self._step_backward(b, dnext, out[cache_name], t)
                reference = {"dx": net.step_out(dx), "dh0": net.state_out(dprev[0])} | grads
                if net.lstm:
                    reference["dc0"] = net.state_out(dprev[1])
                for name, value in mine.items():
                    wrong.setdefault(name, [])
                    if not self._close(value, reference[proto._canonical(name)]):
                        wrong[name].append(t)
        except _Stop:
            return
        self.report.alone = {k: tuple(v) for k, v in wrong.items()}


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _leaves(name, value):
    """(label, array) for every array in an argument."""
    if isinstance(value, np.ndarray):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(f"{name}[{k!r}]", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(f"{name}[{i}]", v)


def _kind(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"{type(value).__name__} {value!r:.40}"


def _where(error):
    """Where in the user's code an exception came from: its last frame outside NumPy and this
    module."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        path = frame.filename
        if os.path.abspath(path) != os.path.abspath(__file__) and \
                f"{os.sep}numpy{os.sep}" not in path:
            line = f": {frame.line}" if frame.line else ""
            return f" (at {os.path.basename(path)}:{frame.lineno}{line})"
    return ""


def _stacked(value):
    return np.stack(value) if isinstance(value, list) else value


def _list_shape(expected):
    expected = np.asarray(expected)
    return (len(expected),) + expected.shape[1:]


def _index(index, listed):
    if not index:
        return "-"
    if listed:
        rest = ", ".join(map(str, index[1:]))
        return f"[{index[0]}][{rest}]"
    return "[" + ", ".join(map(str, index)) + "]"


# ---- the public functions -----------------------------------------------------------------

def _subject(layout, forward, backward, step, signatures):
    checks.choice("layout", layout, LAYOUTS)
    if signatures is None:
        proto = protocol(layout, step)
    else:
        if not isinstance(signatures, (tuple, list)) or len(signatures) not in (1, 2):
            raise TypeError(f"signatures must be (forward, backward) or (loss function,), "
                            f"strings like 'rnn_forward(x, h0, Wx, Wh, b) -> h, cache'; got "
                            f"{signatures!r:.80}")
        proto = _protocol(layout, *signatures)
        if step != (proto.kind == "step"):
            raise ValueError(f"step={step}, but the signatures describe {proto.kind} functions")
    if not callable(forward):
        raise TypeError(f"forward must be a function, got {_kind(forward)}")
    if proto.backward is None and backward is not None:
        raise ValueError(f"{proto.forward.name} returns the gradients itself: pass no backward "
                         f"function")
    if proto.backward is not None and not callable(backward):
        raise TypeError(f"backward must be a function ({proto.backward}), got "
                        f"{_kind(backward)}")
    return proto


def check_case(layout: str, forward: Callable, backward: Optional[Callable] = None, *,
               case: Case, step: bool = False, signatures=None, atol: float = ATOL,
               rtol: float = RTOL) -> Report:
    """Run one case (no Hypothesis): the Report of your functions on it. It never raises for
    a wrong gradient or a failing function; it raises ValueError or TypeError for arguments
    that make no check (an unknown layout, a case the layout cannot have)."""
    proto = _subject(layout, forward, backward, step, signatures)
    if not isinstance(case, Case):
        raise TypeError(f"case must be a Case, got {_kind(case)}")
    atol = checks.real("atol", atol, "a number >= 0", lambda v: v >= 0)
    rtol = checks.real("rtol", rtol, "a number >= 0", lambda v: v >= 0)
    report = _Run(proto, forward, backward, case, atol, rtol, detail=True).run()
    report.snippet = _snippet(layout, forward, backward, case, step, signatures, atol, rtol)
    return report


def check_bptt(layout: str, forward: Callable, backward: Optional[Callable] = None, *,
               step: bool = False, signatures=None, examples: Optional[int] = None,
               seed: Optional[int] = None, atol: float = ATOL, rtol: float = RTOL,
               raise_on_failure: bool = True) -> Report:
    """Check your forward and backward functions (or loss function) in `layout`'s protocol
    on random cases drawn by Hypothesis; see the module docstring.

    examples: cases to draw (default: the current Hypothesis profile's max_examples).
    seed: makes the draws reproducible. Returns the Report; on a mismatch, raises
    AssertionError with the report of the smallest failing case, unless
    raise_on_failure=False."""
    proto = _subject(layout, forward, backward, step, signatures)
    atol = checks.real("atol", atol, "a number >= 0", lambda v: v >= 0)
    rtol = checks.real("rtol", rtol, "a number >= 0", lambda v: v >= 0)
    checks.flag("raise_on_failure", raise_on_failure)
    try:
        import hypothesis
        from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    except ImportError:
        raise ImportError("check_bptt draws its cases with Hypothesis, which is not installed: "
                          "pip install hypothesis (or manual_rnn[test]). check_case runs one "
                          "case without it.") from None
    if examples is None:
        examples = settings().max_examples
    examples = checks.integer("examples", examples, 1)
    if seed is not None:
        seed = checks.integer("seed", seed, 0)

    class Failed(Exception):
        pass

    count = {"run": 0, "found": 0}
    worst: dict[str, float] = {}
    failing = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              verbosity=Verbosity.quiet, print_blob=False, report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(_cases(proto))
    def search(case):
        count["run"] += 1
        report = _Run(proto, forward, backward, case, atol, rtol, detail=False).run()
        if not report.ok:
            count["found"] = count["found"] or count["run"]
            failing.append(case)
            raise Failed(case)
        for row in report.rows:
            worst[row.name] = max(worst.get(row.name, 0.0), row.used)

    if seed is not None:
        search = hypothesis.seed(seed)(search)
    flaky = False
    try:
        search()
    except Failed as error:
        case = error.args[0]
    except hypothesis.errors.Flaky:
        case, flaky = failing[-1], True
    else:
        return Report(proto, None, atol, rtol, examples=count["run"], worst_used=worst)
    report = check_case(layout, forward, backward, case=case, step=step, signatures=signatures,
                        atol=atol, rtol=rtol)
    report.examples, report.found_at = count["run"], count["found"]
    if flaky or report.ok:
        report.problems.append("a case failed and then passed when run again: are your "
                               "functions deterministic (no random numbers, no state kept "
                               "between calls)?")
    if raise_on_failure:
        raise AssertionError("\n" + str(report))
    return report


def _snippet(layout, forward, backward, case, step, signatures, atol, rtol):
    fns = [fn for fn in (forward, backward) if fn is not None]
    modules = {}
    for fn in fns:
        module = getattr(fn, "__module__", None) or "your_module"
        if module == "__main__":
            main = getattr(sys.modules.get("__main__"), "__file__", None)
            module = os.path.splitext(os.path.basename(main))[0] if main else "your_module"
        modules.setdefault(module, []).append(getattr(fn, "__name__", "your_function"))
    lines = ["from manual_rnn.verify.harness import Case, check_case"]
    lines += [f"from {m} import {', '.join(names)}" for m, names in modules.items()]
    args = [repr(layout)] + [getattr(fn, "__name__", "your_function") for fn in fns]
    options = [f"case={case.code()}"]
    if step:
        options.append("step=True")
    if signatures is not None:
        options.append(f"signatures={tuple(signatures)!r}")
    if (atol, rtol) != (ATOL, RTOL):
        options.append(f"atol={atol:g}, rtol={rtol:g}")
    lines.append(f"report = check_case({', '.join(args + options)})")
    lines.append("print(report)   # report.inputs: what your functions got; "
                 "report.expected: the right answers")
    return "\n".join(lines)


# ---- the command line ---------------------------------------------------------------------

def add_arguments(parser) -> None:
    """The options of `manual-rnn check` on an argparse parser."""
    parser.description = (
        "Check hand-written forward and backward functions (or a min-char-rnn loss function) "
        "against manual_rnn on random networks drawn by Hypothesis; print the report of the "
        "smallest failing case; exit 0 if every gradient agrees, 1 if not.")
    parser.add_argument("target", metavar="MODULE[:NAME]",
                        help="a Python file (rnn_layers.py) or importable module, and "
                             "optionally the stem of its function names: lstm finds "
                             "lstm_forward and lstm_backward (default: the layout's own names, "
                             "listed in `manual_rnn.verify.harness`'s documentation)")
    parser.add_argument("--layout", required=True, choices=list(LAYOUTS),
                        help="how your functions lay out parameters and data")
    parser.add_argument("--step", action="store_true",
                        help="check the one-step functions (lstm_step_forward, "
                             "rnn_cell_backward, ...), driven through time")
    parser.add_argument("--examples", type=int, default=100, metavar="N",
                        help="random cases to try (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="make the cases reproducible")
    parser.add_argument("--atol", type=float, default=ATOL, help=f"default {ATOL:g}")
    parser.add_argument("--rtol", type=float, default=RTOL, help=f"default {RTOL:g}")


def run(args) -> int:
    """`manual-rnn check`: 0 if every gradient agrees, 1 if not. Bad arguments raise
    ValueError (the command prints it and exits 2)."""
    proto = protocol(args.layout, args.step)
    path, _, stem = _split_target(args.target)
    module = _load(path)
    names = [sig.name for sig in (proto.forward, proto.backward) if sig is not None]
    if stem:
        default = names[0].split("_")[0] if "_" in names[0] else names[0]
        names = [stem + n[len(default):] if n.startswith(default) else n for n in names]
    fns = []
    for name in names:
        fn = getattr(module, name, None)
        if not callable(fn):
            have = sorted(k for k, v in vars(module).items()
                          if callable(v) and not k.startswith("_")
                          and getattr(v, "__module__", None) == module.__name__)
            raise ValueError(f"{args.target} has no function {name!r}, which layout "
                             f"{args.layout!r} expects ({proto}); its functions: "
                             f"{', '.join(have) or 'none'}")
        fns.append(fn)
    signatures = None
    sigs = [sig for sig in (proto.forward, proto.backward) if sig is not None]
    if names != [sig.name for sig in sigs]:
        signatures = tuple(str(dataclasses.replace(sig, name=name))
                           for sig, name in zip(sigs, names))
    try:
        report = check_bptt(args.layout, *fns, step=args.step, signatures=signatures,
                            examples=args.examples, seed=args.seed, atol=args.atol,
                            rtol=args.rtol, raise_on_failure=False)
    except ImportError as error:
        raise ValueError(str(error)) from None
    print(report)
    return 0 if report.ok else 1


def _split_target(target):
    """"path/file.py:stem" or "package.module:stem" into (module or path, ":", stem)."""
    head, sep, stem = target.rpartition(":")
    if sep and stem and re.fullmatch(r"\w+", stem) and head:
        return head, sep, stem
    return target, "", ""


def _load(target):
    """A module from a file path or an importable name."""
    try:
        if target.endswith(".py") or os.sep in target or "/" in target:
            path = os.path.abspath(target)
            if not os.path.isfile(path):
                raise OSError(f"no such file: {target}")
            name = os.path.splitext(os.path.basename(path))[0]
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.path.insert(0, os.path.dirname(path))    # its own imports of its neighbours
            try:
                sys.modules[name] = module
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(os.path.dirname(path))
            return module
        return importlib.import_module(target)
    except OSError:
        raise
    except Exception as error:
        raise ValueError(f"could not import {target}: {type(error).__name__}: {error}") from None
