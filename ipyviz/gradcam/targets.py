"""Which layer Grad-CAM should look at: found by output shape, named by path.

The target is the last layer whose output still has spatial dimensions before the network flattens or
pools them away (the rule torch-cam uses). Shapes come from one forward pass of a single zero image with
every leaf layer's ``call`` wrapped to note its output shape, in the order the layers really run. So it
works for Functional, Sequential (called or not) and subclassed models alike, on every Keras backend,
needs no private Keras class, and finds layers inside nested models. SeparableConv2D, DepthwiseConv2D, Activation, BatchNorm ...
all qualify: only the shape matters.

A layer is named by its path from the model, ``"backbone/top_conv"`` (Keras forbids ``/`` in names).

Example::

    import keras
    from ipyviz.gradcam.targets import find_target_layer, spatial_layers

    backbone = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="c1"),
                                 keras.layers.SeparableConv2D(4, 3, name="top_conv")], name="backbone")
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    find_target_layer(model)                     # 'backbone/top_conv'
    [c.path for c in spatial_layers(model)]      # ['backbone/top_conv', 'backbone/c1'] (best first)
"""

from __future__ import annotations

import dataclasses
import weakref

import keras
import numpy as np

from ipyviz.gradcam._hooks import wrap_calls
from ipyviz.live import unwrap_model

__all__ = ["find_target_layer", "spatial_layers", "resolve_layer", "layer_paths", "LayerShape"]


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """A layer that ran in the probe pass: its path, class name and output shape (batch of 1)."""

    path: str
    class_name: str
    shape: tuple
    leaf: bool = True


def _sublayers(layer) -> list:
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    flatten = getattr(layer, "_flatten_layers", None)  # plain Layers that hold Layers (custom blocks)
    return list(flatten(include_self=False, recursive=False)) if flatten else []


def layer_paths(model) -> dict:
    """``{path: layer}`` for every layer inside ``model``, depth first (first path wins if shared)."""
    found, seen = {}, set()

    def walk(layer, prefix):
        for sub in _sublayers(layer):
            if id(sub) in seen or isinstance(sub, keras.layers.InputLayer):
                continue
            seen.add(id(sub))
            path = f"{prefix}{sub.name}"
            found[path] = sub
            walk(sub, path + "/")

    walk(model, "")
    return found


def _input_shape(model, input_shape):
    if input_shape is not None:
        return tuple(input_shape)
    try:
        inputs = model.inputs  # Functional, and Sequential built with keras.Input
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        if len(inputs) != 1:
            raise ValueError(f"ipyviz Grad-CAM needs a model with one image input; {model.name!r} has {len(inputs)}")
        return tuple(inputs[0].shape[1:])
    raise ValueError(
        f"cannot tell the input shape of model {model.name!r} (a subclassed or never-built model): "
        "pass input_shape=(height, width, channels), or call gradcam() with images"
    )


_PROBES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _probe(model, input_shape) -> list:
    """Output shapes of the leaf layers, in call order, from one zero image (cached per model)."""
    paths = layer_paths(model)
    key = (tuple(input_shape), tuple(id(layer) for layer in paths.values()))
    cache = _PROBES.setdefault(model, {})
    if key in cache:
        return cache[key]
    path_of = {id(layer): path for path, layer in paths.items()}
    records = []

    def make_hook(layer):
        leaf = not _sublayers(layer)

        def note(output):
            shape = getattr(output, "shape", None)
            if shape is not None:
                records.append(LayerShape(path_of[id(layer)], type(layer).__name__, tuple(shape), leaf))
            return output

        return note

    with wrap_calls(list(paths.values()), make_hook):
        model(np.zeros((1, *input_shape), dtype="float32"), training=False)
    cache.clear()  # only the latest architecture/shape is worth keeping
    cache[key] = records
    return records


def spatial_layers(model, input_shape=None) -> list:
    """Layers that would serve as a Grad-CAM target, best (last to run) first.

    A layer serves when its output has the input's rank and a spatial size other than 1x1, and it
    runs before the first layer that flattens or pools the spatial dims away.
    """
    model = unwrap_model(model)
    input_shape = _input_shape(model, input_shape)
    rank = len(input_shape) + 1
    ordered = {}
    for record in _probe(model, input_shape):
        if not record.leaf:  # a nested model or block: its last spatial leaf is the finer choice
            continue
        spatial = len(record.shape) == rank and any(d != 1 for d in record.shape[1:-1])
        if spatial:
            ordered.pop(record.path, None)  # a layer called twice counts where it last ran
            ordered[record.path] = record
        elif ordered and len(record.shape) < rank:
            break  # flattened or pooled: what comes after is the head
    return list(reversed(ordered.values()))


def find_target_layer(model, input_shape=None) -> str:
    """Path of the default Grad-CAM layer of ``model`` (see the module docstring).

    Raises ``ValueError`` when no layer keeps spatial dims (a model that is not a CNN).
    """
    model = unwrap_model(model)
    candidates = spatial_layers(model, input_shape)
    if not candidates:
        raise ValueError(
            f"model {model.name!r} has no layer whose output keeps spatial dimensions "
            "(height x width > 1) before it is flattened or pooled, so Grad-CAM has nothing to look at; "
            "use method='saliency' for a map of input gradients instead"
        )
    return candidates[0].path


def _choices(model, input_shape) -> str:
    try:
        names = [c.path for c in spatial_layers(model, input_shape)]
    except Exception:  # noqa: BLE001 -- only used to word an error message
        names = []
    return ", ".join(repr(n) for n in names) if names else "(none: the model has no spatial layer)"


def resolve_layer(model, layer, input_shape=None):
    """``(path, layer_object)`` for ``layer`` given as a path, a unique name, a Layer, or ``None``.

    A name or layer that does not exist, or whose output has no spatial dims, raises ``ValueError``
    that lists the layers that would serve.
    """
    model = unwrap_model(model)
    if layer is None:
        path = find_target_layer(model, input_shape)
        return path, layer_paths(model)[path]
    paths = layer_paths(model)
    if isinstance(layer, keras.layers.Layer):
        matches = [p for p, obj in paths.items() if obj is layer]
        what = f"layer object {layer.name!r}"
    elif isinstance(layer, str):
        matches = [layer] if layer in paths else [p for p in paths if p.rsplit("/", 1)[-1] == layer]
        what = f"layer {layer!r}"
    else:
        raise TypeError(f"layer must be a name, a path like 'backbone/conv', a keras Layer or None, got {layer!r}")
    if len(matches) > 1:
        raise ValueError(f"{what} is ambiguous in model {model.name!r}: it could be {matches}; pass the full path")
    if not matches:
        raise ValueError(
            f"{what} is not in model {model.name!r}. Layers that would serve (best first): "
            f"{_choices(model, input_shape)}"
        )
    path = matches[0]
    shapes = {c.path: c for c in _probe(model, _input_shape(model, input_shape))}
    record = shapes.get(path)
    if record is None:
        raise ValueError(
            f"{what} did not run in a forward pass of model {model.name!r}, so it has no activations. "
            f"Layers that would serve (best first): {_choices(model, input_shape)}"
        )
    if record is not None and len(record.shape) != len(_input_shape(model, input_shape)) + 1:
        raise ValueError(
            f"{what} outputs shape {record.shape[1:]} (batch dim dropped), which has no spatial dims for "
            f"Grad-CAM. Layers that would serve (best first): {_choices(model, input_shape)}"
        )
    return path, paths[path]
