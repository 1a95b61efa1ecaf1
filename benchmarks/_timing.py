"""Timing shared by the benchmark scripts (each runs as `python benchmarks/bench_x.py`)."""

import time


def best_of(fn, repeats=3):
    """The fastest of ``repeats`` calls of ``fn``, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
