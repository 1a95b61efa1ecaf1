"""Every example notebook runs top to bottom in a real kernel, in quick mode and offline.

TensorFlow only (the default backend): each notebook costs a kernel start and a training run, so
running them three times would add minutes to ``make test``, and everything they call is tested on
JAX and torch by the module tests (test_summary_*, test_training_*, test_embedding_*, test_text_*,
test_live*, test_gradcam_*).
"""

import pathlib

import keras
import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.ipynb"))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="examples run on TensorFlow only (see the module docstring); their parts are tested here")
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("IPYVIZ_QUICK", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    widgets = [o for c in nb.cells for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, "the example shows no widget"
