"""Benchmarks: each prints figures and asserts nothing. Run as modules from the repository root,
e.g. `venv/bin/python -m bench.run_all --quick` (docs/benchmarks.md)."""
