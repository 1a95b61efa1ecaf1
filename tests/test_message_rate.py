"""1,000 batches an epoch with per-batch updates on: the browser gets about 20 messages a second, and the
final state is exact.

A real kernel runs a 3-epoch fit (batch size 1, 1,000 samples) with a TrainingPlot, a ModelSummaryTable
and an EmbeddingScatter, all asking for an update after every batch (``batch_interval=0``). Every comm
message the kernel publishes is what a browser would receive; the test counts them by their timestamps.
"""

import json

import pytest

pytest.importorskip("jupyter_client")
from kernel_client import read_until_idle, running_kernel  # noqa: E402

EPOCHS, SAMPLES = 3, 1000

pytestmark = pytest.mark.once

CELL = f"""
import json, time, numpy as np, keras, ipyviz
from IPython.display import display
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((1,), dtype="int32"), keras.layers.Embedding(40, 6, name="emb"),
                          keras.layers.Flatten(), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
x = np.arange({SAMPLES}, dtype="int32").reshape(-1, 1) % 40
y = np.sin(x).astype("float32")
words = ["w%d" % i for i in range(40)]
plot, table, scatter = ipyviz.TrainingPlot(), ipyviz.ModelSummaryTable(model), ipyviz.EmbeddingScatter(model, words)
display(plot, table, scatter)
print("FIT_START", time.time(), flush=True)
history = model.fit(x, y, batch_size=1, epochs={EPOCHS}, verbose=0, shuffle=False, callbacks=[
    plot.callback(batch_interval=0), table.callback(), scatter.callback(batch_interval=0)])
print("FIT_END", time.time(), flush=True)
h = plot.history
print("STATE", json.dumps(dict(
    keras=history.history, plot=h.to_dict(),
    epoch_line=[float(v) for v in plot._panels["loss"].lines[("loss", "epoch")][0].y],
    batch_x=[float(v) for v in h.batch_series("loss", decimated=True)[0][-1:]],
    pending=[k for k in h.keys() if plot._panels[k.removeprefix("val_")].sent.get((k, "epoch")) != h.version.get(k)],
    table_epoch=table.epoch, scatter_frames=[f.get("name") for f in scatter.frame_info],
    scatter_equal=bool(np.allclose(scatter._matrix, model.get_layer("emb").embeddings.numpy()[scatter._rows])),
)), flush=True)
"""


def test_per_batch_updates_stay_near_20_messages_a_second_and_end_exact():
    with running_kernel() as client:
        msg_id = client.execute(CELL, store_history=False)
        messages = read_until_idle(client, msg_id, timeout=600)

    text = "".join(m["content"].get("text", "") for m in messages if m["header"]["msg_type"] == "stream")
    errors = [m["content"] for m in messages if m["header"]["msg_type"] == "error"]
    assert not errors, errors
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in text.splitlines() if " " in line}
    start, end = float(lines["FIT_START"]), float(lines["FIT_END"])
    def during_fit(kind):
        return sorted(t for m in messages if m["header"]["msg_type"] == kind
                      and start <= (t := m["header"]["date"].timestamp()) <= end)

    # Updates are what a per-batch schedule multiplies; opens happen once, when the plot first draws
    # a metric (its figures, axes and layouts).
    stamps, opens = during_fit("comm_msg"), during_fit("comm_open")
    seconds = end - start
    rate = len(stamps) / seconds
    window = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    print(f"{len(stamps)} updates in {seconds:.1f} s of fit: {rate:.1f}/s, busiest second {window}; "
          f"{len(opens)} widgets opened")
    assert len(opens) < 100, "widgets are being opened per batch"  # 3,000 batches
    assert seconds > 2.0, "the fit was too short to measure a rate"
    assert len(stamps) > 3 * EPOCHS, "per-batch updates did not arrive at all"
    assert rate <= 20.0, f"{rate:.1f} messages/s"
    # A second holding an epoch end also carries that epoch's must-send updates on top of the budget.
    assert window <= 40, f"{window} messages in one second"

    state = json.loads(lines["STATE"])
    assert state["plot"] == state["keras"]  # every epoch value, exactly as Keras logged it
    assert state["epoch_line"] == pytest.approx(state["keras"]["loss"], rel=1e-6)
    assert state["batch_x"] == [pytest.approx(float(EPOCHS))]  # the last batch point is the last batch
    assert state["pending"] == []
    assert state["table_epoch"] == EPOCHS
    assert state["scatter_frames"][-1] == f"epoch {EPOCHS}" and state["scatter_equal"]


def test_budget_refills_at_its_rate_and_caps_bursts():
    from ipyviz.live import MessageBudget

    budget = MessageBudget(rate=20, burst=0.5)  # holds 10 messages at most
    t = budget._at  # times below keep clear of float rounding at the boundaries
    assert budget.allows(10, t) and budget.allows(11, t)  # a cost above the cap needs a full bucket
    budget.spend(10, t)
    assert not budget.allows(1, t)
    assert budget.allows(2, t + 0.11) and not budget.allows(3, t + 0.11)  # 0.11 s at 20/s refills 2.2
    budget.spend(32, t + 0.11)  # an epoch end that must go: the debt (-29.8) delays later flushes
    assert not budget.allows(1, t + 1.55)  # -29.8 + 28.8
    assert budget.allows(1, t + 1.7)  # -29.8 + 31.8
    budget.spend(0, t + 100)
    assert budget._tokens == 10  # never more than the cap, however long it rested
    with pytest.raises(ValueError, match="rate and burst must be > 0"):
        MessageBudget(rate=0)
