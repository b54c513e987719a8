"""The classifier: features, the scikit-learn head, training, the labeler, packaging."""
