"""Summaries of samples: percentiles of one run, median and spread over repeats."""

import statistics


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values_ms: list[float]) -> dict:
    """p50/p95/p99/max and count of one run's latencies (milliseconds)."""
    return {
        "n": len(values_ms),
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "p99": percentile(values_ms, 99),
        "max": max(values_ms) if values_ms else None,
    }


def over_repeats(values: list[float | None]) -> dict:
    """Median and spread (min, max, and the interquartile range) over repeats."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "iqr": None, "runs": []}
    return {
        "median": statistics.median(present),
        "min": min(present),
        "max": max(present),
        "iqr": (percentile(present, 75) or 0) - (percentile(present, 25) or 0),
        "runs": values,
    }


def merge_runs(runs: list[dict]) -> dict:
    """Turn a list of same-shaped dicts of numbers into one dict of over_repeats."""
    keys = []
    for run in runs:
        keys.extend(k for k in run if k not in keys)
    merged = {}
    for key in keys:
        values = [run.get(key) for run in runs]
        if all(isinstance(v, dict) or v is None for v in values) and any(
            isinstance(v, dict) for v in values
        ):
            merged[key] = merge_runs([v or {} for v in values])
        else:
            merged[key] = over_repeats(values)
    return merged
