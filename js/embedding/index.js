// The EmbeddingScatter view: WebGL points (renderer.js), pan/zoom (camera.js), hover and click via a
// grid index (grid.js), search (search.js), highlighted labels, a neighbour list answered by the
// kernel, and an epoch slider replaying the frames with animated transitions (frames.js).
// Everything is drawn from traits, so a reloaded page shows the map again. While fit() runs, all of
// this works in the browser alone; only the neighbour list needs the kernel (it answers when free).
//
// DOM hooks for browser tests:
//   root  `.ipyviz-embedding` with data-state ("ready" | "no-renderer"), data-renderer ("webgl2" |
//         "webgl" | "2d"), data-points (N), data-frames (frames this view can replay), data-frame (id
//         of the frame shown), data-animating ("1" during a transition), data-matches (search hits),
//         data-selected (row, -1 none), data-hover (row under the mouse, -1 none), data-draws (draw
//         count, grows by one per redraw), data-render-ms (time of the last draw, submit side),
//         data-frame-ms (interval between the last two animation frames of a transition: GPU included).
//   `input.ipyviz-embedding-search` (text, or /regex/flags; Enter selects the first match),
//   `.ipyviz-embedding-count` (match count text), `.ipyviz-embedding-label[data-index][data-kind]`
//   (labels drawn on the map: kind highlight | selected | neighbor | match), `.ipyviz-embedding-tooltip`,
//   `.ipyviz-embedding-neighbors[data-state][data-row] li[data-index]` (state empty | waiting | ready |
//   error), `input.ipyviz-embedding-epoch` (range over the replayable frames), `.ipyviz-embedding-frame-name`,
//   `button.ipyviz-embedding-play`, `button.ipyviz-embedding-fit`.
//   Debug API (no globals): `root.ipyvizEmbedding.pointToClient(i)` -> {x, y} client coordinates of
//   row i in the shown frame, scrolling the map into view first (click there with the mouse to select
//   it; null for an unknown row), `.indexOf(word)` -> row or -1,
//   `.label(i)`, `.view()` -> {cx, cy, scale}.
import "../shared/theme.css";
import "./style.css";
import { errorBanner, h } from "../shared/dom.js";
import { formatCount } from "../shared/format.js";
import { boundsOf, clipTransform, fitView, lerpView, panBy, toScreen, toWorld, zoomAt } from "./camera.js";
import { parseColor, withAlpha } from "./color.js";
import { FrameStore, asFloat32, easeInOut, lerpInto } from "./frames.js";
import { buildGrid, nearest } from "./grid.js";
import { createCanvasRenderer, createWebGLRenderer } from "./renderer.js";
import { decodeLabels, findMatches, labelIndex } from "./search.js";

const HEIGHT = 480;
const TRANSITION_MS = 300;
const PICK_PX = 8; // hover/click radius in CSS pixels
const MATCH_LABELS = 40; // search hits get a text label when there are at most this many
const PLAY_STEP_MS = 650;

function pointStyle(n) {
  // Smaller, fainter points as the map gets denser, so 1 M points read as a density.
  if (n > 300_000) return { size: 1.5, alpha: 0.45 };
  if (n > 50_000) return { size: 2.5, alpha: 0.6 };
  return { size: 4, alpha: 0.8 };
}

function render({ model, el }) {
  const n = model.get("n_points") || 0;
  // Decoding 1 M labels takes ~0.3 s and a word -> row map ~1 s: both wait until something needs them.
  let labelList = null, rowMap = null, lower = null;
  const labelsOf = () => (labelList ??= decodeLabels(model.get("labels_text") || "", n));
  const label = (i) => labelsOf()[i];
  const rowOf = (word) => (rowMap ??= labelIndex(labelsOf())).get(word);

  // ---- DOM ------------------------------------------------------------------------------------
  const root = h("div", { class: "ipyviz-embedding", "data-points": n, "data-selected": -1, "data-hover": -1 });
  const { banner, update: updateError } = errorBanner(model, "ipyviz-embedding");
  const search = h("input", {
    class: "ipyviz-embedding-search", type: "search", placeholder: "Search words (text or /regex/)",
    "aria-label": "Search words",
  });
  const count = h("span", { class: "ipyviz-embedding-count" });
  const info = h("span", { class: "ipyviz-embedding-info" });
  const fitButton = h("button", { class: "ipyviz-embedding-fit", title: "Fit the view (double-click the map)" }, "Fit");
  const stage = h("div", { class: "ipyviz-embedding-stage", style: `height:${HEIGHT}px` });
  let canvas = h("canvas", { class: "ipyviz-embedding-canvas" });
  const overlay = h("div", { class: "ipyviz-embedding-labels" });
  const tooltip = h("div", { class: "ipyviz-embedding-tooltip", hidden: true });
  const message = h("div", { class: "ipyviz-embedding-message", hidden: true });
  stage.append(canvas, overlay, tooltip, message);
  const play = h("button", { class: "ipyviz-embedding-play", title: "Replay the frames", "aria-label": "Replay" }, "▶");
  const slider = h("input", {
    class: "ipyviz-embedding-epoch", type: "range", min: 0, max: 0, step: 1, value: 0, "aria-label": "Frame",
  });
  const frameName = h("span", { class: "ipyviz-embedding-frame-name" });
  const neighborsTitle = h("div", { class: "ipyviz-embedding-neighbors-title" });
  const neighborsList = h("ol");
  const neighbors = h("div", { class: "ipyviz-embedding-neighbors", "data-state": "empty" }, neighborsTitle, neighborsList);
  root.append(
    banner,
    h("div", { class: "ipyviz-embedding-bar" }, search, count, h("span", { class: "ipyviz-embedding-spacer" }), info, fitButton),
    h("div", { class: "ipyviz-embedding-body" }, stage, neighbors),
    h("div", { class: "ipyviz-embedding-timeline" }, play, slider, frameName),
  );
  el.append(root);

  // ---- state ----------------------------------------------------------------------------------
  const store = new FrameStore();
  let shownId = null; // frame id on screen (the target while animating)
  let current = null; // its positions
  let grid = null; // spatial index of `current`, built on the first hover after a frame change
  let view = { cx: 0, cy: 0, scale: 1 };
  let autoFit = true; // follow the data until the user pans or zooms
  let anim = null; // {from, start, fromView, toView}; `current` is the target
  let follow = true; // a new frame from training is shown at once unless the user scrubbed back
  let matches = new Uint32Array(0);
  let selected = model.get("selected") ?? -1;
  let rafId = 0, searchTimer = 0, playTimer = 0, draws = 0, lastTick = 0;
  let width = 0, height = HEIGHT, dpr = 1;
  let styles = null;
  let labelEls = [];
  let destroyed = false;

  // ---- renderer ---------------------------------------------------------------------------------
  let renderer = null;
  const freshCanvas = () => {
    const fresh = h("canvas", { class: "ipyviz-embedding-canvas" });
    canvas.replaceWith(fresh);
    canvas = fresh;
  };
  const makeRenderer = () => {
    try {
      const r = createWebGLRenderer(canvas);
      if (r) return r; // null: no WebGL context was created, the canvas can still go 2-D
    } catch (error) {
      console.warn("ipyviz: WebGL set-up failed, drawing on a 2-D canvas instead", error);
      freshCanvas(); // this one already holds a WebGL context
    }
    return createCanvasRenderer(canvas);
  };
  const onContextLost = (event) => {
    // The page ran out of WebGL contexts (or the GPU reset): carry on with a 2-D canvas.
    event.preventDefault();
    canvas.removeEventListener("webglcontextlost", onContextLost);
    freshCanvas();
    renderer = createCanvasRenderer(canvas);
    root.dataset.renderer = renderer ? renderer.kind : "none";
    resize();
    if (renderer && current) renderer.setPoints(current, current);
    anim = null;
    updateLayers();
  };
  renderer = makeRenderer();
  canvas.addEventListener("webglcontextlost", onContextLost);
  root.dataset.renderer = renderer ? renderer.kind : "none";
  root.dataset.state = renderer ? "ready" : "no-renderer";
  if (!renderer) {
    message.textContent = "This browser can draw neither WebGL nor 2-D canvas: the map cannot be shown.";
    message.hidden = false;
  }

  const readStyles = () => {
    const computed = getComputedStyle(root);
    const probe = document.createElement("canvas").getContext("2d");
    const color = (name, fallback) => {
      const value = computed.getPropertyValue(name).trim();
      if (!probe || !value) return parseColor(fallback);
      probe.fillStyle = fallback;
      probe.fillStyle = value; // normalises any CSS colour to #rrggbb / rgba()
      return parseColor(probe.fillStyle, parseColor(fallback));
    };
    const { size, alpha } = pointStyle(n);
    styles = {
      base: { color: withAlpha(color("--ipv-point", "#1976d2"), alpha), size },
      match: { color: color("--ipv-match", "#f57c00"), size: size + 2.5 },
      neighbor: { color: color("--ipv-neighbor", "#8e24aa"), size: 7 },
      highlight: { color: color("--ipv-highlight", "#2e7d32"), size: 7 },
      selected: { color: color("--ipv-selected", "#000000"), size: 10 },
    };
  };

  // ---- drawing ----------------------------------------------------------------------------------
  const progress = (now) => (anim ? easeInOut(Math.min(1, Math.max(0, (now - anim.start) / TRANSITION_MS))) : 1);
  const viewAt = (e) => (anim ? lerpView(anim.fromView, anim.toView, e) : view);
  const targetView = () => (anim ? anim.toView : view);
  const fitted = (pos) => fitView(boundsOf(pos), width || 1, height || 1);

  const placeLabels = (v, e) => {
    for (const { el: span, i } of labelEls) {
      let x = current[2 * i], y = current[2 * i + 1];
      if (anim && e < 1) {
        x = anim.from[2 * i] + (x - anim.from[2 * i]) * e;
        y = anim.from[2 * i + 1] + (y - anim.from[2 * i + 1]) * e;
      }
      const [sx, sy] = toScreen(v, width, height, x, y);
      const inside = sx >= 0 && sy >= 0 && sx <= width && sy <= height;
      span.hidden = !inside;
      if (inside) span.style.transform = `translate(${sx.toFixed(1)}px, ${sy.toFixed(1)}px)`;
    }
  };

  const draw = (now) => {
    if (!renderer || !current) return;
    const start = performance.now();
    const e = progress(now);
    const v = viewAt(e);
    renderer.draw({ xf: clipTransform(v, width || 1, height || 1), t: e, base: styles.base, layers: styles, dpr });
    placeLabels(v, e);
    if (anim && e >= 1) {
      view = anim.toView;
      anim = null;
      root.dataset.animating = "0";
    }
    root.dataset.renderMs = (performance.now() - start).toFixed(2);
    root.dataset.draws = String(++draws);
  };
  const tick = (now) => {
    rafId = 0;
    if (destroyed) return;
    // Time between two animation frames: what the eye sees, GPU work included (render-ms is not).
    if (anim && lastTick) root.dataset.frameMs = (now - lastTick).toFixed(1);
    lastTick = anim ? now : 0;
    draw(now);
    if (anim) requestDraw();
  };
  function requestDraw() {
    if (!rafId && !destroyed) rafId = requestAnimationFrame(tick);
  }

  function resize() {
    width = stage.clientWidth || 640;
    height = stage.clientHeight || HEIGHT;
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(width * dpr));
    canvas.height = Math.max(1, Math.round(height * dpr));
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    if (autoFit && current) {
      view = fitted(current);
      if (anim) anim.fromView = anim.toView = view;
    }
    requestDraw();
  }

  // ---- frames -----------------------------------------------------------------------------------
  const frameList = () => store.available(model.get("frame_info") || []);

  const updateSlider = () => {
    const frames = frameList();
    const position = Math.max(0, frames.findIndex((f) => f.id === shownId));
    slider.max = String(Math.max(0, frames.length - 1));
    slider.value = String(position);
    slider.disabled = frames.length < 2;
    play.disabled = frames.length < 2;
    root.dataset.frames = String(frames.length);
    const frame = frames[position];
    frameName.textContent = frame ? `${frame.name} (${position + 1}/${frames.length})` : "";
  };

  const showFrame = (id, animate) => {
    const target = store.get(id);
    if (!target || target.length !== 2 * n || !renderer) return;
    const now = performance.now();
    if (!current || !animate) {
      anim = null;
      renderer.setPoints(target, target);
      if (autoFit) view = fitted(target);
    } else {
      // Start from what is on screen now, even in the middle of another transition.
      const e = progress(now);
      const from = anim && e < 1 ? lerpInto(new Float32Array(current.length), anim.from, current, e) : current;
      const fromView = viewAt(e);
      anim = { from, start: now, fromView, toView: autoFit ? fitted(target) : fromView };
      renderer.setPoints(from, target);
      root.dataset.animating = "1";
    }
    current = target;
    shownId = id;
    grid = null;
    root.dataset.frame = String(id);
    updateSlider();
    requestDraw();
  };

  const syncFrames = () => {
    const history = model.get("history") || [];
    (model.get("history_ids") || []).forEach((id, k) => {
      if (!store.has(id) && history[k]) store.set(id, asFloat32(history[k]));
    });
    const id = model.get("frame");
    const points = asFloat32(model.get("points"));
    if (points.length === 2 * n && !store.has(id)) store.set(id, points);
    store.prune(model.get("frame_info") || [], shownId);
    // Several traits of one update arrive together: show a new frame once, then just refresh.
    if (id !== shownId && (shownId === null || follow)) showFrame(id, shownId !== null);
    else updateSlider();
  };

  // ---- overlays: layers and labels --------------------------------------------------------------
  const neighborRows = () => {
    const result = model.get("neighbor_result") || {};
    return result.row === selected && Array.isArray(result.neighbors) ? result.neighbors.map((x) => x.row) : [];
  };
  // The kernel resolves highlighted words to rows (trait `highlight_rows`), saving a word -> row map here.
  const highlightRows = () => (model.get("highlight_rows") || []).filter((i) => i >= 0 && i < n);

  function updateLayers() {
    if (!renderer) return;
    const near = neighborRows(), marked = highlightRows();
    renderer.setLayer("match", matches);
    renderer.setLayer("neighbor", Uint32Array.from(near));
    renderer.setLayer("highlight", Uint32Array.from(marked));
    renderer.setLayer("selected", Uint32Array.from(selected >= 0 && selected < n ? [selected] : []));
    // Label priority: selected > neighbour > highlight > search hit.
    const kinds = new Map();
    if (matches.length <= MATCH_LABELS) for (const i of matches) kinds.set(i, "match");
    for (const i of marked) kinds.set(i, "highlight");
    for (const i of near) kinds.set(i, "neighbor");
    if (selected >= 0 && selected < n) kinds.set(selected, "selected");
    labelEls = [...kinds].map(([i, kind]) => ({
      i, el: h("span", { class: "ipyviz-embedding-label", "data-index": i, "data-kind": kind }, label(i)),
    }));
    overlay.replaceChildren(...labelEls.map((x) => x.el));
    requestDraw();
  }

  // ---- neighbours (computed by the kernel in the original space) --------------------------------
  const updateNeighbors = () => {
    const result = model.get("neighbor_result") || {};
    neighbors.dataset.row = String(selected);
    if (selected < 0 || selected >= n) {
      neighbors.dataset.state = "empty";
      neighborsTitle.textContent = "Click a point to list its nearest neighbours.";
      neighborsList.replaceChildren();
    } else if (result.row !== selected) {
      neighbors.dataset.state = "waiting";
      neighborsTitle.textContent = `Neighbours of “${label(selected)}”: waiting for the kernel (it answers ` +
        "when the running cell, e.g. fit(), has finished)…";
      neighborsList.replaceChildren();
    } else if (result.error) {
      neighbors.dataset.state = "error";
      neighborsTitle.textContent = `Neighbours of “${label(selected)}”: ${result.error}`;
      neighborsList.replaceChildren();
    } else {
      neighbors.dataset.state = "ready";
      neighborsTitle.textContent = `Nearest to “${result.word}” (cosine, original space)`;
      neighborsList.replaceChildren(...result.neighbors.map((x) =>
        h("li", { "data-index": x.row, title: "Select this word" },
          h("span", { class: "ipyviz-embedding-word" }, x.word),
          h("span", { class: "ipyviz-embedding-cosine" }, Number(x.cosine).toFixed(3)))));
    }
  };

  const select = (i) => {
    selected = i >= 0 && i < n ? i : -1;
    root.dataset.selected = String(selected);
    if (model.get("selected") !== selected) {
      model.set("selected", selected);
      model.save_changes();
    }
    updateNeighbors();
    updateLayers();
  };

  // ---- search -----------------------------------------------------------------------------------
  const runSearch = () => {
    searchTimer = 0;
    const query = search.value.trim();
    if (!lower && query) lower = labelsOf().map((x) => x.toLowerCase());
    const result = findMatches(labelsOf(), query, lower);
    matches = result.indices;
    const plural = matches.length === 1 ? "" : "es";
    count.textContent = result.error ? result.error : query ? `${formatCount(matches.length)} match${plural}` : "";
    count.classList.toggle("ipyviz-embedding-invalid", Boolean(result.error));
    root.dataset.matches = String(matches.length);
    updateLayers();
  };
  const onSearchInput = () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, n > 100_000 ? 200 : 60);
  };
  const onSearchKey = (event) => {
    if (event.key !== "Enter") return;
    clearTimeout(searchTimer);
    runSearch();
    if (matches.length) select(matches[0]);
  };

  // ---- pointer: pan, zoom, hover, click ---------------------------------------------------------
  let drag = null;
  const local = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };
  const pick = (sx, sy) => {
    if (!current) return -1;
    grid ??= buildGrid(current, n);
    const v = targetView();
    const [wx, wy] = toWorld(v, width, height, sx, sy);
    return nearest(grid, wx, wy, PICK_PX / v.scale);
  };
  const userMovesView = (next) => {
    autoFit = false;
    view = next;
    if (anim) anim.fromView = anim.toView = next;
    requestDraw();
  };
  const onPointerDown = (event) => {
    if (event.button !== 0) return;
    const [sx, sy] = local(event);
    drag = { sx, sy, x: sx, y: sy, moved: false, id: event.pointerId };
    try { stage.setPointerCapture(event.pointerId); } catch { /* synthetic events have no pointer */ }
  };
  const onPointerMove = (event) => {
    const [sx, sy] = local(event);
    if (drag) {
      if (Math.abs(sx - drag.sx) + Math.abs(sy - drag.sy) > 3) drag.moved = true;
      if (drag.moved) {
        userMovesView(panBy(targetView(), sx - drag.x, sy - drag.y));
        drag.x = sx;
        drag.y = sy;
        tooltip.hidden = true;
        return;
      }
    }
    const i = pick(sx, sy);
    root.dataset.hover = String(i);
    if (i < 0) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = label(i);
    tooltip.style.transform = `translate(${Math.min(sx + 12, width - 120)}px, ${Math.max(sy - 28, 0)}px)`;
    tooltip.hidden = false;
  };
  const onPointerUp = (event) => {
    if (!drag) return;
    const wasClick = !drag.moved;
    try { stage.releasePointerCapture(drag.id); } catch { /* already released */ }
    drag = null;
    if (wasClick) {
      const [sx, sy] = local(event);
      select(pick(sx, sy));
    }
  };
  const onPointerLeave = () => {
    tooltip.hidden = true;
    root.dataset.hover = "-1";
  };
  const onWheel = (event) => {
    event.preventDefault();
    const [sx, sy] = local(event);
    const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
    userMovesView(zoomAt(targetView(), width, height, sx, sy, Math.exp(-delta * 0.0015)));
  };
  const onFit = () => {
    if (current) userMovesView(fitted(current));
    autoFit = true; // follow the data again
  };
  const onNeighborClick = (event) => {
    const li = event.target.closest("li[data-index]");
    if (li) select(Number(li.dataset.index));
  };

  // ---- slider and replay ------------------------------------------------------------------------
  const stopPlay = () => {
    clearTimeout(playTimer);
    playTimer = 0;
    play.textContent = "▶";
  };
  const goTo = (position) => {
    const frames = frameList();
    const frame = frames[Math.max(0, Math.min(frames.length - 1, position))];
    if (!frame) return;
    follow = position >= frames.length - 1;
    showFrame(frame.id, true);
  };
  const onSlider = () => {
    stopPlay();
    goTo(Number(slider.value));
  };
  const step = () => {
    const position = Number(slider.value) + 1;
    goTo(position);
    if (position >= frameList().length - 1) stopPlay();
    else playTimer = setTimeout(step, PLAY_STEP_MS);
  };
  const onPlay = () => {
    if (playTimer) return stopPlay();
    play.textContent = "⏸";
    if (Number(slider.value) >= frameList().length - 1) goTo(0);
    playTimer = setTimeout(step, PLAY_STEP_MS);
  };

  // ---- wiring -----------------------------------------------------------------------------------
  const updateInfo = () => {
    const note = model.get("note");
    info.textContent = `${formatCount(n)} points · ${model.get("method") || "pca"}${note ? ` · ${note}` : ""}`;
  };
  const onSelectedTrait = () => {
    const value = model.get("selected") ?? -1;
    if (value !== selected) select(value);
  };
  const onNeighborResult = () => {
    updateNeighbors();
    updateLayers();
  };
  const onTheme = () => {
    readStyles();
    requestDraw();
  };
  const listeners = [
    [stage, "pointerdown", onPointerDown], [stage, "pointermove", onPointerMove], [stage, "pointerup", onPointerUp],
    [stage, "pointerleave", onPointerLeave], [stage, "dblclick", onFit], [fitButton, "click", onFit],
    [search, "input", onSearchInput], [search, "keydown", onSearchKey], [neighbors, "click", onNeighborClick],
    [slider, "input", onSlider], [play, "click", onPlay],
  ];
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn);
  stage.addEventListener("wheel", onWheel, { passive: false });
  const traits = [
    ["change:points", syncFrames], ["change:frame", syncFrames], ["change:frame_info", syncFrames],
    ["change:history", syncFrames], ["change:highlight_rows", updateLayers], ["change:selected", onSelectedTrait],
    ["change:neighbor_result", onNeighborResult], ["change:error", updateError], ["change:note", updateInfo],
  ];
  for (const [name, fn] of traits) model.on(name, fn);
  const resizeObserver = typeof ResizeObserver === "function" ? new ResizeObserver(resize) : null;
  resizeObserver?.observe(stage);
  // JupyterLab switches themes by changing attributes on <body>: re-read the colours then.
  const themeObserver = new MutationObserver(onTheme);
  themeObserver.observe(document.body, { attributes: true });

  root.ipyvizEmbedding = {
    pointToClient(i) {
      if (!current || i < 0 || i >= n) return null;
      let rect = canvas.getBoundingClientRect();
      if (rect.top < 0 || rect.bottom > window.innerHeight || rect.left < 0 || rect.right > window.innerWidth) {
        stage.scrollIntoView({ block: "center", inline: "nearest" }); // a click needs the map on screen
        rect = canvas.getBoundingClientRect();
      }
      const [sx, sy] = toScreen(targetView(), width, height, current[2 * i], current[2 * i + 1]);
      return { x: rect.left + sx, y: rect.top + sy };
    },
    indexOf: (word) => rowOf(word) ?? -1,
    label,
    view: () => ({ ...targetView() }),
  };

  readStyles();
  resize();
  updateInfo();
  syncFrames();
  updateNeighbors();
  updateLayers();

  return () => {
    destroyed = true;
    cancelAnimationFrame(rafId);
    clearTimeout(searchTimer);
    clearTimeout(playTimer);
    for (const [target, type, fn] of listeners) target.removeEventListener(type, fn);
    stage.removeEventListener("wheel", onWheel);
    canvas.removeEventListener("webglcontextlost", onContextLost);
    for (const [name, fn] of traits) model.off(name, fn);
    resizeObserver?.disconnect();
    themeObserver.disconnect();
    renderer?.destroy();
    renderer = null;
    delete root.ipyvizEmbedding;
    root.remove();
  };
}

export default { render };
