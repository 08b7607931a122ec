"""Parameters and data in the layouts people write recurrent networks in by hand, converted to
and from manual_rnn's, exactly and both ways.

manual_rnn keeps PyTorch's layout (`manual_rnn.spec`): a dict named as nn.RNN / nn.LSTM / nn.GRU's
state_dict names it, gate blocks stacked in the rows of weight_ih (G*H, in) and weight_hh
(G*H, H) in PyTorch's order (LSTM i, f, g, o; GRU r, z, n), two biases bias_ih and bias_hh, and
an nn.Linear read-out head.weight (O, D*H), head.bias (O,). Its sequences are time-major
(T, B, F) (or (B, T, F) with spec.batch_first), its states (layers * directions, B, H).

    layout                          source                                  data layout
    cs231n_rnn, cs231n_lstm         CS231n assignment 3, rnn_layers.py      batch_major
    deeplearning_ai_rnn, _lstm      deeplearning.ai Sequence Models, wk 1   feature_batch_time
    keras_simple_rnn, keras_lstm,   Keras SimpleRNN / LSTM / GRU            batch_major
      keras_gru, keras_gru_reset_before
    onnx_rnn, onnx_lstm, onnx_gru,  ONNX operators RNN / LSTM / GRU         onnx
      onnx_gru_linear_before_reset
    min_char_rnn                    Karpathy's min-char-rnn.py              columns
    notebook_rnn                    its sigmoid course-notebook cousin      columns

Each class's docstring gives its source's equations, names, shapes and gate order. Every
adapter in `LAYOUTS` has the same methods:

    adapter = LAYOUTS["cs231n_lstm"]
    spec, params = adapter.to_manual({"Wx": Wx, "Wh": Wh, "b": b})   # a Spec, PyTorch's names
    foreign = adapter.from_manual(spec, params)      # {"Wx": Wx, "Wh": Wh, "b": b} again
    adapter.spec(foreign)                            # the Spec those arrays describe
    adapter.make_spec(input_size, hidden_size, output_size=None, bidirectional=False, bias=True)
    adapter.check_spec(spec)                         # ValueError unless the source can say it
    adapter.foreign_shapes(spec)                     # {"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}
    adapter.grads_from_manual(spec, grads)           # manual_rnn's gradients, as the source's
    adapter.data                                     # its DataLayout, below

and every data layout in `DATA_LAYOUTS` (each method takes the Spec first, for the state's
parts, the directions and spec.batch_first):

    xs = adapter.data.inputs_to_manual(spec, x)      # the source's x as (T, B, I)
    h0 = adapter.data.state_to_manual(spec, h0)      # (rows, B, H); a pair (h, c) for the LSTM
    ys, state, cache = mr.forward(spec, params, xs, h0)
    y = adapter.data.outputs_from_manual(spec, ys)   # and state_from_manual(spec, state)

with inputs_from_manual and outputs_to_manual the other ways. A gradient has the layout of the
array it belongs to, so the same methods carry gradients: dy goes in with outputs_to_manual,
and backward's dxs and dh0 come back with inputs_from_manual and state_from_manual. The
functions under them (batch_major_to_time_major, columns_to_time_major, ...) are public too.

The rules:

- Round trips are exact: converting only copies, transposes and reorders gate blocks, so
  to_manual after from_manual (and the other way round) gives back identical arrays of the
  same dtype. The one exception is the explicit fold_bias=True, below.
- One bias per gate: CS231n, deeplearning.ai, min-char-rnn, the notebook, and Keras's
  SimpleRNN, LSTM and GRU(reset_after=False) add one bias b where PyTorch adds b_ih + b_hh, in
  the same place. to_manual puts b in bias_ih and zeros in bias_hh; from_manual refuses a
  nonzero bias_hh with a ValueError naming it, unless fold_bias=True, which writes
  b = bias_ih + bias_hh (the same network, not the same arrays). grads_from_manual gives dL/db
  as the gradient of bias_ih, the parameter b became.
- A Spec the source cannot express (more layers, directions it lacks, a projection, a read-out
  it has not or lacks, another cell, activation or GRU variant) gets a ValueError naming the
  field, from check_spec, which from_manual and make_spec call. Keras and ONNX may leave their
  bias out (spec.bias False); the others always have one.
- Nothing modifies its arguments, and every array returned is new. Errors name the argument,
  what was expected and what came.
- The Specs returned are time-major (batch_first=False), one layer; the data layouts convert
  the source's data to match (a Spec with batch_first=True takes batch-major data as it is).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import checks
from ..spec import DTYPES, Spec, check_params, direction_suffixes, param_shapes

# PyTorch's gate order, which manual_rnn keeps. Every source's order below is spelled in these
# letters: an LSTM's cell candidate is g (Keras and ONNX call it c, deeplearning.ai c~), a GRU's
# candidate n (Keras and ONNX call it h).
TORCH_GATES = {"rnn": "h", "lstm": "ifgo", "gru": "rzn"}


def regate(a, source, target, axis=0):
    """A new array: `a` with its gate blocks along `axis` reordered from the order `source` to
    the order `target`, each a string of one letter per gate ("ifog" -> "ifgo" for CS231n)."""
    blocks = dict(zip(source, np.split(a, len(source), axis=axis)))
    return np.concatenate([blocks[gate] for gate in target], axis=axis)


# ---- data layouts -------------------------------------------------------------------------

def _numbers(name, value, ndim, shape):
    """value as an array of real numbers with `ndim` axes; `shape` says which, for the error."""
    try:
        a = np.asarray(value)
    except Exception as error:
        raise TypeError(f"{name} must be an array, got {type(value).__name__}") from error
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {shape}, got shape {a.shape}")
    return a


def batch_major_to_time_major(x, name="x"):
    """(N, T, F), batch-major as CS231n and Keras keep sequences, to a new (T, N, F)."""
    return _numbers(name, x, 3, "(N, T, F)").swapaxes(0, 1).copy()


def time_major_to_batch_major(xs, name="xs"):
    """(T, B, F) to a new (B, T, F)."""
    return _numbers(name, xs, 3, "(T, B, F)").swapaxes(0, 1).copy()


def feature_batch_time_to_time_major(x, name="x"):
    """(F, B, T), deeplearning.ai's (n_x, m, T_x), to a new (T, B, F)."""
    return _numbers(name, x, 3, "(F, B, T)").transpose(2, 1, 0).copy()


def time_major_to_feature_batch_time(xs, name="xs"):
    """(T, B, F) to a new (F, B, T)."""
    return _numbers(name, xs, 3, "(T, B, F)").transpose(2, 1, 0).copy()


def columns_to_time_major(steps, name="xs"):
    """One block of column vectors per step, as min-char-rnn keeps them, to a new (T, B, F).

    steps: a list (or a dict keyed 0 .. T-1, as min-char-rnn's xs) of T arrays (F, B), (F, 1)
    for one sequence; a 1-D step (F,) is one column, as the notebook's x_t.reshape(-1, 1)."""
    if isinstance(steps, dict):
        if set(steps) != set(range(len(steps))):
            raise ValueError(f"{name} as a dict must be keyed by the steps 0 .. T-1, got keys "
                             f"{list(steps)[:6]} (drop a state's entry -1 first)")
        steps = [steps[t] for t in range(len(steps))]
    if not isinstance(steps, (list, tuple)) or not steps:
        raise TypeError(f"{name} must be a non-empty list of per-step arrays (F, B), got "
                        f"{type(steps).__name__} {steps!r:.60}")
    columns = []
    for t, step in enumerate(steps):
        a = np.asarray(step)
        a = _numbers(f"{name}[{t}]", a[:, None] if a.ndim == 1 else a, 2, "(F, B)")
        columns.append(a)
    shapes = sorted({a.shape for a in columns})
    if len(shapes) > 1:
        raise ValueError(f"{name} must hold steps of one shape (F, B), got shapes {shapes}")
    return np.stack([a.T for a in columns])


def time_major_to_columns(xs, name="xs"):
    """(T, B, F) to a list of T new arrays (F, B)."""
    a = _numbers(name, xs, 3, "(T, B, F)")
    return [a[t].T.copy() for t in range(len(a))]


def directions_to_features(y, name="Y"):
    """ONNX's Y (T, num_directions, B, H) to a new (T, B, num_directions * H): each step's
    directions side by side, forward first, as manual_rnn and PyTorch give them."""
    a = _numbers(name, y, 4, "(T, num_directions, B, H)")
    return np.concatenate([a[:, d] for d in range(a.shape[1])], axis=-1)


def features_to_directions(ys, num_directions, name="ys"):
    """(T, B, num_directions * H) to a new (T, num_directions, B, H), ONNX's Y."""
    a = _numbers(name, ys, 3, "(T, B, num_directions * H)")
    if a.shape[-1] % num_directions:
        raise ValueError(f"{name} must have num_directions * H features with "
                         f"num_directions={num_directions}, got shape {a.shape}")
    return np.stack(np.split(a, num_directions, axis=-1), axis=1)


def _check_spec_type(spec):
    if not isinstance(spec, Spec):
        raise TypeError(f"spec must be a manual_rnn Spec, got {type(spec).__name__}")


class DataLayout:
    """How a source lays out sequences and states, converted to and from manual_rnn's.

    manual_rnn's side is (T, B, F) (or (B, T, F) with spec.batch_first) for sequences and
    (layers * directions, B, H) for a state, a pair (h, c) for the LSTM, as `forward` takes and
    gives them. Subclasses convert one sequence to and from (T, B, F) and one state part to and
    from (rows, B, H); inputs and outputs share a layout unless a subclass says otherwise."""

    name: ClassVar[str] = ""
    sequence: ClassVar[str] = ""      # the source's shape of a sequence
    state_part: ClassVar[str] = ""    # the source's shape of a state (of h, and of c)

    def inputs_to_manual(self, spec, x):
        """The source's input sequence x as manual_rnn's xs."""
        _check_spec_type(spec)
        return _spec_side(spec, self._sequence_in(x, "x"))

    def inputs_from_manual(self, spec, xs):
        """manual_rnn's xs (or dxs) in the source's layout."""
        return self._sequence_out(spec, _time_major(spec, xs, "xs"), "xs")

    def outputs_to_manual(self, spec, y):
        """The source's output sequence y (or its gradient dy) as manual_rnn's ys."""
        _check_spec_type(spec)
        return _spec_side(spec, self._sequence_in(y, "y"))

    def outputs_from_manual(self, spec, ys):
        """manual_rnn's ys in the source's layout."""
        return self._sequence_out(spec, _time_major(spec, ys, "ys"), "ys")

    def state_to_manual(self, spec, state):
        """The source's state (an initial state, its gradient) as manual_rnn's h0 or state."""
        return _state_map(spec, state, "state", self._state_in)

    def state_from_manual(self, spec, state):
        """manual_rnn's state (h_n, or dh0) in the source's layout."""
        return _state_map(spec, state, "state", self._state_out)


def _spec_side(spec, tm):
    return tm.swapaxes(0, 1) if spec.batch_first else tm


def _time_major(spec, a, name):
    _check_spec_type(spec)
    a = _numbers(name, a, 3, "(B, T, F) (spec.batch_first)" if spec.batch_first else "(T, B, F)")
    return a.swapaxes(0, 1) if spec.batch_first else a


def _state_map(spec, state, name, convert):
    """convert(part, name) applied to each part of a state: one array, or a pair for the LSTM."""
    _check_spec_type(spec)
    if len(spec.state_names) == 2:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(f"{name} must be a pair (h, c) for cell={spec.cell!r}, got "
                            f"{type(state).__name__}")
        return tuple(convert(part, f"{name}[{i}]") for i, part in enumerate(state))
    if isinstance(state, (tuple, list)):
        raise TypeError(f"{name} must be one array for cell={spec.cell!r}, got a "
                        f"{type(state).__name__}")
    return convert(state, name)


def _one_row(name, a, layout):
    if a.shape[0] != 1:
        raise ValueError(f"{name} must have one row (one layer, one direction) for the {layout} "
                         f"layout, got shape {a.shape}")
    return a[0]


class BatchMajor(DataLayout):
    """CS231n and Keras: x (N, T, D), outputs (N, T, H), states (N, H) (h, and c for the LSTM;
    Keras's initial_state [h, c] is the pair)."""
    name, sequence, state_part = "batch_major", "(N, T, F)", "(N, H)"

    def _sequence_in(self, x, name):
        return batch_major_to_time_major(x, name)

    def _sequence_out(self, spec, xs, name):
        return time_major_to_batch_major(xs, name)

    def _state_in(self, h, name):
        return _numbers(name, h, 2, "(N, H)")[None].copy()

    def _state_out(self, h, name):
        return _one_row(name, _numbers(name, h, 3, "(1, B, H)"), self.name).copy()


class FeatureBatchTime(DataLayout):
    """deeplearning.ai: x (n_x, m, T_x), outputs (n_y, m, T_x) (and a, c (n_a, m, T_x)), states
    a0 (n_a, m) (and c (n_a, m) for the LSTM)."""
    name, sequence, state_part = "feature_batch_time", "(F, m, T)", "(n_a, m)"

    def _sequence_in(self, x, name):
        return feature_batch_time_to_time_major(x, name)

    def _sequence_out(self, spec, xs, name):
        return time_major_to_feature_batch_time(xs, name)

    def _state_in(self, a, name):
        return _numbers(name, a, 2, "(n_a, m)").T[None].copy()

    def _state_out(self, a, name):
        return _one_row(name, _numbers(name, a, 3, "(1, m, n_a)"), self.name).T.copy()


class Columns(DataLayout):
    """min-char-rnn and the notebook: a list of T column blocks (F, B) per step ((F, 1) for one
    sequence; see columns_to_time_major), outputs likewise, a state h (H, B)."""
    name, sequence, state_part = "columns", "[(F, B)] * T", "(H, B)"

    def _sequence_in(self, steps, name):
        return columns_to_time_major(steps, name)

    def _sequence_out(self, spec, xs, name):
        return time_major_to_columns(xs, name)

    def _state_in(self, h, name):
        return _numbers(name, h, 2, "(H, B)").T[None].copy()

    def _state_out(self, h, name):
        return _one_row(name, _numbers(name, h, 3, "(1, B, H)"), self.name).T.copy()


class ONNXData(DataLayout):
    """ONNX (layout attribute 0): X (seq_length, batch, input) time-major as manual_rnn's,
    Y (seq_length, num_directions, batch, hidden), initial_h and Y_h (num_directions, batch,
    hidden) as manual_rnn's states (and initial_c, Y_c for the LSTM)."""
    name, sequence, state_part = "onnx", "(T, B, F)", "(num_directions, B, H)"

    def _sequence_in(self, x, name):
        return _numbers(name, x, 3, "(seq_length, batch, input)").copy()

    def _sequence_out(self, spec, xs, name):
        return xs.copy()

    def outputs_to_manual(self, spec, y):
        """ONNX's Y (seq_length, num_directions, batch, hidden) as manual_rnn's ys."""
        _check_spec_type(spec)
        return _spec_side(spec, directions_to_features(y, "Y"))

    def outputs_from_manual(self, spec, ys):
        """manual_rnn's ys as ONNX's Y (seq_length, num_directions, batch, hidden)."""
        _check_spec_type(spec)
        if spec.has_head:
            raise ValueError(f"ys of a network with a read-out (output_size="
                             f"{spec.output_size}) have no ONNX Y layout")
        return features_to_directions(_time_major(spec, ys, "ys"), spec.num_directions)

    def _state_in(self, h, name):
        return _numbers(name, h, 3, "(num_directions, batch, hidden)").copy()

    def _state_out(self, h, name):
        return _numbers(name, h, 3, "(num_directions, batch, hidden)").copy()


BATCH_MAJOR, FEATURE_BATCH_TIME, COLUMNS, ONNX_DATA = (
    BatchMajor(), FeatureBatchTime(), Columns(), ONNXData())
DATA_LAYOUTS = {d.name: d for d in (BATCH_MAJOR, FEATURE_BATCH_TIME, COLUMNS, ONNX_DATA)}


# ---- parameter layouts ----------------------------------------------------------------------

def _dim(foreign, key, ndim, axis):
    """foreign[key].shape[axis], after checking that foreign[key] is an array of ndim axes."""
    if key not in foreign:
        raise ValueError(f"foreign must hold {key!r}, got keys {list(foreign)}")
    value = foreign[key]
    if not isinstance(value, np.ndarray):
        raise TypeError(f"foreign[{key!r}] must be a numpy array, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(f"foreign[{key!r}] must be {ndim}-D, got shape {value.shape}")
    return value.shape[axis]


def _check_foreign(layout, foreign, shapes):
    """Raise unless `foreign` has exactly the keys and shapes of `shapes`, one float dtype and
    finite values."""
    missing = [k for k in shapes if k not in foreign]
    unexpected = [k for k in foreign if k not in shapes]
    if missing or unexpected:
        raise ValueError(f"foreign must hold exactly {list(shapes)} for layout {layout!r}; "
                         f"missing {missing}, unexpected {unexpected}")
    dtypes = set()
    for key, shape in shapes.items():
        value = foreign[key]
        if not isinstance(value, np.ndarray):
            raise TypeError(f"foreign[{key!r}] must be a numpy array, got {type(value).__name__}")
        if value.shape != shape:
            raise ValueError(f"foreign[{key!r}] must have shape {shape} for layout {layout!r}, "
                             f"got {value.shape}")
        if value.dtype not in DTYPES:
            raise TypeError(f"foreign[{key!r}] must be float32 or float64, got {value.dtype}")
        if not checks.all_finite(value):
            raise ValueError(f"foreign[{key!r}] holds non-finite values")
        dtypes.add(value.dtype)
    if len(dtypes) > 1:
        got = {key: str(foreign[key].dtype) for key in shapes}
        raise TypeError(f"foreign arrays must share one dtype, got {got}")


def _check_grads(spec, grads):
    """check_params for gradients, its messages naming `grads`."""
    try:
        check_params(spec, grads)
    except (TypeError, ValueError) as error:
        raise type(error)("grads" + str(error).removeprefix("params")) from None


def _t(a):
    """a's transpose as a contiguous array (a is always one of ours, never the caller's)."""
    return np.ascontiguousarray(a.T)


@dataclass(frozen=True)
class Adapter:
    """One source's parameters for one cell, converted to and from manual_rnn's.

    The methods are shared (the module docstring lists them); a subclass per source says how
    its arrays are named and shaped (_foreign_shapes, _sizes) and maps them (_to_manual,
    _from_manual), in one layer and the directions it has. Class attributes: `source`, who
    writes it this way; `data`, its DataLayout; `gates`, its gate order per cell in PyTorch's
    letters; `head`, whether it has a read-out (then always); `max_directions`; `bias_optional`;
    `single_bias`, whether it has one bias per gate where PyTorch has two; `nonlinearity`, the
    Elman cell's activation.
    """

    name: str
    cell: str
    reset_after: bool = True          # GRU only: the variant (Spec.reset_after)

    source: ClassVar[str] = ""
    data: ClassVar[DataLayout]
    gates: ClassVar[dict] = {}
    head: ClassVar[bool] = False
    max_directions: ClassVar[int] = 1
    bias_optional: ClassVar[bool] = False
    single_bias: ClassVar[bool] = True
    nonlinearity: ClassVar[str] = "tanh"

    # ---- the Spec ----

    def make_spec(self, input_size, hidden_size, output_size=None, bidirectional=False,
                  bias=True) -> Spec:
        """The Spec of this source's network with these sizes (time-major, one layer)."""
        variant = {"reset_after": self.reset_after} if self.cell == "gru" else {}
        spec = Spec(cell=self.cell, input_size=input_size, hidden_size=hidden_size,
                    output_size=output_size, bidirectional=bidirectional, bias=bias,
                    nonlinearity=self.nonlinearity, **variant)
        self.check_spec(spec)
        return spec

    def check_spec(self, spec) -> None:
        """Raise ValueError, naming the field, unless this source can express `spec`'s network."""
        _check_spec_type(spec)
        expected = {"cell": self.cell, "num_layers": 1, "proj_size": 0}
        if self.cell == "rnn":
            expected["nonlinearity"] = self.nonlinearity
        if self.cell == "gru":
            expected["reset_after"] = self.reset_after
        if self.max_directions == 1:
            expected["bidirectional"] = False
        if not self.bias_optional:
            expected["bias"] = True
        for field, value in expected.items():
            got = getattr(spec, field)
            if got != value:
                hint = (self._instead(spec.cell, spec.reset_after)
                        if field in ("cell", "reset_after") else "")
                raise ValueError(f"spec.{field} must be {value!r} for layout {self.name!r} "
                                 f"({self.source}), got {got!r}{hint}")
        if spec.has_head != self.head:
            must = ("an int, the read-out's size" if self.head else "None")
            has = "has a read-out" if self.head else "has no read-out"
            raise ValueError(f"spec.output_size must be {must}, for layout {self.name!r}: "
                             f"{self.source} {has}; got {spec.output_size!r}")

    def _instead(self, cell, reset_after):
        """A hint: the layout of the same source with that cell and GRU variant, if any."""
        for name, other in LAYOUTS.items():
            if (type(other) is type(self) and other.cell == cell and other is not self
                    and (cell != "gru" or other.reset_after == reset_after)):
                return f" (layout {name!r} has that)"
        return ""

    def foreign_shapes(self, spec) -> dict[str, tuple[int, ...]]:
        """The source's parameter names and shapes for `spec`'s network, in the source's order."""
        self.check_spec(spec)
        return self._foreign_shapes(spec)

    def spec(self, foreign) -> Spec:
        """The Spec of the network the source's arrays `foreign` describe."""
        if not isinstance(foreign, dict):
            raise TypeError(f"foreign must be a dict of arrays named as {self.source} names "
                            f"them, got {type(foreign).__name__}")
        return self.make_spec(**self._sizes(foreign))

    # ---- conversions ----

    def to_manual(self, foreign) -> tuple[Spec, dict[str, np.ndarray]]:
        """(spec, params): the network of the source's arrays, in manual_rnn's layout.

        A source with one bias per gate gets it in bias_ih and zeros in bias_hh."""
        spec = self.spec(foreign)
        _check_foreign(self.name, foreign, self._foreign_shapes(spec))
        params = self._to_manual(spec, foreign)
        if self.single_bias and spec.bias:
            for s in direction_suffixes(spec):
                params[f"bias_hh_l0{s}"] = np.zeros_like(params[f"bias_ih_l0{s}"])
        return spec, {name: params[name] for name in param_shapes(spec)}

    def from_manual(self, spec, params, fold_bias=False) -> dict[str, np.ndarray]:
        """The source's arrays for manual_rnn's network (spec, params).

        A source with one bias per gate cannot hold a nonzero bias_hh: ValueError, unless
        fold_bias=True, which gives it bias_ih + bias_hh (the same network; to_manual then
        gives the sum back in bias_ih). Where the source has both biases, fold_bias changes
        nothing."""
        self.check_spec(spec)
        check_params(spec, params)
        rule = "fold" if checks.flag("fold_bias", fold_bias) else "refuse"
        return self._from_manual(spec, self._one_bias(spec, params, rule))

    def grads_from_manual(self, spec, grads) -> dict[str, np.ndarray]:
        """manual_rnn's parameter gradients as the gradients of the source's arrays.

        Where the source has one bias per gate, that bias became bias_ih, so its gradient is
        bias_ih's; bias_hh's is dropped."""
        self.check_spec(spec)
        _check_grads(spec, grads)
        return self._from_manual(spec, self._one_bias(spec, grads, "input"))

    def _one_bias(self, spec, params, rule):
        """params with, for a source of one bias per gate, that bias in bias_ih_l0 and no
        bias_hh_l0: bias_ih (rule "input"), bias_ih + bias_hh ("fold"), or bias_ih after
        checking that bias_hh is zero ("refuse")."""
        if not (self.single_bias and spec.bias):
            return params
        params = dict(params)
        for s in direction_suffixes(spec):
            ih, hh = f"bias_ih_l0{s}", f"bias_hh_l0{s}"
            b_hh = params.pop(hh)
            if rule == "fold":
                params[ih] = params[ih] + b_hh
            elif rule == "refuse" and np.any(b_hh != 0):
                raise ValueError(
                    f"params[{hh!r}] is nonzero, and layout {self.name!r} has one bias per gate "
                    f"({self.source} adds one b where PyTorch adds {ih} + {hh}); pass "
                    f"fold_bias=True to write b = {ih} + {hh}, the same network, or zero {hh}")
        return params

    def _to_torch(self, a, axis=0):
        return regate(a, self.gates[self.cell], TORCH_GATES[self.cell], axis)

    def _from_torch(self, a, axis=0):
        return regate(a, TORCH_GATES[self.cell], self.gates[self.cell], axis)


@dataclass(frozen=True)
class CS231n(Adapter):
    """CS231n assignment 3, rnn_layers.py: row vectors, weights multiplied from the right.

    RNN:   Wx (D, H), Wh (H, H), b (H,)
           next_h = tanh(x @ Wx + prev_h @ Wh + b)
    LSTM:  Wx (D, 4H), Wh (H, 4H), b (4H,), gate blocks over the columns in the order i, f, o, g
           a = x @ Wx + prev_h @ Wh + b
           i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2H]), sigmoid(a[:, 2H:3H])
           g = tanh(a[:, 3H:])
           next_c = f * prev_c + i * g        next_h = o * tanh(next_c)
    Data (batch_major): x (N, T, D), h0 (N, H), h (N, T, H); lstm_forward starts from c0 = 0.
    No read-out (the temporal affine layer is separate) and one layer.

    manual_rnn: Spec(cell, input_size=D, hidden_size=H); weight_ih_l0 = Wx^T and
    weight_hh_l0 = Wh^T with the gate blocks reordered to i, f, g, o, bias_ih_l0 = b,
    bias_hh_l0 = 0.
    """
    source: ClassVar[str] = "CS231n's rnn_layers.py"
    data: ClassVar[DataLayout] = BATCH_MAJOR
    gates: ClassVar[dict] = {"rnn": "h", "lstm": "ifog"}

    def _foreign_shapes(self, spec):
        D, H, G = spec.input_size, spec.hidden_size, spec.gates
        return {"Wx": (D, G * H), "Wh": (H, G * H), "b": (G * H,)}

    def _sizes(self, foreign):
        return {"input_size": _dim(foreign, "Wx", 2, 0), "hidden_size": _dim(foreign, "Wh", 2, 0)}

    def _to_manual(self, spec, f):
        return {"weight_ih_l0": _t(self._to_torch(f["Wx"], axis=1)),
                "weight_hh_l0": _t(self._to_torch(f["Wh"], axis=1)),
                "bias_ih_l0": self._to_torch(f["b"])}

    def _from_manual(self, spec, p):
        return {"Wx": _t(self._from_torch(p["weight_ih_l0"])),
                "Wh": _t(self._from_torch(p["weight_hh_l0"])),
                "b": self._from_torch(p["bias_ih_l0"])}


@dataclass(frozen=True)
class _ColumnRNN(Adapter):
    """An Elman RNN on column vectors with a linear read-out, its biases columns (n, 1):

        h_t = f(W_xh x_t + W_hh h_{t-1} + b_h)        y_t = W_hy h_t + b_y

    `names` are the source's names of (W_xh (H, I), W_hh (H, H), W_hy (O, H), b_h (H, 1),
    b_y (O, 1)). manual_rnn: weight_ih_l0 = W_xh, weight_hh_l0 = W_hh, bias_ih_l0 = b_h[:, 0],
    bias_hh_l0 = 0, head.weight = W_hy, head.bias = b_y[:, 0].
    """
    names: ClassVar[tuple[str, ...]] = ()
    head: ClassVar[bool] = True
    gates: ClassVar[dict] = {"rnn": "h"}

    def _foreign_shapes(self, spec):
        w_xh, w_hh, w_hy, b_h, b_y = self.names
        I, H, O = spec.input_size, spec.hidden_size, spec.output_size
        return {w_xh: (H, I), w_hh: (H, H), w_hy: (O, H), b_h: (H, 1), b_y: (O, 1)}

    def _sizes(self, foreign):
        w_xh, w_hh, w_hy = self.names[:3]
        return {"input_size": _dim(foreign, w_xh, 2, 1), "hidden_size": _dim(foreign, w_hh, 2, 0),
                "output_size": _dim(foreign, w_hy, 2, 0)}

    def _to_manual(self, spec, f):
        w_xh, w_hh, w_hy, b_h, b_y = self.names
        return {"weight_ih_l0": f[w_xh].copy(), "weight_hh_l0": f[w_hh].copy(),
                "bias_ih_l0": f[b_h][:, 0].copy(),
                "head.weight": f[w_hy].copy(), "head.bias": f[b_y][:, 0].copy()}

    def _from_manual(self, spec, p):
        w_xh, w_hh, w_hy, b_h, b_y = self.names
        return {w_xh: p["weight_ih_l0"].copy(), w_hh: p["weight_hh_l0"].copy(),
                w_hy: p["head.weight"].copy(), b_h: p["bias_ih_l0"][:, None].copy(),
                b_y: p["head.bias"][:, None].copy()}


@dataclass(frozen=True)
class DeepLearningAIRNN(_ColumnRNN):
    """deeplearning.ai Sequence Models, week 1 ("Building your Recurrent Neural Network Step by
    Step"), rnn_cell_forward / rnn_forward: column vectors, a batch of m as columns.

        Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1)
        a_next = tanh(Waa a_prev + Wax xt + ba)
        yt_pred = softmax(Wya a_next + by)

    The adapter maps the linear part, Wya a_next + by = manual_rnn's read-out; the softmax
    belongs to the loss (manual_rnn's loss="cross_entropy" applies it).
    Data (feature_batch_time): x (n_x, m, T_x), a0 (n_a, m), a and y_pred (n, m, T_x).

    manual_rnn: Spec("rnn", input_size=n_x, hidden_size=n_a, output_size=n_y);
    weight_ih_l0 = Wax, weight_hh_l0 = Waa, bias_ih_l0 = ba[:, 0], bias_hh_l0 = 0,
    head.weight = Wya, head.bias = by[:, 0].
    """
    source: ClassVar[str] = "deeplearning.ai's rnn_forward"
    data: ClassVar[DataLayout] = FEATURE_BATCH_TIME
    names: ClassVar[tuple[str, ...]] = ("Wax", "Waa", "Wya", "ba", "by")


@dataclass(frozen=True)
class MinCharRNN(_ColumnRNN):
    """Karpathy's min-char-rnn.py: one sequence of one-hot columns, batch 1.

        Wxh (H, V), Whh (H, H), Why (V, H), bh (H, 1), by (V, 1)
        hs[t] = tanh(Wxh xs[t] + Whh hs[t-1] + bh)
        ys[t] = Why hs[t] + by                 ps[t] = softmax(ys[t])

    (V in and out; the adapter also takes Wxh (H, I) and Why (O, H) of other sizes.) The
    softmax belongs to the loss. Data (columns): xs[t] (V, 1), hprev (H, 1), ys[t] (V, 1).

    manual_rnn: Spec("rnn", input_size=V, hidden_size=H, output_size=V);
    weight_ih_l0 = Wxh, weight_hh_l0 = Whh, bias_ih_l0 = bh[:, 0], bias_hh_l0 = 0,
    head.weight = Why, head.bias = by[:, 0].
    """
    source: ClassVar[str] = "min-char-rnn.py"
    data: ClassVar[DataLayout] = COLUMNS
    names: ClassVar[tuple[str, ...]] = ("Wxh", "Whh", "Why", "bh", "by")


@dataclass(frozen=True)
class NotebookRNN(_ColumnRNN):
    """The course notebook's sigmoid RNN, min-char-rnn's cousin (manual_rnn.app.demo's network).

        wx (H, I), wh (H, H), wo (O, H), bx (H, 1), by (O, 1)
        z[t] = wx x_t + wh h[t-1] + bx         h[t] = sigmoid(z[t])
        y[t] = wo h[t] + by

    Data (columns): x_seq[t] (I,) or (I, 1) (the notebook reshapes each to (I, 1)), h (H, 1).

    manual_rnn: Spec("rnn", input_size=I, hidden_size=H, output_size=O,
    nonlinearity="sigmoid"); weight_ih_l0 = wx, weight_hh_l0 = wh, bias_ih_l0 = bx[:, 0],
    bias_hh_l0 = 0, head.weight = wo, head.bias = by[:, 0].
    """
    source: ClassVar[str] = "the sigmoid RNN notebook"
    data: ClassVar[DataLayout] = COLUMNS
    names: ClassVar[tuple[str, ...]] = ("wx", "wh", "wo", "bx", "by")
    nonlinearity: ClassVar[str] = "sigmoid"


@dataclass(frozen=True)
class DeepLearningAILSTM(Adapter):
    """deeplearning.ai Sequence Models, week 1, lstm_cell_forward / lstm_forward: one weight
    per gate over the concatenation [a_prev; xt] (a_prev first), column vectors.

        Wf, Wi, Wc, Wo (n_a, n_a + n_x), bf, bi, bc, bo (n_a, 1), Wy (n_y, n_a), by (n_y, 1)
        concat = [a_prev; xt]                         ((n_a + n_x, m))
        ft = sigmoid(Wf concat + bf)        it = sigmoid(Wi concat + bi)
        cct = tanh(Wc concat + bc)          ot = sigmoid(Wo concat + bo)
        c_next = ft * c_prev + it * cct     a_next = ot * tanh(c_next)
        yt_pred = softmax(Wy a_next + by)

    The softmax belongs to the loss. Data (feature_batch_time): x (n_x, m, T_x), a0 (n_a, m);
    lstm_forward starts from c = 0 and returns a, y, c (n, m, T_x).

    manual_rnn: Spec("lstm", input_size=n_x, hidden_size=n_a, output_size=n_y); the gates
    stacked i, f, g (= c), o: weight_hh_l0 = [Wi; Wf; Wc; Wo][:, :n_a],
    weight_ih_l0 = [Wi; Wf; Wc; Wo][:, n_a:], bias_ih_l0 = [bi; bf; bc; bo][:, 0],
    bias_hh_l0 = 0, head.weight = Wy, head.bias = by[:, 0].
    """
    source: ClassVar[str] = "deeplearning.ai's lstm_forward"
    data: ClassVar[DataLayout] = FEATURE_BATCH_TIME
    gates: ClassVar[dict] = {"lstm": "ifgo"}
    head: ClassVar[bool] = True
    SUFFIXES: ClassVar[dict] = {"i": "i", "f": "f", "g": "c", "o": "o"}  # PyTorch's -> its names

    def _foreign_shapes(self, spec):
        I, H, O = spec.input_size, spec.hidden_size, spec.output_size
        shapes = {}
        for s in "fico":                                   # the notebook's order
            shapes["W" + s], shapes["b" + s] = (H, H + I), (H, 1)
        return shapes | {"Wy": (O, H), "by": (O, 1)}

    def _sizes(self, foreign):
        n_a = _dim(foreign, "Wf", 2, 0)
        n_x = _dim(foreign, "Wf", 2, 1) - n_a
        if n_x < 1:
            raise ValueError(f"foreign['Wf'] must be (n_a, n_a + n_x) with n_x >= 1, got shape "
                             f"{foreign['Wf'].shape}")
        return {"input_size": n_x, "hidden_size": n_a, "output_size": _dim(foreign, "Wy", 2, 0)}

    def _to_manual(self, spec, f):
        H = spec.hidden_size
        w = np.concatenate([f["W" + self.SUFFIXES[g]] for g in TORCH_GATES["lstm"]])
        b = np.concatenate([f["b" + self.SUFFIXES[g]] for g in TORCH_GATES["lstm"]])
        return {"weight_ih_l0": w[:, H:].copy(), "weight_hh_l0": w[:, :H].copy(),
                "bias_ih_l0": b[:, 0].copy(),
                "head.weight": f["Wy"].copy(), "head.bias": f["by"][:, 0].copy()}

    def _from_manual(self, spec, p):
        w = np.concatenate([p["weight_hh_l0"], p["weight_ih_l0"]], axis=1)   # over [a_prev; x]
        w_gates = dict(zip(TORCH_GATES["lstm"], np.split(w, 4)))
        b_gates = dict(zip(TORCH_GATES["lstm"], np.split(p["bias_ih_l0"], 4)))
        foreign = {}
        for g in "figo":                                   # the notebook's order f, i, c, o
            s = self.SUFFIXES[g]
            foreign["W" + s], foreign["b" + s] = w_gates[g].copy(), b_gates[g][:, None].copy()
        return foreign | {"Wy": p["head.weight"].copy(), "by": p["head.bias"][:, None].copy()}


@dataclass(frozen=True)
class Keras(Adapter):
    """Keras's SimpleRNN, LSTM and GRU layers (Keras 2 and 3): row vectors, weights multiplied
    from the right, gate blocks over the columns, one layer, one direction, no read-out.

    SimpleRNN:  kernel (input_dim, units), recurrent_kernel (units, units), bias (units,)
                h = tanh(x @ kernel + bias + h_tm1 @ recurrent_kernel)
    LSTM:       kernel (input_dim, 4u), recurrent_kernel (u, 4u), bias (4u,); gates i, f, c, o
                z = x @ kernel + h_tm1 @ recurrent_kernel + bias;   z0, z1, z2, z3 = its blocks
                i, f, o = sigmoid(z0), sigmoid(z1), sigmoid(z3)
                c = f * c_tm1 + i * tanh(z2)           h = o * tanh(c)
    GRU:        kernel (input_dim, 3u), recurrent_kernel (u, 3u); gates z, r, h (PyTorch: r, z, n)
                x_z, x_r, x_h = blocks of x @ kernel + input_bias
                z = sigmoid(x_z + h_tm1 @ rk_z + rb_z)        r = sigmoid(x_r + h_tm1 @ rk_r + rb_r)
                reset_after=True (default):  bias (2, 3u), input_bias = bias[0], rb = bias[1]
                    hh = tanh(x_h + r * (h_tm1 @ rk_h + rb_h))
                reset_after=False:           bias (3u,) = input_bias, no recurrent bias
                    hh = tanh(x_h + (r * h_tm1) @ rk_h)
                h = z * h_tm1 + (1 - z) * hh
    use_bias=False leaves `bias` out. Data (batch_major): x (batch, timesteps, features),
    initial_state h (batch, units) or [h, c], outputs with return_sequences (batch, T, units).
    Only the default activations (tanh, and sigmoid for recurrent_activation; the older
    hard_sigmoid default has no manual_rnn equivalent), go_backwards=False.

    manual_rnn: Spec(cell, input_size=input_dim, hidden_size=units, bias=use_bias,
    reset_after=...); weight_ih_l0 = kernel^T, weight_hh_l0 = recurrent_kernel^T with the gate
    blocks reordered to PyTorch's; bias_ih_l0 = bias (bias[0]), bias_hh_l0 = 0 (bias[1]).
    """
    source: ClassVar[str] = "Keras"
    data: ClassVar[DataLayout] = BATCH_MAJOR
    gates: ClassVar[dict] = {"rnn": "h", "lstm": "ifgo", "gru": "zrn"}
    bias_optional: ClassVar[bool] = True

    @property
    def single_bias(self):
        return not (self.cell == "gru" and self.reset_after)

    def _foreign_shapes(self, spec):
        I, u, G = spec.input_size, spec.hidden_size, spec.gates
        shapes = {"kernel": (I, G * u), "recurrent_kernel": (u, G * u)}
        if spec.bias:
            shapes["bias"] = (G * u,) if self.single_bias else (2, G * u)
        return shapes

    def _sizes(self, foreign):
        bias = foreign.get("bias")
        if self.cell == "gru" and isinstance(bias, np.ndarray) and bias.ndim == (
                2 if self.single_bias else 1):
            raise ValueError(f"foreign['bias'] has shape {bias.shape}, a GRU bias of reset_after="
                             f"{not self.reset_after}, but layout {self.name!r} has reset_after="
                             f"{self.reset_after}{self._instead('gru', not self.reset_after)}")
        return {"input_size": _dim(foreign, "kernel", 2, 0),
                "hidden_size": _dim(foreign, "recurrent_kernel", 2, 0), "bias": "bias" in foreign}

    def _to_manual(self, spec, f):
        params = {"weight_ih_l0": _t(self._to_torch(f["kernel"], axis=1)),
                  "weight_hh_l0": _t(self._to_torch(f["recurrent_kernel"], axis=1))}
        if spec.bias and self.single_bias:
            params["bias_ih_l0"] = self._to_torch(f["bias"])
        elif spec.bias:
            params["bias_ih_l0"] = self._to_torch(f["bias"][0])
            params["bias_hh_l0"] = self._to_torch(f["bias"][1])
        return params

    def _from_manual(self, spec, p):
        foreign = {"kernel": _t(self._from_torch(p["weight_ih_l0"])),
                   "recurrent_kernel": _t(self._from_torch(p["weight_hh_l0"]))}
        if spec.bias and self.single_bias:
            foreign["bias"] = self._from_torch(p["bias_ih_l0"])
        elif spec.bias:
            foreign["bias"] = np.stack([self._from_torch(p["bias_ih_l0"]),
                                        self._from_torch(p["bias_hh_l0"])])
        return foreign


@dataclass(frozen=True)
class ONNX(Adapter):
    """The ONNX operators RNN, LSTM and GRU (default attributes; layout=0), one layer,
    forward or bidirectional, no read-out. Xt * W^T means Xt @ W.T; direction 0 is forward,
    1 reverse.

    W (num_directions, G*hidden, input), R (num_directions, G*hidden, hidden),
    B (num_directions, 2*G*hidden) = [Wb; Rb], optional (zeros if absent)
    RNN:   Ht = tanh(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi)
    LSTM:  gates i, o, f, c (PyTorch: i, f, g, o); optional peepholes P (num_directions, 3*hidden)
           it = sigmoid(Xt*(Wi^T) + Ht-1*(Ri^T) + Pi (.) Ct-1 + Wbi + Rbi)
           ft = sigmoid(Xt*(Wf^T) + Ht-1*(Rf^T) + Pf (.) Ct-1 + Wbf + Rbf)
           ct = tanh(Xt*(Wc^T) + Ht-1*(Rc^T) + Wbc + Rbc)
           Ct = ft (.) Ct-1 + it (.) ct
           ot = sigmoid(Xt*(Wo^T) + Ht-1*(Ro^T) + Po (.) Ct + Wbo + Rbo)
           Ht = ot (.) tanh(Ct)
    GRU:   gates z, r, h (PyTorch: r, z, n)
           zt = sigmoid(Xt*(Wz^T) + Ht-1*(Rz^T) + Wbz + Rbz)
           rt = sigmoid(Xt*(Wr^T) + Ht-1*(Rr^T) + Wbr + Rbr)
           linear_before_reset=0 (default): ht = tanh(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh)
           linear_before_reset=1:           ht = tanh(Xt*(Wh^T) + rt (.) (Ht-1*(Rh^T) + Rbh) + Wbh)
           Ht = (1 - zt) (.) ht + zt (.) Ht-1
    Data (onnx): X (seq_length, batch, input), initial_h (num_directions, batch, hidden) (and
    initial_c), Y (seq_length, num_directions, batch, hidden), Y_h (and Y_c) as initial_h.

    Peepholes have no manual_rnn equivalent: to_manual refuses a nonzero P and drops an
    all-zero one (the same network). Not covered: direction="reverse" alone, other
    activations, clip, input_forget=1, layout=1, sequence_lens.

    manual_rnn: Spec(cell, input_size, hidden_size, bidirectional=num_directions == 2,
    bias=B given, reset_after=linear_before_reset == 1); per direction d (suffix "" or
    "_reverse") weight_ih_l0 = W[d], weight_hh_l0 = R[d], bias_ih_l0 = Wb, bias_hh_l0 = Rb, each
    with its gate blocks reordered to PyTorch's.
    """
    source: ClassVar[str] = "ONNX"
    data: ClassVar[DataLayout] = ONNX_DATA
    gates: ClassVar[dict] = {"rnn": "h", "lstm": "iofg", "gru": "zrn"}
    max_directions: ClassVar[int] = 2
    bias_optional: ClassVar[bool] = True
    single_bias: ClassVar[bool] = False

    @property
    def linear_before_reset(self):
        """The GRU attribute this layout stands for (None for the other cells)."""
        return int(self.reset_after) if self.cell == "gru" else None

    def _foreign_shapes(self, spec):
        D, GH = spec.num_directions, spec.gates * spec.hidden_size
        shapes = {"W": (D, GH, spec.input_size), "R": (D, GH, spec.hidden_size)}
        if spec.bias:
            shapes["B"] = (D, 2 * GH)
        return shapes

    def _sizes(self, foreign):
        directions = _dim(foreign, "W", 3, 0)
        if directions not in (1, 2):
            raise ValueError(f"foreign['W'] must have num_directions 1 or 2 on its first axis, "
                             f"got shape {foreign['W'].shape}")
        return {"input_size": _dim(foreign, "W", 3, 2), "hidden_size": _dim(foreign, "R", 3, 2),
                "bidirectional": directions == 2, "bias": "B" in foreign}

    def to_manual(self, foreign):
        """As Adapter.to_manual; an LSTM's peepholes P must be absent or all zero."""
        if self.cell == "lstm" and isinstance(foreign, dict) and "P" in foreign:
            P = foreign["P"]
            foreign = {k: v for k, v in foreign.items() if k != "P"}
            spec = self.spec(foreign)
            shape = (spec.num_directions, 3 * spec.hidden_size)
            if not isinstance(P, np.ndarray) or P.shape != shape:
                raise ValueError(f"foreign['P'] must be a numpy array of shape {shape} "
                                 f"(num_directions, 3*hidden), got {getattr(P, 'shape', P)!r:.60}")
            if np.any(P != 0):                             # NaN != 0 too
                raise ValueError("foreign['P'] holds nonzero peepholes, which manual_rnn's LSTM "
                                 "does not have; only an all-zero P (the same network as none) "
                                 "converts")
        return super().to_manual(foreign)

    def _to_manual(self, spec, f):
        GH = spec.gates * spec.hidden_size
        params = {}
        for d, s in enumerate(direction_suffixes(spec)):
            params[f"weight_ih_l0{s}"] = self._to_torch(f["W"][d])
            params[f"weight_hh_l0{s}"] = self._to_torch(f["R"][d])
            if spec.bias:
                params[f"bias_ih_l0{s}"] = self._to_torch(f["B"][d, :GH])
                params[f"bias_hh_l0{s}"] = self._to_torch(f["B"][d, GH:])
        return params

    def _from_manual(self, spec, p):
        suffixes = direction_suffixes(spec)
        foreign = {"W": np.stack([self._from_torch(p[f"weight_ih_l0{s}"]) for s in suffixes]),
                   "R": np.stack([self._from_torch(p[f"weight_hh_l0{s}"]) for s in suffixes])}
        if spec.bias:
            foreign["B"] = np.stack([np.concatenate([self._from_torch(p[f"bias_ih_l0{s}"]),
                                                     self._from_torch(p[f"bias_hh_l0{s}"])])
                                     for s in suffixes])
        return foreign


LAYOUTS: dict[str, Adapter] = {adapter.name: adapter for adapter in (
    CS231n("cs231n_rnn", "rnn"),
    CS231n("cs231n_lstm", "lstm"),
    DeepLearningAIRNN("deeplearning_ai_rnn", "rnn"),
    DeepLearningAILSTM("deeplearning_ai_lstm", "lstm"),
    Keras("keras_simple_rnn", "rnn"),
    Keras("keras_lstm", "lstm"),
    Keras("keras_gru", "gru"),
    Keras("keras_gru_reset_before", "gru", reset_after=False),
    ONNX("onnx_rnn", "rnn"),
    ONNX("onnx_lstm", "lstm"),
    ONNX("onnx_gru", "gru", reset_after=False),
    ONNX("onnx_gru_linear_before_reset", "gru"),
    MinCharRNN("min_char_rnn", "rnn"),
    NotebookRNN("notebook_rnn", "rnn"),
)}
