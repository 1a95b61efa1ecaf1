"""Grad-CAM throughput on each Keras backend, against a forward pass on that same backend.

The same two cases as ``bench_gradcam.py``: a batch of 128 images 64x64x3 through a small CNN, and 256
MNIST-size images (28x28x1) through the keras.io MNIST convnet. Random weights and images (timing does
not depend on them; no downloads). Each backend runs in its own subprocess (``KERAS_BACKEND`` is read
once, at import). For each, ms per image of

* forward   the backend's compiled inference pass: ``tf.function(model)``, ``jax.jit`` over
            ``model.stateless_call``, torch ``model(x)`` under ``torch.no_grad()`` (eager)
* gradcam   ``ipyviz.gradcam(model, images, layer="last_conv")`` (compiled once, then timed; includes
            upsampling); "auto" is the layer ipyviz finds by shape (after the MaxPooling2D on MNIST)

and the ratio gradcam / forward (a Grad-CAM is a forward pass plus a backward pass from the logits to the
layer, so ~1-2x is the floor). Each figure is the best of ``--repeats`` runs.

Run::

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/bench_gradcam_backends.py     # ~2-3 minutes
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/bench_gradcam_backends.py --backends jax torch
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

BACKENDS = ("tensorflow", "jax", "torch")


def small_cnn():
    import keras

    L = keras.layers
    inp = keras.Input((64, 64, 3))
    x = L.Conv2D(16, 3, activation="relu")(inp)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(32, 3, activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(64, 3, activation="relu", name="last_conv")(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(10, activation="softmax")(x), name="small_cnn")


def mnist_cnn():  # keras.io "Simple MNIST convnet"
    import keras

    L = keras.layers
    inp = keras.Input((28, 28, 1))
    x = L.Conv2D(32, 3, activation="relu")(inp)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(64, 3, activation="relu", name="last_conv")(x)
    x = L.MaxPooling2D()(x)
    x = L.Dropout(0.5)(L.Flatten()(x))
    return keras.Model(inp, L.Dense(10, activation="softmax")(x), name="mnist_cnn")


CASES = {"small CNN 64x64x3": (small_cnn, 128), "MNIST CNN 28x28x1": (mnist_cnn, 256)}


def _forward(model):
    """The backend's own compiled (or, on torch, eager no-grad) inference pass, returning numpy."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        function = tf.function(lambda x: model(x, training=False))
        return lambda x: function(x).numpy()
    if backend == "jax":
        import jax

        function = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])
        return lambda x: np.asarray(function([v.value for v in model.trainable_variables],
                                             [v.value for v in model.non_trainable_variables], x))
    import torch

    def run(x):
        with torch.no_grad():
            return keras.ops.convert_to_numpy(model(x, training=False))

    return run


def worker(repeats):
    """In a subprocess: time every case on this process's backend; print one JSON line."""
    import keras
    import numpy as np

    from _timing import best_of
    from ipyviz.gradcam.engine import gradcam
    from ipyviz.gradcam.targets import find_target_layer

    keras.utils.set_random_seed(0)
    rows = []
    for name, (build, n) in CASES.items():
        model = build()
        images = np.random.default_rng(0).random((n, *model.input_shape[1:]), dtype=np.float32)
        forward = _forward(model)
        runs = {
            "forward": lambda x=images: forward(x),
            "gradcam": lambda m=model, x=images: gradcam(m, x, layer="last_conv", batch_size=len(x)),
            "auto": lambda m=model, x=images: gradcam(m, x, batch_size=len(x)),
        }
        times = {}
        for label, fn in runs.items():
            fn()  # warm-up: trace / compile / build
            times[label] = 1000 * best_of(fn, repeats) / n
        rows.append(dict(case=name, n=n, layer=find_target_layer(model), **times))
    print("RESULT " + json.dumps({"backend": keras.backend.backend(), "keras": keras.__version__, "rows": rows}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (best kept)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.repeats)
    results = []
    for backend in args.backends:  # one after the other: they would compete for the same cores
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "--repeats", str(args.repeats)],
                              env=env, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            print(f"{backend}: failed\n{done.stderr[-3000:]}")
            continue
        results.append(json.loads(lines[-1][len("RESULT "):]))
    print(f"\nGrad-CAM vs a forward pass, per backend (ms/image, best of {args.repeats}; {os.cpu_count()} CPUs)")
    print(f"{'backend':<11} {'case':<19} {'forward':>8} {'gradcam':>8} {'ratio':>6}   {'auto layer':<14} {'gradcam':>8} {'ratio':>6}")
    for result in results:
        for row in result["rows"]:
            print(f"{result['backend']:<11} {row['case']:<19} {row['forward']:8.3f} {row['gradcam']:8.3f} "
                  f"{row['gradcam'] / row['forward']:5.2f}x   {row['layer']:<14} {row['auto']:8.3f} "
                  f"{row['auto'] / row['forward']:5.2f}x")


if __name__ == "__main__":
    main()
