"""ipyviz: Jupyter widgets that show what happens inside a Keras 3 model while it trains.

Example::

    import ipyviz, keras
    model = keras.Sequential([keras.Input((30, 30, 1)), keras.layers.Conv2D(64, 7)])
    ipyviz.summarize(model).total_params      # 3200
    ipyviz.ModelSummaryTable(model)           # the interactive table, in a notebook

Names are imported lazily so that ``import ipyviz`` stays cheap until a widget is used.
"""

from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {
    "summarize": "ipyviz.summary.rows",
    "ModelSummary": "ipyviz.summary.rows",
    "LayerRow": "ipyviz.summary.rows",
    "ModelSummaryTable": "ipyviz.summary.widget",
    "TrainingPlot": "ipyviz.training.plot",
    "find_target_layer": "ipyviz.gradcam.targets",
    "GradCamViewer": "ipyviz.gradcam.widget",
    "EmbeddingScatter": "ipyviz.embedding.widget",
}

__all__ = sorted([*_PUBLIC, "gradcam"]) + ["__version__", "load_ipython_extension"]


def __getattr__(name):
    if name == "gradcam":
        # The package ipyviz.gradcam is callable (it calls ipyviz.gradcam.engine.gradcam), so the name
        # means the same thing whether or not a submodule was imported first.
        return import_module("ipyviz.gradcam")
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ipyviz' has no attribute {name!r}")


def __dir__():
    return __all__


def load_ipython_extension(ipython):
    """``%load_ext ipyviz``: registers the ``%gradcam`` magic (imported only now; safe to reload)."""
    from ipyviz.gradcam.magic import register

    register(ipython)
