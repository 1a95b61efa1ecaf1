"""Drive a real Jupyter server and a real Chromium page from pytest.

Two layers, both usable without pytest:

* ``JupyterServer`` / ``start_server(flavor, base_dir)``: a JupyterLab ("lab") or Notebook 7
  ("notebook") server on 127.0.0.1 with a random port and token, isolated temp dirs and a
  kernel that runs this very interpreter (``sys.executable``).
* ``Notebook``: one playwright page showing one notebook of that server: write it, open it,
  wait for the kernel, run all cells, read outputs, wait for DOM text, collect browser errors.

Example (outside pytest, with tests/ on sys.path)::

    import tempfile
    from pathlib import Path
    from playwright.sync_api import sync_playwright
    from browser.nbpage import Notebook, launch_chromium, start_server

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = start_server("lab", Path(tmp))
        browser = launch_chromium(pw)
        try:
            nb = Notebook(browser.new_page(), server)
            nb.write(["print(1 + 1)"], "demo.ipynb")
            nb.open()
            nb.run_all()
            assert nb.stream_text(0) == "2\\n"
        finally:
            browser.close()
            server.stop()

Timeouts in this module are in seconds (playwright's own are in milliseconds).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import nbformat
import pytest

FRONTENDS = ("lab", "notebook")
# Decorate a test taking ``nb`` (or ``jupyter_server``) to run it once per front end.
both_frontends = pytest.mark.parametrize("jupyter_server", FRONTENDS, indirect=True)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SYSTEM_CHROMIUM = "/usr/bin/chromium"

# Browser errors that say nothing about the widget under test, per front end. Keep these
# short: every entry hides a class of real errors too.
BENIGN_BROWSER_ERRORS = {
    "lab": (),
    # Notebook 7.6's shortcut settings transform reads the schema of a plugin it never loaded,
    # on every page load, widgets or not.
    "notebook": (re.compile(r"Cannot read properties of undefined \(reading 'schema'\)"),),
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """A TCP port that was free a moment ago (the server is told not to retry others)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterServer:
    """A running Jupyter server: where it listens, its token, and the folder it serves."""

    flavor: str  # "lab" or "notebook"
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    token: str
    root: Path  # notebooks written here are served at their relative path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def notebook_url(self, name: str) -> str:
        """The page that shows notebook ``name`` (relative to ``root``) in this front end."""
        if self.flavor == "lab":
            # ?reset: ignore any saved workspace, so no stale tab or kernel dialog opens.
            return f"{self.url}/lab/tree/{name}?reset&token={self.token}"
        return f"{self.url}/notebooks/{name}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        """Call the REST API (``path`` like ``/api/kernels``); returns parsed JSON or None."""
        sep = "&" if "?" in path else "?"
        req = urllib.request.Request(f"{self.url}{path}{sep}token={self.token}", method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def shutdown_kernels(self) -> None:
        """End every session and kernel (between tests, so TF kernels don't pile up)."""
        try:
            for session in self.api("/api/sessions"):
                self.api(f"/api/sessions/{session['id']}", method="DELETE", timeout=30)
            for kernel in self.api("/api/kernels"):
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)
        except (urllib.error.URLError, OSError):
            pass  # server already gone: nothing left to stop

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the kernels, then the server: terminate, and kill if it lingers."""
        if self.process.poll() is None:
            self.shutdown_kernels()
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def _write_settings(settings_dir: Path) -> None:
    """User settings that keep the UI free of popups nobody asked for (news, update checks)."""
    path = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def start_server(flavor: str, base_dir: Path, startup_timeout: float = 90.0) -> JupyterServer:
    """Start ``jupyter lab`` (flavor "lab") or ``jupyter notebook`` ("notebook") under ``base_dir``.

    Everything the server writes (workspaces, runtime files, IPython profile, settings) lives in
    ``base_dir``; notebooks go to ``base_dir / "root"``. Returns once ``/api/status`` answers.
    """
    if flavor not in FRONTENDS:
        raise ValueError(f"unknown Jupyter flavor {flavor!r}; choose one of {FRONTENDS}")
    dirs = {
        name: base_dir / name
        for name in ("root", "workspaces", "runtime", "ipython", "config", "settings", "data")
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    _write_settings(dirs["settings"])

    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),  # no ~/.jupyter config leaks in
        JUPYTER_DATA_DIR=str(dirs["data"]),  # no user-level kernelspec shadows the venv's python3
        IPYTHONDIR=str(dirs["ipython"]),
        TF_CPP_MIN_LOG_LEVEL="2",
        # The kernelspec says "python"; jupyter_client swaps in sys.executable, and the venv's
        # bin first on PATH covers anything the kernel itself spawns.
        PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("KERAS_BACKEND", "tensorflow")
    if flavor == "lab":
        module, app = "jupyterlab", "LabApp"
    else:
        module, app = "notebook", "JupyterNotebookApp"
    args = [
        "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={dirs['root']}",
        "--ServerApp.terminals_enabled=False",
        f"--{app}.expose_app_in_browser=True",  # window.jupyterapp: run commands, read models
    ]
    if flavor == "lab":
        args.append("--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    log_path = base_dir / "server.log"
    for attempt in range(3):  # the free port may be taken before the server binds it
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, f"--port={port}", *args],
                cwd=dirs["root"], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = JupyterServer(
            flavor, f"http://127.0.0.1:{port}", token, dirs["root"], log_path, proc
        )
        if _wait_until_up(server, startup_timeout):
            break
        if "already in use" not in server.log_tail() or attempt == 2:
            raise RuntimeError(
                f"jupyter {flavor} exited with code {proc.returncode} before answering; "
                f"log:\n{server.log_tail()}"
            )
    _check_kernelspec(server)
    return server


def _wait_until_up(server: JupyterServer, timeout: float) -> bool:
    """Poll /api/status: True once it answers, False if the process exits first."""
    deadline = time.monotonic() + timeout
    while server.process.poll() is None:
        try:
            server.api("/api/status", timeout=2)
            return True
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"jupyter {server.flavor} did not answer /api/status within {timeout:.0f}s; "
                    f"log:\n{server.log_tail()}"
                ) from None
            time.sleep(0.25)
    return False


def _check_kernelspec(server: JupyterServer) -> None:
    """Fail early if "python3" would start some other interpreter than this venv's."""
    spec = server.api("/api/kernelspecs")["kernelspecs"].get("python3")
    if spec is None:
        server.stop()
        raise RuntimeError(
            "the server has no 'python3' kernelspec; is ipykernel installed in this venv?"
        )
    exe = spec["spec"]["argv"][0]
    major, minor = sys.version_info[:2]
    if exe not in {"python", f"python{major}", f"python{major}.{minor}", sys.executable}:
        server.stop()
        raise RuntimeError(
            f"kernelspec python3 runs {exe!r}, not this venv's {sys.executable}; "
            f"remove the stray kernelspec at {spec['resource_dir']}"
        )


# --------------------------------------------------------------------------- browser


def chromium_executable(playwright=None) -> str | None:
    """Debian's /usr/bin/chromium if present, else playwright's own download, else None."""
    if os.path.exists(SYSTEM_CHROMIUM):
        return SYSTEM_CHROMIUM
    if playwright is not None:
        path = playwright.chromium.executable_path
        if path and os.path.exists(path):
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, headless: bool = True):
    """Launch Chromium with flags that keep it quiet and offline-friendly on a CI box."""
    return playwright.chromium.launch(
        executable_path=chromium_executable(playwright), headless=headless, args=CHROMIUM_ARGS
    )


def write_notebook(root: Path, name: str, cells: Sequence) -> Path:
    """Write ``cells`` (source strings, or nbformat cells) as notebook ``root / name``.

    The notebook names the venv's "python3" kernel, so no kernel-picker dialog opens.
    """
    if not name.endswith(".ipynb"):
        raise ValueError(f"notebook name must end with .ipynb, got {name!r}")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"
    }
    nb.metadata["language_info"] = {"name": "python"}
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


class CellError(AssertionError):
    """A notebook cell raised; the message carries the cell source and the traceback."""


# JS snippets. `panel` is the NotebookPanel shown; in both Lab and Notebook 7 it is the
# shell's current widget right after opening the notebook URL.
_JS_PANEL = """
  const app = window.jupyterapp;
  const panel = app && app.shell && app.shell.currentWidget;
"""

_JS_KERNEL = """
  const ctx = panel && panel.sessionContext;
  const k = ctx && ctx.session && ctx.session.kernel;
"""

_JS_RUNNING = "(!!window.__ipyvizRun && !window.__ipyvizRun.done)"

_JS_READY = _JS_PANEL + """
  if (!panel || !panel.context || panel.context.path !== path) return false;
  if (!panel.context.isReady) return false;
  if (!panel.content || panel.content.widgets.length === 0) return false;
""" + _JS_KERNEL + """
  const kernel = k;
  if (!kernel || kernel.connectionStatus !== 'connected') return false;
  if (needIdle && kernel.status !== 'idle') return false;
  // The widget manager registers its comm target when it sees the kernel; a widget created
  // before that fails with "model not found". Private field, so only checked where present.
  const targets = kernel._targetRegistry;
  if (targets && !('jupyter.widget' in targets)) return false;
  return true;
"""


class Notebook:
    """One playwright ``page`` showing notebooks of ``server``.

    ``console_errors`` and ``page_errors`` fill up from the moment this object exists, and
    ``console_log`` keeps every console line for failure reports.
    """

    def __init__(self, page, server: JupyterServer, default_name: str = "untitled.ipynb"):
        self.page = page
        self.server = server
        self.name = default_name
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.console_log: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, msg) -> None:
        self.console_log.append(f"[{msg.type}] {msg.text}")
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def _on_page_error(self, exc) -> None:
        self.console_log.append(f"[pageerror] {exc}")
        self.page_errors.append(str(exc))

    # ------------------------------------------------------------------ files and navigation

    def write(self, cells: Sequence, name: str | None = None) -> str:
        """Write ``cells`` (source strings or nbformat cells) to the server root; return the name.

        ``name`` defaults to the one the fixture picked (unique per test); later ``open()`` calls
        without a name open the notebook written last.
        """
        if name is not None:
            self.name = name
        write_notebook(self.server.root, self.name, cells)
        return self.name

    def open(self, name: str | None = None, timeout: float = 60) -> None:
        """Navigate to the notebook and wait until its kernel is idle and ready for widgets."""
        if name is not None:
            self.name = name
        self.page.goto(self.server.notebook_url(self.name), wait_until="domcontentloaded")
        self.wait_ready(timeout=timeout)

    def wait_ready(self, idle: bool = True, timeout: float = 60) -> None:
        """Wait for the notebook, a connected kernel with the widget comm target and, if ``idle``,
        an idle kernel (use ``idle=False`` after a reload while a cell still runs)."""
        self.page.wait_for_function(
            f"([path, needIdle]) => {{ {_JS_READY} }}",
            arg=[self.name, idle], timeout=timeout * 1000,
        )
        if idle and self.server.flavor == "lab":
            # What a user sees in Lab's toolbar; it follows the model by a tick.
            self.page.wait_for_selector(
                '.jp-Notebook-ExecutionIndicator[data-status="idle"]', state="attached",
                timeout=timeout * 1000,
            )

    def reload(self, idle: bool = False, timeout: float = 60) -> None:
        """Reload the page (the kernel keeps running) and wait until the notebook reconnects.

        Outputs not saved before the reload are gone; call ``save()`` first to keep them.
        """
        self.page.reload(wait_until="domcontentloaded")
        self.wait_ready(idle=idle, timeout=timeout)

    def save(self) -> None:
        """Save the notebook with its current outputs (REST, so it works while a cell runs)."""
        self.page.evaluate(f"async () => {{ {_JS_PANEL} await panel.context.save(); }}")

    # ------------------------------------------------------------------ kernel and execution

    def kernel_status(self) -> str | None:
        """The kernel status the front end shows ('idle', 'busy', ...); None without a kernel.

        Not a "cell still running" test: with ipykernel 7 the status flips to 'idle' while a
        cell runs, as soon as the page sends a control message (debugger probe, widget subshell).
        Use ``running()`` for that.
        """
        return self.page.evaluate(
            f"() => {{ {_JS_PANEL} {_JS_KERNEL} return k ? k.status : null; }}"
        )

    def wait_for_kernel_status(self, status: str, timeout: float = 60) -> None:
        """Wait until the front end reports kernel status ``status`` (see ``kernel_status``)."""
        self.page.wait_for_function(
            f"(want) => {{ {_JS_PANEL} {_JS_KERNEL} return !!k && k.status === want; }}",
            arg=status, timeout=timeout * 1000,
        )

    def start_run_all(self) -> None:
        """Start 'Run All Cells' and return at once; follow it with ``running()`` and
        ``wait_for_run()``."""
        self.page.evaluate(
            """() => {
              const run = window.__ipyvizRun = { done: false, ok: null, error: null };
              window.jupyterapp.commands.execute('notebook:run-all-cells').then(
                (ok) => { run.ok = ok; run.done = true; },
                (err) => { run.error = String(err); run.done = true; });
            }"""
        )

    def running(self) -> bool:
        """True while cells of the last ``start_run_all`` have not all replied.

        False after a reload: the new page does not know what the old one started.
        """
        return bool(self.page.evaluate(f"() => {_JS_RUNNING}"))

    def wait_for_run(self, timeout: float = 60, check: bool = True) -> None:
        """Wait until the last ``start_run_all`` finished; with ``check``, raise CellError if a
        cell raised (message: cell index, source, traceback)."""
        try:
            self.page.wait_for_function(
                "() => !!window.__ipyvizRun && window.__ipyvizRun.done", timeout=timeout * 1000
            )
        except Exception as exc:  # playwright's TimeoutError: say which cells had not run
            if type(exc).__name__ != "TimeoutError":
                raise
            raise TimeoutError(
                f"cells still running after {timeout}s; executed so far: "
                f"{[c['execution_count'] for c in self.cells()]}"
            ) from exc
        run = self.page.evaluate("() => window.__ipyvizRun")
        if run["error"]:
            raise CellError(f"'Run All Cells' failed in the front end: {run['error']}")
        if check:
            self.raise_cell_errors()

    def run_all(self, timeout: float = 60, check: bool = True) -> None:
        """Run all cells and wait for the last to finish (see ``wait_for_run``)."""
        self.start_run_all()
        self.wait_for_run(timeout=timeout, check=check)

    # ------------------------------------------------------------------ outputs

    def cells(self) -> list[dict]:
        """The notebook as the page holds it: [{'source', 'execution_count', 'outputs'}] with
        nbformat output dicts."""
        return self.page.evaluate(
            f"""() => {{ {_JS_PANEL}
              const cells = panel.content.model.cells, out = [];
              for (let i = 0; i < cells.length; i++) {{
                const c = cells.get(i), j = c.toJSON();
                out.push({{ source: c.sharedModel.getSource(),
                           execution_count: j.execution_count ?? null, outputs: j.outputs || [] }});
              }}
              return out; }}"""
        )

    def outputs(self, index: int) -> list[dict]:
        """nbformat output dicts of cell ``index``."""
        return self.cells()[index]["outputs"]

    def stream_text(self, index: int, name: str = "stdout") -> str:
        """All text cell ``index`` printed on stream ``name`` ('stdout' or 'stderr')."""
        return "".join(
            _join(o["text"]) for o in self.outputs(index)
            if o["output_type"] == "stream" and o["name"] == name
        )

    def raise_cell_errors(self) -> None:
        """Raise CellError for the first cell whose outputs hold an error."""
        for i, cell in enumerate(self.cells()):
            for out in cell["outputs"]:
                if out["output_type"] == "error":
                    tb = _ANSI.sub("", "\n".join(out.get("traceback", [])))
                    raise CellError(
                        f"cell {i} raised {out['ename']}: {out['evalue']}\n--- source ---\n"
                        f"{cell['source']}\n--- traceback ---\n{tb}"
                    )

    # ------------------------------------------------------------------ DOM

    def text(self, selector: str) -> str | None:
        """textContent of the first ``selector`` match, None if nothing matches."""
        return text_of(self.page, selector)

    def wait_for_text(
        self, selector: str, predicate: Callable[[str], bool], timeout: float = 30
    ) -> str:
        """Wait until the first ``selector`` match has text with ``predicate(text)``; return it."""
        return wait_for_text(self.page, selector, predicate, timeout)

    def start_recording(self, selector: str, interval_ms: int = 20) -> None:
        """Record, inside the page, every change of the first ``selector`` match's text.

        Each change is stored with whether the last ``start_run_all`` was still running, so a
        test can prove a view updated *during* a cell. Read them with ``recording()``.
        """
        self.page.evaluate(
            f"""([sel, ms]) => {{
              if (window.__ipyvizRec) clearInterval(window.__ipyvizRec.timer);
              const rec = window.__ipyvizRec =
                {{ changes: [], last: undefined, t0: performance.now() }};
              rec.timer = setInterval(() => {{
                const el = document.querySelector(sel), text = el ? el.textContent : null;
                if (text === rec.last) return;
                rec.last = text;
                const t = Math.round(performance.now() - rec.t0);
                rec.changes.push({{ t, text, running: {_JS_RUNNING} }});
              }}, ms);
            }}""",
            [selector, interval_ms],
        )

    def recording(self) -> list[dict]:
        """Changes since ``start_recording``: [{'t': ms, 'text': str | None, 'running': bool}]."""
        return self.page.evaluate("() => window.__ipyvizRec ? window.__ipyvizRec.changes : []")

    # ------------------------------------------------------------------ browser errors

    def browser_errors(self, ignore: Iterable[re.Pattern | str] | None = None) -> list[str]:
        """Console errors and uncaught page errors, minus those matching ``ignore``
        (default: this front end's ``BENIGN_BROWSER_ERRORS``)."""
        if ignore is None:
            ignore = BENIGN_BROWSER_ERRORS[self.server.flavor]
        pats = [re.compile(p) if isinstance(p, str) else p for p in ignore]
        errors = self.console_errors + self.page_errors
        return [e for e in errors if not any(p.search(e) for p in pats)]

    def assert_no_browser_errors(self, ignore: Iterable[re.Pattern | str] | None = None) -> None:
        """Fail listing every browser error not in ``ignore`` (see ``browser_errors``)."""
        errors = self.browser_errors(ignore)
        assert not errors, "the browser logged errors:\n" + "\n".join(errors)


def text_of(page, selector: str) -> str | None:
    """textContent of the first ``selector`` match on ``page``, None if there is none."""
    return page.evaluate(
        "(sel) => { const el = document.querySelector(sel); return el ? el.textContent : null; }",
        selector,
    )


def wait_for_text(page, selector: str, predicate: Callable[[str], bool], timeout: float = 30,
                  poll: float = 0.05) -> str:
    """Poll the first ``selector`` match until ``predicate(text)`` is true; return that text.

    Raises TimeoutError naming the selector and the last text seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = text_of(page, selector)
        if last is not None and predicate(last):
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"after {timeout}s the text of {selector!r} never satisfied the predicate; "
                f"last text: {last!r}"
            )
        time.sleep(poll)


def _join(text) -> str:
    return "".join(text) if isinstance(text, list) else text
