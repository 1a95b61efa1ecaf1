"""A reloaded page's widget-restore request is answered while a cell is still running.

A real ipykernel (this venv's interpreter) and a client that does what JupyterLab's widget manager
does after a reload: open the ``jupyter.widget.control`` comm, send ``request_states`` and wait for
``update_states``. Without ipyviz's router the answer only comes when the cell ends; with it, during.
"""

import time
import uuid

import pytest

pytest.importorskip("jupyter_client")
from kernel_client import is_idle, running_kernel, wait_iopub  # noqa: E402

pytestmark = pytest.mark.once

BUSY = 6.0  # seconds the "training" cell runs


@pytest.fixture(scope="module")
def kernel():
    with running_kernel() as client:
        yield client


def _execute(client, code):
    return client.execute(code, store_history=False)


def _request_states(client):
    comm_id = uuid.uuid4().hex
    client.shell_channel.send(client.session.msg(
        "comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control", "data": {}},
        metadata={"version": "1.0.0"}))
    client.shell_channel.send(client.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}}))
    return comm_id


def _states_for(comm_id):
    return lambda m: (m["header"]["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
                      and m["content"]["data"].get("method") == "update_states")


def _busy_cell(value, install):
    return (
        "import time, ipywidgets\n"
        + ("from ipyviz._busy_kernel import serve_widget_state_while_busy\n"
           "print(serve_widget_state_while_busy())\n" if install else "")
        + f"slider = ipywidgets.IntSlider(value={value})\n"
        f"time.sleep({BUSY})\n"
    )


def test_without_the_router_the_restore_request_waits_for_the_cell(kernel):
    _execute(kernel, _busy_cell(11, install=False))
    time.sleep(1.0)  # the cell is running
    comm_id = _request_states(kernel)
    reply, waited = wait_iopub(kernel, _states_for(comm_id), timeout=BUSY + 30)
    assert reply is not None
    assert waited > BUSY - 2, f"answered after {waited:.1f} s, while the cell was running: the kernel changed"


def test_with_the_router_the_restore_request_is_answered_mid_cell_and_nothing_else_moves(kernel):
    _execute(kernel, _busy_cell(42, install=True))
    time.sleep(1.5)
    queued = _execute(kernel, "after = slider.value + 1\nprint('queued ran', after)")  # waits its turn
    comm_id = _request_states(kernel)
    reply, waited = wait_iopub(kernel, _states_for(comm_id), timeout=BUSY + 30)
    assert reply is not None and waited < BUSY - 2, f"no answer while the cell ran (waited {waited:.1f} s)"
    states = reply["content"]["data"]["states"]
    sliders = [s["state"] for s in states.values() if s["model_name"] == "IntSliderModel"]
    assert 42 in [s["value"] for s in sliders], sliders

    # The queued cell still runs, after the first one, with its output attributed to it.
    outputs = []

    def streamed(m):
        if m["header"]["msg_type"] == "stream":
            outputs.append((m["parent_header"].get("msg_id"), m["content"]["text"]))
        return is_idle(m, queued)

    done, _ = wait_iopub(kernel, streamed, timeout=BUSY + 30)
    assert done is not None
    assert (queued, "queued ran 43\n") in outputs


def test_outside_a_kernel_it_does_nothing():
    from ipyviz._busy_kernel import serve_widget_state_while_busy

    assert serve_widget_state_while_busy() is False
