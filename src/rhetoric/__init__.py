"""rhetoric: label what each paragraph of a diplomatic text does."""

__version__ = "0.1.0"
