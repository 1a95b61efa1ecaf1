"""The callbacks read the *current* weights on every backend (JAX keeps them outside the model
during fit), and a torch ``DataParallel`` wrapper is taken as the Keras model inside it."""

import keras
import numpy as np
import pytest
from keras import layers as L

import ipyviz
from ipyviz import live
from ipyviz.live import unwrap_model

torch_only = pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch.nn.DataParallel needs torch")


class Snapshots(keras.callbacks.Callback):
    """Placed after the ipyviz callback: the weights Keras's own API reports at the same moment."""

    def __init__(self, layer_name):
        super().__init__()
        self.layer_name, self.epochs = layer_name, []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append([w.copy() for w in self.model.get_layer(self.layer_name).get_weights()])


def dense_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), L.Dense(8, activation="relu", name="hidden"), L.Dense(1, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_weight_stats_are_each_epochs_own_weights():
    model = dense_model()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6)), rng.normal(size=(64, 1))
    table = ipyviz.ModelSummaryTable(model)
    snapshots = Snapshots("hidden")
    model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[table.callback(), snapshots])
    norms = [np.linalg.norm(np.concatenate([w.ravel() for w in ws])) for ws in snapshots.epochs]
    recorded = table.weight_stats["hidden"]["norm"]
    np.testing.assert_allclose(recorded, norms, rtol=1e-5)
    assert len(set(np.round(norms, 6))) == 4  # the weights moved every epoch: a stale read could not match
    flat = [np.concatenate([w.ravel() for w in ws]) for ws in snapshots.epochs]
    change = np.linalg.norm(flat[3] - flat[2]) / np.linalg.norm(flat[2])
    np.testing.assert_allclose(table.weight_stats["hidden"]["change"][3], change, rtol=1e-4)


def embedding_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((1,), dtype="int32"), L.Embedding(20, 4, name="emb"), L.Flatten(), L.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    return model


@pytest.mark.parametrize("per_batch", [False, True], ids=["epoch", "batch"])
def test_embedding_frames_show_the_current_weights(per_batch, monkeypatch):
    model = embedding_model()
    x = np.arange(20).reshape(-1, 1).repeat(4, axis=0)
    y = np.linspace(-1, 1, 80).reshape(-1, 1)
    scatter = ipyviz.EmbeddingScatter(model, [f"w{i}" for i in range(20)])
    frames, truth = [], []
    original = scatter.set_embeddings

    def spy(matrix=None, **kwargs):
        # What the callback read, beside what the model holds now. On JAX mid-epoch the variables are
        # empty until a sync (they would read as their initial values), so sync *after* the callback's
        # read: a callback that skipped the sync shows up as a mismatch here.
        frames.append(np.array(matrix, copy=True))
        if hasattr(model, "jax_state_sync"):
            model.jax_state_sync()
        truth.append(model.get_layer("emb").get_weights()[0].copy())
        return original(matrix, **kwargs)

    monkeypatch.setattr(scatter, "set_embeddings", spy)
    # A fresh process-wide message budget: earlier tests may have spent it, and this test is about
    # which weights a flush reads, not how many flushes the budget allows.
    monkeypatch.setattr(live, "message_budget", live.MessageBudget(rate=1000.0))
    snapshots = Snapshots("emb")
    callback = scatter.callback(batch_interval=0.0) if per_batch else scatter.callback()
    model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=[callback, snapshots])
    assert not callback.failed
    assert len(frames) >= (6 if per_batch else 3)  # per batch: mid-epoch frames, not only the 3 epoch ends
    for frame, weights in zip(frames, truth):
        np.testing.assert_allclose(frame, weights, rtol=1e-6)
    if not per_batch:  # one frame per epoch end: exactly that epoch's weights
        for frame, weights in zip(frames, snapshots.epochs):
            np.testing.assert_allclose(frame, weights[0], rtol=1e-6)
    assert not np.allclose(frames[0], frames[-1])  # training moved the rows
    np.testing.assert_allclose(frames[-1], model.get_layer("emb").get_weights()[0], rtol=1e-6)


def test_unwrap_model_leaves_other_objects_alone():
    model = dense_model()
    assert unwrap_model(model) is model and unwrap_model(None) is None and unwrap_model(3) == 3


@torch_only
def test_dataparallel_wrapper_is_taken_as_the_model_inside():
    import torch

    model = dense_model()
    wrapped = torch.nn.DataParallel(model)
    assert unwrap_model(wrapped) is model
    assert ipyviz.summarize(wrapped).to_dict() == ipyviz.summarize(model).to_dict()
    table = ipyviz.ModelSummaryTable(wrapped)
    assert table.model is model and table.summary["total_params"] == model.count_params()

    # A callback handed the wrapper (set_model) works on the model inside.
    callback = table.callback()
    callback.set_model(wrapped)
    callback.set_params({"epochs": 1, "steps": 1})
    assert callback.model is model
    callback.on_train_begin()
    callback.on_epoch_end(0, {"loss": 1.0})
    assert not callback.failed and len(table.weight_stats["hidden"]["norm"]) == 1

    plot = ipyviz.TrainingPlot()
    plot_callback = plot.callback()
    plot_callback.set_model(wrapped)
    assert plot_callback.model is model

    emb = embedding_model()
    scatter = ipyviz.EmbeddingScatter(torch.nn.DataParallel(emb), [f"w{i}" for i in range(20)])
    assert scatter.n_points == 20
    np.testing.assert_allclose(scatter._matrix, emb.get_layer("emb").get_weights()[0])
