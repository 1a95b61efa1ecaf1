// The frames a view holds for the epoch slider, and the maths of animated transitions (pure).

/** id -> Float32Array of one frame; pruned to the ids the kernel keeps (trait `frame_info`). */
export class FrameStore {
  constructor() { this.frames = new Map(); }
  set(id, array) { this.frames.set(id, array); }
  get(id) { return this.frames.get(id); }
  has(id) { return this.frames.has(id); }
  get size() { return this.frames.size; }
  /** Drop frames the kernel no longer lists (it bounds the history to `max_frames`). */
  prune(frameInfo, keep) {
    const listed = new Set(frameInfo.map((f) => f.id));
    for (const id of [...this.frames.keys()]) if (!listed.has(id) && id !== keep) this.frames.delete(id);
  }
  /** The frames this view can show, in order: [{id, name}] from `frame_info` that have data here. */
  available(frameInfo) { return frameInfo.filter((f) => this.frames.has(f.id)); }
}

/** Float32Array view of a DataView / ArrayBuffer / typed array holding little-endian float32. */
export function asFloat32(data) {
  if (!data) return new Float32Array(0);
  if (data instanceof Float32Array) return data;
  if (data instanceof ArrayBuffer) return new Float32Array(data);
  const { buffer, byteOffset, byteLength } = data;
  if (byteOffset % 4 === 0) return new Float32Array(buffer, byteOffset, byteLength / 4);
  return new Float32Array(buffer.slice(byteOffset, byteOffset + byteLength)); // unaligned: copy
}

export function easeInOut(t) {
  return t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2;
}

/** out[i] = a[i] + (b[i] - a[i]) * t, returns out. */
export function lerpInto(out, a, b, t) {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + (b[i] - a[i]) * t;
  return out;
}
