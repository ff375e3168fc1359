"""The data layer: the record schema, the results store and provenance. Imports nothing else from hwprof."""
