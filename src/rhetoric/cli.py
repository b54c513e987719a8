"""The `rhetoric` command. Heavy modules are imported inside each command so --help is fast."""

from __future__ import annotations

import errno
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rhetoric.errors import RhetoricError

app = typer.Typer(
    help="Label what each paragraph of a diplomatic text does.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Params = Annotated[Path, typer.Option("--params", help="params.yaml to read.")]


class EngineChoice(StrEnum):
    """Where embed and predict run (embed.engine in params)."""

    local = "local"
    ray = "ray"


Engine = Annotated[
    EngineChoice | None,
    typer.Option(
        help="local, or ray: Ray Data actors on a local Ray or the cluster at RAY_ADDRESS "
        "(needs `pip install -e '.[ray]'`). Default: embed.engine in params, else local.",
    ),
]


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def _deprecated(old: str, new: str) -> None:
    """The one-line note a deprecated command name prints (to stderr) before it runs."""
    typer.echo(f"note: `rhetoric {old}` is deprecated and will be removed; use `rhetoric {new}`.", err=True)


def _deprecated_alias(old: str, new: str, command: Callable[..., None]) -> None:
    """Register `old` as a hidden name of `command`: same options (typer reads the wrapped
    signature), plus the one-line note before it runs."""

    @functools.wraps(command)
    def alias(*args: Any, **kwargs: Any) -> None:
        _deprecated(old, new)
        command(*args, **kwargs)

    alias.__doc__ = f"Deprecated alias of `rhetoric {new}`."
    app.command(old, hidden=True)(alias)


# OS errors the user can fix (disk full, permissions, a read-only disk): one line, exit 2.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "free some space and run it again",
    errno.EDQUOT: "free some space (disk quota) and run it again",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.EACCES: "check the permissions",
    errno.EPERM: "check the permissions",
}


def _terminate(signum: int, _frame: Any) -> None:
    """SIGTERM ends a command like Ctrl-C does: through its `finally` blocks, so the atomic
    writers remove their temporary files and leave the previous outputs as they were."""
    raise SystemExit(128 + signum)


def _guard(fn, *args, **kwargs) -> None:
    """Run a command; a RhetoricError (or a full disk, a permission error) becomes a one-line
    message and exit status 2."""
    _setup_logging()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        fn(*args, **kwargs)
    except RhetoricError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    except OSError as error:
        if error.errno not in _ENVIRONMENT_ERRNOS:
            raise
        where = f"{error.filename}: " if error.filename else ""
        typer.echo(f"error: {where}{error.strerror}; {_ENVIRONMENT_ERRNOS[error.errno]}.", err=True)
        raise typer.Exit(2) from None


@app.command()
def segment(
    documents: Annotated[
        Path, typer.Option(help="Folder of <doc_id>.txt (.html, .pdf, .docx) documents.")
    ] = Path("data/documents"),
    output: Annotated[Path, typer.Option(help="Paragraph table to write (Parquet).")] = Path(
        "data/paragraphs.parquet"
    ),
    params: Params = Path("params.yaml"),
) -> None:
    """Cut every document into paragraphs: doc, idx, text, sha1, n_tokens."""
    from rhetoric.stages import segment as stage

    _guard(stage.run, documents, output, params)


@app.command()
def embed(
    paragraphs: Annotated[Path, typer.Option(help="Paragraph table from `segment`.")] = Path(
        "data/paragraphs.parquet"
    ),
    store: Annotated[Path, typer.Option(help="Vector store folder (kept between runs).")] = Path(
        "data/vectors"
    ),
    manifest: Annotated[Path, typer.Option(help="Which embedder made the vectors (JSON).")] = Path(
        "data/embedding.json"
    ),
    encoder: Annotated[
        Path | None,
        typer.Option(help="Encoder folder from `finetune` (its encoder.json says which encoder to use)."),
    ] = None,
    states: Annotated[
        Path | None,
        typer.Option(
            help="Frozen layers' states from `finetune` (--states): the paragraphs it holds run "
            "only the fine-tuned top layers; missing or of another encoder: every layer."
        ),
    ] = None,
    engine: Engine = None,
    params: Params = Path("params.yaml"),
) -> None:
    """Embed every paragraph not yet in the vector store."""
    from rhetoric.stages import embed as stage

    _guard(stage.run, paragraphs, store, manifest, params, encoder, engine.value if engine else None, states)


@app.command()
def finetune(
    paragraphs: Annotated[Path, typer.Option(help="Paragraph table from `segment`.")] = Path(
        "data/paragraphs.parquet"
    ),
    labels: Annotated[Path, typer.Option(help="Labeled paragraphs (JSONL).")] = Path("data/labels.jsonl"),
    output: Annotated[Path, typer.Option(help="Encoder folder to write.")] = Path("models/encoder"),
    states: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the frozen layers' states of the paragraphs fine-tuning read, "
            "for `embed --states` (safetensors)."
        ),
    ] = None,
    params: Params = Path("params.yaml"),
) -> None:
    """Fine-tune embed.model on the training documents (finetune.enabled), or record the frozen choice."""
    from rhetoric.stages import finetune as stage

    _guard(stage.run, paragraphs, labels, output, params, states)


@app.command()
def train(
    paragraphs: Annotated[Path, typer.Option(help="Paragraph table from `segment`.")] = Path(
        "data/paragraphs.parquet"
    ),
    labels: Annotated[Path, typer.Option(help="Labeled paragraphs (JSONL).")] = Path("data/labels.jsonl"),
    store: Annotated[Path, typer.Option(help="Vector store folder.")] = Path("data/vectors"),
    manifest: Annotated[Path, typer.Option(help="Embedder manifest from `embed`.")] = Path(
        "data/embedding.json"
    ),
    model_dir: Annotated[Path, typer.Option(help="Where to save the classifier and its card.")] = Path(
        "models"
    ),
    params: Params = Path("params.yaml"),
) -> None:
    """Split by document, select the classifier by grouped CV, save it with skops."""
    from rhetoric.stages import train as stage

    _guard(stage.run, paragraphs, labels, store, manifest, model_dir, params)


@app.command()
def package(
    model_dir: Annotated[Path, typer.Option(help="Trained model folder (from `train`).")] = Path("models"),
    output: Annotated[Path, typer.Option(help="Package folder to write.")] = Path("models/export"),
    store: Annotated[
        Path | None,
        typer.Option(help="Vector store: its quantized embedder is packaged for int8-static models."),
    ] = None,
) -> None:
    """Package the trained model for fast prediction: embedder as ONNX, a linear head as arrays."""
    from rhetoric.stages import package as stage

    _guard(stage.run, model_dir, output, store)


@app.command("plots-page")
def plots_page(
    output: Annotated[Path, typer.Option(help="Page template to write (.dvc/config names it).")] = Path(
        "reports/plots_page.html"
    ),
) -> None:
    """Write the page template `dvc plots show` uses, with its chart libraries inline (offline)."""
    from rhetoric.stages import plots_page as stage

    _guard(stage.run, output)


@app.command()
def evaluate(
    labels: Annotated[
        Path,
        typer.Option(help="Labeled JSONL: the corpus labels (stage) or your own gold rows {text, label}."),
    ] = Path("data/labels.jsonl"),
    paragraphs: Annotated[
        Path | None,
        typer.Option(
            help="Paragraph table: given, score the held-out test documents (the DVC stage); "
            "omitted, score every row of --labels."
        ),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Vector store folder (default: data/vectors of the project).")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(help="Trained model folder (default: models/ of the project, as for predict)."),
    ] = None,
    reports: Annotated[Path, typer.Option(help="Where the stage writes metrics and plots.")] = Path(
        "reports"
    ),
    dev: Annotated[
        Path | None, typer.Option(help="Stage only: a held-out labeled set scored as `dev` in metrics.json.")
    ] = None,
    params: Annotated[Path | None, typer.Option(help="params.yaml to read (default: the project's).")] = None,
) -> None:
    """Score the trained model: on the test split (stage), or on any labeled JSONL."""
    if paragraphs is not None:
        from rhetoric.stages import evaluate as stage

        store, model_dir = store or Path("data/vectors"), model_dir or Path("models")
        _guard(stage.run, paragraphs, labels, store, model_dir, reports, params or Path("params.yaml"), dev)
    else:
        from rhetoric.stages import score_gold

        _guard(score_gold.run, labels, model_dir, params, store)


@app.command()
def predict(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Documents (.txt, .html, .htm, .pdf, .docx), .jsonl rows with 'text', or folders of them."
        ),
    ],
    output: Annotated[Path | None, typer.Option(help="JSONL to write (default: standard output).")] = None,
    summary: Annotated[Path | None, typer.Option(help="Per-document summary CSV to write.")] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="Trained model folder, or a registry URI such as "
            "models:/rhetoric-paragraph-classifier@champion. Default: models/ of the project, the "
            "nearest folder at or above this one with dvc.yaml, else $RHETORIC_PROJECT.",
            show_default=False,
        ),
    ] = None,
    vectors: Annotated[Path | None, typer.Option(help="Vector store to reuse cached vectors from.")] = None,
    params: Annotated[
        Path | None,
        typer.Option(help="params.yaml to check the model against (default: the project's, if any)."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Folder for the HTML report (index.html + a page per document).")
    ] = None,
    timeline: Annotated[
        Path | None,
        typer.Option(help="CSV (and PNG beside it) of the label mix per month; needs --metadata."),
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(help="documents.csv (doc_id, source, date, countries, occasion) for the report."),
    ] = None,
    gold: Annotated[
        list[Path] | None,
        typer.Option(help="Labels JSONL (as data/labels.jsonl) whose labels the report shows; repeatable."),
    ] = None,
    engine: Engine = None,
) -> None:
    """Label every paragraph of documents (or every row of JSONL files)."""
    from rhetoric.model.prediction import Outputs
    from rhetoric.stages import predict as stage

    outputs = Outputs(output, summary, report, metadata, timeline, tuple(gold or ()))
    _guard(stage.run, inputs, model, vectors, params, outputs, engine.value if engine else None)


@app.command()
def annotate(
    predictions: Annotated[Path, typer.Option(help="Predictions from `predict` (JSONL with scores).")] = Path(
        "data/predictions/paragraphs.jsonl"
    ),
    labels: Annotated[Path, typer.Option(help="Labels file to append to.")] = Path("data/labels.jsonl"),
    limit: Annotated[int | None, typer.Option(help="Stop after this many labels.")] = None,
    params: Params = Path("params.yaml"),
    paragraphs: Annotated[
        Path, typer.Option(help="Paragraph table (when present, only its paragraphs are offered).")
    ] = Path("data/paragraphs.parquet"),
) -> None:
    """Label the unlabeled paragraphs the model is least sure about first (one key each)."""
    from rhetoric.stages import annotate as stage

    _guard(stage.run, predictions, labels, params, limit, paragraphs)


tasks = typer.Typer(
    help="Hand paragraphs to a labeling tool (Label Studio, doccano) and take its labels back.",
    no_args_is_help=True,
)
app.add_typer(tasks, name="tasks")

Format = Annotated[str, typer.Option("--format", help="labelstudio | doccano-jsonl | doccano-csv")]


@tasks.command("export")
def export_tasks(
    output: Annotated[Path, typer.Argument(help="Task file to write.")],
    fmt: Format = "labelstudio",
    predictions: Annotated[Path, typer.Option(help="Predictions from `predict` (pre-annotations).")] = Path(
        "data/predictions/paragraphs.jsonl"
    ),
    labels: Annotated[Path, typer.Option(help="Labels file: its paragraphs are left out.")] = Path(
        "data/labels.jsonl"
    ),
    params: Params = Path("params.yaml"),
) -> None:
    """Write unlabeled paragraphs as tasks, most uncertain first, the model's labels as pre-annotations."""
    from rhetoric.stages import exchange

    _guard(exchange.export, output, fmt, predictions, labels, params)


@tasks.command("import")
def import_labels(
    source: Annotated[Path, typer.Argument(help="A Label Studio JSON or doccano JSONL/CSV export.")],
    fmt: Format = "labelstudio",
    labels: Annotated[Path, typer.Option(help="Labels file to append to.")] = Path("data/labels.jsonl"),
    params: Params = Path("params.yaml"),
    paragraphs: Annotated[
        Path, typer.Option(help="Paragraph table the imported rows must match (from `segment`).")
    ] = Path("data/paragraphs.parquet"),
) -> None:
    """Append the labels of a labeling tool's finished annotations to the labels file."""
    from rhetoric.stages import exchange

    _guard(exchange.import_, source, fmt, labels, params, paragraphs)


# Old names, hidden and kept for one release: each runs its new command after a note.
_deprecated_alias("export-model", "package", package)
_deprecated_alias("export", "tasks export", export_tasks)
_deprecated_alias("import", "tasks import", import_labels)


def main() -> None:
    app()
