"""Documents to paragraphs: reading, cutting, labels, the train/test split."""
