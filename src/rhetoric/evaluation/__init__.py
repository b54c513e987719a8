"""The evaluate stage: metrics, results, plots."""
