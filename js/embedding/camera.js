// The 2-D camera of the scatter: world (projection) coordinates <-> CSS pixels of the canvas.
// A view is {cx, cy, scale}: the world point at the canvas centre and CSS pixels per world unit.
// Pure functions (unit-tested); y grows upwards in the world and downwards on screen.

/** Bounding box of an interleaved [x0, y0, x1, y1, ...] array, skipping non-finite values. */
export function boundsOf(pos, n = pos.length / 2) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = pos[2 * i], y = pos[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (minX > maxX) return { minX: -1, minY: -1, maxX: 1, maxY: 1 };
  return { minX, minY, maxX, maxY };
}

/** The view showing `bounds` whole inside a width x height canvas, with a margin (fraction). */
export function fitView(bounds, width, height, margin = 0.06) {
  const w = Math.max(bounds.maxX - bounds.minX, 1e-12);
  const h = Math.max(bounds.maxY - bounds.minY, 1e-12);
  const usable = 1 - 2 * margin;
  const scale = Math.min((width * usable) / w, (height * usable) / h);
  return { cx: (bounds.minX + bounds.maxX) / 2, cy: (bounds.minY + bounds.maxY) / 2, scale };
}

export function toScreen(view, width, height, x, y) {
  return [(x - view.cx) * view.scale + width / 2, height / 2 - (y - view.cy) * view.scale];
}

export function toWorld(view, width, height, sx, sy) {
  return [(sx - width / 2) / view.scale + view.cx, (height / 2 - sy) / view.scale + view.cy];
}

/** Zoom by `factor` keeping the world point under the screen point (sx, sy) fixed. */
export function zoomAt(view, width, height, sx, sy, factor) {
  const [wx, wy] = toWorld(view, width, height, sx, sy);
  const scale = view.scale * factor;
  return { scale, cx: wx - (sx - width / 2) / scale, cy: wy - (height / 2 - sy) / scale };
}

/** Move the picture by (dx, dy) CSS pixels (a drag). */
export function panBy(view, dx, dy) {
  return { ...view, cx: view.cx - dx / view.scale, cy: view.cy + dy / view.scale };
}

/** [ax, ay, bx, by] with clip = a * world + b, for the vertex shader. */
export function clipTransform(view, width, height) {
  const ax = (2 * view.scale) / width, ay = (2 * view.scale) / height;
  return [ax, ay, -view.cx * ax, -view.cy * ay];
}

/** Views in between (zoom interpolated geometrically, so it feels even). */
export function lerpView(a, b, t) {
  return {
    cx: a.cx + (b.cx - a.cx) * t,
    cy: a.cy + (b.cy - a.cy) * t,
    scale: a.scale * Math.pow(b.scale / a.scale, t),
  };
}
