"""hwprof: why one WebAssembly runtime is faster than another on a given CPU."""

__version__ = "0.1.0"


def load_results(path):
    """Return every record of a results store (or one run file) as a tidy pandas DataFrame."""
    from hwprof.data.store import load_results as _load

    return _load(path)
