// Reading the viewer's traits: binary buffers, frames, per-cell text, the slider's position.
// Pure functions (no DOM): unit-tested in node.

/** A trait's binary value (DataView from the widget manager, ArrayBuffer, typed array, array) -> Uint8Array. */
export function toBytes(value) {
  if (value === null || value === undefined) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof DataView || ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value)) return Uint8Array.from(value);
  return new Uint8Array(0);
}

/** 32-bit FNV-1a of bytes as 8 hex digits: lets a test see that a heatmap changed. */
export function hashBytes(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i += 1) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Checks a frame against the number of images; returns {ok, message, h, w, maps}. */
export function readFrame(frame, n) {
  if (!frame) return { ok: false, message: "no heatmaps yet" };
  const [h, w] = frame.map_shape || [0, 0];
  const maps = toBytes(frame.maps);
  if (!(h > 0 && w > 0) || maps.length !== n * h * w) {
    return { ok: false, message: `heatmaps do not match: ${maps.length} bytes for ${n} maps of ${h}x${w}` };
  }
  return { ok: true, h, w, maps };
}

/** The bytes of map `index` (h*w) out of a frame's buffer. */
export function mapOf(maps, index, h, w) {
  return maps.subarray(index * h * w, (index + 1) * h * w);
}

export function className(names, c) {
  if (c === null || c === undefined || c < 0) return "?";
  return names && names[c] !== undefined ? String(names[c]) : `class ${c}`;
}

export function percent(p) {
  if (typeof p !== "number" || !Number.isFinite(p)) return "";
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.1 ? 1 : 0)}%`;
}

/** Everything a cell says, as plain strings (set with textContent by the view). */
export function cellInfo({ frame, index, names = [], labels = [], layer = "", method = "", picked = null }) {
  const predicted = frame.predicted ? frame.predicted[index] : -1;
  const label = labels[index] ?? -1;
  const explained = picked ? picked.class : frame.classes ? frame.classes[index] : predicted;
  const empty = picked ? Boolean(picked.empty) : Boolean(frame.empty && frame.empty[index]);
  return {
    predicted,
    label,
    explained,
    empty,
    correct: label >= 0 ? predicted === label : null,
    pred: `pred: ${className(names, predicted)} ${percent(frame.confidence ? frame.confidence[index] : NaN)}`.trim(),
    truth: label >= 0 ? `true: ${className(names, label)}` : "",
    explains: picked
      ? `map of: ${className(names, picked.class)} ${percent(picked.confidence)} (picked)`.trim()
      : `map of: ${className(names, explained)}`,
    layer: method ? `${layer} · ${method}` : layer,
    emptyText: empty ? "empty map: no part of the image raises this score" : "",
  };
}

/** "initial" for the frame made before training, else "epoch k". */
export function epochLabel(frame) {
  if (!frame) return "";
  return frame.epoch > 0 ? `epoch ${frame.epoch}` : "initial";
}

/** Where the slider goes when the number of frames changes: it follows the latest if it was there. */
export function nextFrameIndex(current, previousCount, count) {
  if (count <= 0) return 0;
  if (current === null || current === undefined || current >= previousCount - 1) return count - 1;
  return Math.min(current, count - 1);
}

/** Display size of a cell (px) for an image H x W: an integer zoom of small images, capped. */
export function cellSize(height, width, { min = 96, max = 176 } = {}) {
  const side = Math.max(height, width, 1);
  const zoom = side >= min ? Math.min(1, max / side) : Math.min(Math.floor(max / side), Math.ceil(min / side));
  return { width: Math.max(1, Math.round(width * zoom)), height: Math.max(1, Math.round(height * zoom)) };
}
