"""The HTML report (templates/ beside it)."""
