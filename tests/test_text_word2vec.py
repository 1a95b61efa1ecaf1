import keras
import numpy as np
import pytest

from ipyviz.text import Vocabulary, Word2Vec, skipgram_dataset

ANIMALS = [f"animal{i}" for i in range(12)]
METALS = [f"metal{i}" for i in range(12)]


def planted_corpus(docs=300, length=24, seed=0):
    """Two topics that never share a document: neighbours must come from the word's own topic."""
    rng = np.random.default_rng(seed)
    return [list(rng.choice(ANIMALS if d % 2 else METALS, length)) for d in range(docs)]


@pytest.fixture(scope="module")
def trained():
    docs = planted_corpus()
    vocab = Vocabulary.build(docs)
    model = Word2Vec(vocab, dim=16, seed=0)
    history = model.train(docs, epochs=6, window=3, negatives=5, sample=0, batch_size=128, alpha=0.05, seed=0)
    return model, history


def test_neighbours_reflect_the_planted_topics(trained):
    model, _ = trained
    same = 0
    for word in ANIMALS + METALS:
        topic = word.rstrip("0123456789")
        neighbours = model.most_similar(word, k=5)
        assert len(neighbours) == 5 and word not in [w for w, _ in neighbours]
        same += sum(w.startswith(topic) for w, _ in neighbours)
    assert same / (24 * 5) > 0.9
    assert model.similarity("animal0", "animal1") > model.similarity("animal0", "metal1") + 0.3


def test_training_logs_a_falling_loss_and_a_linear_learning_rate(trained):
    _, history = trained
    loss, lr = history.history["loss"], history.history["learning_rate"]
    assert len(loss) == 6 and loss[-1] < loss[0] < 0.7, loss
    assert lr[0] < 0.05 and lr[-1] < 0.002 and all(a > b for a, b in zip(lr, lr[1:]))


def test_large_batches_stay_stable_where_plain_summed_sgd_diverges():
    docs = planted_corpus(docs=200, seed=4)
    vocab = Vocabulary.build(docs)  # 26 rows: every word repeats hundreds of times in one step
    options = dict(epochs=3, window=3, sample=0, batch_size=1024, alpha=0.05, seed=0)
    damped = Word2Vec(vocab, dim=16, seed=0)
    loss = damped.train(docs, **options).history["loss"]
    assert np.isfinite(damped.vectors).all() and loss[-1] < loss[0] < 0.7
    plain = Word2Vec(vocab, dim=16, seed=0)
    plain_loss = plain.train(docs, stability=1e30, **options).history["loss"]  # no damping: word2vec's sum
    assert not np.isfinite(plain_loss[-1]) or plain_loss[-1] > 10 * loss[-1]


def test_the_default_damping_holds_with_1024_centre_words_a_step():
    # At the old default (stability=1.0) this diverged to NaN in epoch 2 on TensorFlow's fast step.
    docs = planted_corpus()
    model = Word2Vec(Vocabulary.build(docs), dim=16, seed=0)
    loss = model.train(docs, epochs=6, window=3, sample=0, batch_size=1024, alpha=0.05, seed=0).history["loss"]
    assert np.isfinite(model.vectors).all() and loss[-1] < loss[0] < 0.7, loss


def test_layers_vectors_and_lookup_errors(trained):
    model, _ = trained
    assert [layer.name for layer in model.layers] == ["target_embedding", "context_embedding"]
    assert isinstance(model.get_layer("target_embedding"), keras.layers.Embedding)
    assert model.vectors.shape == (len(model.vocabulary), 16) and model.vectors.dtype == np.float32
    np.testing.assert_array_equal(model.vectors, model.get_layer("target_embedding").get_weights()[0])
    names = [w for w, _ in model.most_similar("animal0", k=100)]
    assert "<pad>" not in names and "<unk>" not in names and len(names) == 23
    vector_query = model.most_similar(model.vectors[model.vocabulary["metal3"]], k=1)
    assert vector_query[0][0] == "metal3" and np.isclose(vector_query[0][1], 1, atol=1e-5)
    with pytest.raises(KeyError, match="not in the vocabulary"):
        model.most_similar("platypus")


def test_logits_for_both_layouts(trained):
    model, _ = trained
    targets, contexts = np.array([2, 3]), np.array([[2, 3, 4], [5, 6, 7]])
    logits = keras.ops.convert_to_numpy(model((targets, contexts)))
    v_in, v_out = model.vectors, model.get_layer("context_embedding").get_weights()[0]
    np.testing.assert_allclose(logits, np.einsum("bd,bcd->bc", v_in[targets], v_out[contexts]), rtol=1e-5)
    windows = np.array([[2, 3], [4, 0]])
    assert keras.ops.convert_to_numpy(model((windows, contexts))).shape == (2, 2, 3)


def test_deterministic_with_a_seed_and_callbacks_run():
    docs = planted_corpus(docs=40, seed=1)
    vocab = Vocabulary.build(docs)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.get_layer("target_embedding").get_weights()[0].copy())

    runs = []
    for _ in range(2):
        model = Word2Vec(vocab, dim=8, seed=3)
        model.train(docs, epochs=2, window=2, batch_size=64, seed=3, callbacks=[Record()])
        runs.append(model.vectors)
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-6)
    assert len(seen) == 4 and not np.allclose(seen[0], seen[1])  # the layer moves between epochs


def test_plain_keras_compile_and_fit_also_work():
    docs = planted_corpus(docs=40, seed=2)
    vocab = Vocabulary.build(docs)
    model = Word2Vec(vocab, dim=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    data = skipgram_dataset(vocab.encode_documents(docs), batch_size=256, window=2, negatives=4, seed=0)
    seen = []
    batches = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    history = model.fit(data, epochs=3, verbose=0, shuffle=False, callbacks=[batches])
    assert len(history.history["loss"]) == 3 and history.history["loss"][-1] < history.history["loss"][0]
    assert len(seen) == 3 * len(data)  # every epoch ran all its steps (no "ran out of data")


def test_clear_errors():
    with pytest.raises(TypeError, match="Vocabulary or an int"):
        Word2Vec("words")
    with pytest.raises(ValueError, match="dim"):
        Word2Vec(10, dim=0)
    model = Word2Vec(10, dim=4)
    with pytest.raises(TypeError, match="integer id arrays"):
        model.train([["a", "b"]])
    with pytest.raises(ValueError, match="out of range"):
        model.train([np.array([2, 3, 12])])
    with pytest.raises(ValueError, match="no skip-gram pairs"):
        model.train([np.array([2]), np.array([3])])
    with pytest.raises(ValueError, match="epochs"):
        model.train([np.array([2, 3])], epochs=0)
    with pytest.raises(ValueError, match="stability"):
        model.train([np.array([2, 3])], stability=0)


def test_train_with_a_bool_is_torchs_training_mode_switch():
    # On torch a Keras model is a torch.nn.Module, and Keras's torch trainer calls model.train() /
    # model.eval() (= train(False)) around fit and evaluate: that must keep working.
    model = Word2Vec(10, dim=4)
    if keras.backend.backend() == "torch":
        assert model.train(False) is model and not model.training
        assert model.train(True) is model and model.training
        model.eval()
        assert not model.training
    else:
        with pytest.raises(TypeError, match="takes a corpus"):
            model.train(True)


def test_logged_loss_is_a_mean_per_pair_and_column_at_any_batch_size():
    # On every backend (off TF through compute_loss) the logged loss is the mean cross-entropy
    # per pair and column (not a batch sum), and learning_rate the per-pair rate.
    docs = planted_corpus(docs=60, seed=5)
    vocab = Vocabulary.build(docs)
    logs = []
    for batch_size in (64, 512):
        model = Word2Vec(vocab, dim=8, seed=0)
        history = model.train(docs, epochs=2, window=2, sample=0, batch_size=batch_size, alpha=0.02, seed=0)
        logs.append(history.history)
    for h in logs:
        assert 0.3 < h["loss"][0] < 0.75 and h["loss"][-1] < h["loss"][0], h["loss"]
        assert 0.0001 <= h["learning_rate"][-1] < h["learning_rate"][0] <= 0.02
