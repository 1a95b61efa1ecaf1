// Colormaps as a few control points, expanded to 256-entry lookup tables, and heatmap colouring.
// Pure functions (no DOM): unit-tested in node.

const STOPS = {
  viridis: [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]],
  inferno: [[0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85],
    [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164]],
  jet: [[0, 0, 128], [0, 0, 255], [0, 128, 255], [0, 255, 255], [128, 255, 128],
    [255, 255, 0], [255, 128, 0], [255, 0, 0], [128, 0, 0]],
  gray: [[0, 0, 0], [255, 255, 255]],
};

export const COLORMAPS = Object.keys(STOPS);

const cache = new Map();

/** 256 x RGB lookup table (Uint8Array of 768) for a colormap name; unknown names fall back to viridis. */
export function lut(name) {
  const key = STOPS[name] ? name : "viridis";
  if (cache.has(key)) return cache.get(key);
  const stops = STOPS[key];
  const table = new Uint8Array(256 * 3);
  const last = stops.length - 1;
  for (let i = 0; i < 256; i += 1) {
    const t = (i / 255) * last;
    const k = Math.min(Math.floor(t), last - 1);
    const f = t - k;
    for (let c = 0; c < 3; c += 1) {
      table[i * 3 + c] = Math.round(stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f);
    }
  }
  cache.set(key, table);
  return table;
}

/** Heatmap bytes (0..255 per pixel) -> RGBA pixels (opaque) through a lookup table. */
export function colorize(map, table, out = new Uint8ClampedArray(map.length * 4)) {
  for (let i = 0; i < map.length; i += 1) {
    const v = map[i] * 3;
    out[i * 4] = table[v];
    out[i * 4 + 1] = table[v + 1];
    out[i * 4 + 2] = table[v + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** RGB bytes of image `index` in an (N, H, W, 3) buffer -> RGBA pixels. */
export function rgbToRgba(rgb, index, height, width, out = new Uint8ClampedArray(height * width * 4)) {
  const size = height * width;
  const start = index * size * 3;
  for (let i = 0; i < size; i += 1) {
    out[i * 4] = rgb[start + i * 3];
    out[i * 4 + 1] = rgb[start + i * 3 + 1];
    out[i * 4 + 2] = rgb[start + i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}
