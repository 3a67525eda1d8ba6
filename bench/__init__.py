"""Benchmarks: each `bench_*.py` module exposes `main()`; `python -m bench` runs them all."""
