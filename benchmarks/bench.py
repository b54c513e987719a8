"""Speed and memory benchmarks for rhetoric (issues 5 and 13), each speed also a ratio to a
baseline measured in the same run:

1. throughput of every embed backend against plain sentence-transformers fp32 of the same
   encoder (`--encoder`, repeatable), with the cosine of its vectors to the baseline's;
   int8-static is calibrated on corpus paragraphs, as `rhetoric embed` does;
2. the real pipeline (`dvc repro`) on a temporary copy of the shipped corpus: from scratch,
   with nothing to embed, after adding one document (how many paragraphs were embedded),
   and the test and dev macro-F1 of the model trained on each backend's vectors;
3. `rhetoric predict one.txt` in a fresh process, with the exported package and without;
4. peak memory of `rhetoric embed` and `rhetoric predict` over a large generated corpus;
5. `--scale 2000,6000,18000`: generated short paragraphs (JSONL shards) through
   `rhetoric predict --engine local` and `--engine ray` at each size: seconds,
   paragraphs/s, peak RSS of the command's own process, Ray's time over local's.

    python benchmarks/bench.py [--paragraphs 2000] [--encoder all-mpnet-base-v2]
                               [--memory-paragraphs 200000] [--scale 2000,6000,18000]
                               [--skip-pipeline] [--skip-memory] [--device cpu|cuda]

Prints Markdown tables and appends them, with the machine description, to
benchmarks/RESULTS.md. Generated paragraphs recombine sentences of the shipped corpus
(seeded), so nothing outside the repository is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", info).group(1)
        flags = [
            f for f in ("avx2", "avx512f", "avx_vnni", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in info
        ]
        cpu += f" ({', '.join(flags) or 'no avx2'})"
        if os.environ.get("AS_CPU_PROFILE"):  # run under benchmarks/as_cpu.py: the flags are the profile's
            cpu += f" [as_cpu.py {os.environ['AS_CPU_PROFILE']}: CPUID and /proc/cpuinfo hide the rest]"
    except (OSError, AttributeError):
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}, torch {torch.__version__}"
    )


def corpus_sentences() -> list[str]:
    from rhetoric.corpus.segment import segment_document, sentences_of

    return [
        s
        for p in sorted((ROOT / "data/documents").glob("*.txt"))
        for para in segment_document(p.read_text(encoding="utf-8"))
        for s in sentences_of(para)
        if len(s.split()) >= 6
    ]


def generated_paragraphs(n: int, words: int = 85, seed: int = 0) -> list[str]:
    """`n` distinct paragraphs of about `words` words (85 words is about 110 MiniLM tokens),
    each made of spans of 6-12 words from random sentences of the shipped corpus."""
    sentences = [s.split() for s in corpus_sentences()]
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        chosen: list[str] = []
        while len(chosen) < words:
            sentence = rng.choice(sentences)
            start = rng.randrange(max(1, len(sentence) - 6))
            chosen += sentence[start : start + rng.randint(6, 12)]
        out[" ".join(chosen)] = None
    return list(out)


# 1. Throughput -------------------------------------------------------------------------


def corpus_paragraphs() -> list[tuple[str, str]]:
    """(sha1, text) of every paragraph of the shipped corpus."""
    from rhetoric.corpus.segment import paragraph_sha1, segment_document

    return [
        (paragraph_sha1(para), para)
        for p in sorted((ROOT / "data/documents").glob("*.txt"))
        for para in segment_document(p.read_text(encoding="utf-8"))
    ]


def kept(folder: Path) -> str:
    """Which of int8-static's quantizations the embedder in `folder` holds."""
    from rhetoric.encoders.onnx_encoder import exported_meta

    return str((exported_meta(folder) or {}).get("kept", "?"))


def throughput(
    texts: list[str], device: str, rounds: int, encoder_name: str, only: list[str] | None = None
) -> list[dict]:
    """Paragraphs/s of each backend and of plain sentence-transformers, timed in interleaved
    rounds (the machine's speed drifts); a ratio is the median of per-round ratios."""
    from sentence_transformers import SentenceTransformer

    from rhetoric.encoders.embedding import choose_backend, cpu_supports_bf16, resolve_model, rest_precision
    from rhetoric.encoders.factory import make_encoder
    from rhetoric.encoders.openvino_encoder import calibration_sample
    from rhetoric.params import OPENVINO_BACKENDS

    identity = resolve_model(encoder_name)
    calibration = calibration_sample(corpus_paragraphs())
    plain = SentenceTransformer(identity.path, device=device)
    encoders = {
        f"plain sentence-transformers fp32, batch 32, {device} (baseline)": lambda batch: plain.encode(
            batch, batch_size=32, normalize_embeddings=True
        )
    }
    auto = choose_backend("auto", device)
    if device == "cuda":
        backends = [("fp32", 32), ("bf16", 32), ("bf16", 256)]
    else:
        backends = (
            [("fp32", 32)]
            + ([("bf16", 32)] if cpu_supports_bf16() else [])
            + [("onnx", 32), ("int8", 32), ("int8-static", 32)]
        )
    backends = [(b, n) for b, n in backends if not only or b in only]
    onnx_root = Path(tempfile.mkdtemp(prefix="rhetoric-bench-onnx-"))
    try:
        for backend, batch in backends:
            encoder = make_encoder(identity, device, backend, batch, onnx_root / backend, calibration)
            default = " (default `auto` here)" if backend == auto else ""
            rest = (
                f", rest in {rest_precision()}, {kept(onnx_root / backend)}"
                if backend in OPENVINO_BACKENDS
                else ""
            )
            encoders[f"rhetoric embed backend={backend}{rest}, batch {batch}{default}"] = encoder.encode
            if backend in OPENVINO_BACKENDS and rest_precision() == "bf16":
                # as on a CPU without bf16: quantized, checked and run with the rest in f32
                with mock.patch("rhetoric.encoders.openvino_encoder.rest_precision", return_value="f32"):
                    encoder = make_encoder(identity, device, backend, batch, onnx_root / "f32", calibration)
                name = (
                    f"rhetoric embed backend={backend}, rest in f32, {kept(onnx_root / 'f32')} "
                    "(as `auto` on a VNNI CPU without bf16)"
                )
                encoders[f"{name}, batch {batch}"] = encoder.encode
        speeds: dict[str, list[float]] = {name: [] for name in encoders}
        vectors = {}
        for encode in encoders.values():
            encode(texts[:64])
        for _ in range(rounds):
            for name, encode in encoders.items():
                start = time.perf_counter()
                vectors[name] = encode(texts)
                speeds[name].append(len(texts) / (time.perf_counter() - start))
    finally:
        shutil.rmtree(onnx_root, ignore_errors=True)
    base_name = next(iter(encoders))
    rows = []
    for name in encoders:
        cosine = (vectors[name] * vectors[base_name]).sum(axis=1)
        ratios = [a / b for a, b in zip(speeds[name], speeds[base_name], strict=True)]
        rows.append(
            {
                "what": name,
                "par_s": statistics.median(speeds[name]),
                "range": (min(speeds[name]), max(speeds[name])),
                "ratio": statistics.median(ratios),
                "cos_min": float(cosine.min()),
                "cos_mean": float(cosine.mean()),
            }
        )
    return rows


# 2 and 3. The pipeline and cold start -----------------------------------------------------


def run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start, result.stdout + result.stderr


def set_params(work: Path, **changes: object) -> None:
    """Set dotted keys (`embed.backend`) in the project's params.yaml."""
    params = yaml.safe_load((work / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def embedded_now(log: str) -> int:
    found = re.search(r"(\d+) embedded now", log)
    return int(found.group(1)) if found else 0


def test_and_dev_f1(work: Path) -> tuple[float, float]:
    metrics = json.loads((work / "reports/metrics.json").read_text())
    return metrics["test.f1_macro"], metrics["dev.f1_macro"]


def pipeline(skip_backends: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rhetoric-bench-"))
    try:
        for name in ("dvc.yaml", "params.yaml"):
            shutil.copy(ROOT / name, work / name)
        for name in ("documents", "dev"):
            shutil.copytree(ROOT / "data" / name, work / "data" / name)
        for name in ("labels.jsonl", "documents.csv"):
            shutil.copy(ROOT / "data" / name, work / "data" / name)
        shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
        for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
            run(cmd, work)
        out: dict = {"documents": len(list((work / "data/documents").glob("*.txt")))}
        out["full"], log = run(["dvc", "repro"], work)
        out["full_embedded"] = embedded_now(log)
        out["f1"] = {"bf16" if "-bf16" in log else "fp32": test_and_dev_f1(work)}
        # A change that retrains but embeds nothing: the reference repro.
        set_params(work, **{"train.seed": 43})
        out["nothing_to_embed"], log = run(["dvc", "repro"], work)
        out["nothing_embedded"] = embedded_now(log)
        source = sorted((work / "data/documents").glob("*.txt"))[0].read_text(encoding="utf-8")
        new_doc = work / "data/documents/bench_new_document.txt"
        new_doc.write_text(
            "\n\n".join(f"{p} (benchmark copy)" for p in source.split("\n\n")), encoding="utf-8"
        )
        set_params(work, **{"train.seed": 44})
        out["one_document"], log = run(["dvc", "repro"], work)
        out["one_document_embedded"] = embedded_now(log)
        out["one_document_paragraphs"] = len(source.split("\n\n"))
        out.update(cold_start(work, source))
        if not skip_backends:
            new_doc.unlink()
            set_params(work, **{"train.seed": 42})
            for backend in ("fp32", "onnx", "int8"):
                if backend not in out["f1"]:
                    set_params(work, **{"embed.backend": backend})
                    run(["dvc", "repro"], work)
                    out["f1"][backend] = test_and_dev_f1(work)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cold_start(work: Path, text: str) -> dict:
    """`rhetoric predict one.txt` in fresh processes: with the package, and without it
    (the skops head and the torch embedder), five runs each."""
    one = work / "one.txt"
    one.write_text(text, encoding="utf-8")
    unpackaged = work / "models_without_export"
    shutil.copytree(work / "models", unpackaged, ignore=shutil.ignore_patterns("export"))
    times = {}
    for name, model in (("packaged", "models"), ("unpackaged", str(unpackaged))):
        runs = [run(["rhetoric", "predict", str(one), "--model", model], work)[0] for _ in range(5)]
        times[name] = runs
    return {"cold": times, "cold_paragraphs": len(text.split("\n\n"))}


# 4. Memory --------------------------------------------------------------------------------


# Linux copies the parent's peak RSS into a forked child, so the command is started from a
# small Python process: its peak is then the command's own.
_MEASURE = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(usage.ru_maxrss, file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def peak_rss_mb(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one command."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024


def memory(n: int, words: int) -> dict:
    """Embed `n` generated paragraphs, train nothing, then label them all from the store."""
    import pandas as pd

    from rhetoric.corpus.segment import normalize_paragraph, paragraph_sha1

    work = Path(tempfile.mkdtemp(prefix="rhetoric-memory-"))
    try:
        texts = list(dict.fromkeys(normalize_paragraph(t) for t in generated_paragraphs(n, words, seed=1)))
        frame = pd.DataFrame({"sha1": [paragraph_sha1(t) for t in texts], "text": texts})
        frame.to_parquet(work / "paragraphs.parquet", index=False)
        with open(work / "paragraphs.jsonl", "w", encoding="utf-8") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"doc": f"d{i // 20}", "idx": i % 20, "text": text}) + "\n")
        shutil.copy(ROOT / "params.yaml", work / "params.yaml")
        del frame
        embed = [
            "rhetoric", "embed", "--paragraphs", "paragraphs.parquet", "--store", "vectors",
            "--manifest", "embedding.json", "--params", "params.yaml",
        ]  # fmt: skip
        embed_s, embed_mb = peak_rss_mb(embed, work)
        model_dir = ROOT / "models"
        predict = [
            "rhetoric", "predict", "paragraphs.jsonl", "--vectors", "vectors", "--model", str(model_dir),
            "--output", "labeled.jsonl", "--summary", "summary.csv", "--params", "params.yaml",
        ]  # fmt: skip
        predict_s, predict_mb = peak_rss_mb(predict, work)
        with open(work / "labeled.jsonl", encoding="utf-8") as handle:
            labeled = sum(1 for _ in handle)
        return {
            "paragraphs": len(texts),
            "words": words,
            "embed": (embed_s, embed_mb),
            "predict": (predict_s, predict_mb),
            "labeled": labeled,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


# 5. Scale: predict on the local and the Ray engine ---------------------------------------


SCALE_ENCODER = "all-MiniLM-L6-v2"
SHARD_LINES = 1000  # rows per generated JSONL shard (the Ray engine reads one file per task)
SCALE_DOCUMENTS = 40  # corpus documents the scale model is embedded and trained on


def scale_model(work: Path) -> Path:
    """A packaged model as `dvc repro` makes one, on the small encoder with the default
    backend, from SCALE_DOCUMENTS corpus documents: `rhetoric embed` (quantizing the encoder
    where the default is int8-static), `rhetoric train` (C fixed), `rhetoric package`."""
    from rhetoric.corpus.documents import segment_folder

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["embed"].update(model=SCALE_ENCODER, sentences=False, backend="int8-static")  # as measured
    params["train"]["hyperparameters"] = {"C": [4.0]}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    paragraphs, _ = segment_folder(ROOT / "data/documents", 5 << 20)
    docs = sorted(set(paragraphs["doc"]))[:SCALE_DOCUMENTS]
    paragraphs[paragraphs["doc"].isin(docs)].reset_index(drop=True).to_parquet(work / "paragraphs.parquet")
    with open(ROOT / "data/labels.jsonl", encoding="utf-8") as labels:
        kept = [line for line in labels if json.loads(line)["doc"] in set(docs)]
    (work / "labels.jsonl").write_text("".join(kept), encoding="utf-8")
    stores = ["--store", "vectors", "--manifest", "embedding.json", "--params", "params.yaml"]
    run(["rhetoric", "embed", "--paragraphs", "paragraphs.parquet", *stores], work)
    run(
        ["rhetoric", "train", "--paragraphs", "paragraphs.parquet", "--labels", "labels.jsonl",
         *stores, "--model-dir", "model"],
        work,
    )  # fmt: skip
    package = ["rhetoric", "package", "--model-dir", "model", "--output", "model/export"]
    run([*package, "--store", "vectors"], work)
    return work / "model"


def scale_table(sizes: list[int], words: int) -> list[str]:
    """`rhetoric predict` over generated JSONL shards at each size, local then Ray."""
    work = Path(tempfile.mkdtemp(prefix="rhetoric-scale-"))
    try:
        model = scale_model(work)
        backend = json.loads((work / "embedding.json").read_text())["backend"]
        texts = generated_paragraphs(max(sizes), words, seed=2)
        rows = []
        for size in sizes:
            shards = work / f"in-{size}"
            shards.mkdir()
            for start in range(0, size, SHARD_LINES):
                with open(shards / f"part-{start // SHARD_LINES:05d}.jsonl", "w", encoding="utf-8") as handle:
                    for i in range(start, min(size, start + SHARD_LINES)):
                        handle.write(json.dumps({"id": i, "text": texts[i]}) + "\n")
            timed = {}
            for engine in ("local", "ray"):
                predict = [
                    "rhetoric", "predict", str(shards), "--model", str(model),
                    "--output", f"out-{engine}.jsonl", "--params", "params.yaml", "--engine", engine,
                ]  # fmt: skip
                timed[engine] = peak_rss_mb(predict, work)
            same = (work / "out-local.jsonl").read_text() == (work / "out-ray.jsonl").read_text()
            rows.append((size, timed, same))
        lines = [
            f"### Scale: `rhetoric predict` over generated paragraphs of ~{words} words "
            f"(JSONL shards of {SHARD_LINES}), {SCALE_ENCODER} {backend} package, no vector store",
            "",
            "| paragraphs | engine | seconds | paragraphs/s | peak RSS of the command (MB) "
            "| ray ÷ local time | outputs identical |",
            "|---|---|---|---|---|---|---|",
        ]
        for size, timed, same in rows:
            for engine in ("local", "ray"):
                seconds, mb = timed[engine]
                ratio = f"{seconds / timed['local'][0]:.2f}" if engine == "ray" else ""
                lines.append(
                    f"| {size} | {engine} | {seconds:.1f} | {size / seconds:.0f} | {mb:.0f} | {ratio} "
                    f"| {'yes' if same else 'no'} |"
                )
        return [*lines, ""]
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Report -----------------------------------------------------------------------------------


def report(args: argparse.Namespace) -> str:
    lines = [f"## {time.strftime('%Y-%m-%d')}: {machine()}", ""]
    if args.scale:
        lines += scale_table([int(n) for n in args.scale.split(",")], args.memory_words)
    for encoder_name in [] if args.skip_throughput else args.encoder or ["all-MiniLM-L6-v2"]:
        texts = throughput_texts(args.texts, args.paragraphs)
        what = "generated paragraphs (~110 tokens)" if args.texts == "generated" else "corpus paragraphs"
        lines += [
            f"### Embedding throughput, {encoder_name}: {len(texts)} {what}, {args.device}, "
            f"{args.rounds} interleaved rounds",
            "",
            "| backend | paragraphs/s (median) | range | × baseline (median) "
            "| cosine to baseline: min | mean |",
            "|---|---|---|---|---|---|",
        ]
        only = args.backends.split(",") if args.backends else None
        for row in throughput(texts, args.device, args.rounds, encoder_name, only):
            low, high = row["range"]
            lines.append(
                f"| {row['what']} | {row['par_s']:.1f} | {low:.1f}-{high:.1f} | {row['ratio']:.2f} "
                f"| {row['cos_min']:.5f} | {row['cos_mean']:.5f} |"
            )
        lines.append("")
    if args.throughput_only:
        return "\n".join(lines) + "\n"
    if not args.skip_pipeline:
        p = pipeline(args.skip_backends)
        ratio = p["one_document"] / p["nothing_to_embed"]
        lines += [
            "",
            f"### The pipeline: `dvc repro` on a temporary copy of the corpus ({p['documents']} documents)",
            "",
            "| run | seconds | paragraphs embedded | ratio |",
            "|---|---|---|---|",
            f"| from scratch | {p['full']:.1f} | {p['full_embedded']} | |",
            f"| after a param change (train.seed), nothing to embed | {p['nothing_to_embed']:.1f} "
            f"| {p['nothing_embedded']} | 1.00 |",
            f"| after adding one document of {p['one_document_paragraphs']} paragraphs (+ a seed change) "
            f"| {p['one_document']:.1f} | {p['one_document_embedded']} | {ratio:.2f} |",
        ]
        if len(p["f1"]) > 1:
            lines += ["", "| vectors from backend | test macro-F1 | Δ to fp32 | dev macro-F1 | Δ to fp32 |"]
            lines.append("|---|---|---|---|---|")
            test32, dev32 = p["f1"]["fp32"]
            for backend, (test, dev) in p["f1"].items():
                lines.append(
                    f"| {backend} | {test:.4f} | {test - test32:+.4f} | {dev:.4f} | {dev - dev32:+.4f} |"
                )
        cold = p["cold"]
        lines += [
            "",
            f"### `rhetoric predict one.txt` ({p['cold_paragraphs']} paragraphs), fresh process, 5 runs",
            "",
            "| model | best s | median s | × packaged |",
            "|---|---|---|---|",
        ]
        base = statistics.median(cold["packaged"])
        for name, what in (
            ("packaged", "models/export: ONNX embedder, linear head as arrays (default)"),
            ("unpackaged", "models/ without export: skops head, sentence-transformers embedder"),
        ):
            median = statistics.median(cold[name])
            lines.append(f"| {what} | {min(cold[name]):.2f} | {median:.2f} | {median / base:.1f} |")
    if not args.skip_memory:
        m = memory(args.memory_paragraphs, args.memory_words)
        lines += [
            "",
            f"### Memory: {m['paragraphs']} generated paragraphs of ~{m['words']} words, default params",
            "",
            "| command | seconds | peak RSS (MB) | paragraphs/s |",
            "|---|---|---|---|",
            f"| `rhetoric embed` (all new) | {m['embed'][0]:.0f} | {m['embed'][1]:.0f} "
            f"| {m['paragraphs'] / m['embed'][0]:.0f} |",
            f"| `rhetoric predict` from the store, JSONL out + summary ({m['labeled']} rows) "
            f"| {m['predict'][0]:.0f} | {m['predict'][1]:.0f} | {m['paragraphs'] / m['predict'][0]:.0f} |",
        ]
    return "\n".join(lines) + "\n"


def throughput_texts(kind: str, n: int) -> list[str]:
    """`n` generated paragraphs, or `n` corpus paragraphs outside the calibration sample
    (sha1 order past it, so the same ones every run)."""
    if kind == "generated":
        return generated_paragraphs(n)
    from rhetoric.encoders.openvino_encoder import calibration_sample

    paragraphs = corpus_paragraphs()
    held = set(calibration_sample(paragraphs))
    return [t for t in calibration_sample(paragraphs, len(paragraphs)) if t not in held][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=600, help="paragraphs per throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds per backend")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--encoder", action="append", help="encoder to time (repeatable; default MiniLM)")
    parser.add_argument("--texts", default="generated", choices=("generated", "corpus"))
    parser.add_argument("--throughput-only", action="store_true", help="only the throughput tables")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--backends", help="comma-separated backends to time (default: all of this machine)")
    parser.add_argument("--scale", help="comma-separated corpus sizes for predict --engine local|ray")
    parser.add_argument("--skip-pipeline", action="store_true", help="no dvc repro or cold-start runs")
    parser.add_argument("--skip-backends", action="store_true", help="no macro-F1 per backend")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-paragraphs", type=int, default=200_000)
    parser.add_argument("--memory-words", type=int, default=25, help="words per memory-test paragraph")
    args = parser.parse_args()
    table = report(args)
    print(table)
    with open(ROOT / "benchmarks/RESULTS.md", "a", encoding="utf-8") as handle:
        handle.write("\n" + table)


if __name__ == "__main__":
    main()
