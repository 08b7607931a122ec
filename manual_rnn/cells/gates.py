"""Stacked gates: PyTorch stores a cell's gates as row blocks of one (G*H, .) weight."""


def split(a, n):
    """The n gate blocks along the last axis of a, as views.

    np.split does the same with more work per call, and this runs at every time step."""
    H = a.shape[-1] // n
    return [a[..., k * H:(k + 1) * H] for k in range(n)]
