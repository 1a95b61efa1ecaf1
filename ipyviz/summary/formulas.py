"""The arithmetic behind each layer's parameter count, read from the layer's real weight shapes.

A formula is built as a tiny expression tree that carries both its text and its value, so the text
can never disagree with the number: :func:`formula` returns the class-specific explanation only when
its value equals the layer's real count, and otherwise the plain sum of the weight shapes.

Notation: ``·`` multiplies the sizes of one weight's axes, ``×`` multiplies groups, ``²`` squares.

Example::

    import keras
    conv = keras.layers.Conv2D(128, 5)
    conv.build((None, 12, 12, 64))
    formula(conv)          # '128 × (5·5·64 + 1)'
    evaluate(formula(conv)) == conv.count_params()   # True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from keras import layers as L

__all__ = ["formula", "evaluate", "generic_formula"]


# -- a tiny expression language -----------------------------------------------------------------
@dataclass(frozen=True)
class Expr:
    text: str
    value: int
    precedence: int  # 3 atom, 2 product, 1 sum

    def wrapped(self, level: int) -> str:
        return f"({self.text})" if self.precedence < level else self.text


def num(n: int) -> Expr:
    return Expr(str(int(n)), int(n), 3)


def dot(*dims: int) -> Expr:
    """The size of one weight: its axes multiplied, ``5·5·64``."""
    if len(dims) == 1:
        return num(dims[0])
    return Expr("·".join(str(int(d)) for d in dims), math.prod(int(d) for d in dims), 2)


def times(a: Expr, b: Expr) -> Expr:
    return Expr(f"{a.wrapped(2)} × {b.wrapped(2)}", a.value * b.value, 2)


def plus(*terms: Expr) -> Expr:
    return Expr(" + ".join(t.wrapped(1) for t in terms), sum(t.value for t in terms), 1)


def square(n: int) -> Expr:
    return Expr(f"{int(n)}²", int(n) ** 2, 3)


def grouped_sum(terms: list[Expr]) -> Expr:
    """``a + a + b`` -> ``2 × a + b``: repeated identical terms are counted, order kept."""
    counts: dict[str, list] = {}
    for term in terms:
        counts.setdefault(term.text, [term, 0])[1] += 1
    parts = [term if n == 1 else times(num(n), term) for term, n in counts.values()]
    return parts[0] if len(parts) == 1 else plus(*parts)


# -- per-layer formulas ---------------------------------------------------------------------------
def _weight_shapes(layer) -> list[tuple]:
    """The shapes of the layer's unique weights (a shared variable counts once)."""
    seen, shapes = set(), []
    for w in layer.weights:
        if id(w) not in seen:
            seen.add(id(w))
            shapes.append(tuple(int(d) for d in w.shape))
    return shapes


def _shapes(layer) -> dict[str, tuple]:
    """Weight shapes by short name (``kernel``, ``bias``, ...) for layers that own them directly."""
    return {w.path.rsplit("/", 1)[-1]: tuple(int(d) for d in w.shape) for w in layer.weights}


def _with_bias(units: Expr | int, fan_in: Expr, bias: bool) -> Expr:
    units = num(units) if isinstance(units, int) else units
    return times(units, plus(fan_in, num(1))) if bias else times(fan_in, units)


def _dense(layer):
    s = _shapes(layer)
    kernel = s["kernel"]
    return _with_bias(kernel[-1], dot(*kernel[:-1]), "bias" in s)


def _conv(layer):
    s = _shapes(layer)
    kernel = s["kernel"]
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        # Transposed kernels are (*k, filters, in): each output filter still sees k·k·in weights.
        *k, filters, fan_in = kernel
    else:
        *k, fan_in, filters = kernel
    return _with_bias(filters, dot(*k, fan_in), "bias" in s)


def _depthwise(layer):
    s = _shapes(layer)
    *k, channels, multiplier = next(v for n, v in s.items() if "kernel" in n)
    return _with_bias(dot(channels, multiplier), dot(*k), "bias" in s)


def _separable(layer):
    s = _shapes(layer)
    *k, channels, multiplier = s["depthwise_kernel"]
    filters = s["pointwise_kernel"][-1]
    return plus(dot(*k, channels, multiplier), _with_bias(filters, dot(channels, multiplier), "bias" in s))


def _embedding(layer):
    return times(*(num(d) for d in _shapes(layer)["embeddings"]))


def _recurrent_cell(shapes: dict) -> Expr:
    fan_in, width = shapes["kernel"]
    units = shapes["recurrent_kernel"][0]
    gates = width // units
    bias = shapes.get("bias")
    # GRU's default reset_after=True keeps two biases per gate: its bias is (2, 3·units).
    bias_rows = 0 if bias is None else (bias[0] if len(bias) == 2 else 1)
    inputs = num(fan_in) if bias_rows == 0 else plus(num(fan_in), num(bias_rows))
    cell = plus(times(inputs, num(units)) if bias_rows else times(num(fan_in), num(units)), square(units))
    return cell if gates == 1 else times(num(gates), cell)


def _rnn(layer):
    return _recurrent_cell(_shapes(layer))


def _bidirectional(layer):
    forward, backward = formula(layer.forward_layer), formula(layer.backward_layer)
    if forward == backward:
        return times(num(2), _parse(forward))
    return plus(_parse(forward), _parse(backward))


def _same_shape_vectors(layer):
    """BatchNorm (γ, β, moving mean, moving variance), LayerNorm (γ, β): ``4 × 64``."""
    shapes = _weight_shapes(layer)
    if len(set(shapes)) != 1:
        return None
    return times(num(len(shapes)), dot(*shapes[0]))


def _attention(layer):
    terms = []
    for part in ("query", "key", "value", "output"):
        sub = getattr(layer, f"_{part}_dense", None)
        if sub is None:
            return None
        terms.append(_dense_like(sub))
    return grouped_sum(terms) if all(terms) else None


def _dense_like(layer):
    """EinsumDense and friends: kernel (in..., out...) and a bias shaped like the outputs."""
    s = _shapes(layer)
    kernel, bias = s.get("kernel"), s.get("bias")
    if kernel is None:
        return None
    if bias is None:
        return dot(*kernel)
    n_out = len(bias)
    if kernel[len(kernel) - n_out :] != bias:
        return None
    return _with_bias(dot(*bias), dot(*kernel[: len(kernel) - n_out]), True)


# Most specific classes first: SeparableConv and DepthwiseConv are not Conv subclasses in Keras 3,
# but the transposed convolutions are.
_RULES = [
    ((L.SeparableConv1D, L.SeparableConv2D), _separable),
    ((L.DepthwiseConv1D, L.DepthwiseConv2D), _depthwise),
    ((L.Conv1D, L.Conv2D, L.Conv3D, L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose), _conv),
    ((L.Dense,), _dense),
    ((L.EinsumDense,), _dense_like),
    ((L.Embedding,), _embedding),
    ((L.SimpleRNN, L.LSTM, L.GRU), _rnn),
    ((L.Bidirectional,), _bidirectional),
    ((L.MultiHeadAttention,), _attention),
    ((L.BatchNormalization, L.LayerNormalization, L.GroupNormalization), _same_shape_vectors),
]


def generic_formula(layer) -> str:
    """The sum of the layer's unique weight shapes, ``3·3·4·2 + 8``; ``0`` for no weights."""
    shapes = _weight_shapes(layer)
    if not shapes:
        return "0"
    return grouped_sum([dot(*shape) if shape else num(1) for shape in shapes]).text


def formula(layer) -> str:
    """Explain ``layer``'s parameter count as arithmetic whose value is exactly its count."""
    count = sum(math.prod(shape) for shape in _weight_shapes(layer))
    for classes, rule in _RULES:
        if isinstance(layer, classes):
            try:
                expr = rule(layer)
            except (KeyError, ValueError, IndexError, StopIteration, AttributeError):
                expr = None  # an unusual subclass: its own weights decide, below
            if expr is not None and expr.value == count:
                return expr.text
            break
    return generic_formula(layer)


# -- reading a formula back -----------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(\d+|[+×·()²])")


def _parse(text: str) -> Expr:
    """Parse a formula back into an :class:`Expr` (used to nest Bidirectional's inner formulas)."""
    return Expr(text, evaluate(text), 1 if "+" in _strip_parens(text) else 2)


def _strip_parens(text: str) -> str:
    depth, out = 0, []
    for ch in text:
        depth += ch == "("
        if depth == 0:
            out.append(ch)
        depth -= ch == ")"
    return "".join(out)


def evaluate(text: str) -> int:
    """The integer value of a formula (``+``, ``×``, ``·``, ``²``, parentheses). Raises on anything else."""
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"unexpected character {text[pos]!r} in formula {text!r}")
        tokens.append(match.group(1))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1

    def expr(i):
        value, i = term(i)
        while i < len(tokens) and tokens[i] == "+":
            rhs, i = term(i + 1)
            value += rhs
        return value, i

    def term(i):
        value, i = factor(i)
        while i < len(tokens) and tokens[i] in "×·":
            rhs, i = factor(i + 1)
            value *= rhs
        return value, i

    def factor(i):
        if tokens[i] == "(":
            value, i = expr(i + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise ValueError(f"unbalanced parentheses in formula {text!r}")
            i += 1
        elif tokens[i].isdigit():
            value, i = int(tokens[i]), i + 1
        else:
            raise ValueError(f"unexpected {tokens[i]!r} in formula {text!r}")
        while i < len(tokens) and tokens[i] == "²":
            value, i = value * value, i + 1
        return value, i

    value, end = expr(0)
    if end != len(tokens):
        raise ValueError(f"trailing {tokens[end]!r} in formula {text!r}")
    return value
