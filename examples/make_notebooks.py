"""Writes the example notebooks from the cell sources below (so diffs of the examples stay readable).

    python examples/make_notebooks.py
"""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).parent


def setup_cell(*imports):
    """The first code cell of every example: quiet TensorFlow, the quick-mode switch, the imports."""
    return new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "QUICK = os.environ.get('IPYVIZ_QUICK') == '1'   # CI runs every notebook in a quick mode\n"
        + "\n".join(imports)
    )

MODEL_SUMMARY = [
    new_markdown_cell(
        "# 1. Counting a CNN's parameters\n\n"
        "The exercise: input 30×30×1, Conv2D 7×7×64, MaxPool, Conv2D 5×5×128, MaxPool, Conv2D 3×3×256, "
        "MaxPool, Flatten, Dense 128. `ModelSummaryTable` shows each layer's output shape and its parameter "
        "count *with the arithmetic behind it*; click a column header to sort, type in the search box to filter."
    ),
    setup_cell("import numpy as np", "import keras", "from keras import layers", "import ipyviz",
               "from ipyviz import datasets"),
    new_code_cell(
        "cnn = keras.Sequential([\n"
        "    keras.Input((30, 30, 1)),\n"
        "    layers.Conv2D(64, 7), layers.MaxPooling2D(),\n"
        "    layers.Conv2D(128, 5), layers.MaxPooling2D(),\n"
        "    layers.Conv2D(256, 3), layers.MaxPooling2D(),\n"
        "    layers.Flatten(), layers.Dense(128),\n"
        "], name='exercise_cnn')\n"
        "ipyviz.ModelSummaryTable(cnn)"
    ),
    new_markdown_cell(
        "## Where the counts come from\n\n"
        "A convolution has one weight per kernel position **per input channel**, plus one bias, for every "
        "filter. The first conv sees 1 channel: 64 × (7·7·1 + 1) = 3,200. The second sees the 64 channels "
        "the first one made, so it is **128 × (5·5·64 + 1) = 204,928**, not 128 × (5·5 + 1). The third: "
        "256 × (3·3·128 + 1) = 295,168. Pooling and Flatten have no weights. After three 2× poolings of "
        "24→12, 8→4, 2→1 the Flatten gives 256 values, so the Dense layer has 128 × (256 + 1) = 32,896.\n\n"
        "The same numbers as text (what `model.summary()` would print, with the formulas):"
    ),
    new_code_cell("print(ipyviz.summarize(cnn).to_text())"),
    new_markdown_cell(
        "## Two SimpleRNN branches\n\n"
        "Each branch reads a 256-d input as one time step. A SimpleRNN(128) has an input kernel 256×128, a "
        "recurrent kernel 128×128 and a bias 128: (256 + 1) × 128 + 128² = 49,280. The two Dense(128) "
        "layers and the Concatenate give a 256-d output."
    ),
    new_code_cell(
        "def branch(name):\n"
        "    inputs = keras.Input((256,), name=f'{name}_in')\n"
        "    h = layers.Reshape((1, 256))(inputs)\n"
        "    h = layers.SimpleRNN(128, name=f'{name}_rnn')(h)\n"
        "    return inputs, layers.Dense(128, activation='relu', name=f'{name}_dense')(h)\n"
        "(a_in, a), (b_in, b) = branch('left'), branch('right')\n"
        "rnn = keras.Model([a_in, b_in], layers.Concatenate(name='concat')([a, b]), name='two_branches')\n"
        "ipyviz.ModelSummaryTable(rnn)"
    ),
    new_markdown_cell(
        "## Watching it train\n\n"
        "The CNN with a 10-way head, trained on MNIST padded to 30×30. The table's last column gains a "
        "sparkline of each layer's weight norm (and its relative change per epoch); the plot below it "
        "grows in place during `fit()`."
    ),
    new_code_cell(
        "(x_train, y_train), (x_test, y_test) = datasets.mnist()\n"
        "print('data:', datasets.last_source)\n"
        "pad = lambda x: np.pad(x, ((0, 0), (1, 1), (1, 1)))[..., None].astype('float32') / 255\n"
        "n = 2000 if QUICK else len(x_train)\n"
        "x_train, y_train, x_test, y_test = pad(x_train[:n]), y_train[:n], pad(x_test), y_test\n"
        "classifier = keras.Sequential([cnn, layers.ReLU(), layers.Dense(10, activation='softmax')], name='classifier')\n"
        "classifier.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "table, plot = ipyviz.ModelSummaryTable(classifier), ipyviz.TrainingPlot()\n"
        "display(table, plot)"
    ),
    new_code_cell(
        "history = classifier.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=128,\n"
        "                         epochs=1 if QUICK else 5, verbose=0,\n"
        "                         callbacks=[table.callback(), plot.callback(batch_interval=0.5)])\n"
        "print('test accuracy', round(history.history['val_accuracy'][-1], 4))"
    ),
]

WORD_EMBEDDINGS = [
    new_markdown_cell(
        "# 2. Word embeddings from news text, watched while they train\n\n"
        "Reuters news (nltk) → tokens without stop words → skip-gram pairs with negative sampling → a "
        "Keras Word2Vec, trained with a live `EmbeddingScatter` of its target embedding and a "
        "`TrainingPlot`. Where do *iran*, *iraq*, *kuwait* and *emirates* land?"
    ),
    setup_cell("import ipywidgets as widgets", "import ipyviz", "from ipyviz import datasets",
               "from ipyviz.text import Vocabulary, Word2Vec, english_stopwords, skipgrams, tokenize_documents"),
    new_code_cell(
        "try:\n"
        "    texts = datasets.reuters(split='train').texts\n"
        "    print('data:', datasets.last_source)\n"
        "except datasets.DatasetUnavailable as error:\n"
        "    # Offline: say so, and use the real news text that gensim ships (Lee's news corpus), not Reuters.\n"
        "    print('Reuters is not available here:', error)\n"
        "    from gensim.test.utils import datapath\n"
        "    texts = open(datapath('lee_background.cor'), encoding='utf-8').read().splitlines()\n"
        "    print(f'using gensim\\'s lee_background.cor instead: {len(texts)} Australian news articles')\n"
        "if QUICK:\n"
        "    texts = texts[:150]"
    ),
    new_code_cell(
        "docs = tokenize_documents(texts, drop_numbers=True, stopwords=english_stopwords())\n"
        "vocab = Vocabulary.build(docs, min_count=2 if QUICK else 5)\n"
        "print(len(docs), 'documents,', sum(map(len, docs)), 'tokens,', len(vocab.words), 'words in the vocabulary')\n"
        "print('first document:', docs[0][:12])\n"
        "pairs = skipgrams(vocab.encode_documents(docs), window=4, negatives=5, seed=0)\n"
        "print(len(pairs.targets), 'skip-gram rows, each 1 context + 5 negatives')"
    ),
    new_code_cell(
        "WATCH = [w for w in ['iran', 'iraq', 'kuwait', 'emirates', 'oil', 'government'] if w in vocab.index]\n"
        "w2v = Word2Vec(vocab, dim=50, seed=0)\n"
        "scatter = ipyviz.EmbeddingScatter(w2v, vocab, layer='target_embedding', highlight=WATCH, hide=[0, 1])\n"
        "plot = ipyviz.TrainingPlot()\n"
        "display(scatter, plot)"
    ),
    new_code_cell(
        "w2v.train(docs, epochs=2 if QUICK else 10, window=4, seed=0,\n"
        "          callbacks=[scatter.callback(), plot.callback()])\n"
        "for word in WATCH:\n"
        "    print(word, '->', [w for w, _ in scatter.neighbors(word, k=5)])"
    ),
    new_markdown_cell(
        "## The window size changes what \"near\" means\n\n"
        "A small window groups words that are used the same way (syntax); a large one groups words "
        "about the same thing (topic). The same corpus, window 2 and window 10, side by side:"
    ),
    new_code_cell(
        "maps = []\n"
        "for window in (2, 10):\n"
        "    model = Word2Vec(vocab, dim=50, seed=0)\n"
        "    model.train(docs, epochs=1 if QUICK else 5, window=window, seed=0)\n"
        "    maps.append(ipyviz.EmbeddingScatter(model, vocab, layer='target_embedding', highlight=WATCH, hide=[0, 1]))\n"
        "    print(f'window {window}:', {w: [n for n, _ in maps[-1].neighbors(w, k=3)] for w in WATCH[:3]})\n"
        "widgets.HBox(maps)"
    ),
]

GRADCAM_MNIST = [
    new_markdown_cell(
        "# 3. What does an MNIST CNN look at? Grad-CAM, live during training\n\n"
        "Load MNIST, look at a few digits, train a small CNN to ~99% test accuracy while a `GradCamViewer` "
        "recomputes the heatmaps of the first 10 training images after every epoch (drag the epoch "
        "slider to replay how the attention moved), then ask `%gradcam` about other digits."
    ),
    setup_cell("import numpy as np", "import keras", "from keras import layers", "import ipyviz",
               "from ipyviz import datasets"),
    new_code_cell(
        "(x_train, y_train), (x_test, y_test) = datasets.mnist()\n"
        "print('data:', datasets.last_source)\n"
        "order = np.random.default_rng(0).permutation(len(x_train))   # shuffle\n"
        "x_train, y_train = x_train[order], y_train[order]\n"
        "if QUICK:\n"
        "    x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]\n"
        "print('x_train', x_train.shape, x_train.dtype, ' y_train', y_train.shape, ' x_test', x_test.shape)"
    ),
    new_code_cell(
        "import matplotlib.pyplot as plt\n"
        "fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))\n"
        "for ax, image, label in zip(axes, x_train, y_train):\n"
        "    ax.imshow(image, cmap='gray'); ax.set_title(int(label)); ax.axis('off')\n"
        "plt.show()"
    ),
    new_code_cell(
        "# Reshape to (N, 28, 28, 1), scale to [0, 1], one-hot labels.\n"
        "x_train = x_train.reshape(-1, 28, 28, 1).astype('float32') / 255\n"
        "x_test = x_test.reshape(-1, 28, 28, 1).astype('float32') / 255\n"
        "y_train_1h = keras.utils.to_categorical(y_train, 10)\n"
        "y_test_1h = keras.utils.to_categorical(y_test, 10)\n"
        "print(x_train.shape, x_train.min(), x_train.max(), y_train_1h.shape)"
    ),
    new_code_cell(
        "def build_model():\n"
        "    model = keras.Sequential([\n"
        "        keras.Input((28, 28, 1)),\n"
        "        layers.Conv2D(32, 3, activation='relu'),\n"
        "        layers.Conv2D(64, 3, activation='relu', name='last_conv'),\n"
        "        layers.MaxPooling2D(),\n"
        "        layers.Dropout(0.25),\n"
        "        layers.Flatten(),\n"
        "        layers.Dense(128, activation='relu'),\n"
        "        layers.Dropout(0.5),\n"
        "        layers.Dense(10, activation='softmax'),\n"
        "    ], name='mnist_cnn')\n"
        "    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])\n"
        "    return model\n"
        "\n"
        "model = build_model()\n"
        "ipyviz.ModelSummaryTable(model)"
    ),
    new_code_cell(
        "names = [str(d) for d in range(10)]\n"
        "viewer = ipyviz.GradCamViewer(model, x_train[:10], labels=y_train[:10], class_names=names, layer='last_conv')\n"
        "plot = ipyviz.TrainingPlot()\n"
        "display(viewer, plot)"
    ),
    new_code_cell(
        "history = model.fit(x_train, y_train_1h, validation_data=(x_test, y_test_1h), batch_size=128,\n"
        "                    epochs=1 if QUICK else 8, verbose=0,\n"
        "                    callbacks=[viewer.callback(), plot.callback(batch_interval=0.5)])\n"
        "print('test accuracy', round(model.evaluate(x_test, y_test_1h, verbose=0)[1], 4))"
    ),
    new_markdown_cell(
        "## `%gradcam` on other digits\n\n"
        "One line shows the viewer for any images; `--layer`, `--method` (`gradcam`, `gradcam++`, "
        "`layercam`, `scorecam`, `saliency`), `--classes` and `-n` change what it shows."
    ),
    new_code_cell("%load_ext ipyviz"),
    new_code_cell("%gradcam model x_test[10:20] --layer last_conv --method gradcam++"),
]


def write(name, cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write("01_model_summary.ipynb", MODEL_SUMMARY)
    write("02_word_embeddings.ipynb", WORD_EMBEDDINGS)
    write("03_gradcam_mnist.ipynb", GRADCAM_MNIST)
