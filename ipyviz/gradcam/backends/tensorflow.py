"""The TensorFlow step: a ``GradientTape`` inside one ``tf.function`` (see ``backends/__init__.py``).

The traced graph keeps reading the model's variables, so the same function serves every epoch of a
``fit()``; the batch dimension is ``None``, so every batch size reuses one trace. Logits are found by
walking the graph back from the output to the Softmax/Sigmoid op that made it.
"""

from __future__ import annotations


import tensorflow as tf

from ipyviz.gradcam._hooks import wrap_call

__all__ = ["Step"]


def _activation_input(tensor):
    """The input of the softmax/sigmoid that produced ``tensor`` (through Identity/Cast), or None."""
    logits = getattr(tensor, "_keras_logits", None)  # Keras's TF backend tags its softmax/sigmoid
    if logits is not None:
        return logits
    for _ in range(8):
        op = getattr(tensor, "op", None)
        if op is None:
            return None
        if op.type in ("Softmax", "Sigmoid"):
            return op.inputs[0]
        if op.type not in ("Identity", "Cast", "IdentityN"):
            return None
        tensor = op.inputs[0]
    return None


def _map(fn, xs):
    return tf.map_fn(fn, xs, fn_output_signature=tf.float32)


class Step:
    """``step(images, classes)`` -> numpy (maps, empty, classes, probabilities); traced once, now."""

    def __init__(self, plan):
        self._plan = plan
        self.traces = 0
        signature = [tf.TensorSpec((None, *plan.image_shape), tf.float32), tf.TensorSpec((None,), tf.int32)]
        self.function = tf.function(self._run, input_signature=signature)
        self.function.get_concrete_function()  # trace now: fills plan.info, surfaces errors early

    def _forward(self, images, hook=None):
        plan = self._plan
        with wrap_call(plan.layer, hook):
            return plan.model(images, training=False)

    def _run(self, images, classes):
        self.traces += 1  # Python side effect: runs once per trace
        plan, wrt = self._plan, self._plan.method.gradients
        captured = []
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            if wrt == "input":
                tape.watch(images)

            def capture(output):
                if wrt == "layer":
                    tape.watch(output)
                captured.append(output)
                return output

            outputs = self._forward(images, capture if plan.method.needs_layer else None)
            scores = plan.scores(outputs, classes, _activation_input)
        activations = plan.activation(captured) if plan.method.needs_layer else None
        gradients = None
        if wrt is not None:
            source = activations if wrt == "layer" else images
            gradients = tape.gradient(scores.total, source, unconnected_gradients="zero")

        def probability(batch):
            return plan.class_probability(self._forward(batch), scores.classes, _activation_input)

        return plan.finish(activations, gradients, images, scores, probability, _map)

    def __call__(self, images, classes):
        return [t.numpy() for t in self.function(images, classes)]
