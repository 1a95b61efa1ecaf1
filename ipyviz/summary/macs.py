"""Multiply-accumulate counts per sample, for the layers where they are well defined.

A MAC is one ``a * b + c``. Counts are per sample (batch dim dropped) and ``None`` where a layer's
cost is not a fixed number of MACs (pooling, activations, attention over a variable length, ...).

Example::

    import keras
    dense = keras.layers.Dense(128)
    dense.build((None, 256))
    layer_macs(dense, (None, 256), (None, 128))    # 32768
"""

from __future__ import annotations

import math

from keras import layers as L

__all__ = ["layer_macs"]


def _known(shape) -> bool:
    return isinstance(shape, tuple) and all(d is not None for d in shape[1:])


def _positions(shape) -> int:
    """Output positions per sample: every axis but the batch and the channel axis."""
    return math.prod(shape[1:-1])


def layer_macs(layer, input_shape, output_shape) -> int | None:
    """MACs per sample of ``layer`` for the given (batch-first, channels-last) shapes, or ``None``."""
    if not (_known(input_shape) and _known(output_shape)):
        return None
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return None  # the shapes below assume channels last; better no number than a wrong one
    weights = {w.path.rsplit("/", 1)[-1]: tuple(w.shape) for w in layer.weights}
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        *k, channels, mult = weights["depthwise_kernel"]
        depthwise = _positions(output_shape) * math.prod(k) * channels * mult
        return depthwise + _positions(output_shape) * channels * mult * output_shape[-1]
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        return _positions(output_shape) * math.prod(weights["kernel"])
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        # Every input position scatters its k·k·filters products.
        return _positions(input_shape) * math.prod(weights["kernel"])
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        return _positions(output_shape) * math.prod(weights["kernel"])
    if isinstance(layer, L.Dense):
        return math.prod(input_shape[1:-1]) * math.prod(weights["kernel"])
    if isinstance(layer, (L.SimpleRNN, L.LSTM, L.GRU)):
        steps = input_shape[1]
        return steps * (math.prod(weights["kernel"]) + math.prod(weights["recurrent_kernel"]))
    if isinstance(layer, L.Embedding):
        return 0  # a lookup: no arithmetic
    return None
