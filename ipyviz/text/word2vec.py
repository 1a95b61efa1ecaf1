"""A Keras 3 Word2Vec (skip-gram, negative sampling) that trains like gensim and can be watched live.

Two Embeddings -- ``target_embedding`` (the word vectors; gensim's ``wv``) and ``context_embedding``
(gensim's ``syn1neg``) -- and dot products giving logits. ``train`` draws fresh skip-grams each epoch
(new subsampling, windows and negatives, as word2vec does). On the TensorFlow backend it feeds them by
centre word (:func:`skipgram_windows`: a window's pairs share k negatives and their gathered rows) to
a hand-written step: plain SGD on the looked-up rows only (sparse scatter-adds, no dense gradient, no
optimizer slots) with word2vec's linear learning-rate decay, damped only where a batch's summed
update of one word would overshoot. On JAX and torch it feeds one row per pair (:func:`skipgrams`)
to Keras's usual step, whose loss (:meth:`Word2Vec.compute_loss`) has the same damped word2vec
update as its gradient. ``compile``/``fit`` on :func:`skipgram_dataset` with your own optimizer
works on every backend too.

Example::

    from ipyviz.text import Vocabulary, Word2Vec, tokenize_documents
    docs = tokenize_documents(["the cat sat on the mat", "the dog sat on the log"] * 200)
    vocab = Vocabulary.build(docs, min_count=1)
    w2v = Word2Vec(vocab, dim=16, seed=0)
    w2v.train(docs, epochs=3, window=2, batch_size=256, seed=0)   # Keras History
    w2v.vectors.shape                  # (len(vocab), 16): row i is vocab.words[i]
    w2v.most_similar("cat", k=3)       # [(word, cosine), ...]
    w2v.get_layer("target_embedding")  # what EmbeddingScatter watches
"""

from __future__ import annotations

import keras
import numpy as np

from ipyviz.text.skipgrams import _flatten, _labels, skipgram_windows, skipgrams
from ipyviz.text.vocabulary import Vocabulary

__all__ = ["Word2Vec"]


class _SparseSGD:
    """State of the fast step, kept off the model's weights: progress, schedule, running loss."""

    def __init__(self, alpha, min_alpha, total_rows, stability):
        import tensorflow as tf

        self.alpha, self.min_alpha, self.stability = float(alpha), float(min_alpha), float(stability)
        self.total = tf.Variable(float(max(total_rows, 1)), trainable=False, dtype=tf.float32)
        self.done = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        self.loss_sum = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        self.loss_rows = tf.Variable(0.0, trainable=False, dtype=tf.float32)

    def learning_rate(self):
        import tensorflow as tf

        progress = tf.minimum(self.done / self.total, 1.0)
        return self.alpha - (self.alpha - self.min_alpha) * progress


class _ResetLoss(keras.callbacks.Callback):
    def __init__(self, state):
        super().__init__()
        self.state = state

    def on_epoch_begin(self, epoch, logs=None):
        self.state.loss_sum.assign(0.0)
        self.state.loss_rows.assign(0.0)


def _row_sums(values, ids, rows):
    """``out[r] = sum(values[ids == r])``: a segment sum, as bincount on torch (whose segment_sum
    makes a host sync per call), as segment_sum elsewhere (JAX's bincount cannot be traced)."""
    if keras.backend.backend() == "torch":
        return keras.ops.bincount(ids, weights=values, minlength=rows)
    return keras.ops.segment_sum(values, ids, num_segments=rows)


def _linear_rate(alpha, min_alpha, total_steps):
    """word2vec's linear decay from ``alpha`` to ``min_alpha``, by step (the Keras-step path)."""
    return lambda step: alpha - (alpha - min_alpha) * min(step / max(total_steps, 1), 1.0)


class _Damping:
    """Settings of the Keras-step path read by ``Word2Vec.compute_loss``."""

    def __init__(self, rate, stability):
        self.rate, self.stability = rate, float(stability)


class _LogLearningRate(keras.callbacks.Callback):
    """Puts the learning rate of the epoch's last step into the epoch logs on the Keras-step path
    (the TF step logs it itself). First in the callback list, so later callbacks and the History
    see it."""

    def __init__(self, rate, steps):
        super().__init__()
        self.rate, self.steps = rate, steps

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.rate((epoch + 1) * self.steps - 1))


class Word2Vec(keras.Model):
    """Skip-gram Word2Vec: ``Word2Vec(vocabulary_or_size, dim=100, seed=None)``.

    ``call((targets, contexts))``: ids of shape (B,) and (B, C) give (B, C) logits (the
    :func:`skipgrams` layout); (B, T) and (B, C) give (B, T, C) logits (the :func:`skipgram_windows`
    layout: T window words, each scored against the same C centre/negative columns).
    Initialised like word2vec.c: target rows uniform in +-0.5/dim, context rows zero.
    """

    def __init__(self, vocabulary, dim: int = 100, *, seed=None, name: str = "word2vec", **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(vocabulary, Vocabulary):
            self.vocabulary, size = vocabulary, len(vocabulary)
        elif isinstance(vocabulary, (int, np.integer)) and vocabulary >= 2:
            self.vocabulary, size = None, int(vocabulary)
        else:
            raise TypeError(f"vocabulary must be a Vocabulary or an int >= 2 (the number of rows), got {vocabulary!r}")
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self.vocab_size, self.dim = size, int(dim)
        init = keras.initializers.RandomUniform(-0.5 / dim, 0.5 / dim, seed=seed)
        # Created first, so a "first Embedding layer" lookup (EmbeddingScatter) finds the word vectors.
        self.target_embedding = keras.layers.Embedding(
            size, self.dim, embeddings_initializer=init, name="target_embedding"
        )
        self.context_embedding = keras.layers.Embedding(
            size, self.dim, embeddings_initializer="zeros", name="context_embedding"
        )
        self.target_embedding.build((None,))
        self.context_embedding.build((None, None))
        self._sgd = self._damping = None

    def call(self, inputs):
        targets, contexts = inputs[:2]  # train() feeds (targets, contexts, learning rate) off TensorFlow
        equation = "bd,bcd->bc" if len(targets.shape) == 1 else "btd,bcd->btc"
        return keras.ops.einsum(equation, self.target_embedding(targets), self.context_embedding(contexts))

    def get_config(self):
        return {"vocabulary": self.vocab_size, "dim": self.dim, "name": self.name}

    # -- training ---------------------------------------------------------------------------------
    def train_step(self, *args):
        if self._sgd is None:  # Keras's own step: (data) on TF and torch, (state, data) on JAX
            return super().train_step(*args)
        import tensorflow as tf

        (data,) = args
        words, centres = data[0]  # (B, T) window words (0 = none), (B, C) centre + negatives
        words, centres = tf.cast(words, tf.int32), tf.cast(centres, tf.int32)
        w_in = self.target_embedding.embeddings.value  # the tf.Variables themselves
        w_out = self.context_embedding.embeddings.value
        x = tf.gather(w_in, words)  # (B, T, d)
        y = tf.gather(w_out, centres)  # (B, C, d)
        logits = tf.matmul(x, y, transpose_b=True)  # (B, T, C)
        real = tf.cast(words != 0, tf.float32)[:, :, None]  # padding slots (and padded rows) learn nothing
        labels = tf.one_hot(0, tf.shape(centres)[1])  # [1, 0, ..., 0]: the centre, then negatives
        lr = self._sgd.learning_rate()
        # d(log-likelihood)/d(logit) = label - sigmoid(logit); SGD ascends it with word2vec's step size,
        # every update computed from the same old rows.
        s = tf.sigmoid(logits)
        g = (labels - s) * real * lr
        # word2vec applies a frequent word's updates one after another, each seeing the last; a batch
        # sums them from one stale value. On a row updated by many pairs at once that summed step
        # overshoots, and diverges once lr times the loss curvature along it nears 2 (1 here: a pair's
        # two rows move together). The curvature is at most the trace sum(sigmoid'(logit) * |other
        # row|^2) over the row's pairs in this step, so a row whose lr * trace exceeds `stability` gets
        # its step scaled down to match; every other row gets word2vec's plain summed update (rare
        # words, and all words early on: the tests show plain summed SGD diverging where this does not).
        # The default 0.5 keeps a margin of 2 below that limit: at 1.0 a tiny corpus with batches of
        # 1024 centre words (every word hundreds of times a step) still diverged.
        curvature = s * (1.0 - s) * real  # (B, T, C)
        slot_in = tf.reduce_sum(curvature * tf.reduce_sum(y * y, -1)[:, None, :], -1)  # (B, T)
        slot_out = tf.reduce_sum(curvature * tf.reduce_sum(x * x, -1)[:, :, None], 1)  # (B, C)
        flat_words, flat_centres = tf.reshape(words, (-1,)), tf.reshape(centres, (-1,))
        row_in = tf.math.unsorted_segment_sum(tf.reshape(slot_in, (-1,)), flat_words, self.vocab_size)
        row_out = tf.math.unsorted_segment_sum(tf.reshape(slot_out, (-1,)), flat_centres, self.vocab_size)
        limit = self._sgd.stability / lr
        scale_in = tf.minimum(1.0, limit / tf.maximum(tf.gather(row_in, words), 1e-12))  # (B, T)
        scale_out = tf.minimum(1.0, limit / tf.maximum(tf.gather(row_out, centres), 1e-12))  # (B, C)
        dx = tf.matmul(g * scale_in[:, :, None], y)  # (B, T, d)
        w_in.scatter_add(tf.IndexedSlices(tf.reshape(dx, (-1, self.dim)), flat_words))
        dy = tf.matmul(g * scale_out[:, None, :], x, transpose_a=True)  # (B, C, d)
        w_out.scatter_add(tf.IndexedSlices(tf.reshape(dy, (-1, self.dim)), flat_centres))
        pairs = tf.reduce_sum(real)
        sign = 1.0 - 2.0 * labels  # binary cross-entropy from logits = softplus(-logit) or softplus(logit)
        loss = tf.reduce_sum(tf.nn.softplus(logits * sign) * real) / tf.cast(tf.shape(centres)[1], tf.float32)
        self._sgd.done.assign_add(pairs)
        self._sgd.loss_sum.assign_add(loss)
        self._sgd.loss_rows.assign_add(pairs)
        return {"loss": self._sgd.loss_sum / tf.maximum(self._sgd.loss_rows, 1.0), "learning_rate": lr}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Off TensorFlow, ``train`` runs Keras's step on this loss: its gradient is the fast step's
        damped word2vec update (see ``train_step``), its value the mean cross-entropy per pair and
        column. Any other ``fit`` uses the compiled loss."""
        if self._damping is None:
            return super().compute_loss(x, y, y_pred, sample_weight, training)
        ops = keras.ops
        targets, contexts, lr = x  # (B,), (B, C), (B,) this step's learning rate
        targets, contexts = ops.cast(targets, "int32"), ops.cast(contexts, "int32")
        x_in, y_out = self.target_embedding(targets), self.context_embedding(contexts)  # (B, d), (B, C, d)
        x_sg, y_sg = ops.stop_gradient(x_in), ops.stop_gradient(y_out)
        real = ops.cast(sample_weight, "float32")[:, None]  # padded rows (weight 0) learn nothing
        logits = ops.einsum("bd,bcd->bc", x_sg, y_sg)
        s = ops.sigmoid(logits)
        # The same per-row bound on lr x curvature as the TF step, from the same stale rows.
        curvature = s * (1.0 - s) * real  # (B, C)
        slot_in = ops.sum(curvature * ops.sum(y_sg * y_sg, -1), -1)  # (B,)
        slot_out = curvature * ops.sum(x_sg * x_sg, -1)[:, None]  # (B, C)
        flat_contexts = ops.reshape(contexts, (-1,))
        row_in = _row_sums(slot_in, targets, self.vocab_size)
        row_out = _row_sums(ops.reshape(slot_out, (-1,)), flat_contexts, self.vocab_size)
        limit = self._damping.stability / lr  # (B,): every row of a batch has the same lr
        scale_in = ops.minimum(1.0, limit / ops.maximum(ops.take(row_in, targets), 1e-12))  # (B,)
        scale_out = ops.minimum(1.0, limit[:, None] / ops.maximum(ops.take(row_out, contexts), 1e-12))
        sign = 1.0 - 2.0 * ops.cast(y, "float32")  # cross-entropy from logits = softplus(-/+ logit)
        # Each side's gradient sees the other side's rows as constants, weighted by its own lr x scale:
        # with SGD(1.0) that is word2vec's update, damped per row where it would overshoot.
        weight_in = ops.stop_gradient(lr[:, None] * scale_in[:, None] * real)
        weight_out = ops.stop_gradient(lr[:, None] * scale_out * real)
        fit = ops.sum(ops.softplus(ops.einsum("bd,bcd->bc", x_in, y_sg) * sign) * weight_in)
        fit = fit + ops.sum(ops.softplus(ops.einsum("bd,bcd->bc", x_sg, y_out) * sign) * weight_out)
        shown = ops.sum(ops.softplus(logits * sign) * real) / ops.maximum(ops.sum(real) * ops.shape(y)[1], 1.0)
        return fit - ops.stop_gradient(fit) + shown  # the gradient of `fit`, the value of `shown`

    def _as_ids(self, corpus):
        corpus = list(corpus) if not isinstance(corpus, np.ndarray) else corpus
        first = corpus[0] if len(corpus) and not isinstance(corpus, np.ndarray) else ()
        if len(first) and isinstance(first[0], str):
            if self.vocabulary is None:
                raise TypeError("this Word2Vec has no Vocabulary, so pass integer id arrays, not token lists")
            return self.vocabulary.encode_documents(corpus)
        return corpus

    def train(
        self,
        corpus=True,
        *,
        epochs: int = 5,
        window: int = 5,
        negatives: int = 5,
        sample: float = 1e-3,
        shrink_window: bool = True,
        batch_size: int = 1024,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        stability: float = 0.5,
        seed=None,
        callbacks=None,
        verbose=0,
        jit_compile="auto",
    ):
        """Train on ``corpus`` (token lists when the model has a Vocabulary, or id arrays).

        The defaults are gensim's. ``batch_size`` counts centre words per step on TensorFlow (each
        brings ~``window + 1`` pairs) and pairs per step elsewhere. One step sums the updates of all
        the pairs of a word from the same old vectors, where word2vec applies them one at a time;
        ``stability`` bounds that: a row whose summed step would overshoot (lr x loss curvature
        along it above ``stability``) is scaled down, every other row gets word2vec's exact update.
        Returns Keras's ``History``; ``callbacks`` (e.g. ``EmbeddingScatter.callback()``) run as in
        ``fit``; logs hold ``loss`` (mean binary cross-entropy per pair and column, this
        epoch) and ``learning_rate``. Skip-grams are drawn afresh each epoch from ``(seed, epoch)``.

        Backends: TensorFlow runs the sparse step above. JAX and torch run Keras's own step on one
        row per pair (:meth:`compute_loss`): the same damped SGD with word2vec's step size, its
        learning rate decaying linearly by step, from dense embedding gradients (fine for small
        vocabularies, slower than the TF step on big ones). ``jit_compile="auto"``: off on
        TensorFlow (the fast step's window width varies), Keras's default elsewhere (XLA on JAX;
        without it a JAX step runs op by op, ~10x slower). On torch a Keras model is a
        ``torch.nn.Module``, whose ``train(mode)`` switches training mode: ``train(True)`` /
        ``train(False)`` (a bool, as Keras's torch trainer calls it) still does that.
        """
        if isinstance(corpus, bool):
            return self._module_mode(corpus)
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if not stability > 0:
            raise ValueError(f"stability must be > 0 (e.g. 0.5), got {stability!r}")
        sequences = _flatten(self._as_ids(corpus))
        if sequences.ids.size and sequences.ids.max() >= self.vocab_size:
            raise ValueError(f"id {sequences.ids.max()} is out of range for this model's {self.vocab_size} rows")
        counts = self.vocabulary.counts if self.vocabulary is not None else None
        options = dict(window=window, negatives=negatives, sample=sample, shrink_window=shrink_window, counts=counts)
        fast = keras.backend.backend() == "tensorflow"
        if jit_compile == "auto" and fast:
            jit_compile = False  # XLA recompiles the fast step for every window width: slower on TF
        dataset, first_pairs, steps = _epoch_dataset(
            sequences, batch_size, seed, options, windows=fast, rate=(alpha, min_alpha, int(epochs))
        )
        if first_pairs == 0:
            raise ValueError(
                "the corpus gives no skip-gram pairs: it needs documents of at least 2 in-vocabulary words"
            )
        if fast:
            self._sgd = _SparseSGD(alpha, min_alpha, first_pairs * epochs, stability)
            self.compile(optimizer=keras.optimizers.SGD(alpha), jit_compile=jit_compile)  # unused: the step does SGD
            callbacks = [_ResetLoss(self._sgd)] + list(callbacks or [])
        else:  # Keras's own step on one row per pair, with the same damped word2vec SGD (compute_loss)
            self._sgd = None
            self._damping = _Damping(_linear_rate(alpha, min_alpha, steps * epochs), stability)
            self.compile(optimizer=keras.optimizers.SGD(1.0), jit_compile=jit_compile)  # the loss holds lr
            callbacks = [_LogLearningRate(self._damping.rate, steps)] + list(callbacks or [])
        self.train_function = None  # never reuse a step traced for another mode
        try:
            return self.fit(
                dataset, epochs=int(epochs), steps_per_epoch=steps, callbacks=callbacks, verbose=verbose, shuffle=False
            )
        finally:
            self._sgd = self._damping = None
            self.train_function = None

    def _module_mode(self, mode: bool):
        if keras.backend.backend() != "torch":
            raise TypeError("train() takes a corpus (token lists or id arrays), got a bool")
        import torch

        return torch.nn.Module.train(self, mode)

    # -- reading the vectors ----------------------------------------------------------------------
    @property
    def vectors(self) -> np.ndarray:
        """The word vectors (target embedding), ``(vocab_size, dim)`` float32; row i = id i."""
        return np.asarray(keras.ops.convert_to_numpy(self.target_embedding.embeddings), dtype=np.float32)

    def _row(self, word):
        if isinstance(word, (int, np.integer)):
            if not 0 <= word < self.vocab_size:
                raise IndexError(f"id {word} is out of range [0, {self.vocab_size})")
            return int(word)
        if self.vocabulary is None:
            raise TypeError("this Word2Vec has no Vocabulary: pass an integer id")
        if word not in self.vocabulary:
            raise KeyError(
                f"{word!r} is not in the vocabulary ({len(self.vocabulary)} rows, min_count="
                f"{self.vocabulary.min_count}); check its spelling and case, or lower min_count"
            )
        return self.vocabulary.index[word]

    def similarity(self, a, b) -> float:
        """Cosine similarity of two words (or ids)."""
        v = self.vectors
        x, y = v[self._row(a)], v[self._row(b)]
        return float(x @ y / max(np.linalg.norm(x) * np.linalg.norm(y), 1e-12))

    def most_similar(self, word, k: int = 10) -> list[tuple]:
        """The ``k`` nearest words to ``word`` (a word, an id or a vector) by cosine: ``[(word, cos)]``.

        Padding and OOV rows and the query word itself are never returned.
        """
        v = self.vectors
        norms = np.maximum(np.linalg.norm(v, axis=1), 1e-12)
        if isinstance(word, np.ndarray):
            if word.shape != (self.dim,):
                raise ValueError(f"a query vector must have shape ({self.dim},), got {word.shape}")
            query, skip = word / max(np.linalg.norm(word), 1e-12), None
        else:
            skip = self._row(word)
            query = v[skip] / norms[skip]
        first = 2 if self.vocabulary is not None else 1  # 0 padding (1 OOV with a Vocabulary)
        rows = np.arange(first, self.vocab_size)
        if skip is not None:
            rows = rows[rows != skip]
        cosine = np.nan_to_num(v[rows] @ query / norms[rows], nan=-np.inf)  # a diverged row ranks last
        k = min(int(k), len(rows))
        best = np.argpartition(-cosine, k - 1)[:k] if k > 0 else np.zeros(0, int)
        best = best[np.argsort(-cosine[best], kind="stable")]
        names = self.vocabulary.words if self.vocabulary is not None else None
        return [(names[rows[i]] if names else int(rows[i]), float(cosine[i])) for i in best]


def _epoch_dataset(flat, batch_size, seed, options, windows=True, rate=(0.025, 1e-4, 1)):
    """An endless stream of full batches, fresh skip-grams each epoch from ``(seed, epoch)``: a
    tf.data dataset for the TF step, a Python generator for Keras's step.

    ``windows``: ``((words, centres),)`` batches of :func:`skipgram_windows` rows (the fast step);
    otherwise ``((targets, contexts, lr), labels, weights)`` batches of :func:`skipgrams` rows,
    ``lr`` that step's learning rate (``rate = (alpha, min_alpha, epochs)``, linear decay by step).
    Each epoch yields exactly ``steps`` batches, so shapes stay fixed (one compiled step) and Keras
    can count steps: a short epoch is padded with id-0 rows that update nothing, and rows an epoch
    draws beyond ``steps * batch_size`` (subsampling makes the count vary by ~0.1%) are left out.
    Returns (dataset, positive pairs in the first epoch, steps per epoch).
    """

    if options.get("counts") is None:
        options = dict(options, counts=np.bincount(flat.ids, minlength=int(flat.ids.max(initial=1)) + 1))
    make = skipgram_windows if windows else skipgrams

    def draw(epoch):
        rows = make(flat, seed=None if seed is None else [seed, epoch], **options)
        return tuple(np.asarray(a) for a in rows)

    first = draw(0)
    pairs = int(np.count_nonzero(first[0])) if windows else len(first[0])
    steps = max(-(-len(first[0]) // batch_size), 1)
    size = steps * batch_size

    def fit_to_size(arrays):
        n = len(arrays[0])
        if n >= size:
            return [a[:size] for a in arrays] + [np.ones(size, np.float32)]
        padded = [np.concatenate([a, np.zeros((size - n,) + a.shape[1:], a.dtype)]) for a in arrays]
        return padded + [np.r_[np.ones(n, np.float32), np.zeros(size - n, np.float32)]]

    lr_at = _linear_rate(rate[0], rate[1], steps * rate[2])

    def batches(epoch, arrays):
        a, b, weights = fit_to_size(arrays[:2])
        if not windows:
            for n, start in enumerate(range(0, size, batch_size)):
                cut = slice(start, start + batch_size)
                lr = np.full(batch_size, lr_at(epoch * steps + n), np.float32)
                yield (a[cut], b[cut], lr), _labels(b[cut].shape), weights[cut]
            return
        # Rows sorted by how many (nearest-first) columns they use, so each batch drops the columns
        # none of its rows need (~40% of them with shrunken windows); batches then go in random order.
        used = a.shape[1] - np.argmax(a[:, ::-1] != 0, axis=1)
        used[~(a != 0).any(axis=1)] = 1  # padding rows
        order = np.argsort(used, kind="stable")
        a, b, used = a[order], b[order], used[order]
        starts = np.arange(0, size, batch_size)
        rng = np.random.default_rng(None if seed is None else [seed, epoch, 1])
        for start in rng.permutation(starts):
            cut = slice(start, start + batch_size)
            yield ((a[cut, : used[cut][-1]], b[cut]),)

    def generate():
        epoch, arrays = 0, first
        while True:
            yield from batches(epoch, arrays)
            epoch += 1
            arrays = draw(epoch)

    if not windows:
        # A plain generator: Keras feeds it to every backend without tf.data's hand-over (a JAX run
        # of the test corpus took 15 s through tf.data, 5 s like this, on 2 busy cores).
        return generate(), pairs, steps
    import tensorflow as tf

    spec = tf.TensorSpec((batch_size, None), tf.int32)  # as many window columns as the batch needs
    signature = ((spec, tf.TensorSpec((batch_size, 1 + int(options["negatives"])), tf.int32)),)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(4)
    return dataset, pairs, steps
