"""Benchmark scripts, each run as `python benchmarks/NAME.py`; a package only so that mypy checks them."""
