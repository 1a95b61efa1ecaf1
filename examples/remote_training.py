"""Train somewhere else, watch in the notebook: the training side of ``ipyviz.remote``.

On the training machine (a batch job, a container, a cluster node; no Jupyter needed)::

    python examples/remote_training.py /shared/runs/mlp.jsonl --epochs 30

In the notebook (the file reachable through a shared file system, or copied over with rsync)::

    import ipyviz
    from ipyviz.remote import follow
    from remote_training import build_model      # this file: the same architecture, for the table

    plot, table = ipyviz.TrainingPlot(), ipyviz.ModelSummaryTable(build_model())
    display(plot, table)
    follower = follow("/shared/runs/mlp.jsonl", plot, table)   # live until follower.stop()

The data are synthetic (nothing is downloaded).
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from ipyviz.remote import RunWriter


def build_model() -> keras.Model:
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="out")], name="mlp")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def train(path, epochs: int = 30, callbacks=(), seed: int = 0) -> keras.callbacks.History:
    """Fit a small regression MLP, appending its logs and weight statistics to ``path``."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 + 0.1 * rng.normal(size=(512, 1))).astype("float32")
    return build_model().fit(x, y, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0,
                             callbacks=[RunWriter(path, batch_interval=0.5, weights=True), *callbacks])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the JSON-lines file to append to (its folder must exist)")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    history = train(args.path, args.epochs)
    print(f"{args.epochs} epochs, final loss {history.history['loss'][-1]:.4f}; logs in {args.path}")
