"""Labeling: the annotation queue, label rows, tool exchange, the annotate loop."""
