"""Seeded multi-country claim histories for demos, backtests and benchmarks."""
