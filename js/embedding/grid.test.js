import { describe, expect, it } from "vitest";
import { buildGrid, nearest } from "./grid.js";

function brute(pos, x, y, maxDist) {
  let best = -1, bestD = maxDist * maxDist;
  for (let i = 0; i < pos.length / 2; i++) {
    const d = (pos[2 * i] - x) ** 2 + (pos[2 * i + 1] - y) ** 2;
    if (d <= bestD) { bestD = d; best = i; }
  }
  return best;
}

describe("grid index", () => {
  it("finds the same nearest point as a brute-force scan", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const pos = new Float32Array(2 * 5000).map(() => rand() * 10 - 5);
    const grid = buildGrid(pos);
    for (let k = 0; k < 300; k++) {
      const x = rand() * 12 - 6, y = rand() * 12 - 6, r = rand() * 0.5;
      const got = nearest(grid, x, y, r), want = brute(pos, x, y, r);
      if (got !== want) {
        // ties are allowed: same distance
        const d = (i) => (pos[2 * i] - x) ** 2 + (pos[2 * i + 1] - y) ** 2;
        expect(got === -1 ? Infinity : d(got)).toBeCloseTo(want === -1 ? Infinity : d(want));
      }
    }
  });
  it("returns -1 when nothing is within reach, and survives NaN and one-point data", () => {
    const pos = new Float32Array([0, 0, NaN, 1, 1, 1]);
    const grid = buildGrid(pos);
    expect(nearest(grid, 5, 5, 0.5)).toBe(-1);
    expect(nearest(grid, 0.9, 1.1, 0.5)).toBe(2);
    expect(nearest(buildGrid(new Float32Array([3, 3])), 3, 3.1, 0.5)).toBe(0);
  });
});
