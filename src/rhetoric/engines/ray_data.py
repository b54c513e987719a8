"""The Ray engine (`--engine ray`, `embed.engine: ray`): embed and predict as Ray Data
`map_batches` over actors, on this machine or an existing Ray cluster.

Each actor loads the encoder (embed) or the labeler (predict) once and declares the CPUs
(or GPU) it uses; Ray Data streams the batches to them and back to this process, which
commits the results as the local engine does: vectors as store shards (each written
atomically, so a killed run keeps every shard it finished), labeled rows into the JSONL
that is renamed into place at the end. Embed cuts the work exactly as the local engine
(SHARD_ROWS texts per encoder call), so the vectors are identical; predict labels each
file's rows in batches of LABEL_BATCH (the local engine's batches may span two files), so
the labels are the same and the scores agree to float rounding.

This module starts Ray and holds what both share; `engines.ray_embed` and
`engines.ray_predict` run the two commands. Ray is an optional extra
(`pip install -e '.[ray]'`), imported only in these modules and only when asked for.
`ray.init()` joins the cluster named by RAY_ADDRESS, else starts a local one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from rhetoric.errors import ModelError, RhetoricError

INSTALL_HINT = "pip install -e '.[ray]' (or pip install 'ray[data]')"
CPUS_PER_ACTOR = 4  # an encoder's threads: more per actor gains little, more actors scale


def require_ray() -> Any:
    """The `ray` module, or a ModelError saying how to install it (checked before any work)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ModelError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}.") from None
    return ray


def start_ray() -> Any:
    """The `ray` module, connected: to RAY_ADDRESS's cluster where set, else a local one."""
    ray = require_ray()
    # Ray logs progress, notices and (for an error in a worker) the worker's traceback to
    # stderr; rhetoric reports its own errors in one line, and any other error still
    # propagates with its traceback.
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    if not ray.is_initialized():
        ray.init(
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            # A local cluster's workers run at this command's priority (Ray's default
            # niceness of 15 lets any other busy process on the machine starve them).
            _system_config=None if os.environ.get("RAY_ADDRESS") else {"worker_niceness": 0},
        )
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True
    return ray


def actor_pool(ray: Any, size: int) -> Any:
    """Ray Data's compute strategy for `size` long-lived actors."""
    return ray.data.ActorPoolStrategy(size=size)


def actor_plan(resources: dict[str, float], device: str) -> tuple[int, dict[str, float]]:
    """How many actors to start and what each declares, from the cluster's resources: one
    per GPU with `device` cuda, else one per CPUS_PER_ACTOR CPUs (at least one).

    >>> actor_plan({"CPU": 2.0}, "cpu")
    (1, {'num_cpus': 2})
    >>> actor_plan({"CPU": 16.0, "GPU": 2.0}, "cuda")
    (2, {'num_cpus': 1, 'num_gpus': 1})
    >>> actor_plan({"CPU": 10.0}, "cpu")
    (2, {'num_cpus': 4})
    """
    if device == "cuda":
        return max(1, int(resources.get("GPU", 0))), {"num_cpus": 1, "num_gpus": 1}
    cpus = max(1, int(resources.get("CPU", 1)))
    per_actor = min(cpus, CPUS_PER_ACTOR)
    return max(1, cpus // per_actor), {"num_cpus": per_actor}


def user_error(error: BaseException) -> RhetoricError | None:
    """The RhetoricError a worker raised, found inside Ray's wrappers, or None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "cause", None) or current.__cause__
        # Ray's wrapper is an instance of the worker's error class too, but its message
        # carries the worker's traceback: the worker's own error is the one inside.
        if isinstance(current, RhetoricError) and not isinstance(inner, RhetoricError):
            return current
        current = inner
    return None


def reraise_user_errors(run: Callable[[], Any]) -> Any:
    """Run `run`; a RhetoricError from a worker comes back as itself (one line, exit 2)."""
    try:
        return run()
    except Exception as error:
        found = user_error(error)
        if found is None:
            raise
        # Ray appends its retry advice to the message; ours is its first line.
        raise type(found)(str(found).split("\n", 1)[0]) from None
