"""The one error type rhetoric raises for problems a user can fix.

Every message says what was expected, what was found, and what to do; the CLI
prints it without a traceback and exits with status 2.
"""

from __future__ import annotations


class RhetoricError(Exception):
    """A problem with the user's input, params or environment, explained."""


class DataError(RhetoricError):
    """Documents or labels that cannot be used as they are."""


class ParamsError(RhetoricError):
    """params.yaml asks for something invalid."""


class ModelError(RhetoricError):
    """A model (embedder or classifier) that cannot be found, loaded or trusted."""
