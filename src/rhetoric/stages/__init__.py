"""Thin DVC stage entry points: parse params, read inputs, call the library, write outputs."""
