// A uniform-grid spatial index over the points, for hover and click: building it is O(N) with
// typed arrays (a counting sort by cell), a query looks at the few cells around the cursor.

/** Index the interleaved positions; about `perCell` points per cell on average. */
export function buildGrid(pos, n = pos.length / 2, perCell = 4) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = pos[2 * i], y = pos[2 * i + 1];
    // NaN fails every comparison, so it never widens the box.
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (!(minX <= maxX && minY <= maxY) || !Number.isFinite(maxX - minX) || !Number.isFinite(maxY - minY)) {
    minX = minY = 0; maxX = maxY = 1;
  }
  const side = Math.max(1, Math.min(2048, Math.ceil(Math.sqrt(n / perCell))));
  const cellW = Math.max((maxX - minX) / side, 1e-12);
  const cellH = Math.max((maxY - minY) / side, 1e-12);
  const invW = 1 / cellW, invH = 1 / cellH, last = side - 1;
  const cellOf = new Int32Array(n);
  const start = new Uint32Array(side * side + 1);
  for (let i = 0; i < n; i++) {
    const fx = (pos[2 * i] - minX) * invW, fy = (pos[2 * i + 1] - minY) * invH;
    if (!(fx >= 0 && fy >= 0 && fx < Infinity && fy < Infinity)) { cellOf[i] = -1; continue; } // NaN/inf
    const c = Math.min(last, fy | 0) * side + Math.min(last, fx | 0);
    cellOf[i] = c;
    start[c + 1]++;
  }
  for (let c = 0; c < side * side; c++) start[c + 1] += start[c];
  const fill = start.slice(0, side * side);
  const order = new Uint32Array(start[side * side]);
  for (let i = 0; i < n; i++) if (cellOf[i] >= 0) order[fill[cellOf[i]]++] = i;
  return { pos, minX, minY, cellW, cellH, side, start, order };
}

/** Index of the point nearest to world (x, y) within `maxDist` world units, or -1. */
export function nearest(grid, x, y, maxDist) {
  const { pos, minX, minY, cellW, cellH, side, start, order } = grid;
  const x0 = Math.max(0, Math.floor((x - maxDist - minX) / cellW));
  const x1 = Math.min(side - 1, Math.floor((x + maxDist - minX) / cellW));
  const y0 = Math.max(0, Math.floor((y - maxDist - minY) / cellH));
  const y1 = Math.min(side - 1, Math.floor((y + maxDist - minY) / cellH));
  let best = -1, bestD = maxDist * maxDist;
  // Zoomed far out the radius spans many cells, but each point sits in one cell: at worst O(N).
  for (let cy = y0; cy <= y1; cy++) {
    for (let cx = x0; cx <= x1; cx++) {
      const c = cy * side + cx;
      for (let k = start[c]; k < start[c + 1]; k++) {
        const i = order[k];
        const dx = pos[2 * i] - x, dy = pos[2 * i + 1] - y;
        const d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
  }
  return best;
}
