"""A real ipykernel (this venv's interpreter) and a client reading its IOPub messages, for tests that
need what a browser would receive: comm messages, their timing, widget-restore replies.

Example::

    with running_kernel() as client:
        msg_id = client.execute("print(1)")
        messages = read_until_idle(client, msg_id)
"""

import contextlib
import queue
import sys
import time

import jupyter_client


@contextlib.contextmanager
def running_kernel(extra_env=None):
    manager = jupyter_client.KernelManager(
        kernel_cmd=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ":".join(sys.path), **(extra_env or {})}
    manager.start_kernel(env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=90)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def wait_iopub(client, until, timeout):
    """Read IOPub until ``until(msg)`` is true: ``(msg, seconds)``, or ``(None, seconds)`` on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            msg = client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        if until(msg):
            return msg, time.monotonic() - start
    return None, time.monotonic() - start


def is_idle(msg, msg_id):
    return (msg["header"]["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id
            and msg["content"]["execution_state"] == "idle")


def read_until_idle(client, msg_id, timeout=300):
    """Every IOPub message until the request ``msg_id`` is done; raises if it never finishes."""
    seen = []
    done, _ = wait_iopub(client, lambda m: seen.append(m) or is_idle(m, msg_id), timeout)
    if done is None:
        raise TimeoutError(f"the kernel did not finish {msg_id} within {timeout} s")
    return seen
