"""The `manual-rnn` command (also `python -m manual_rnn`)."""
import argparse
import sys


def _demo(args):
    from . import demo
    _, ok = demo.run(init=args.init, seed=args.seed, epochs=args.epochs, lr=args.lr)
    return 0 if ok else 1


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
