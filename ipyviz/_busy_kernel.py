"""Let a page reloaded during ``fit()`` get its widgets back while the cell is still running.

A reloaded JupyterLab / Notebook 7 page restores widgets by opening the ``jupyter.widget.control``
comm and sending ``request_states``; the kernel answers with every widget's state in one
``update_states`` message. Both requests travel on the shell channel, and ipykernel handles shell
messages on the main thread -- which is busy running ``fit()``. So without help the page stays
empty until the cell ends (ipykernel 7, jupyterlab_widgets 3).

ipykernel 7 reads the shell socket on a thread of its own (the *shell channel thread*, which routes
messages to subshells). :func:`serve_widget_state_while_busy` puts a small router in front of it: while
the main thread is busy, exactly these two widget-restore messages are answered right there, with
ipywidgets' own handlers; every other message (``execute_request``, a slider's ``comm_msg``, ...) goes
on to ipykernel untouched and in order. When the main thread is idle nothing is intercepted at all.
Reading widget state from a second thread is safe here: ``get_state`` only reads traits, and the
reply goes out on IOPub, whose socket ipykernel already shares between threads.

Outside an ipykernel 7 kernel with a shell channel thread (plain Python, tests, older kernels) it
does nothing and returns ``False``.

Example::

    from ipyviz._busy_kernel import serve_widget_state_while_busy
    serve_widget_state_while_busy()     # True inside ipykernel >= 7; idempotent
"""

from __future__ import annotations

import logging
import threading

__all__ = ["serve_widget_state_while_busy"]

CONTROL_TARGET = "jupyter.widget.control"
_installed: dict[int, "_Router"] = {}  # id(kernel) -> router
_lock = threading.Lock()
log = logging.getLogger(__name__)


def _kernel():
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    return Kernel.instance() if Kernel.initialized() else None


def serve_widget_state_while_busy() -> bool:
    """Install the router once per kernel; ``True`` when it is (or already was) installed."""
    try:
        return _install()
    except Exception:  # noqa: BLE001 -- an unexpected kernel must never stop training
        log.exception("ipyviz: could not install the widget-restore router")
        return False


def _install() -> bool:
    kernel = _kernel()
    thread = getattr(kernel, "shell_channel_thread", None)
    stream = getattr(kernel, "shell_stream", None)
    if kernel is None or thread is None or stream is None or not hasattr(kernel, "_main_asyncio_lock"):
        return False
    with _lock:
        if id(kernel) in _installed:
            return True
        router = _installed[id(kernel)] = _Router(kernel)
    # The stream belongs to the shell channel thread's loop: swap its handler from there.
    thread.io_loop.add_callback(stream.on_recv, router, copy=False)
    return True


class _Router:
    """The shell stream's receive handler: widget-restore requests here while busy, the rest to ipykernel."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.forward = kernel.shell_channel_thread_main  # ipykernel's own router (a coroutine function)
        self.control_comms: set[str] = set()
        self.served = 0

    async def __call__(self, msg):
        try:
            if self._main_busy() and self._answer(msg):
                return
        except Exception:  # noqa: BLE001 -- never lose a message because of this helper
            log.exception("ipyviz: could not answer a widget-restore request; passing it to ipykernel")
        await self.forward(msg)

    def _main_busy(self) -> bool:
        lock = self.kernel._main_asyncio_lock
        return lock is not None and lock.locked()

    def _answer(self, msg) -> bool:
        session = self.kernel.session
        idents, frames = session.feed_identities(msg, copy=False)
        header = session.deserialize(frames, content=False, copy=False)
        msg_type = header["header"]["msg_type"]
        if msg_type not in ("comm_open", "comm_msg") or header["header"].get("subshell_id"):
            return False
        content = session.unpack(header["content"])
        if msg_type == "comm_open" and content.get("target_name") != CONTROL_TARGET:
            return False
        if msg_type == "comm_msg" and content.get("comm_id") not in self.control_comms:
            return False
        full = session.deserialize(frames, content=True, copy=False)
        # The reply's parent, for this task only: Kernel.set_parent would also re-point the output of
        # the training thread's background threads at this request.
        self.kernel._shell_parent_ident.set(idents)
        self.kernel._shell_parent.set(full)
        if msg_type == "comm_open":
            self.kernel.comm_manager.comm_open(self.kernel.shell_stream, idents, full)
            self.control_comms.add(content["comm_id"])
        else:
            from ipywidgets import Widget

            # ipywidgets' own handler, called directly: Comm.handle_msg would also fire IPython's
            # pre/post_execute hooks from this thread, in the middle of the running cell.
            self._retry(Widget._handle_control_comm_msg, full)
            self.served += 1
        return True

    @staticmethod
    def _retry(handler, *args, attempts=3):
        # ipywidgets walks its dict of live widgets; the training thread may add one meanwhile.
        for attempt in range(attempts):
            try:
                return handler(*args)
            except RuntimeError as error:
                if "changed size" not in str(error) or attempt == attempts - 1:
                    raise
