"""The data layer: the record schema, the results store and provenance. Imports nothing else from hwprof."""

# hwprof's version lives here, at the bottom of the layers, so that provenance can stamp it without importing
# upwards; hwprof/__init__.py re-exports it.
__version__ = "0.1.0"
