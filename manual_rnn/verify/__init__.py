"""The tools that verify gradients: finite differences and their comparison (`gradcheck`), and
real-time recurrent learning (`rtrl`), which computes the same gradients forward in time."""
