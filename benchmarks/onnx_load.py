"""Opening the packaged encoder: weights inside the graph file vs beside it (external data),
and with onnxruntime's weight prepacking on or off.

    python benchmarks/onnx_load.py [models/export/embedder] [--rounds 3]

Writes both layouts of the package's graph to a temporary folder, then opens each in a
fresh process (as `rhetoric predict` does: optimizers off, the CPU provider), alternating,
and prints the seconds to create the session, to run one short text, and to run a batch
of 16 texts of 96 tokens (twice, mean).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

OPEN = """
import sys, time
import numpy as np, onnxruntime as ort
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
if sys.argv[2] == "off":
    options.add_session_config_entry("session.disable_prepacking", "1")
start = time.perf_counter()
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
opened = time.perf_counter()
ids = np.array([[0, 2000, 3000, 2]], dtype=np.int64)
feed = {i.name: (ids if i.name == "input_ids" else np.ones_like(ids)) for i in session.get_inputs()}
session.run(None, feed)
ran = time.perf_counter()
batch = np.random.RandomState(0).randint(1000, 20000, size=(16, 96)).astype(np.int64)
feed = {i.name: (batch if i.name == "input_ids" else np.ones_like(batch)) for i in session.get_inputs()}
for _ in range(2):
    session.run(None, feed)
print(f"{opened - start:.2f} {ran - opened:.2f} {(time.perf_counter() - ran) / 2:.2f}")
"""


VARIANTS = [
    ("weights inside the graph, prepacked", "inside", "on"),
    ("weights beside it, prepacked", "beside", "on"),
    ("weights beside it, not prepacked (rhetoric)", "beside", "off"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("embedder", nargs="?", default="models/export/embedder")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import onnx

    with tempfile.TemporaryDirectory() as work:
        graph = onnx.load(str(Path(args.embedder) / "model.onnx"))
        inside, beside = Path(work) / "inside.onnx", Path(work) / "beside.onnx"
        onnx.save_model(graph, str(inside))
        onnx.save_model(
            graph, str(beside), save_as_external_data=True, location="beside.onnx.data", size_threshold=1024
        )
        del graph
        for round_ in range(args.rounds):
            for name, path, prepack in VARIANTS:
                command = [sys.executable, "-c", OPEN, str(inside if path == "inside" else beside), prepack]
                result = subprocess.run(command, capture_output=True, text=True, check=True)
                opened, ran, batch = result.stdout.split()
                print(
                    f"round {round_ + 1}, {name}: session {opened} s, first run {ran} s, batch {batch} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
