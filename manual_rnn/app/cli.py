"""The `manual-rnn` command (also `python -m manual_rnn`): demo, gradcheck, check, train,
gradflow, sample.

Each subcommand is a thin function over the library; `train` lives in `train_command`."""
import argparse
import sys

import numpy as np


def _demo(args):
    from . import demo
    _, ok = demo.run(init=args.init, seed=args.seed, epochs=args.epochs, lr=args.lr)
    return 0 if ok else 1


def _gradcheck(args):
    from .. import checks
    from ..model import dropout_masks
    from ..spec import Spec, init_params
    from ..verify.gradcheck import check_model

    if args.checkpoint is not None:
        return _gradcheck_checkpoint(args)
    T = checks.integer("--seq-len", args.seq_len, 1)
    B = checks.integer("--batch", (1 if args.unbatched else 2) if args.batch is None
                       else args.batch, 1)
    fd_entries = _fd_entries(args)
    every = (None if args.checkpoint_every is None
             else checks.integer("--checkpoint-every", args.checkpoint_every, 1))
    dropout = checks.real("--dropout", args.dropout, "a probability in [0, 1)",
                          lambda v: 0 <= v < 1)
    if args.unbatched and B != 1:
        raise ValueError(f"--unbatched checks one sequence: --batch must be 1, got {B}")
    if args.headless and args.output is not None:
        raise ValueError(f"--headless has no read-out: --output does not apply, got "
                         f"{args.output}")
    if args.no_fd and args.no_jax:
        raise ValueError("--no-fd and --no-jax leave nothing to check against")
    spec = Spec(cell=args.cell, input_size=args.input, hidden_size=args.hidden,
                output_size=None if args.headless else (2 if args.output is None else args.output),
                num_layers=args.layers, bidirectional=args.bidirectional,
                nonlinearity=args.nonlinearity, bias=not args.no_bias,
                batch_first=args.batch_first, proj_size=args.proj_size, dropout=dropout,
                reset_after=not args.reset_before)
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    batch = None if args.unbatched else B

    def sequence(features=None):      # an array in the layout of xs: (T, B, .), (B, T, .), (T, .)
        shape = (T,) if args.unbatched else (B, T) if spec.batch_first else (T, B)
        return shape if features is None else shape + (features,)

    params = init_params(spec, seed=args.seed, dtype=dtype)
    xs = rng.normal(size=sequence(spec.input_size)).astype(dtype)
    h0 = tuple(rng.normal(size=shape).astype(dtype) for shape in spec.state_shapes(batch))
    h0 = h0 if len(h0) > 1 else h0[0]
    lengths = _parse_lengths(args.lengths, T, B, rng)
    if args.loss == "mse":
        targets = rng.normal(size=sequence(spec.output_features))
    else:
        targets = rng.integers(0, spec.output_features, size=sequence())
    masks = dropout_masks(spec, xs, args.seed) if dropout > 0 else None
    loss_mask = _loss_mask(args.loss_mask, sequence(),
                           1 if spec.batch_first and not args.unbatched else 0, lengths, rng)
    print(f"gradcheck: {spec}\n  T={T} B={'unbatched' if args.unbatched else B} "
          f"lengths={None if lengths is None else lengths.tolist()} loss={args.loss} "
          f"dtype={dtype} seed={args.seed}"
          + (f" dropout masks (seed {args.seed}, rate {dropout})" if masks is not None else "")
          + (f" loss_mask={args.loss_mask}" if loss_mask is not None else "")
          + (f" checkpoint_every={every}" if every is not None else "") + "\n")
    table, note = check_model(spec, params, xs, targets, args.loss, h0, lengths,
                              use_twin=not args.no_jax, fd_entries=fd_entries,
                              dropout_masks=masks, loss_mask=loss_mask, checkpoint_every=every,
                              use_fd=not args.no_fd)
    return _verdict(table, note, dtype)


def _fd_entries(args):
    """--fd-entries as check_model takes it: None for all entries (0 or not given)."""
    from .. import checks

    if args.fd_entries is None:
        return None
    return checks.integer("--fd-entries", args.fd_entries, 0) or None


def _loss_mask(text, shape, time_axis, lengths, rng):
    """--loss-mask: None; loss at each sequence's last step only ("last", the last valid step
    with --lengths); or at each step with probability 1/2 ("random")."""
    if text is None:
        return None
    if text == "random":
        return (rng.random(shape) < 0.5).astype(float)
    mask = np.zeros(shape)
    steps = np.moveaxis(mask, time_axis, 0)              # a view, time first
    last = steps.shape[0] - 1 if lengths is None else np.asarray(lengths) - 1
    if steps.ndim == 1:
        steps[last] = 1
    else:
        steps[last, np.arange(steps.shape[1])] = 1
    return mask


def _verdict(table, note, dtype):
    from ..verify.gradcheck import TOLERANCES, describe_tolerances, format_table

    tolerances = TOLERANCES[np.dtype(dtype).name]
    print(format_table(table, tolerances) + "\n")
    if note:
        print(note)
    kinds = [k for k in ("fd", "jax") if table and k in table[0].errors]
    if all(float(e.size.max(initial=0.0)) == 0 for r in table for e in r.errors.values()):
        print("every reference gradient is zero here: this check shows nothing")
    print(describe_tolerances(dtype, kinds))
    failed = [r.name for r in table if not r.ok]
    print(f"\n{len(table) - len(failed)} of {len(table)} gradients agree"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _held_out_batch(path, seq_len, batch_size, seed):
    """A trained model (its TrainState), its task, and a batch of the task's held-out data."""
    from . import checkpoint
    from . import train as training

    state = checkpoint.load(path)
    task = training.build_task(state.config,
                               seq_len=None if state.config.task == "toy" else seq_len)
    if training.fingerprint(task) != state.data_fingerprint:
        raise ValueError(f"the text of {state.config.text!r} is not the one {path!r} was "
                         f"trained on")
    return state, task, task.batch(np.random.default_rng(seed), batch_size, split="eval")


def _gradcheck_checkpoint(args):
    """Check the gradients of a trained model on a short batch of its own task."""
    from .. import checks
    from ..verify.gradcheck import check_model

    seq_len = checks.integer("--seq-len", args.seq_len, 1)
    batch_size = checks.integer("--batch", 2 if args.batch is None else args.batch, 1)
    state, task, batch = _held_out_batch(args.checkpoint, seq_len, batch_size, args.seed)
    T = batch.xs.shape[0]
    print(f"gradcheck of {args.checkpoint!r} (step {state.step}): {state.spec}\n  task "
          f"{task.name} T={T} B={batch_size} loss={task.loss} (at every step) "
          f"dtype={state.config.dtype} seed={args.seed}\n")
    # A trained model has thousands of weights and each costs two forward passes by finite
    # differences, so unless told otherwise sample 50 entries per array (the twin checks all).
    entries = 50 if args.fd_entries is None else _fd_entries(args)
    print(f"finite differences on {entries or 'all'} sampled entries per array\n")
    table, note = check_model(state.spec, state.params, batch.xs, batch.targets, task.loss,
                              use_twin=not args.no_jax, fd_entries=entries,
                              use_fd=not args.no_fd)
    return _verdict(table, note, state.config.dtype)


def _parse_lengths(text, T, B, rng):
    if text is None:
        return None
    if text == "random":
        return rng.integers(1, T + 1, size=B)
    try:
        return np.array([int(part) for part in text.split(",")])
    except ValueError:
        raise ValueError(f"--lengths must be 'random' or B comma-separated integers, got {text!r}")


def _train(args):
    from .train_command import train_command
    return train_command(args)


def _gradflow(args):
    """||dL/dh_t|| of a trained model at every step of a batch of its task's held-out data,
    from the hand-written backward pass (`verify.traces`); a picture of it with --plot."""
    from .. import checks
    from ..verify.traces import gradient_norms, trace

    if args.seq_len is not None:
        checks.integer("--seq-len", args.seq_len, 1)
    batch_size = checks.integer("--batch", args.batch, 1)
    state, task, batch = _held_out_batch(args.checkpoint, args.seq_len, batch_size, args.seed)
    if args.state == "dc" and "c" not in state.spec.state_names:
        raise ValueError(f"--state dc needs an LSTM; {args.checkpoint!r} holds a "
                         f"{state.spec.cell!r} network")
    steps = trace(state.spec, state.params, batch.xs, batch.targets, task.loss,
                  loss_mask=batch.loss_mask)
    norms = gradient_norms(steps, args.state)                   # {"l0": (T, B), ...}
    T = batch.xs.shape[0]
    print(f"||dL/{args.state}_t|| of {args.checkpoint!r} (step {state.step}), "
          f"median over {batch_size} held-out sequences of task {task.name}, T={T}\n")
    shown = sorted(set(np.linspace(0, T - 1, min(T, 20)).round().astype(int)))
    print(f"{'t':>6}" + "".join(f"{name:>14}" for name in norms))
    for t in shown:
        print(f"{t:>6}" + "".join(f"{np.median(n[t]):>14.3e}" for n in norms.values()))
    if args.plot:
        from .plot import plot_gradient_flow
        plot_gradient_flow(norms, args.plot, state=args.state,
                           title=f"{state.spec.cell} on {task.name}, step {state.step}")
        print(f"\nwrote {args.plot}")
    return 0


def _sample(args):
    from . import checkpoint
    from .tasks import CharText, sample_text

    state = checkpoint.load(args.checkpoint)
    if state.vocab is None:
        raise ValueError(f"{args.checkpoint!r} holds a model of task {state.config.task!r}; "
                         f"sampling needs a character model (train --task char)")
    task = CharText.from_vocab(state.vocab)
    text = sample_text(state.spec, state.params, task, length=args.length,
                       temperature=args.temperature, prime=args.prime, seed=args.seed)
    sys.stdout.write(args.prime + text + "\n")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="manual-rnn", description="Recurrent networks with hand-written BPTT in NumPy.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train the notebook's toy problem, check gradients")
    demo.add_argument("--init", choices=["random", "notebook"], default="random",
                      help="start from a seeded PyTorch-style init or the notebook's weights")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--epochs", type=int, default=2000)
    demo.add_argument("--lr", type=float, default=0.01)
    demo.set_defaults(run=_demo)

    check = commands.add_parser(
        "gradcheck", help="check every gradient of a network against finite differences and the "
                          "JAX twin; exit 1 if any disagrees")
    from ..activations import ACTIVATIONS
    from ..cells import CELLS
    from ..losses import LOSSES
    check.add_argument("--cell", choices=list(CELLS), default="lstm")
    check.add_argument("--layers", type=int, default=1)
    check.add_argument("--bidirectional", action="store_true")
    check.add_argument("--input", type=int, default=3)
    check.add_argument("--hidden", type=int, default=4)
    check.add_argument("--output", type=int, default=None,
                       help="features of the read-out (default 2)")
    check.add_argument("--headless", action="store_true",
                       help="no read-out (output_size=None): the outputs are the top layer's "
                            "hidden states")
    check.add_argument("--nonlinearity", choices=list(ACTIVATIONS), default="tanh")
    check.add_argument("--proj-size", type=int, default=0)
    check.add_argument("--no-bias", action="store_true")
    check.add_argument("--reset-before", action="store_true",
                       help="GRU only: the reset gate before the recurrent matmul "
                            "(reset_after=False, the textbook GRU)")
    check.add_argument("--dropout", type=float, default=0.0, metavar="P",
                       help="dropout between layers at rate P, with masks drawn by "
                            "dropout_masks(spec, xs, --seed)")
    check.add_argument("--batch-first", action="store_true",
                       help="xs, targets and outputs laid out (B, T, .)")
    check.add_argument("--unbatched", action="store_true",
                       help="one sequence without a batch axis, xs (T, input)")
    check.add_argument("--seq-len", type=int, default=5)
    check.add_argument("--batch", type=int, default=None,
                       help="sequences in the batch (default 2, or 1 with --unbatched)")
    check.add_argument("--lengths", default=None, help="'random' or B comma-separated lengths")
    check.add_argument("--loss", choices=list(LOSSES), default="mse")
    check.add_argument("--loss-mask", choices=["last", "random"], default=None,
                       help="only some steps carry loss: the last one, or each with "
                            "probability 1/2")
    check.add_argument("--checkpoint-every", type=int, default=None, metavar="K",
                       help="checkpointed BPTT: keep every K-th state, recompute the rest")
    check.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    check.add_argument("--seed", type=int, default=0,
                       help="draws the weights, data, initial state and dropout masks")
    check.add_argument("--no-jax", action="store_true", help="finite differences only")
    check.add_argument("--no-fd", action="store_true", help="the JAX twin only")
    check.add_argument("--fd-entries", type=int, default=None, metavar="N",
                       help="finite differences on N sampled entries per array (0: all; "
                            "default: all, or 50 with --checkpoint)")
    check.add_argument("--checkpoint", metavar="RUN.npz", default=None,
                       help="check a trained model (its spec and parameters) on --batch "
                            "sequences of --seq-len steps of its own task; the network options "
                            "above are then ignored. Finite differences take two passes per "
                            "parameter: a model of 40k parameters takes minutes")
    check.set_defaults(run=_gradcheck)

    from .train_command import add_train_arguments
    train = commands.add_parser(
        "train", help="train a network on a task, with checkpoints, resume and a loss plot",
        description="Train a network on a task. Options left out take their defaults, or, "
                    "with --resume, the saved run's values (a resumed run may change only "
                    "--steps and --eval-every).")
    add_train_arguments(train)
    train.set_defaults(run=_train)

    from ..verify import harness
    check = commands.add_parser(
        "check", help="check a hand-written forward and backward pass (yours, in a module) "
                      "against manual_rnn on random networks; exit 1 at the first wrong gradient")
    harness.add_arguments(check)
    check.set_defaults(run=harness.run)

    flow = commands.add_parser(
        "gradflow", help="||dL/dh_t|| of a trained model at every step of held-out data: how "
                         "far back in time its loss reaches")
    flow.add_argument("--checkpoint", metavar="RUN.npz", required=True,
                      help="a checkpoint of `train`")
    flow.add_argument("--batch", type=int, default=16, help="held-out sequences (default 16)")
    flow.add_argument("--seq-len", type=int, default=None,
                      help="their length (default: the task's, as trained)")
    flow.add_argument("--state", choices=["dh", "dc"], default="dh",
                      help="the gradient in h_t, or in the LSTM's c_t")
    flow.add_argument("--seed", type=int, default=0)
    flow.add_argument("--plot", metavar="FLOW.png", default=None,
                      help="draw the norms against t on a log scale (needs matplotlib)")
    flow.set_defaults(run=_gradflow)

    sample = commands.add_parser("sample", help="generate text from a trained character model")
    sample.add_argument("--checkpoint", metavar="RUN.npz", required=True,
                        help="a checkpoint of `train --task char`")
    sample.add_argument("--length", type=int, default=300,
                        help="characters to generate after the prime (default 300)")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="< 1 sharpens the distribution, > 1 flattens it (default 1.0)")
    sample.add_argument("--prime", default="", help="text to start from (printed first)")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(run=_sample)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"manual-rnn {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
