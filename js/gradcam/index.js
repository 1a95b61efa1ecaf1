// The GradCamViewer view: a grid of images with heatmap overlays, drawn from traits alone
// (`images`, `image_shape`, `labels`, `class_names`, `layer`, `method`, `frames`, `picked`, `training`,
// `error`), so a page reload or a static export shows the current state. Opacity, colormap, overlay /
// side by side, enlarging and the epoch slider are local to this view: no kernel round trip, so they
// work while fit() keeps the kernel busy. The class picker sends {type: "pick"} to the kernel.
//
// DOM hooks for browser tests (stable):
//   root        `.ipyviz-gradcam` with data-epoch (epoch of the shown frame, 0 = initial),
//               data-frame (index shown), data-frames (count), data-mode ("overlay" | "side"),
//               data-colormap, data-opacity, data-training ("true" | "false"), data-enlarged (index or "")
//   cells       `.ipyviz-gradcam-cell` with data-index, data-empty ("true" | "false"), data-class
//               (class the map explains), data-predicted, data-label (-1 = none), data-heatmap (hash
//               of the map bytes shown: changes when the heatmap changes)
//   in a cell   `canvas.ipyviz-gradcam-canvas` (overlay or image), `canvas.ipyviz-gradcam-heat` (side
//               mode), `.ipyviz-gradcam-pred`, `.ipyviz-gradcam-truth`, `.ipyviz-gradcam-explains`,
//               `.ipyviz-gradcam-layer`, `.ipyviz-gradcam-empty-badge`, `select.ipyviz-gradcam-class`
//   controls    `input.ipyviz-gradcam-epoch` (range), `.ipyviz-gradcam-epoch-label`,
//               `button.ipyviz-gradcam-play`, `input.ipyviz-gradcam-opacity` (range 0..100),
//               `select.ipyviz-gradcam-colormap`, `button.ipyviz-gradcam-mode`
//   enlarged    `.ipyviz-gradcam-enlarged` (click or Escape closes), `.ipyviz-gradcam-error` banner
import "./style.css";
import { errorBanner, h } from "../shared/dom.js";
import { COLORMAPS, colorize, lut, rgbToRgba } from "./colormaps.js";
import { cellInfo, cellSize, className, epochLabel, hashBytes, mapOf, nextFrameIndex, readFrame, toBytes } from "./data.js";

const P = "ipyviz-gradcam";

function pixelsCanvas(rgba, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas;
}

/** Draws image (and heatmap at `opacity`) into `target`, scaling both to its size. */
function paint(target, image, heat, opacity, smoothImage) {
  const ctx = target.getContext("2d");
  ctx.clearRect(0, 0, target.width, target.height);
  ctx.globalAlpha = 1;
  if (image) {
    ctx.imageSmoothingEnabled = smoothImage; // small images stay crisp, pixel by pixel
    ctx.drawImage(image, 0, 0, target.width, target.height);
  }
  if (heat && opacity > 0) {
    ctx.imageSmoothingEnabled = true; // heatmaps are coarse (layer resolution): interpolate them
    ctx.imageSmoothingQuality = "high";
    ctx.globalAlpha = opacity;
    ctx.drawImage(heat, 0, 0, target.width, target.height);
    ctx.globalAlpha = 1;
  }
}

function render({ model, el }) {
  const view = { frame: null, count: 0, opacity: 0.5, colormap: "viridis", mode: "overlay", enlarged: null, timer: null };
  const { banner, update: updateError } = errorBanner(model, P);
  const root = h("div", { class: P, tabindex: "0" });
  const status = h("div", { class: `${P}-status` });

  // -- controls ----------------------------------------------------------------------------------
  const slider = h("input", { class: `${P}-epoch`, type: "range", min: "0", max: "0", step: "1", value: "0", "aria-label": "epoch" });
  const epochText = h("span", { class: `${P}-epoch-label` });
  const play = h("button", { class: `${P}-play`, type: "button", title: "replay the epochs" }, "▶");
  const opacity = h("input", { class: `${P}-opacity`, type: "range", min: "0", max: "100", value: "50", "aria-label": "heatmap opacity" });
  const colormap = h("select", { class: `${P}-colormap`, "aria-label": "colormap" },
    COLORMAPS.map((name) => h("option", { value: name }, name)));
  const mode = h("button", { class: `${P}-mode`, type: "button" }, "side by side");
  const header = h("div", { class: `${P}-header` });
  const toolbar = h("div", { class: `${P}-toolbar` },
    h("label", { class: `${P}-control` }, "epoch ", slider, epochText, play),
    h("label", { class: `${P}-control` }, "opacity ", opacity),
    h("label", { class: `${P}-control` }, "colormap ", colormap),
    mode);
  const grid = h("div", { class: `${P}-grid` });
  const overlay = h("div", { class: `${P}-enlarged`, hidden: true });
  root.append(banner, header, toolbar, status, grid, overlay);
  el.append(root);

  let cells = [];
  let data = { n: 0, height: 0, width: 0, images: [] };

  function readImages() {
    const [n, height, width] = model.get("image_shape") || [0, 0, 0];
    const rgb = toBytes(model.get("images"));
    const images = [];
    if (rgb.length === n * height * width * 3) {
      for (let i = 0; i < n; i += 1) images.push(pixelsCanvas(rgbToRgba(rgb, i, height, width), width, height));
    }
    data = { n, height, width, images, ok: images.length === n };
  }

  function buildCells() {
    grid.replaceChildren();
    const size = cellSize(data.height, data.width);
    cells = [];
    for (let i = 0; i < data.n; i += 1) {
      const canvas = h("canvas", { class: `${P}-canvas`, width: size.width, height: size.height, title: "click to enlarge" });
      const heat = h("canvas", { class: `${P}-heat`, width: size.width, height: size.height, title: "click to enlarge" });
      const picker = h("select", { class: `${P}-class`, "aria-label": "class shown" });
      const cell = h("div", { class: `${P}-cell`, "data-index": i },
        h("div", { class: `${P}-pictures` }, canvas, heat),
        h("div", { class: `${P}-empty-badge` }),
        h("div", { class: `${P}-pred` }),
        h("div", { class: `${P}-truth` }),
        h("div", { class: `${P}-explains` }),
        picker,
        h("div", { class: `${P}-layer` }));
      const enlarge = () => { view.enlarged = i; drawEnlarged(); };
      canvas.addEventListener("click", enlarge);
      heat.addEventListener("click", enlarge);
      picker.addEventListener("focus", () => fillPicker(picker, i));
      picker.addEventListener("pointerdown", () => fillPicker(picker, i));
      picker.addEventListener("change", () => {
        const value = Number(picker.value);
        model.send({ type: "pick", image: i, class: value >= 0 ? value : null });
      });
      grid.append(cell);
      cells.push({ cell, canvas, heat, picker });
    }
  }

  // A thousand ImageNet names in every cell would be slow: options are added on first use.
  function fillPicker(picker, i) {
    if (picker.dataset.filled === "true") return;
    const current = picker.value;
    const frame = (model.get("frames") || []).at(-1);
    const names = model.get("class_names") || [];
    const count = frame ? frame.num_classes || names.length : names.length;
    picker.replaceChildren(h("option", { value: "-1" }, "predicted class"));
    for (let c = 0; c < count; c += 1) picker.append(h("option", { value: String(c) }, names[c] ?? `class ${c}`));
    picker.value = current || "-1";
    picker.dataset.filled = "true";
  }

  function shownFrame() {
    const frames = model.get("frames") || [];
    return { frames, index: view.frame, frame: frames[view.frame] };
  }

  function heatFor(frameMaps, i, pick, h0, w0) {
    const bytes = pick ? toBytes(pick.maps) : mapOf(frameMaps, i, h0, w0);
    const [hh, ww] = pick ? pick.map_shape : [h0, w0];
    if (bytes.length !== hh * ww) return { canvas: null, hash: "" };
    return { canvas: pixelsCanvas(colorize(bytes, lut(view.colormap)), ww, hh), hash: hashBytes(bytes) };
  }

  /** Image and heatmap of cell i into `canvas` (and `heat` when side by side). */
  function paintCell(i, canvas, heat) {
    const source = cells[i].source;
    const smooth = data.height > canvas.height;
    if (view.mode === "overlay") {
      paint(canvas, data.images[i], source, view.opacity, smooth);
      heat.hidden = true;
    } else {
      paint(canvas, data.images[i], null, 0, smooth);
      paint(heat, null, source, 1, true);
      heat.hidden = false;
    }
  }

  function drawCells() {
    const { frames, index, frame } = shownFrame();
    const latest = index === frames.length - 1;
    const picked = latest ? model.get("picked") || {} : {};
    const names = model.get("class_names") || [];
    const labels = model.get("labels") || [];
    const training = Boolean(model.get("training"));
    const checked = readFrame(frame, data.n);
    root.dataset.epoch = frame ? String(frame.epoch) : "";
    root.dataset.frame = String(index ?? "");
    root.dataset.frames = String(frames.length);
    root.dataset.mode = view.mode;
    root.dataset.colormap = view.colormap;
    root.dataset.opacity = String(view.opacity);
    root.dataset.training = String(training);
    epochText.textContent = frame ? `${epochLabel(frame)} (${index + 1}/${frames.length})` : "";
    header.textContent = frame ? `Grad-CAM · ${model.get("method")} · layer ${frame.layer || model.get("layer")}` : "";
    status.textContent = !data.ok ? "images do not match their shape" : checked.ok ? "" : checked.message;
    if (!data.ok || !checked.ok) return;
    cells.forEach(({ cell, canvas, heat, picker }, i) => {
      const pick = picked[String(i)] || null;
      const info = cellInfo({ frame, index: i, names, labels, layer: frame.layer || model.get("layer"),
        method: model.get("method"), picked: pick });
      const map = heatFor(checked.maps, i, pick, checked.h, checked.w);
      cells[i].source = info.empty ? null : map.canvas; // an empty map is not painted (it would tint all)
      paintCell(i, canvas, heat);
      Object.assign(cell.dataset, { empty: String(info.empty), class: String(info.explained),
        predicted: String(info.predicted), label: String(info.label), heatmap: info.empty ? "" : map.hash });
      cell.classList.toggle(`${P}-wrong`, info.correct === false);
      cell.classList.toggle(`${P}-right`, info.correct === true);
      cell.querySelector(`.${P}-pred`).textContent = info.pred;
      cell.querySelector(`.${P}-truth`).textContent = info.truth;
      cell.querySelector(`.${P}-explains`).textContent = info.explains;
      cell.querySelector(`.${P}-layer`).textContent = info.layer;
      const badge = cell.querySelector(`.${P}-empty-badge`);
      badge.textContent = info.emptyText;
      badge.hidden = !info.empty;
      picker.disabled = training || !latest;
      picker.title = training ? "available once fit() has finished" : latest ? "show another class's map"
        : "move the epoch slider to the latest frame to pick a class";
      const wanted = pick ? String(pick.class) : "-1";
      if (![...picker.options].some((option) => option.value === wanted)) {
        picker.append(h("option", { value: wanted }, pick ? className(names, pick.class) : "predicted class"));
      }
      picker.value = wanted;
    });
    drawEnlarged();
  }

  function drawEnlarged() {
    const i = view.enlarged;
    root.dataset.enlarged = i === null ? "" : String(i);
    overlay.hidden = i === null;
    if (i === null || !cells[i]) { overlay.replaceChildren(); return; }
    const small = cells[i];
    const size = cellSize(data.height, data.width, { min: 288, max: 448 });
    const big = h("canvas", { class: `${P}-canvas`, width: size.width, height: size.height });
    const bigHeat = h("canvas", { class: `${P}-heat`, width: size.width, height: size.height });
    paintCell(i, big, bigHeat); // from the same sources, at the large size
    const caption = h("div", { class: `${P}-caption` },
      ...[`${P}-pred`, `${P}-truth`, `${P}-explains`, `${P}-empty-badge`, `${P}-layer`]
        .map((cls) => [cls, small.cell.querySelector(`.${cls}`).textContent])
        .filter(([, text]) => text)
        .map(([cls, text]) => h("div", { class: cls }, text)));
    const close = h("button", { class: `${P}-close`, type: "button", "aria-label": "close" }, "×");
    overlay.replaceChildren(h("div", { class: `${P}-enlarged-body` }, h("div", { class: `${P}-pictures` }, big, bigHeat), caption, close));
  }

  function syncSlider(previousCount) {
    const frames = model.get("frames") || [];
    view.frame = nextFrameIndex(view.frame, previousCount, frames.length);
    view.count = frames.length;
    slider.max = String(Math.max(0, frames.length - 1));
    slider.value = String(view.frame);
    slider.disabled = frames.length < 2;
    play.disabled = frames.length < 2;
  }

  function stopPlaying() {
    if (view.timer !== null) clearInterval(view.timer);
    view.timer = null;
    play.textContent = "▶";
  }

  // -- events --------------------------------------------------------------------------------
  slider.addEventListener("input", () => { stopPlaying(); view.frame = Number(slider.value); drawCells(); });
  play.addEventListener("click", () => {
    if (view.timer !== null) { stopPlaying(); return; }
    const count = (model.get("frames") || []).length;
    if (count < 2) return;
    if (view.frame >= count - 1) view.frame = 0;
    play.textContent = "❚❚";
    drawCells(); syncSliderValue();
    view.timer = setInterval(() => {
      const total = (model.get("frames") || []).length;
      if (view.frame >= total - 1) { stopPlaying(); return; }
      view.frame += 1;
      syncSliderValue();
      drawCells();
    }, 600);
  });
  function syncSliderValue() { slider.value = String(view.frame); }
  opacity.addEventListener("input", () => { view.opacity = Number(opacity.value) / 100; drawCells(); });
  colormap.addEventListener("change", () => { view.colormap = colormap.value; drawCells(); });
  mode.addEventListener("click", () => {
    view.mode = view.mode === "overlay" ? "side" : "overlay";
    mode.textContent = view.mode === "overlay" ? "side by side" : "overlay";
    drawCells();
  });
  overlay.addEventListener("click", () => { view.enlarged = null; drawEnlarged(); });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && view.enlarged !== null) { view.enlarged = null; drawEnlarged(); }
  });

  // -- traits --------------------------------------------------------------------------------
  const onImages = () => { readImages(); buildCells(); drawCells(); };
  const onFrames = () => { syncSlider(view.count); drawCells(); };
  const onNames = () => { cells.forEach(({ picker }) => { picker.dataset.filled = "false"; }); drawCells(); };
  const listeners = [
    ["change:images change:image_shape", onImages],
    ["change:frames", onFrames],
    ["change:picked change:labels change:layer change:method change:training", drawCells],
    ["change:class_names", onNames],
    ["change:error", updateError],
  ];
  for (const [event, fn] of listeners) model.on(event, fn);
  readImages();
  buildCells();
  syncSlider(0);
  drawCells();

  return () => {
    stopPlaying();
    for (const [event, fn] of listeners) model.off(event, fn);
    root.remove();
  };
}

export default { render };
