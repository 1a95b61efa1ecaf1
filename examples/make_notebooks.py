"""Writes the example notebooks from the cell sources below (so diffs of the examples stay readable).

    python examples/make_notebooks.py
"""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).parent

MODEL_SUMMARY = [
    new_markdown_cell(
        "# 1. Counting a CNN's parameters\n\n"
        "The exercise: input 30×30×1, Conv2D 7×7×64, MaxPool, Conv2D 5×5×128, MaxPool, Conv2D 3×3×256, "
        "MaxPool, Flatten, Dense 128. `ModelSummaryTable` shows each layer's output shape and its parameter "
        "count *with the arithmetic behind it*; click a column header to sort, type in the search box to filter."
    ),
    new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "QUICK = os.environ.get('IPYVIZ_QUICK') == '1'   # CI runs every notebook in a quick mode\n"
        "import numpy as np\n"
        "import keras\n"
        "from keras import layers\n"
        "import ipyviz\n"
        "from ipyviz import datasets"
    ),
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


def write(name, cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write("01_model_summary.ipynb", MODEL_SUMMARY)
