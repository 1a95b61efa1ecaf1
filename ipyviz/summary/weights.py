"""Per-layer weight statistics: the L2 norm of each layer's trainable weights and its relative change.

Pure computation (no widget): ``ModelSummaryTable.callback()`` and ``ipyviz.remote.RunWriter`` both
record these numbers at epoch ends.

Example::

    import keras
    from ipyviz.summary.weights import weight_stats

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    previous = {}
    weight_stats(model, previous)     # {'d': {'norm': ..., 'change': None}}; previous now holds d's weights
    weight_stats(model, previous)     # {'d': {'norm': ..., 'change': 0.0}}
"""

from __future__ import annotations

import keras
import numpy as np

from ipyviz._layers import leaf_layers

__all__ = ["weight_stats"]


def weight_stats(model, previous: dict) -> dict[str, dict]:
    """``{layer path: {"norm": float, "change": float | None}}`` for layers with trainable weights.

    ``change`` is ``‖w − w_prev‖ / ‖w_prev‖`` against ``previous[path]`` (``None`` the first time a
    layer is seen); ``previous`` is updated in place with the weights just read. Pass the model as a
    callback's ``self.model``: on JAX that syncs the trainer's state into the variables first.
    """
    stats = {}
    for path, layer in leaf_layers(model).items():
        # convert_to_numpy: one host copy per weight, from any backend's tensors (a torch GPU one too)
        values = [np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float64).ravel()
                  for w in layer.trainable_weights]
        if not values:
            continue
        flat = np.concatenate(values)
        before = previous.get(path)
        change = None if before is None else float(np.linalg.norm(flat - before) / max(np.linalg.norm(before), 1e-12))
        previous[path] = flat
        stats[path] = {"norm": float(np.linalg.norm(flat)), "change": change}
    return stats
