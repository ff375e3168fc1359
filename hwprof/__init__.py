"""hwprof: why one WebAssembly runtime is faster than another on a given CPU."""

from hwprof.data import __version__  # noqa: F401  (the version, owned by the data layer)


def load_results(path, strict: bool = False):
    """Return every record of a results store (or one run file) as a tidy pandas DataFrame.

    A run file that cannot be read is skipped with a warning naming it; strict=True refuses the store instead.
    """
    from hwprof.data.store import load_results as _load

    return _load(path, strict)
