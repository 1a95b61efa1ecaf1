"""The widget callbacks under data parallelism on two devices: tf.distribute and keras.distribution.

Each case runs in its own Python process (this file, run as a script), because the devices must be
configured before TensorFlow / JAX initialise: two logical CPUs for ``tf.distribute.MirroredStrategy``,
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` with ``KERAS_BACKEND=jax`` for
``keras.distribution.DataParallel``. The child trains a tiny Embedding model with the three widget
callbacks followed by a plain Keras callback (the probe) that records, at every epoch end and batch end,
what the model's weights are and what each widget holds; it prints one JSON line that the test checks:

* the run really used two devices, with every variable held on both and equal on both (merged);
* ModelSummaryTable's norms / changes, EmbeddingScatter's matrix and TrainingPlot's curves equal what the
  model's weights and Keras's logs were at each epoch end (and each batch end where per-batch updates are
  asked for), and weights did move, so a stale read cannot pass;
* each widget updated once per epoch (or once per batch with ``batch_interval=0``), in the main thread,
  outside any replica context.

Run one case by hand: ``KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2
python tests/test_distributed.py jax``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.once  # each case starts its own process with its own backend

EPOCHS, STEPS, BATCH, ROWS = 3, 4, 8, 12  # global batch 8 = 4 per replica


def _child(case: str) -> dict:
    """Train under ``case`` ("tf" or "jax") and return what the parent checks (JSON-able)."""
    import threading

    if case == "tf":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        scope, replicas = strategy.scope(), strategy.num_replicas_in_sync
    else:
        import contextlib

        import jax
        import keras

        distribution = keras.distribution.DataParallel(devices=jax.devices())
        keras.distribution.set_distribution(distribution)
        scope, replicas = contextlib.nullcontext(), len(jax.devices())
        assert keras.distribution.distribution() is distribution
        mesh = distribution.device_mesh
        assert tuple(mesh.shape) == (2,) and tuple(mesh.axis_names) == ("batch",), (mesh.shape, mesh.axis_names)
    import keras

    import ipyviz
    import ipyviz.live

    budget = getattr(ipyviz.live, "message_budget", None)
    if budget is not None:  # the process-wide cap on widget messages: lifted, every batch flush counts here
        budget.rate = 1e9

    def copies(variable):
        """The per-device copies of a variable, and the devices they live on."""
        value = variable.value
        if case == "tf":
            parts = getattr(value, "values", None)  # a MirroredVariable's per-device components
            if parts is None:
                return [np.asarray(value)], ["(not mirrored)"]
            return [np.asarray(p) for p in parts], [p.device for p in parts]
        return [np.asarray(s.data) for s in value.addressable_shards], [str(s.device) for s in value.addressable_shards]

    with scope:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((2,), dtype="int32"), keras.layers.Embedding(ROWS, 4, name="emb"),
            keras.layers.Flatten(), keras.layers.Dense(3, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="out")])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    if case == "tf":
        assert model.distribute_strategy is strategy
    rng = np.random.default_rng(0)
    x = rng.integers(0, ROWS, (STEPS * BATCH, 2)).astype("int32")
    y = rng.normal(size=(STEPS * BATCH, 1)).astype("float32")
    words = [f"w{i}" for i in range(ROWS)]

    table, plot = ipyviz.ModelSummaryTable(model), ipyviz.TrainingPlot()
    scatter, scatter_batches = ipyviz.EmbeddingScatter(model, words), ipyviz.EmbeddingScatter(model, words)
    callbacks = [table.callback(), plot.callback(batch_interval=0), scatter.callback(),
                 scatter_batches.callback(batch_interval=0)]
    import tempfile

    from ipyviz.remote import RunWriter

    run_file = os.path.join(tempfile.mkdtemp(), "run.jsonl")
    writer = RunWriter(run_file, batch_interval=0, weights=True)
    flushes = {}

    def counted(name, callback):
        flush = callback.flush

        def wrapper():
            where = {"main_thread": threading.current_thread() is threading.main_thread()}
            if case == "tf":
                where["replica_context"] = tf.distribute.in_cross_replica_context() is False and \
                    tf.distribute.has_strategy()
            flushes.setdefault(name, []).append(where)
            return flush()

        callback.flush = wrapper  # the instance attribute is what LiveCallback calls

    for name, callback in zip(("table", "plot", "scatter", "scatter_batches"), callbacks):
        counted(name, callback)

    def flat_weights(layer):
        return np.concatenate([np.asarray(w, np.float64).ravel() for w in layer.trainable_weights])

    class Probe(keras.callbacks.Callback):
        """A plain callback after the widget ones: the model's weights and the widgets' state, side by side."""

        epochs, batches, batch_logs = [], [], []

        def on_train_batch_end(self, batch, logs=None):
            self.batch_logs.append({k: float(v) for k, v in (logs or {}).items()})
            model = self.model  # on JAX this syncs the state, as every user callback must
            self.batches.append({"emb": np.asarray(model.get_layer("emb").embeddings).tolist(),
                                 "scatter": scatter_batches._matrix.tolist()})

        def on_epoch_end(self, epoch, logs=None):
            model = self.model
            record = {"flat": {}, "table": {}, "copies_equal": True, "devices": set()}
            for layer in model.layers:
                if not layer.trainable_weights:
                    continue
                record["flat"][layer.name] = flat_weights(layer).tolist()
                record["table"][layer.name] = {k: v[-1] for k, v in table.weight_stats[layer.name].items()}
            for variable in model.trainable_variables + model.optimizer.variables:
                values, devices = copies(variable)
                record["devices"].update(devices)
                record["copies_equal"] &= len(values) == replicas and all(
                    np.array_equal(values[0], v) for v in values)
            record["devices"] = sorted(record["devices"])
            record["emb"] = np.asarray(model.get_layer("emb").embeddings).tolist()
            record["scatter"] = scatter._matrix.tolist()
            record["scatter_frames"], record["table_epoch"] = len(scatter.frame_info), table.epoch
            record["plot"] = plot.history.to_dict()
            self.epochs.append(record)

    probe = Probe()
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=False,
                        callbacks=[*callbacks, writer, probe])
    with open(run_file) as f:
        records = [json.loads(line) for line in f]
    named = {"table": table, "plot": plot, "scatter": scatter, "scatter_batches": scatter_batches}
    errors = {name: widget.error for name, widget in named.items() if widget.error}
    series = {key: plot.history.batch_series(key)[1].tolist() for key in ("loss", "mae")}
    return {"replicas": replicas, "backend": keras.backend.backend(), "errors": errors,
            "history": history.history, "epochs": probe.epochs, "batches": probe.batches,
            "batch_logs": probe.batch_logs, "plot_batches": series, "flushes": flushes,
            "scatter_batch_frames": len(scatter_batches.frame_info), "records": records}


def _run(case: str, env: dict) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", **env}
    proc = subprocess.run([sys.executable, __file__, case], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"the {case} child failed:\n{proc.stderr[-6000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}, f"widget errors: {result['errors']}\n{proc.stderr[-4000:]}"
    return result


def _check(result: dict) -> None:
    assert result["replicas"] == 2
    epochs = result["epochs"]
    assert len(epochs) == EPOCHS
    for record in epochs:
        assert record["copies_equal"], "a variable is not held, identical, on both devices"
        assert len(record["devices"]) == 2, record["devices"]

    # Weights moved every epoch: a widget reading stale weights would fail the comparisons below.
    for before, after in zip(epochs, epochs[1:]):
        assert before["emb"] != after["emb"] and before["flat"]["hidden"] != after["flat"]["hidden"]

    # ModelSummaryTable: one norm and one change per epoch, equal to the model's weights at that epoch end.
    for e, record in enumerate(epochs):
        assert record["table_epoch"] == e + 1
        for name, flat in record["flat"].items():
            flat = np.asarray(flat)
            assert record["table"][name]["norm"] == pytest.approx(np.linalg.norm(flat), rel=1e-12)
            if e == 0:
                assert record["table"][name]["change"] is None
            else:
                previous = np.asarray(epochs[e - 1]["flat"][name])
                change = np.linalg.norm(flat - previous) / np.linalg.norm(previous)
                assert record["table"][name]["change"] == pytest.approx(change, rel=1e-9)

    # EmbeddingScatter: after each epoch it holds exactly the model's embedding matrix, one frame per epoch.
    for e, record in enumerate(epochs):
        assert np.array_equal(np.float32(record["scatter"]), np.float32(record["emb"]))
        assert record["scatter_frames"] == 1 + e + 1  # the initial frame, then one per epoch
    # ... and with batch_interval=0, after every batch (plus the epoch-end frame).
    assert len(result["batches"]) == EPOCHS * STEPS
    for batch in result["batches"]:
        assert np.array_equal(np.float32(batch["scatter"]), np.float32(batch["emb"]))
    assert result["scatter_batch_frames"] == 1 + EPOCHS * (STEPS + 1)

    # TrainingPlot: the epoch curves are Keras's History, batch points are the logs Keras gave callbacks.
    history = result["history"]
    for record, e in zip(epochs, range(EPOCHS)):
        assert record["plot"] == {k: v[: e + 1] for k, v in history.items()}
    for key in ("loss", "mae"):
        assert result["plot_batches"][key] == [logs[key] for logs in result["batch_logs"]]

    # RunWriter (ipyviz.remote): the same logs and weight statistics, written once, by the chief.
    records = result["records"]
    assert [r["type"] for r in records] == ["begin"] + (["batch"] * STEPS + ["epoch"]) * EPOCHS + ["end"]
    written = [r for r in records if r["type"] == "epoch"]
    assert [r["logs"] for r in written] == [{k: v[e] for k, v in history.items()} for e in range(EPOCHS)]
    assert [r["logs"] for r in records if r["type"] == "batch"] == result["batch_logs"]
    for record, epoch in zip(written, epochs):
        assert record["weights"] == epoch["table"]

    # Updates: one at set-up, one per epoch (per batch too for per-batch callbacks), all from the chief.
    counts = {name: len(calls) for name, calls in result["flushes"].items()}
    assert counts == {"table": 1 + EPOCHS, "plot": 1 + EPOCHS * (STEPS + 1), "scatter": 1 + EPOCHS,
                      "scatter_batches": 1 + EPOCHS * (STEPS + 1)}
    for calls in result["flushes"].values():
        assert all(call["main_thread"] and not call.get("replica_context") for call in calls)


def test_mirrored_strategy_on_two_logical_cpus():
    result = _run("tf", {"KERAS_BACKEND": "tensorflow"})
    assert result["backend"] == "tensorflow"
    _check(result)


def test_jax_data_parallel_on_two_host_devices():
    flags = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    result = _run("jax", {"KERAS_BACKEND": "jax", "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"})
    assert result["backend"] == "jax"
    _check(result)


if __name__ == "__main__":
    out = _child(sys.argv[1])
    sys.stdout.write("\n" + json.dumps(out) + "\n")
