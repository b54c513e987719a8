"""Opening the packaged encoder: weights inside the graph file vs beside it (external data).

    python benchmarks/onnx_load.py [models/export/embedder] [--rounds 3]

Writes both layouts of the package's graph to a temporary folder, then opens each in a
fresh process (as `rhetoric predict` does: optimizers off, the CPU provider), alternating,
and prints the seconds to create the session and to run one short text.
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
start = time.perf_counter()
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
opened = time.perf_counter()
ids = np.array([[0, 2000, 3000, 2]], dtype=np.int64)
feed = {i.name: (ids if i.name == "input_ids" else np.ones_like(ids)) for i in session.get_inputs()}
session.run(None, feed)
print(f"{opened - start:.2f} {time.perf_counter() - opened:.2f}")
"""


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
            for name, path in (("weights inside the graph", inside), ("weights beside it", beside)):
                command = [sys.executable, "-c", OPEN, str(path)]
                result = subprocess.run(command, capture_output=True, text=True, check=True)
                opened, ran = result.stdout.split()
                print(f"round {round_ + 1}, {name}: session {opened} s, first run {ran} s", flush=True)


if __name__ == "__main__":
    main()
