"""``%gradcam``: a GradCamViewer from one line in a notebook.

Example (in a notebook)::

    %load_ext ipyviz
    %gradcam model x_test[:10]
    %gradcam model x_test --layer backbone/top_conv --method gradcam++ -n 8 --labels y_test[:8]
    %gradcam model x_test[:4] --classes 3,3,5,None --names class_names
    viewer = %gradcam model x_test[:10]        # keep it to pass viewer.callback() to fit()

Expressions are evaluated in the notebook's namespace and may contain brackets, quotes and spaces
(``x[y == 3]``). A wrong option (``--layer nope``) is refused with a message naming it and the layers
that would serve. ``register`` only (re)binds the magic, so ``%reload_ext ipyviz`` is harmless.
"""

from __future__ import annotations

from IPython.core.error import UsageError

__all__ = ["register", "gradcam_magic", "parse"]

DEFAULT_N = 16
_VALUED = {"--layer": "layer", "--method": "method", "--classes": "classes", "-n": "n", "--labels": "labels",
           "--names": "names", "--output": "output", "--top-k": "top_k"}
USAGE = ("usage: %gradcam MODEL IMAGES [--layer NAME] [--method gradcam|gradcam++|layercam|scorecam|saliency] "
         "[--classes 1,2,3 | EXPR] [-n N] [--labels EXPR] [--names EXPR] [--output NAME] [--top-k K]")


def _tokens(line: str) -> list:
    """Split on spaces outside brackets and quotes: ``x[y == 3]`` stays one expression."""
    tokens, current, depth, quote = [], "", 0, None
    for ch in line:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch in "([{":
            depth += 1
            current += ch
        elif ch in ")]}":
            depth -= 1
            current += ch
        elif ch.isspace() and depth <= 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += ch
    if quote or depth > 0:
        raise UsageError(f"unbalanced brackets or quotes in: {line!r}\n{USAGE}")
    if current:
        tokens.append(current)
    return tokens


def parse(line: str) -> dict:
    """``{"model": expr, "images": expr, option: text}`` from a ``%gradcam`` line (not yet evaluated)."""
    options, positional = {}, []
    tokens = _tokens(line)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, value = token.partition("=")
        if token.startswith("-") and (token in _VALUED or (eq and name in _VALUED)):
            key = _VALUED[name if eq else token]
            if not eq:
                if i + 1 >= len(tokens):
                    raise UsageError(f"{token} needs a value\n{USAGE}")
                i += 1
                value = tokens[i]
            options[key] = value
        elif token.startswith("--") or token in ("-h",):
            raise UsageError(f"unknown option {token!r}\n{USAGE}")
        else:
            positional.append(token)
        i += 1
    if len(positional) < 2:
        raise UsageError(f"%gradcam needs a model and images\n{USAGE}")
    return {"model": positional[0], "images": " ".join(positional[1:]), **options}


def _classes(text, evaluate):
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [None if p in ("None", "") else int(p) for p in parts]
    except ValueError:
        return evaluate(text, "--classes")
    return values[0] if len(values) == 1 and values[0] is not None else values


def gradcam_magic(line: str, ipython):
    """Build a GradCamViewer from ``%gradcam MODEL IMAGES [options]`` (see the module docstring)."""
    from ipyviz.gradcam.widget import GradCamViewer

    args = parse(line)

    def evaluate(expr, what):
        try:
            return ipython.ev(expr)
        except Exception as error:  # noqa: BLE001 -- say which argument failed
            raise UsageError(f"%gradcam could not evaluate {what} {expr!r}: {type(error).__name__}: {error}") from None

    model = evaluate(args["model"], "the model")
    images = evaluate(args["images"], "the images")
    try:
        n = int(args.get("n", DEFAULT_N))
    except ValueError:
        raise UsageError(f"-n must be a number of images, got {args['n']!r}") from None
    if n < 1:
        raise UsageError(f"-n must be at least 1, got {n}")
    total = len(images)
    if total > n:
        print(f"%gradcam: showing the first {n} of {total} images (-n to change)")
        images = images[:n]
    labels = evaluate(args["labels"], "--labels") if "labels" in args else None
    if labels is not None and len(labels) > len(images):
        labels = labels[: len(images)]  # the same images: the labels were given for the whole array
    names = evaluate(args["names"], "--names") if "names" in args else None
    top_k = args.get("top_k")
    output = args.get("output")
    if output is not None and output.lstrip("-").isdigit():
        output = int(output)
    try:
        viewer = GradCamViewer(model, images, labels=labels, class_names=names, layer=args.get("layer"),
                               method=args.get("method", "gradcam"), output=output,
                               top_k=int(top_k) if top_k is not None else None)
        if "classes" in args:
            classes = _classes(args["classes"], evaluate)
            if isinstance(classes, int):
                classes = [classes] * len(images)
            viewer.show_classes(list(classes))
    except (ValueError, TypeError) as error:
        raise UsageError(f"%gradcam: {error}") from None
    return viewer


def register(ipython) -> None:
    """Bind ``%gradcam`` in ``ipython`` (re-binding on ``%reload_ext`` replaces the old one)."""

    def gradcam(line):
        return gradcam_magic(line, ipython)

    gradcam.__doc__ = __doc__
    ipython.register_magic_function(gradcam, magic_kind="line", magic_name="gradcam")
