"""One exception type for every input the user got wrong.

The CLI turns a :class:`GenzooError` into a one-line message and exit code 2; library callers
get an ordinary ``ValueError`` subclass they can catch.
"""


class GenzooError(ValueError):
    """Bad input: unknown name, bad value, missing file, wrong shape, non-finite data."""


class DivergenceError(RuntimeError):
    """Training produced NaN/Inf; the last good checkpoint is kept."""
