"""What is built on the verified core: tasks, optimisers, training with checkpoints, progress,
plots, the notebook's demo and the `manual-rnn` command."""
