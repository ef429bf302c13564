"""Conformance suites: one set of tests every implementation of a protocol must pass."""
