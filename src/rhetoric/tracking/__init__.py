"""MLflow: store, runs, registry, and the pyfunc served from code."""
