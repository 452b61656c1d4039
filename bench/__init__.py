"""Benchmarks: `python -m bench [--quick]` prints one JSON line per figure."""
