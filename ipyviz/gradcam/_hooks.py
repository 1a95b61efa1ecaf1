"""Temporarily wrap a layer's ``call`` to see its output, and always put it back.

This is how the engine reads an inner layer's activations without building a sub-model: building
``keras.Model(model.inputs, [layer.output, model.output])`` fails on nested backbones ("Graph
disconnected") and on Sequential models that were never called. Wrapping ``call`` works wherever the
layer sits, because every Keras call path (Functional graph, Sequential, subclassed ``call``, nested
models) ends in ``layer.call``.

The wrapper is an *instance* attribute set with ``object.__setattr__`` (so Keras's attribute tracker
never sees it) and removed in a ``finally``: nothing stays patched, even when the forward pass raises.

Example::

    import keras, numpy as np
    from ipyviz.gradcam._hooks import wrap_call

    conv = keras.layers.Conv2D(2, 3)
    model = keras.Sequential([keras.Input((8, 8, 1)), conv, keras.layers.Flatten()])
    seen = []
    with wrap_call(conv, lambda out: seen.append(out.shape) or out):
        model(np.zeros((1, 8, 8, 1)))
    seen            # [TensorShape([1, 6, 6, 2])]
    "call" in vars(conv)   # False: restored
"""

from __future__ import annotations

import contextlib

_MISSING = object()


def _method_name(layer) -> str:
    # A quantized layer runs ``quantized_call`` instead of ``call`` (see keras Layer.__call__).
    policy = getattr(layer, "dtype_policy", None)
    if getattr(policy, "quantization_mode", None) is not None and hasattr(layer, "quantized_call"):
        return "quantized_call"
    return "call"


@contextlib.contextmanager
def wrap_call(layer, on_output):
    """Within the block, ``layer``'s output passes through ``on_output(output) -> output``;
    ``on_output=None`` wraps nothing (a pass that needs no hook)."""
    with wrap_calls([layer] if on_output is not None else [], lambda _layer: on_output):
        yield


@contextlib.contextmanager
def wrap_calls(layers, make_hook):
    """Wrap several layers at once; ``make_hook(layer)`` returns that layer's ``on_output``."""
    saved = []
    try:
        for layer in layers:
            name = _method_name(layer)
            saved.append((layer, name, layer.__dict__.get(name, _MISSING)))
            object.__setattr__(layer, name, _wrapped(getattr(layer, name), make_hook(layer)))
        yield
    finally:
        for layer, name, previous in reversed(saved):
            if previous is _MISSING:
                object.__delattr__(layer, name)
            else:
                object.__setattr__(layer, name, previous)


def _wrapped(original, on_output):
    def call(*args, **kwargs):
        return on_output(original(*args, **kwargs))

    return call
