"""EmbeddingScatter, kernel side: update time and bytes for 10k / 100k / 1M points, beside the anchors.

* update = ``scatter.set_embeddings(matrix)``: PCA + Procrustes alignment + float32 bytes + the
  ipywidgets message (captured just before the comm), end to end;
* serialisation alone: float32 bytes versus a JSON list of the same positions (what a plain
  ``traitlets.List`` trait, or any JSON-serialised scatter, sends);
* PCA of 100,000 x 64: ipyviz's ``X^T X`` + ``eigh`` versus numpy's full-SVD PCA (how
  scikit-learn's ``PCA(svd_solver="full")`` works).

    python benchmarks/bench_embedding.py [--quick]      (--quick: 10k and 100k only)
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_embedding.py    (steadier on a shared machine)

Browser-side timings (display to first frame, redraw) are measured by the real-browser tests; the
view exposes ``data-render-ms`` / ``data-frame-ms`` on its root element for them.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from ipyviz._binary import to_bytes  # noqa: E402
from ipyviz.embedding.projection import pca  # noqa: E402
from ipyviz.embedding.widget import EmbeddingScatter  # noqa: E402
from _timing import best_of  # noqa: E402

DIMS = 64


def svd_pca(x):
    centred = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2]


def json_positions(positions):
    return json.dumps(positions.tolist()).encode()


def update_row(n, repeats):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(n, DIMS)).astype(np.float32) * np.linspace(2, 0.5, DIMS, dtype=np.float32)
    scatter = EmbeddingScatter(base, [f"w{i}" for i in range(n)])
    sent = []
    scatter._send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    steps = [base + 0.01 * rng.normal(size=base.shape).astype(np.float32) for _ in range(repeats)]
    times = []
    for step in steps:
        start = time.perf_counter()
        scatter.set_embeddings(step)
        times.append(time.perf_counter() - start)
    msg, buffers = sent[-1]
    message_bytes = sum(len(b) for b in buffers) + len(json.dumps(msg))
    positions = scatter.positions
    ours_ser = best_of(lambda: to_bytes(positions))
    json_ser = best_of(lambda: json_positions(positions), repeats=2 if n >= 1_000_000 else 3)
    json_bytes = len(json_positions(positions))
    return {
        "n": n, "update": min(times), "message_bytes": message_bytes, "ours_ser": ours_ser,
        "json_ser": json_ser, "json_bytes": json_bytes,
    }


def main():
    sizes = [10_000, 100_000] if "--quick" in sys.argv else [10_000, 100_000, 1_000_000]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"EmbeddingScatter update, {DIMS}-d embeddings (best of a few runs; {os.cpu_count()} CPUs, "
          f"load average {load:.1f}, OPENBLAS_NUM_THREADS={threads})")
    print("On a busy machine multi-threaded BLAS loses to one thread: try OPENBLAS_NUM_THREADS=1.")
    header = (f"{'points':>10} | {'update (PCA+align+send)':>24} | {'message':>10} | {'float32 bytes':>13} | "
              f"{'JSON list':>10} | {'JSON size':>10} | {'ser. ratio':>10}")
    print(header)
    print("-" * len(header))
    for n in sizes:
        row = update_row(n, repeats=2 if n >= 1_000_000 else 4)
        print(
            f"{row['n']:>10,} | {row['update'] * 1e3:>21.1f} ms | {row['message_bytes'] / 2**20:>6.2f} MiB | "
            f"{row['ours_ser'] * 1e3:>10.2f} ms | {row['json_ser'] * 1e3:>7.0f} ms | "
            f"{row['json_bytes'] / 2**20:>6.2f} MiB | {row['json_ser'] / row['ours_ser']:>9.0f}x"
        )
        assert row["message_bytes"] < 8 * n + 4096  # 8 bytes a point plus a small JSON header

    x = np.random.default_rng(1).normal(size=(100_000, DIMS)).astype(np.float32) * np.linspace(2, 0.5, DIMS, dtype=np.float32)
    ours = best_of(lambda: pca(x))
    full = best_of(lambda: svd_pca(x))
    agree = np.abs(np.abs(pca(x)) - np.abs(svd_pca(x.astype(np.float64)))).max()
    print()
    print(f"PCA of 100,000 x {DIMS} (float32 input)")
    print(f"  numpy full-SVD PCA (sklearn svd_solver='full' style): {full * 1e3:8.1f} ms")
    print(f"  ipyviz pca() (X^T X + eigh, signs fixed):             {ours * 1e3:8.1f} ms  ({full / ours:.1f}x faster)")
    print(f"  largest |score| difference between the two:          {agree:.2e}")


if __name__ == "__main__":
    main()
