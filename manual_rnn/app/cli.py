"""The `manual-rnn` command (also `python -m manual_rnn`): demo, gradcheck, train, sample.

Each subcommand is a thin function over the library; `train` lives in `train_command`."""
import argparse
import sys

import numpy as np


def _demo(args):
    from . import demo
    _, ok = demo.run(init=args.init, seed=args.seed, epochs=args.epochs, lr=args.lr)
    return 0 if ok else 1


def _gradcheck(args):
    import numpy as np

    from ..verify.gradcheck import check_model
    from ..spec import Spec, init_params

    if args.checkpoint is not None:
        return _gradcheck_checkpoint(args)
    spec = Spec(cell=args.cell, input_size=args.input, hidden_size=args.hidden,
                output_size=args.output, num_layers=args.layers,
                bidirectional=args.bidirectional, nonlinearity=args.nonlinearity,
                bias=not args.no_bias, proj_size=args.proj_size)
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    T, B = args.seq_len, args.batch
    if T < 1 or B < 1:
        raise ValueError(f"--seq-len and --batch must be >= 1, got {T} and {B}")
    params = init_params(spec, seed=args.seed, dtype=dtype)
    xs = rng.normal(size=(T, B, spec.input_size)).astype(dtype)
    rows = spec.num_layers * spec.num_directions
    h0 = [rng.normal(size=(rows, B, spec.state_size)).astype(dtype)]
    if spec.cell == "lstm":
        h0.append(rng.normal(size=(rows, B, spec.hidden_size)).astype(dtype))
    h0 = tuple(h0) if spec.cell == "lstm" else h0[0]
    lengths = _parse_lengths(args.lengths, T, B, rng)
    if args.loss == "mse":
        targets = rng.normal(size=(T, B, spec.output_size))
    else:
        targets = rng.integers(0, spec.output_size, size=(T, B))
    print(f"gradcheck: {spec}\n  T={T} B={B} lengths={None if lengths is None else lengths.tolist()}"
          f" loss={args.loss} dtype={dtype} seed={args.seed}\n")
    table, note = check_model(spec, params, xs, targets, args.loss, h0, lengths,
                              use_twin=not args.no_jax, fd_entries=args.fd_entries)
    return _verdict(table, note)


def _verdict(table, note):
    from ..verify.gradcheck import format_table

    print(format_table(table))
    if note:
        print(note)
    failed = [r.name for r in table if not r.ok]
    print(f"\n{len(table) - len(failed)} of {len(table)} gradients agree"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _gradcheck_checkpoint(args):
    """Check the gradients of a trained model on a short batch of its own task."""
    from . import checkpoint
    from . import train as training
    from ..verify.gradcheck import check_model

    state = checkpoint.load(args.checkpoint)
    if args.seq_len < 1 or args.batch < 1:
        raise ValueError(f"--seq-len and --batch must be >= 1, got {args.seq_len} and "
                         f"{args.batch}")
    seq_len = None if state.config.task == "toy" else args.seq_len
    task = training.build_task(state.config, seq_len=seq_len)
    if training.fingerprint(task) != state.data_fingerprint:
        raise ValueError(f"the text of {state.config.text!r} is not the one {args.checkpoint!r} "
                         f"was trained on")
    batch = task.batch(np.random.default_rng(args.seed), args.batch, split="eval")
    T = batch.xs.shape[0]
    print(f"gradcheck of {args.checkpoint!r} (step {state.step}): {state.spec}\n  task "
          f"{task.name} T={T} B={args.batch} loss={task.loss} (at every step) "
          f"dtype={state.config.dtype} seed={args.seed}\n")
    # A trained model has thousands of weights and each costs two forward passes by finite
    # differences, so unless told otherwise sample 50 entries per array (the twin checks all).
    entries = 50 if args.fd_entries is None else args.fd_entries
    print(f"finite differences on {entries or 'all'} sampled entries per array\n")
    table, note = check_model(state.spec, state.params, batch.xs, batch.targets, task.loss,
                              use_twin=not args.no_jax, fd_entries=entries or None)
    return _verdict(table, note)


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
    check.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    check.add_argument("--layers", type=int, default=1)
    check.add_argument("--bidirectional", action="store_true")
    check.add_argument("--input", type=int, default=3)
    check.add_argument("--hidden", type=int, default=4)
    check.add_argument("--output", type=int, default=2)
    check.add_argument("--nonlinearity", choices=["tanh", "relu", "sigmoid"], default="tanh")
    check.add_argument("--proj-size", type=int, default=0)
    check.add_argument("--no-bias", action="store_true")
    check.add_argument("--seq-len", type=int, default=5)
    check.add_argument("--batch", type=int, default=2)
    check.add_argument("--lengths", default=None, help="'random' or B comma-separated lengths")
    check.add_argument("--loss", choices=["mse", "cross_entropy"], default="mse")
    check.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--no-jax", action="store_true", help="finite differences only")
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
