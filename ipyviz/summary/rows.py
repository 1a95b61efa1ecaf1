"""A Keras model as a list of summary rows: pure Python, no Jupyter needed.

Example::

    import keras, ipyviz
    model = keras.Sequential([
        keras.Input((30, 30, 1)),
        keras.layers.Conv2D(64, 7), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(128),
    ])
    summary = ipyviz.summarize(model)
    summary.rows[0].formula       # '64 × (7·7·1 + 1)'
    summary.total_params          # 3200 + 1179776
    print(summary.to_text())
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import keras
import numpy as np

from ipyviz.live import unwrap_model
from ipyviz.summary.formulas import formula
from ipyviz.summary.macs import layer_macs

__all__ = ["LayerRow", "ModelSummary", "summarize"]

Shape = tuple | list | None


@dataclass
class LayerRow:
    """One line of the summary. ``depth > 0`` rows belong to the nested model named by ``parent``."""

    name: str
    class_name: str
    depth: int
    output_shape: Shape
    params: int | None
    trainable_params: int | None
    formula: str | None
    path: str = ""
    parent: str | None = None
    trainable: bool = True
    is_container: bool = False
    macs: int | None = None
    weight_bytes: int = 0


@dataclass
class ModelSummary:
    """What :func:`summarize` returns. ``state`` is ``"built"`` or ``"unbuilt"`` (see ``message``)."""

    model_name: str
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int | None = None
    trainable_params: int | None = None
    non_trainable_params: int | None = None
    optimizer_params: int = 0
    weight_bytes: int = 0
    total_macs: int | None = None
    state: str = "built"
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def _table(self) -> list[list[str]]:
        header = ["Layer (type)", "Output shape", "Params", "Formula"]
        body = [
            [
                "  " * row.depth + f"{row.name} ({row.class_name})",
                format_shape(row.output_shape),
                "?" if row.params is None else f"{row.params:,}",
                row.formula or "",
            ]
            for row in self.rows
        ]
        return [header, *body]

    def _totals(self) -> list[str]:
        if self.state != "built":
            return [self.message]
        return [
            f"Total params: {self.total_params:,} ({format_bytes(self.weight_bytes)})",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Optimizer params: {self.optimizer_params:,}",
        ]

    def to_text(self) -> str:
        """A fixed-width table (never truncates a column)."""
        table = self._table()
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines = [f'Model: "{self.model_name}"']
        for n, row in enumerate(table):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            if n == 0:
                lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        return "\n".join(lines + [""] + self._totals())

    def to_markdown(self) -> str:
        """A Markdown table with the totals below it (pipes in names are escaped)."""
        table = self._table()

        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        lines = [line(table[0]), "|" + "---|" * len(table[0])] + [line(r) for r in table[1:]]
        return "\n".join(lines + [""] + [f"- {t}" for t in self._totals()])


def format_shape(shape: Shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(format_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


# -- reading the model ----------------------------------------------------------------------------
def _check_model(model) -> None:
    if isinstance(model, keras.Model):
        return
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if isinstance(model, keras.layers.Layer):
        raise TypeError(
            f"summarize() expects a keras.Model, got the layer {model.name!r} ({type(model).__name__}). "
            "Wrap it: keras.Sequential([keras.Input(shape), layer])."
        )
    if kind.startswith(("tf_keras.", "tensorflow.python.keras", "keras.engine", "tensorflow.keras")):
        raise TypeError(
            f"summarize() got a Keras 2 (tf.keras / tf_keras) object, {kind}. ipyviz needs Keras 3: "
            "build the model with `import keras` (keras>=3) instead of `tf.keras` / `tf_keras`."
        )
    if kind.startswith("torch."):
        raise TypeError(f"summarize() got a PyTorch object, {kind}; it expects a Keras 3 keras.Model.")
    raise TypeError(f"summarize() expects a keras.Model, got {kind}.")


def _unique(variables) -> list:
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _size(variables) -> int:
    return sum(math.prod(int(d) for d in v.shape) for v in variables)


def _bytes(variables) -> int:
    return sum(math.prod(int(d) for d in v.shape) * _itemsize(v.dtype) for v in variables)


def _itemsize(dtype) -> int:
    name = keras.backend.standardize_dtype(dtype)
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


def _shape_of(tensors) -> Shape:
    flat = keras.tree.flatten(tensors)
    shapes = [tuple(None if d is None else int(d) for d in t.shape) for t in flat]
    return shapes[0] if len(shapes) == 1 else shapes


def output_shape(layer) -> Shape:
    """Node 0's output shape (``None`` batch dim), a list for several outputs, ``None`` if unknown."""
    try:
        return _shape_of(layer.output)
    except (AttributeError, ValueError, RuntimeError):
        return None  # a layer of a subclassed model: it has no symbolic graph


def input_shape(layer) -> Shape:
    try:
        return _shape_of(layer.input)
    except (AttributeError, ValueError, RuntimeError):
        return None


def _is_built(model) -> bool:
    return bool(model.built) and all(layer.built for layer in model.layers)


_UNBUILT = (
    "The model {name!r} is not built yet, so its layers have no weights to count. Build it first: "
    "start a Sequential with keras.Input(shape=...), call model.build((None, ...)), "
    "or call the model once on a batch of data."
)


def _rows(model, depth: int, parent: str | None, built: bool) -> list[LayerRow]:
    rows = []
    for layer in model.layers:
        path = layer.name if parent is None else f"{parent}/{layer.name}"
        container = isinstance(layer, keras.Model)
        weights = _unique(layer.weights)
        row = LayerRow(
            name=layer.name,
            class_name=type(layer).__name__,
            depth=depth,
            output_shape=output_shape(layer) if built else None,
            params=_size(weights) if built else None,
            trainable_params=_size(_unique(layer.trainable_weights)) if built else None,
            formula=None,
            path=path,
            parent=parent,
            trainable=bool(layer.trainable),
            is_container=container,
            weight_bytes=_bytes(weights),
        )
        if built and not container:
            row.formula = formula(layer)
            row.macs = layer_macs(layer, input_shape(layer), row.output_shape)
        rows.append(row)
        if container:
            children = _rows(layer, depth + 1, path, built)
            row.macs = _sum_known(c.macs for c in children if c.depth == depth + 1)
            if built:
                row.formula = " + ".join(str(c.params) for c in children if c.depth == depth + 1 and c.params)
            rows.extend(children)
    return rows


def _sum_known(values):
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def summarize(model) -> ModelSummary:
    """Summarize a Keras 3 model: one :class:`LayerRow` per layer, nested models expanded, totals.

    Shared layers and shared weights are counted once in the totals. An unbuilt model gives
    ``state="unbuilt"`` and a ``message`` saying how to build it, not an error. Works on every
    Keras backend; on torch a ``torch.nn.DataParallel`` wrapper is summarized as the model inside.
    """
    model = unwrap_model(model)
    _check_model(model)
    built = _is_built(model)
    summary = ModelSummary(model_name=model.name, rows=_rows(model, 0, None, built))
    if not built:
        summary.state = "unbuilt"
        summary.message = _UNBUILT.format(name=model.name)
        return summary
    weights = _unique(model.weights)
    summary.total_params = _size(weights)
    summary.trainable_params = _size(_unique(model.trainable_weights))
    summary.non_trainable_params = summary.total_params - summary.trainable_params
    summary.weight_bytes = _bytes(weights)
    summary.total_macs = _sum_known(r.macs for r in summary.rows if r.depth == 0)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        summary.optimizer_params = _size(optimizer.variables)
    return summary
