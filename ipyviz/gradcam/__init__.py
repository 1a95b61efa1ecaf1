"""Grad-CAM for Keras 3: the engine (``gradcam``, ``find_target_layer``), ``GradCamViewer``, ``%gradcam``.

Runs with ``KERAS_BACKEND`` set to ``tensorflow``, ``jax`` or ``torch``: the CAM maths is written once in
``keras.ops`` (``methods.py``, ``engine.py``) and the gradients come from each backend's own machinery
(``backends/``).

``ipyviz.gradcam`` is both this package and the function: calling the package calls
:func:`ipyviz.gradcam.engine.gradcam`, so ``ipyviz.gradcam(model, images)`` works whichever was
imported first (importing a submodule would otherwise rebind the name to the package).

Example::

    import ipyviz.gradcam
    maps = ipyviz.gradcam(model, images)            # same as ipyviz.gradcam.gradcam(model, images)
"""

import sys
import types

__all__ = ["gradcam", "find_target_layer", "is_empty", "CamResult", "GradCamViewer"]

_LAZY = {
    "gradcam": "ipyviz.gradcam.engine",
    "is_empty": "ipyviz.gradcam.engine",
    "CamResult": "ipyviz.gradcam.engine",
    "find_target_layer": "ipyviz.gradcam.targets",
    "GradCamViewer": "ipyviz.gradcam.widget",
}


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from ipyviz.gradcam.engine import gradcam

        return gradcam(*args, **kwargs)

    def __getattr__(self, name):
        if name in _LAZY:
            from importlib import import_module

            return getattr(import_module(_LAZY[name]), name)
        raise AttributeError(f"module 'ipyviz.gradcam' has no attribute {name!r}")


sys.modules[__name__].__class__ = _CallablePackage
