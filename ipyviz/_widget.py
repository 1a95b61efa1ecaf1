"""What every ipyviz anywidget shares: its bundle in ``ipyviz/static`` and an ``error`` trait."""

from __future__ import annotations

import pathlib

import anywidget
import traitlets

STATIC = pathlib.Path(__file__).parent / "static"


def bundle(name: str, suffix: str = ".js") -> pathlib.Path:
    """Path of the built front-end bundle ``ipyviz/static/<name><suffix>`` (made by ``npm run build``)."""
    path = STATIC / f"{name}{suffix}"
    if not path.exists():
        raise FileNotFoundError(
            f"ipyviz's front-end bundle {path} is missing. Install the package with "
            "`pip install -e .` (it runs `npm ci && npm run build`) or run `npm run build`."
        )
    return path


class Widget(anywidget.AnyWidget):
    """Base class: an ``error`` trait that the views show once, as text, above their content."""

    error = traitlets.Unicode("").tag(sync=True)
