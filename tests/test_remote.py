"""ipyviz.remote: a run trained in another process writes a file; a follower here feeds the widgets.

The end-to-end case trains in a child process (this file run as a script) while a follower thread in
the test process tails the file from before it exists; the widgets must end with exactly the epoch logs
Keras's History reported, every batch log, and the weight norms of the model at each epoch end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import ipyviz
import ipyviz.remote
from ipyviz.remote import Follower, RunWriter, _is_chief, _jsonable, follow

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "remote_training.py"


def _example():
    """examples/remote_training.py as a module (the training side these tests drive)."""
    spec = importlib.util.spec_from_file_location("remote_training", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model():
    return _example().build_model()


def _child(path: str, results: str) -> None:
    """examples/remote_training.py twice (two runs, one file), with a plain callback after its RunWriter
    noting what Keras reported."""
    train = _example().train

    class Probe(keras.callbacks.Callback):
        batch_logs, norms = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.batch_logs.append({k: float(v) for k, v in logs.items()})

        def on_epoch_end(self, epoch, logs=None):
            self.norms.append({layer.name: float(np.linalg.norm(np.concatenate(
                [np.asarray(w, np.float64).ravel() for w in layer.trainable_weights])))
                for layer in self.model.layers})
            time.sleep(0.05)  # give the follower a chance to read mid-run

    probe = Probe()
    first, second = (train(path, epochs=2, callbacks=[probe], seed=seed).history for seed in (0, 1))
    history = {k: first[k] + second[k] for k in first}
    with open(results, "w") as f:
        json.dump({"history": history, "batch_logs": probe.batch_logs, "norms": probe.norms}, f)


def test_a_follower_ends_with_exactly_what_keras_reported(tmp_path):
    path, results = tmp_path / "run.jsonl", tmp_path / "results.json"
    plot, table = ipyviz.TrainingPlot(), ipyviz.ModelSummaryTable(_model())  # same architecture
    follower = follow(path, plot, table, interval=0.05)  # before the file exists: it waits for it
    try:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
        proc = subprocess.run([sys.executable, __file__, str(path), str(results)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert follower.wait(runs=2, timeout=60), f"the follower saw {follower.runs_ended} of 2 runs end"
    finally:
        follower.stop()
    assert not follower.running and follower.error == "" and follower.skipped == 0
    reported = json.loads(results.read_text())

    assert plot.history.to_dict() == reported["history"]  # exact: JSON keeps every float's digits
    assert plot.history.epochs_done == 4
    for key in ("loss", "mae"):
        assert plot.history.batch_series(key)[1].tolist() == [logs[key] for logs in reported["batch_logs"]]
    assert plot.error == ""

    assert table.epoch == 4
    for name in ("hidden", "out"):
        assert table.weight_stats[name]["norm"] == [epoch[name] for epoch in reported["norms"]]
        changes = table.weight_stats[name]["change"]
        # Each run's first epoch has nothing to compare with (a new RunWriter); then the weights moved.
        assert changes[0] is None and changes[2] is None and changes[1] > 0 and changes[3] > 0

    # The file holds two runs: begin, (13 batches, epoch) x 2, end each; sequence numbers in order.
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len({r["run"] for r in records}) == 2
    assert [r["type"] for r in records] == (["begin"] + (["batch"] * 13 + ["epoch"]) * 2 + ["end"]) * 2
    for run in {r["run"] for r in records}:
        assert [r["seq"] for r in records if r["run"] == run] == list(range(1, 2 + 13 * 2 + 2 + 1))
    assert follower.records == len(records)


def _line(run, seq, kind, **fields) -> str:
    return json.dumps({"run": run, "seq": seq, "type": kind, **fields}) + "\n"


def _epochs(run, start_seq, losses):
    return "".join(_line(run, start_seq + i, "epoch", epoch=i, logs={"loss": v}) for i, v in enumerate(losses))


def test_a_half_written_line_waits_for_its_end_and_damaged_lines_are_skipped(tmp_path):
    path = tmp_path / "run.jsonl"
    plot = ipyviz.TrainingPlot()
    follower = Follower(path, [plot])
    assert follower.poll() == 0  # no file yet: nothing, no error
    whole = _line("a", 1, "begin", steps=2) + _line("a", 2, "epoch", epoch=0, logs={"loss": 0.5})
    third = _line("a", 3, "epoch", epoch=1, logs={"loss": 0.25})
    path.write_text(whole + third[:17])
    assert follower.poll() == 2 and plot.history.to_dict() == {"loss": [0.5]}
    with open(path, "a") as f:
        f.write(third[17:] + "not json\n" + '{"no": "run"}\n' + _line("a", 4, "epoch", logs=[1]) +
                _line("a", 5, "batch", batch="x", logs={}) + _line("a", 6, "end"))
    assert follower.poll() == 2 and plot.history.to_dict() == {"loss": [0.5, 0.25]}
    assert follower.skipped == 4 and follower.runs_ended == 1 and plot.error == ""
    assert plot.history.epochs_done == 2  # the damaged epoch record changed nothing


def test_truncated_rotated_and_recopied_files(tmp_path):
    path = tmp_path / "run.jsonl"
    plot = ipyviz.TrainingPlot()
    follower = Follower(path, [plot])
    path.write_text(_line("a", 1, "begin") + _epochs("a", 2, [1.0]))
    follower.poll()
    # Rotation: a line lands in the old file after our last read, then it is renamed and a new one begun.
    with open(path, "a") as f:
        f.write(_epochs("a", 3, [0.9]))
    os.rename(path, tmp_path / "run.jsonl.1")
    path.write_text(_line("b", 1, "begin") + _epochs("b", 2, [2.0]))
    assert follower.poll() == 3 and plot.history.to_dict() == {"loss": [1.0, 0.9, 2.0]}
    # The same content copied over again (rsync, scp): nothing is fed twice.
    copy = tmp_path / "copy"
    copy.write_text(path.read_text())
    os.replace(copy, path)
    assert follower.poll() == 0
    # Truncated, then written again (even past the old length): read from the top.
    path.write_text("")
    assert follower.poll() == 0
    path.write_text(_line("c", 1, "begin") + _epochs("c", 2, [3.0, 2.5, 2.0, 1.5]))
    assert follower.poll() == 5 and plot.history.to_dict()["loss"][-4:] == [3.0, 2.5, 2.0, 1.5]
    # Rewritten in place with longer content between two polls (same inode, size grew): still noticed.
    with open(path, "r+") as f:
        f.write(_line("d", 1, "begin") + _epochs("d", 2, [7.0] * 6))
    assert follower.poll() == 7 and plot.history.epochs_done == 1 + 1 + 1 + 4 + 6
    assert follower.skipped == 0


def test_stop_ends_the_thread_and_nothing_is_fed_afterwards(tmp_path):
    path = tmp_path / "run.jsonl"
    plot = ipyviz.TrainingPlot()
    path.write_text(_line("a", 1, "begin") + _epochs("a", 2, [1.0, 0.5]))
    with follow(path, plot, interval=0.01) as follower:
        deadline = time.monotonic() + 30
        while follower.records < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert follower.running
    assert not follower.running  # the with-block stopped it
    with open(path, "a") as f:
        f.write(_epochs("a", 4, [0.25]) + _line("a", 5, "end"))
    time.sleep(0.1)
    assert follower.records == 3 and plot.history.to_dict() == {"loss": [1.0, 0.5]}
    assert not follower.wait(timeout=1)  # stopped: it will never see the end, and says so


def test_writer_failures_are_reported_once_and_training_goes_on(tmp_path, capsys):
    folder = tmp_path / "gone"
    folder.mkdir()
    writer = RunWriter(folder / "run.jsonl", batch_interval=0)
    folder.rmdir()  # e.g. a network share that went away
    model = _model()
    history = model.fit(np.ones((16, 8)), np.ones((16, 1)), epochs=3, batch_size=4, verbose=0, callbacks=[writer])
    assert len(history.history["loss"]) == 3 and writer.failed
    out = capsys.readouterr().out
    assert out.count("ipyviz: RunWriter(") == 1 and "failed and was switched off for this run" in out


def test_writer_writes_epochs_only_by_default_and_keeps_async_dispatch(tmp_path):
    path = tmp_path / "run.jsonl"
    writer = RunWriter(path)
    assert "on_train_batch_end" not in vars(writer)
    _model().fit(np.ones((16, 8)), np.ones((16, 1)), epochs=2, batch_size=4, verbose=0, callbacks=[writer])
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["type"] for r in records] == ["begin", "epoch", "epoch", "end"]
    assert records[0]["epochs"] == 2 and records[0]["steps"] == 4 and "weights" not in records[1]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]


def test_log_values_become_json():
    assert _jsonable(np.float32(0.5)) == 0.5 and _jsonable(np.array([1, 2])) == [1.0, 2.0]
    assert _jsonable("adam") == "adam" and np.isnan(_jsonable(float("nan")))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="asks tf.distribute's should_checkpoint")
def test_only_the_chief_writes():
    class Extended:
        should_checkpoint = False

    class Strategy:
        extended = Extended()

    class WorkerModel:
        distribute_strategy = Strategy()

    assert not _is_chief(WorkerModel()) and _is_chief(_model())


def test_a_worker_that_is_not_the_chief_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ipyviz.remote, "_is_chief", lambda model: False)
    path = tmp_path / "run.jsonl"
    history = _model().fit(np.ones((16, 8)), np.ones((16, 1)), epochs=2, verbose=0,
                           callbacks=[RunWriter(path, batch_interval=0, weights=True)])
    assert len(history.history["loss"]) == 2 and not path.exists()


def test_clear_errors_on_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        RunWriter(tmp_path / "missing" / "run.jsonl")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        RunWriter(tmp_path)
    with pytest.raises(ValueError, match="at least one widget"):
        follow(tmp_path / "run.jsonl")
    with pytest.raises(TypeError, match="TrainingPlot or a ModelSummaryTable, got str"):
        follow(tmp_path / "run.jsonl", "plot")
    with pytest.raises(ValueError, match="interval must be > 0"):
        follow(tmp_path / "run.jsonl", ipyviz.TrainingPlot(), interval=0)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
