"""Benchmarks of forecaster on its bundled data; each script is a thin adapter over the library."""
