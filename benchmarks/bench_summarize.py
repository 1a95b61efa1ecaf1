"""summarize() on a 500+ layer model versus Keras's own model.summary(), in one run.

    python benchmarks/bench_summarize.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import ipyviz  # noqa: E402
from _timing import best_of  # noqa: E402


def main():
    model = keras.applications.ResNet152(weights=None)  # built locally: nothing is downloaded
    keras_summary = best_of(lambda: model.summary(print_fn=lambda *a, **k: None))
    ours = best_of(lambda: ipyviz.summarize(model))
    text = best_of(lambda: ipyviz.summarize(model).to_text())
    summary = ipyviz.summarize(model)
    assert summary.total_params == model.count_params()
    print(f"model: ResNet152, {len(model.layers)} layers, {summary.total_params:,} params")
    print(f"keras model.summary():        {keras_summary * 1e3:8.1f} ms")
    print(f"ipyviz.summarize():           {ours * 1e3:8.1f} ms  ({keras_summary / ours:.1f}x faster)")
    print(f"ipyviz.summarize().to_text(): {text * 1e3:8.1f} ms  ({keras_summary / text:.1f}x faster)")


if __name__ == "__main__":
    main()
