"""`rhetoric predict --engine ray`: input files to labeled rows on Ray actors, streamed
back in input order. See engines/ray_data.py for the engine as a whole."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from rhetoric.engines.ray_data import actor_plan, actor_pool, reraise_user_errors, start_ray

LABEL_BATCH = 1024  # rows per labeler call, as `prediction.label_rows`


class LabelActor:
    """One labeler per actor: input files -> their rows labeled, LABEL_BATCH at a time, as
    JSON strings (rows of JSONL inputs may carry any fields). The actor reads its files
    itself: a separate reading step would start a Ray worker process per file and pass every
    row through the object store once more, for work far lighter than labeling."""

    def __init__(self, model: Path, vectors: Path | None, threads: int, max_bytes: int) -> None:
        from rhetoric.model.labeler import Labeler

        self.labeler = Labeler.load(model, exported=True, store=vectors, threads=threads)
        self.max_bytes = max_bytes

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[dict[str, list[str]]]:
        from rhetoric.model.prediction import batches, input_rows, label_rows

        for path in batch["path"]:
            for rows in batches(input_rows([Path(str(path))], self.max_bytes), LABEL_BATCH):
                labeled = label_rows(self.labeler, rows, batch_size=len(rows))
                yield {"row": [json.dumps(r, ensure_ascii=False) for r in labeled]}


def label_on_ray(files: Sequence[Path], max_bytes: int, model: Path, vectors: Path | None) -> Iterator[dict]:
    """Every row of `files` with its label and scores, in input order: each file is read and
    labeled by an actor, results streamed back here. Ray is started (or found missing) now,
    before the caller opens its output."""
    ray = start_ray()
    actors, resources = actor_plan(ray.cluster_resources(), "cpu")
    # Workers run in folders of their own: every path they get is absolute.
    files = [p.resolve() for p in files]
    model, vectors = model.resolve(), vectors.resolve() if vectors is not None else None
    dataset = ray.data.from_items(
        [{"path": str(p)} for p in files], override_num_blocks=max(1, len(files))
    ).map_batches(
        LabelActor,
        fn_constructor_args=(model, vectors, int(resources["num_cpus"]), max_bytes),
        batch_size=1,
        batch_format="numpy",
        compute=actor_pool(ray, actors),
        **resources,
    )

    def rows() -> Iterator[dict]:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for row in batch["row"]:
                yield json.loads(str(row))

    return streamed(rows())


def streamed(rows: Iterator[dict]) -> Iterator[dict]:
    """`rows`, with a worker's RhetoricError raised as itself."""
    while True:
        row = reraise_user_errors(lambda: next(rows, None))
        if row is None:
            return
        yield row
