"""Benchmarks: timings printed as ratios against baselines from the same run, never asserted."""
