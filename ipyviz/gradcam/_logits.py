"""Logits without touching the model, on JAX and torch: tap Keras's softmax/sigmoid while it runs.

A saturated softmax has zero gradients, so Grad-CAM scores must be read *before* the model's final
softmax or sigmoid. TensorFlow keeps a graph to walk back through (``backends/tensorflow.py``); JAX
traces and torch runs eagerly, with nothing to walk. So for the duration of one forward pass, Keras's
backend ``softmax``/``sigmoid`` functions are wrapped to note ``(output, input)`` pairs, and afterwards
the model's output is looked up *by identity* among the outputs noted: if it is one, its input holds
the logits. This sees every softmax/sigmoid that goes through Keras (``activation="softmax"`` on any
layer, ``Activation``/``Softmax`` layers, ``keras.ops.softmax`` inside a subclassed ``call``); a raw
``jax.nn.softmax``/``torch.softmax`` in user code is not seen, and the output is then treated as
scores as it is (``CamResult.from_logits`` says which happened).

The wrappers only record and call the original; they are installed while at least one tap is open
(a lock and a count, so nested or concurrent taps are safe) and removed afterwards, and they record
only for the thread that opened the tap. No layer, weight or activation attribute is changed.

Example::

    import keras, numpy as np
    from ipyviz.gradcam._logits import tap

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    with tap() as logits_of:
        y = model(np.ones((2, 4), "float32"))
    logits_of(y).shape            # (2, 3): the Dense output before its softmax
"""

from __future__ import annotations

import contextlib
import importlib
import threading

__all__ = ["tap"]

_NAMES = ("softmax", "sigmoid")
_LOCK = threading.Lock()
_LOCAL = threading.local()  # .stack: the open taps of this thread (innermost last)
_STATE = {"depth": 0, "saved": {}}


def _backend_nn():
    # Keras ops call ``keras.src.backend.nn.<name>`` at call time, so wrapping it there is seen by all.
    try:
        return importlib.import_module("keras.src.backend").nn
    except (ImportError, AttributeError):  # another Keras layout: no tap, scores as they are
        return None


def _recording(original):
    def tapped(x, *args, **kwargs):
        out = original(x, *args, **kwargs)
        stack = getattr(_LOCAL, "stack", None)
        if stack:
            stack[-1].append((out, x))
        return out

    tapped.__wrapped__ = original
    return tapped


def _install():
    nn = _backend_nn()
    with _LOCK:
        _STATE["depth"] += 1
        if _STATE["depth"] == 1 and nn is not None:
            for name in _NAMES:
                original = getattr(nn, name, None)
                if original is not None:
                    _STATE["saved"][name] = original
                    setattr(nn, name, _recording(original))


def _uninstall():
    nn = _backend_nn()
    with _LOCK:
        _STATE["depth"] -= 1
        if _STATE["depth"] == 0:
            for name, original in _STATE["saved"].items():
                setattr(nn, name, original)
            _STATE["saved"].clear()


@contextlib.contextmanager
def tap():
    """Within the block, Keras's softmax/sigmoid are noted; yields ``logits_of(y) -> input or None``."""
    seen = []
    stack = _LOCAL.__dict__.setdefault("stack", [])
    stack.append(seen)
    _install()
    try:
        yield lambda y: next((x for out, x in reversed(seen) if out is y), None)
    finally:
        del stack[next(i for i in range(len(stack) - 1, -1, -1) if stack[i] is seen)]  # by identity
        _uninstall()
