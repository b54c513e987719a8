"""Sentence encoders: identity, torch and ONNX backends, packaged encoders, fine-tuning."""
