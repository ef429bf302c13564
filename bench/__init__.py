"""Benchmarks: the list upload end to end against a floor with no framework (see README)."""
