"""The coverage table printed at the end of a run: how many cases of each combination were
compared with the JAX twin (see grid.py for what is required)."""
from collections import Counter

import grid

OPTIONS = [("layout", ("time_major", "batch_first", "unbatched")), ("h0", (False, True)),
           ("head", (True, False)), ("dtype", ("float64", "float32")),
           ("dropout", (0.0,) + grid.DROPOUT_RATES), ("loss_mask", (False, True)),
           ("checkpoint_every", (False, True)), ("gain", tuple(grid.GAINS)),
           ("projection", (False, True)), ("nonlinearity", ("tanh", "relu", "sigmoid")),
           ("reset_after", (True, False)), ("T>=2", (True, False))]


def lines(records, complete):
    f64 = [r for r in records if r["dtype"] == "float64"]
    by_source = Counter(r["source"] for r in records)
    out = [f"{len(records)} cases compared ({', '.join(f'{n} {s}' for s, n in sorted(by_source.items()))}), "
           f"{len(f64)} in float64 over {len({r['spec'] for r in f64})} distinct networks; "
           f"{len({r['spec'] for r in records})} networks in all; "
           f"T >= 2 in {sum(r['T>=2'] for r in records) / len(records):.0%} of cases"
           + ("" if complete else " (part of the plan was not run: coverage not enforced)")]
    # The core product: one row per cell, layers and directions; one column per lengths,
    # bias and loss.
    core = Counter(grid.core_of(r) for r in records)
    columns = [(lengths, bias, loss) for lengths in (False, True) for bias in (True, False)
               for loss in ("mse", "cross_entropy")]
    head = f"{'cell layers dirs':<18}" + "".join(
        f"{('len' if l else 'full') + ('+b' if b else '-b') + (' ce' if s != 'mse' else ' mse'):>11}"
        for l, b, s in columns)
    out += ["", "cases per core combination (len: lengths given; +b/-b: bias or not)", head]
    for cell in grid.CELLS:
        for layers in ("1", "2+"):
            for directions in (1, 2):
                row = f"{cell:<5} {layers:<6} {directions:<5}"
                row += "".join(f"{core[(cell, layers, directions) + c]:>11}" for c in columns)
                out.append(row)
    out += ["", "cases per option and cell", f"{'option':<28}{'rnn':>8}{'lstm':>8}{'gru':>8}"]
    for key, values in OPTIONS:
        counts = Counter((r[key], r["cell"]) for r in records)
        for value in values:
            out.append(f"{key + ' = ' + str(value):<28}"
                       + "".join(f"{counts[(value, cell)]:>8}" for cell in grid.CELLS))
    return out
