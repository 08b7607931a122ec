"""Training tasks: small deterministic data generators for the networks in `manual_rnn`.

Every task has the same face:

    task.name, task.input_size, task.output_size, task.loss    # loss: "mse" or "cross_entropy"
    batch = task.batch(rng, batch_size, split="train")         # a `Batch`, time-major
    score = task.metric(ys, batch)                             # ys: model outputs (T, B, O)
    task.describe()                                            # one line, with a trivial baseline

A batch depends only on the state of the `np.random.Generator` it is given, so the same seed gives
the same batch. Generated tasks draw eval data exactly like training data: pass a separately
seeded generator for "eval" (e.g. default_rng(0) to train, default_rng(1) to evaluate). Only
`CharText` has truly held-out eval data: the last 10% of its text.

`Batch.loss_mask` marks the steps that carry a loss, so a step of training is

    loss, grads = mr.loss_and_grad(spec, params, batch.xs, batch.targets, task.loss,
                                   loss_mask=batch.loss_mask)
"""

import math
import os
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Optional

import numpy as np

from .. import checks
from ..losses import log_softmax
from ..model import forward

SPLITS = ("train", "eval")


class Batch(NamedTuple):
    """xs (T, B, input_size) float64; targets (T, B, output_size) float64 for "mse" or (T, B)
    int64 class indices for "cross_entropy"; loss_mask (T, B) float64 0/1, or None: every step."""
    xs: np.ndarray
    targets: np.ndarray
    loss_mask: Optional[np.ndarray] = None


# ---- argument checks: every error names the argument, what was expected and what came -------

def _check_batch_args(rng, batch_size, split):
    # A Generator only: a seed here would make it too easy to reuse one seed for train and eval.
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    checks.integer("batch_size", batch_size, 1)
    checks.choice("split", split, SPLITS)


def _check_outputs(task, ys, batch):
    ys = np.asarray(ys, dtype=np.float64)
    expected = batch.xs.shape[:2] + (task.output_size,)
    if ys.shape != expected:
        raise ValueError(f"ys must have shape {expected} (T, B, output_size) for this batch, "
                         f"got {ys.shape}")
    return ys


def _one_hot(indices, size):
    return np.eye(size)[indices]


# ---- the tasks ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Toy:
    """The notebook's toy problem: inputs 1, 2 (T=2, one feature), targets 0.5, 0.8, MSE.

    Every batch element is that same sequence, in both splits. The metric is the notebook's loss
    sum_t 0.5 (y_t - target_t)^2 averaged over the batch, i.e. `manual_rnn.losses.mse`.
    """
    name: ClassVar[str] = "toy"
    loss: ClassVar[str] = "mse"
    input_size: ClassVar[int] = 1
    output_size: ClassVar[int] = 1

    def batch(self, rng, batch_size, split="train"):
        _check_batch_args(rng, batch_size, split)
        xs = np.broadcast_to(np.array([1.0, 2.0])[:, None, None], (2, batch_size, 1)).copy()
        targets = np.broadcast_to(np.array([0.5, 0.8])[:, None, None], (2, batch_size, 1)).copy()
        return Batch(xs, targets)

    def metric(self, ys, batch):
        ys = _check_outputs(self, ys, batch)
        return float(0.5 * np.sum((ys - batch.targets) ** 2) / ys.shape[1])

    def describe(self):
        return ("toy: the notebook's sequence 1, 2 -> 0.5, 0.8 (T=2), loss sum_t 0.5 (y_t - "
                "target_t)^2; always answering 0 scores 0.445")


@dataclass(frozen=True)
class Sine:
    """Next-value prediction on noisy sine waves.

    Each sequence is s_t = A sin(w t + phi) with A ~ U(0.5, 1.5), w ~ U(0.1, 0.5) rad/step (a
    period of 13 to 63 steps) and phi ~ U(0, 2 pi). The input is the noisy
    x_t = s_t + noise * N(0, 1), the target the *clean* next value s_{t+1}: the network has to
    denoise as well as extrapolate, and a perfect predictor scores 0 rather than noise^2.
    Metric: MSE, the mean of (y - target)^2 over steps and sequences.
    """
    seq_len: int = 50
    noise: float = 0.05
    name: ClassVar[str] = "sine"
    loss: ClassVar[str] = "mse"
    input_size: ClassVar[int] = 1
    output_size: ClassVar[int] = 1
    AMPLITUDE: ClassVar[tuple] = (0.5, 1.5)
    OMEGA: ClassVar[tuple] = (0.1, 0.5)

    def __post_init__(self):
        checks.integer("seq_len", self.seq_len, 1)
        checks.real("noise", self.noise, "a finite number >= 0", lambda v: 0 <= v < math.inf)

    def batch(self, rng, batch_size, split="train"):
        _check_batch_args(rng, batch_size, split)
        amplitude = rng.uniform(*self.AMPLITUDE, size=batch_size)
        omega = rng.uniform(*self.OMEGA, size=batch_size)
        phase = rng.uniform(0.0, 2 * np.pi, size=batch_size)
        t = np.arange(self.seq_len + 1)[:, None]
        clean = amplitude * np.sin(omega * t + phase)
        noisy = clean + self.noise * rng.standard_normal(clean.shape)
        return Batch(noisy[:-1, :, None], clean[1:, :, None])

    def metric(self, ys, batch):
        ys = _check_outputs(self, ys, batch)
        return float(np.mean((ys - batch.targets) ** 2))

    def baselines(self):
        """Expected MSE of answering 0, and of repeating the (noisy) input x_t."""
        lo, hi = self.AMPLITUDE
        mean_a2 = (lo * lo + lo * hi + hi * hi) / 3  # E[A^2] for A ~ U(lo, hi)
        lo, hi = self.OMEGA
        mean_cos = (math.sin(hi) - math.sin(lo)) / (hi - lo)  # E[cos w]
        # E[(s_{t+1} - s_t)^2] = A^2 (1 - cos w) over a uniform phase; the input noise adds noise^2
        return mean_a2 / 2, mean_a2 * (1 - mean_cos) + self.noise ** 2

    def describe(self):
        zero, repeat = self.baselines()
        return (f"sine: predict the clean next value of a noisy sine wave (T={self.seq_len}, "
                f"noise={self.noise}); MSE of answering 0 is {zero:.3f}, of repeating the input "
                f"{repeat:.4f}")


@dataclass(frozen=True)
class Adding:
    """The adding problem (Hochreiter & Schmidhuber 1997), in the common modern formulation
    (Le et al. 2015; Arjovsky et al. 2016).

    Input features per step: a value in U(0, 1) and a marker that is 1 at exactly two steps, one
    in the first half (t < T // 2) and one in the second (t >= T // 2). The target, the sum of the
    two marked values, is due only at the last step: loss_mask marks t = T - 1 alone (targets are
    0 elsewhere). Metric: mean over sequences of (y_{T-1} - target)^2. The sum of two U(0, 1) has
    mean 1 and variance 1/6, so always answering 1.0 scores 1/6 = 0.167: a model has learnt
    something only well below that.
    """
    seq_len: int = 50
    name: ClassVar[str] = "adding"
    loss: ClassVar[str] = "mse"
    input_size: ClassVar[int] = 2
    output_size: ClassVar[int] = 1

    def __post_init__(self):
        checks.integer("seq_len", self.seq_len, 2)  # both halves need a step for their marker

    def batch(self, rng, batch_size, split="train"):
        _check_batch_args(rng, batch_size, split)
        T, half = self.seq_len, self.seq_len // 2
        values = rng.uniform(0.0, 1.0, size=(T, batch_size))
        first = rng.integers(0, half, size=batch_size)
        second = rng.integers(half, T, size=batch_size)
        columns = np.arange(batch_size)
        markers = np.zeros((T, batch_size))
        markers[first, columns] = 1.0
        markers[second, columns] = 1.0
        targets = np.zeros((T, batch_size, 1))
        targets[-1, :, 0] = values[first, columns] + values[second, columns]
        loss_mask = np.zeros((T, batch_size))
        loss_mask[-1] = 1.0
        return Batch(np.stack([values, markers], axis=-1), targets, loss_mask)

    def metric(self, ys, batch):
        ys = _check_outputs(self, ys, batch)
        return float(np.mean((ys[-1, :, 0] - batch.targets[-1, :, 0]) ** 2))

    def describe(self):
        return (f"adding: output the sum of the two marked values of {self.seq_len} U(0,1) "
                f"values at the last step (Hochreiter & Schmidhuber 1997); always answering 1.0 "
                f"scores MSE 1/6 = 0.167")


@dataclass(frozen=True)
class CopyMemory:
    """The copy-memory task as formulated by Arjovsky, Shah & Bengio (2016), "Unitary evolution
    recurrent neural networks", with their T = seq_len.

    Classes: symbols 0 .. n_symbols-1, then blank = n_symbols, then (inputs only) the delimiter =
    n_symbols + 1. A sequence has seq_len + 2 * copy_len steps: copy_len random symbols, seq_len - 1
    blanks, the delimiter, copy_len blanks. The target is blank for the first seq_len + copy_len
    steps, then the copy_len symbols. Inputs are one-hot (n_symbols + 2 features); outputs are
    logits over n_symbols + 1 classes (symbols and blank).

    As in the paper the loss covers every step (loss_mask None), blanks included; the paper
    reports it as the mean cross-entropy per step, i.e. `losses.cross_entropy` / total steps.
    Metric: accuracy on the copy_len recall steps. The memoryless baseline (blank, then a uniform
    guess over the symbols) scores cross-entropy copy_len * log(n_symbols) / (seq_len +
    2 * copy_len) nats per step and accuracy 1 / n_symbols.
    """
    seq_len: int = 100
    n_symbols: int = 8
    copy_len: int = 10
    name: ClassVar[str] = "copy"
    loss: ClassVar[str] = "cross_entropy"

    def __post_init__(self):
        checks.integer("seq_len", self.seq_len, 1)
        checks.integer("n_symbols", self.n_symbols, 1)
        checks.integer("copy_len", self.copy_len, 1)

    @property
    def blank(self):
        return self.n_symbols

    @property
    def delimiter(self):
        return self.n_symbols + 1

    @property
    def input_size(self):
        return self.n_symbols + 2

    @property
    def output_size(self):
        return self.n_symbols + 1

    @property
    def total_len(self):
        return self.seq_len + 2 * self.copy_len

    def batch(self, rng, batch_size, split="train"):
        _check_batch_args(rng, batch_size, split)
        K = self.copy_len
        symbols = rng.integers(0, self.n_symbols, size=(K, batch_size))
        inputs = np.full((self.total_len, batch_size), self.blank, dtype=np.int64)
        inputs[:K] = symbols
        inputs[K + self.seq_len - 1] = self.delimiter
        targets = np.full((self.total_len, batch_size), self.blank, dtype=np.int64)
        targets[-K:] = symbols
        return Batch(_one_hot(inputs, self.input_size), targets)

    def metric(self, ys, batch):
        ys = _check_outputs(self, ys, batch)
        K = self.copy_len
        return float(np.mean(ys[-K:].argmax(axis=-1) == batch.targets[-K:]))

    def baseline_cross_entropy(self):
        """The memoryless baseline's mean cross-entropy per step, in nats (Arjovsky et al.)."""
        return self.copy_len * math.log(self.n_symbols) / self.total_len

    def describe(self):
        return (f"copy: recall {self.copy_len} of {self.n_symbols} symbols after {self.seq_len} "
                f"steps (Arjovsky et al. 2016); the memoryless baseline scores cross-entropy "
                f"{self.baseline_cross_entropy():.4f} nats/step and copy accuracy "
                f"{1 / self.n_symbols:.3f}")


class CharText:
    """Character-level language model over a text (Karpathy's char-rnn setting).

    path_or_text: an os.PathLike is always a UTF-8 file. A str is a file when a file of that name
    exists; otherwise it is the text itself if it has a newline or is long enough to split (see
    below); any other str is taken for a missing file name (FileNotFoundError).

    The vocabulary is the sorted set of characters of the whole text. Step t's input is the
    one-hot of character t, its target the index of character t + 1. Train windows come from the
    first 90% of the text, eval windows from the last 10%; both parts must hold seq_len + 1
    characters, so the text needs at least 10 * (seq_len + 1) - 9. Windows start at uniformly
    random positions. Metric: mean cross-entropy in bits per character.
    """
    name = "char"
    loss = "cross_entropy"

    def __init__(self, path_or_text, seq_len=64):
        self.seq_len = checks.integer("seq_len", seq_len, 1)
        needed = self.min_chars(self.seq_len)
        self.source, text = _read_text(path_or_text, needed)
        if not text:
            raise ValueError(f"{self.source} is empty: a character model needs at least "
                             f"{needed} characters for seq_len={self.seq_len}")
        if len(text) < needed:
            raise ValueError(f"{self.source} has {len(text)} characters; seq_len={self.seq_len} "
                             f"needs at least {needed} (seq_len + 1 in each of the 90% train and "
                             f"10% eval parts)")
        self.vocab = "".join(sorted(set(text)))
        self._codes = np.array([ord(c) for c in self.vocab], dtype=np.uint32)  # sorted
        ids = self.encode(text)
        cut = 9 * len(ids) // 10
        self.train_ids, self.eval_ids = ids[:cut], ids[cut:]
        for part in (self.train_ids, self.eval_ids):
            part.setflags(write=False)

    @classmethod
    def from_vocab(cls, vocab, seq_len=64):
        """A task that knows only its vocabulary, e.g. the one stored with a trained model: it
        encodes, decodes and drives `sample_text`, but has no text to draw batches from."""
        if not isinstance(vocab, str) or not vocab or len(set(vocab)) != len(vocab):
            raise ValueError(f"vocab must be a non-empty str of distinct characters, got "
                             f"{vocab!r:.80}")
        task = cls.__new__(cls)
        task.seq_len = checks.integer("seq_len", seq_len, 1)
        task.source = "a stored vocabulary"
        task.vocab = "".join(sorted(vocab))
        task._codes = np.array([ord(c) for c in task.vocab], dtype=np.uint32)
        task.train_ids = task.eval_ids = np.zeros(0, dtype=np.int64)
        return task

    @staticmethod
    def min_chars(seq_len):
        """The shortest text whose 90% / 10% parts both hold seq_len + 1 characters."""
        return 10 * (seq_len + 1) - 9

    @property
    def input_size(self):
        return len(self.vocab)

    @property
    def output_size(self):
        return len(self.vocab)

    def encode(self, text):
        """The vocabulary index of each character of `text`, as an int64 array."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        # UTF-32 gives each character's code point at once, and the vocabulary is sorted by code
        # point, so searchsorted maps a whole corpus without a Python loop.
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        ids = np.searchsorted(self._codes, codes)
        known = (ids < len(self._codes)) & (self._codes[np.minimum(ids, len(self._codes) - 1)]
                                             == codes)
        if not known.all():
            bad = text[int(np.argmin(known))]
            raise ValueError(f"text holds {bad!r}, which is not in the vocabulary {self.vocab!r}")
        return ids.astype(np.int64)

    def decode(self, ids):
        """The characters with vocabulary indices `ids` (a 1-D array of ints), as a str."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"ids must be a 1-D array of ints, got shape {ids.shape} dtype "
                             f"{ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.vocab)):
            raise ValueError(f"ids must lie in [0, {len(self.vocab)}), got values from "
                             f"{ids.min()} to {ids.max()}")
        return "".join(self.vocab[i] for i in ids.tolist())

    def batch(self, rng, batch_size, split="train"):
        _check_batch_args(rng, batch_size, split)
        ids = self.train_ids if split == "train" else self.eval_ids
        if len(ids) <= self.seq_len:
            raise ValueError(f"{self.source} holds no text to draw {split} batches from")
        starts = rng.integers(0, len(ids) - self.seq_len, size=batch_size)
        windows = ids[starts[None, :] + np.arange(self.seq_len + 1)[:, None]]  # (T + 1, B)
        return Batch(_one_hot(windows[:-1], len(self.vocab)), windows[1:].copy())

    def metric(self, ys, batch):
        ys = _check_outputs(self, ys, batch)
        picked = np.take_along_axis(log_softmax(ys), batch.targets[..., None], axis=-1)[..., 0]
        mask = np.ones(picked.shape) if batch.loss_mask is None else batch.loss_mask
        return float(-np.sum(picked * mask) / np.sum(mask) / math.log(2))

    def unigram_bits(self):
        """Bits per character of predicting the train text's character frequencies every step."""
        counts = np.bincount(self.train_ids, minlength=len(self.vocab))
        p = counts[counts > 0] / counts.sum()
        return float(-np.sum(p * np.log2(p)))

    def describe(self):
        return (f"char: next-character model of {self.source} ({len(self.vocab)} characters, "
                f"{len(self.train_ids)} train / {len(self.eval_ids)} eval, T={self.seq_len}); "
                f"uniform guessing scores {math.log2(len(self.vocab)):.3f} bits/char, "
                f"train-text character frequencies {self.unigram_bits():.3f}")


def _read_text(path_or_text, needed):
    """(a name for error messages, the text) from a path or from the text itself."""
    if isinstance(path_or_text, str):
        is_file = "\n" not in path_or_text and os.path.isfile(path_or_text)
        if not is_file and ("\n" in path_or_text or len(path_or_text) >= needed):
            return "the text given", path_or_text
        # A short one-line str cannot be a usable text, so it is most likely a mistyped path.
        if not is_file:
            raise FileNotFoundError(f"no such text file: {path_or_text!r} (a one-line str is read "
                                    f"as text only from {needed} characters on)")
    elif not isinstance(path_or_text, os.PathLike):
        raise TypeError(f"path_or_text must be a str or os.PathLike, got "
                        f"{type(path_or_text).__name__}")
    path = os.fspath(path_or_text)
    try:
        with open(path, encoding="utf-8") as file:
            return f"file {path!r}", file.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such text file: {path!r}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"file {path!r} is not UTF-8 text: {error.reason} at byte "
                         f"{error.start}") from None


def sample_text(spec, params, task, length=200, temperature=1.0, prime="", seed=0):
    """`length` characters generated by the model one step at a time (the prime not included).

    The prime's characters are fed first; an empty prime starts from an all-zero input (no
    character yet). Each step's read-out is taken as logits and the next character is drawn from
    softmax(logits / temperature) with np.random.default_rng(seed): temperature < 1 sharpens the
    distribution, > 1 flattens it. The state is carried between single-step calls via h0.
    """
    if not isinstance(task, CharText):
        raise TypeError(f"task must be a CharText, got {type(task).__name__}")
    length = checks.integer("length", length, 0)
    temperature = checks.real("temperature", temperature, "a finite number > 0",
                              lambda v: 0 < v < math.inf)
    V = len(task.vocab)
    if spec.input_size != V or spec.output_size != V:
        raise ValueError(f"spec must have input_size = output_size = {V} (the task's vocabulary), "
                         f"got input_size={spec.input_size}, output_size={spec.output_size}")
    if spec.bidirectional:
        raise ValueError("a bidirectional network cannot generate: its outputs depend on the "
                         "future")
    rng = np.random.default_rng(seed)
    inputs = [_one_hot(np.array([[i]]), V) for i in task.encode(prime)] or [np.zeros((1, 1, V))]
    state = None
    for x in inputs[:-1]:
        _, state, _ = forward(spec, params, x, h0=state)
    x = inputs[-1]
    out = np.empty(length, dtype=np.int64)
    for k in range(length):
        ys, state, _ = forward(spec, params, x, h0=state)
        z = ys.reshape(V).astype(np.float64) / temperature
        p = np.exp(z - z.max())  # shifted so that exp never overflows
        out[k] = rng.choice(V, p=p / p.sum())
        x = _one_hot(out[k:k + 1, None], V)
    return task.decode(out)


TASKS = {"toy": Toy, "sine": Sine, "adding": Adding, "copy": CopyMemory, "char": CharText}


def make(name, **kwargs):
    """The task registered as `name` in TASKS, built with `kwargs`."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    return TASKS[name](**kwargs)
