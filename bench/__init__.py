"""Benchmarks: separate commands, never part of the test suite (see README)."""
