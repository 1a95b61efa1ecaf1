"""What the live widgets cost a training run, measured in a real Jupyter kernel (nbclient).

A 5-epoch fit of a small CNN, three ways, interleaved and repeated on the same compiled model:
bare; with ``ModelSummaryTable(m).callback()`` + ``TrainingPlot().callback()``; with livelossplot's
``PlotLossesKeras()`` (which redraws a matplotlib figure each epoch). In a kernel, widget messages and
inline PNGs are really produced, as in a notebook.

    python benchmarks/bench_callback_overhead.py [--repeats 3] [--samples 4096]
"""

import argparse
import json
import os
import statistics

import nbformat
from nbclient import NotebookClient

SETUP = """
import os, time, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
from IPython.display import display
import ipyviz
import ipyviz.training.plot  # one-time imports (bqplot) are not training overhead; livelossplot's neither
from livelossplot import PlotLossesKeras
rng = np.random.default_rng(0)
x = rng.random((SAMPLES, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, SAMPLES)
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=1, batch_size=64, validation_split=0.1, verbose=0)   # warm-up: tracing

inside = {"bare": [], "ipyviz": [], "livelossplot": []}

def stopwatch(callbacks, spent):
    # Time spent inside the callbacks' hooks: the part of the overhead that load on the machine
    # cannot blur as much as it blurs whole-fit wall times.
    hooks = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin", "on_test_end"]
    for cb in callbacks:
        for name in hooks:
            def timed_hook(*args, _f=getattr(cb, name), **kwargs):
                start = time.perf_counter()
                try:
                    return _f(*args, **kwargs)
                finally:
                    spent[0] += time.perf_counter() - start
            setattr(cb, name, timed_hook)
    return callbacks

def callbacks(kind):
    if kind == "bare":
        return []
    if kind == "ipyviz":
        table, plot = ipyviz.ModelSummaryTable(model), ipyviz.TrainingPlot()
        display(table, plot)
        return [table.callback(), plot.callback()]
    return [PlotLossesKeras()]

def timed(kind):
    start = time.perf_counter()
    made = callbacks(kind)
    spent = [time.perf_counter() - start]  # making (and displaying) the widgets counts too
    model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1, verbose=0, callbacks=stopwatch(made, spent))
    total = time.perf_counter() - start
    inside[kind].append(spent[0])
    return total
"""

RUN = """
results = {"bare": [], "ipyviz": [], "livelossplot": []}
for _ in range(REPEATS):
    for kind in results:
        results[kind].append(timed(kind))
print("RESULTS" + json.dumps({"wall": results, "inside": inside}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4096)
    args = parser.parse_args()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP.replace("SAMPLES", str(args.samples))),
        nbformat.v4.new_code_cell(RUN.replace("REPEATS", str(args.repeats))),
    ]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    NotebookClient(nb, timeout=1800, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.get("output_type") == "stream")
    measured = json.loads(text.split("RESULTS", 1)[1].splitlines()[0])
    results, inside = measured["wall"], measured["inside"]
    bare_median, bare_best = statistics.median(results["bare"]), min(results["bare"])
    print(f"5-epoch fit of a small CNN, {args.samples} samples, {args.repeats} interleaved runs each, "
          f"in a Jupyter kernel (load average now {os.getloadavg()[0]:.1f})")
    for kind, label in [("bare", "bare fit"), ("ipyviz", "ipyviz table + plot"), ("livelossplot", "livelossplot")]:
        median, best = statistics.median(results[kind]), min(results[kind])
        print(f"{label:20s} median {median:6.2f} s ({100 * (median / bare_median - 1):+5.1f}%)   "
              f"best {best:6.2f} s ({100 * (best / bare_best - 1):+5.1f}%)   runs: "
              + ", ".join(f"{v:.2f}" for v in results[kind]))
    print("time inside the callbacks (widget creation included), as a share of the bare fit's best time:")
    for kind, label in [("ipyviz", "ipyviz table + plot"), ("livelossplot", "livelossplot")]:
        median = statistics.median(inside[kind])
        print(f"{label:20s} {median:6.3f} s per 5-epoch fit = {100 * median / bare_best:5.2f}%")


if __name__ == "__main__":
    main()
