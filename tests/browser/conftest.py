"""Real-browser tests: a real JupyterLab / Notebook 7 server, a real kernel, headless Chromium.

Run them::

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/pytest tests/browser -q          # only these
    .venv/bin/pytest -m "not browser"                                 # everything else

Writing a test
--------------
Take the ``nb`` fixture (an ``nbpage.Notebook``): write cells, open the notebook, run it, look
at the DOM. Everything a widget shows must be found in the page, not in Python (an
illustrative test; the CSS class is the widget's own)::

    import pytest
    from .nbpage import both_frontends

    pytestmark = pytest.mark.browser

    @both_frontends                      # once in JupyterLab, once in Notebook 7
    def test_summary_table_lists_layers(nb):
        nb.write([
            "import keras, ipyviz\\n"
            "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name='d1')])\\n"
            "ipyviz.ModelSummaryTable(m)",
        ])
        nb.open()                            # waits for an idle kernel ready for widgets
        nb.run_all(timeout=90)               # raises CellError with the traceback if a cell fails
        nb.wait_for_text(".ipyviz-summary", lambda t: "d1" in t, timeout=20)
        nb.assert_no_browser_errors()

Without ``@both_frontends`` a test runs in JupyterLab only; ``@pytest.mark.parametrize(
"jupyter_server", ["notebook"], indirect=True)`` picks Notebook 7 alone.

Live updates (the point of this package): ``nb.start_recording(selector)`` before
``nb.run_all()`` records, inside the page, every change of the element's text together with
whether the run was still going; ``nb.recording()`` returns ``[{'t', 'text', 'running'}]``.
Assert on changes with ``running`` true to prove a view updated *during* ``fit()``
(see test_live_updates.py). Don't use the kernel status for "still running": with ipykernel 7
the front end shows 'idle' mid-cell as soon as the page sends a control message.

Fixtures
--------
``nb``                 function: ``Notebook`` on a fresh browser context; its default notebook
                       name is unique per test; kernels are shut down afterwards.
``page``               function: a bare playwright page (e.g. for static HTML exports).
``jupyter_server``     function: the running ``JupyterServer`` for this test's front end
                       ("lab" unless parametrized indirectly).
``lab_server``,
``notebook_server``    session: one server each, started on first use (5-10 s), stopped at the end.
``browser``            session: headless Chromium (Debian's /usr/bin/chromium, else
                       playwright's); the tests skip only if neither exists.

Useful ``Notebook`` members: ``write(cells, name=None)``, ``open(name=None)``, ``run_all()``,
``start_run_all()`` / ``running()`` / ``wait_for_run()``, ``cells()``, ``outputs(i)``,
``stream_text(i)``, ``text(selector)``, ``wait_for_text(selector, predicate, timeout)``,
``save()``, ``reload()``, ``kernel_status()``, ``console_errors``, ``page_errors``,
``browser_errors()``, ``assert_no_browser_errors()``, ``page`` and ``server`` (with ``root``,
the folder the notebooks live in: a cell can write files there for the test to read).

Rules of thumb
--------------
* Give each widget a prefixed CSS class and select on it; never select on Lab's own markup
  unless the test is about Lab.
* Timeouts are seconds and generous (2 shared cores; ``import keras`` alone takes 6-15 s in a
  fresh kernel); they are ceilings, never assertions about speed.
* Keep a test under ~60 s: tiny models, few epochs, ``time.sleep`` in a callback to make
  training slow enough to watch. Each test pays one kernel start plus the TF import.
* To act at a precise point of a fit, let the callback wait for a file the test creates in
  ``nb.server.root`` (see the reload test): no timing races.
* This folder is a package (``browser.*``): import helpers with ``from .nbpage import ...``;
  a test file here may share its name with one in tests/.
* On failure, a screenshot and a log (console, page errors, server log tail) land in
  tests/browser/artifacts/ (gitignored).

Facts these tests rest on (JupyterLab 4.6, Notebook 7.6, ipykernel 7.4, seen here)
---------------------------------------------------------------------------------
* Kernel-to-page trait updates flow while a cell runs; page-to-kernel messages (a JS
  ``model.save_changes()``) reach Python only after the cell ends. Clicks that need Python
  belong after ``wait_for_run()``.
* The front end's kernel status reads 'idle' mid-cell whenever the page sent a control
  message (debugger probe, widget subshell); ``running()`` is the reliable "still running".
* A page reloaded mid-fit restores widgets with a request on the shell channel, which queues
  behind the running cell; ipyviz's callbacks answer it from ipykernel's shell channel thread
  (``ipyviz._busy_kernel``), so the widgets come back at once.
* Notebook 7 logs one page error per load from its shortcuts settings ("reading 'schema'");
  ``BENIGN_BROWSER_ERRORS`` filters it and nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .nbpage import FRONTENDS, Notebook, chromium_executable, launch_chromium, start_server

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
VIEWPORT = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(config, items):
    # Everything in this folder needs a browser and a server, marked or not.
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so fixtures can tell, at teardown, that a test failed.
    report = yield
    setattr(item, f"_browser_rep_{report.when}", report)
    return report


def _failed(node) -> bool:
    return any(
        getattr(getattr(node, f"_browser_rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def _safe_name(node) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")


def _save_artifacts(node, page, log_lines, server=None) -> None:
    """Screenshot plus a text log for a failed test; never raises (teardown must go on)."""
    if getattr(node, "_browser_artifacts_saved", False):
        return
    node._browser_artifacts_saved = True
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / _safe_name(node)
    parts = [f"test: {node.nodeid}", f"url: {page.url}", "--- browser console ---", *log_lines]
    try:
        page.screenshot(path=f"{stem}.png", timeout=10_000)
    except Exception as exc:  # a crashed page still deserves its log
        parts.append(f"(screenshot failed: {exc})")
    if server is not None:
        parts += [f"--- jupyter {server.flavor} server log (tail) ---", server.log_tail()]
    stem.with_suffix(".log").write_text("\n".join(parts))


@pytest.fixture(scope="session")
def _playwright():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip playwright is not installed")
    with sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    if chromium_executable(_playwright) is None:
        pytest.skip(
            "no Chromium binary: install Debian's chromium (/usr/bin/chromium) "
            "or run `playwright install chromium`"
        )
    browser = launch_chromium(_playwright)
    yield browser
    browser.close()


def _serve(flavor, tmp_path_factory):
    server = start_server(flavor, tmp_path_factory.mktemp(f"jupyter-{flavor}"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_server(browser, tmp_path_factory):
    # Depends on `browser` so that a missing browser skips before any server starts.
    yield from _serve("lab", tmp_path_factory)


@pytest.fixture(scope="session")
def notebook_server(browser, tmp_path_factory):
    yield from _serve("notebook", tmp_path_factory)


@pytest.fixture
def jupyter_server(request):
    flavor = getattr(request, "param", "lab")
    if flavor not in FRONTENDS:
        raise ValueError(f"jupyter_server parameter must be one of {FRONTENDS}, got {flavor!r}")
    return request.getfixturevalue(f"{flavor}_server")


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    log_lines: list[str] = []
    page.on("console", lambda msg: log_lines.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: log_lines.append(f"[pageerror] {exc}"))
    yield page
    if _failed(request.node):
        _save_artifacts(request.node, page, log_lines)
    context.close()


@pytest.fixture
def nb(browser, jupyter_server, request):
    context = browser.new_context(viewport=VIEWPORT)
    name = f"{_safe_name(request.node)}.ipynb"
    notebook = Notebook(context.new_page(), jupyter_server, default_name=name)
    yield notebook
    try:
        if _failed(request.node):
            _save_artifacts(request.node, notebook.page, notebook.console_log, jupyter_server)
    finally:
        context.close()
        jupyter_server.shutdown_kernels()
