"""Walking a model's layers with the paths ipyviz shows everywhere (``backbone/conv1``)."""

from __future__ import annotations


def leaf_layers(model, prefix: str | None = None) -> dict:
    """``{path: layer}`` for every layer that is not itself a model, nested models walked in order.

    Example::

        import keras
        inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")], name="inner")
        outer = keras.Sequential([keras.Input((4,)), inner])
        list(leaf_layers(outer))          # ['inner/d']
    """
    import keras

    out = {}
    for layer in model.layers:
        path = layer.name if prefix is None else f"{prefix}/{layer.name}"
        if isinstance(layer, keras.Model):
            out.update(leaf_layers(layer, path))
        else:
            out[path] = layer
    return out
