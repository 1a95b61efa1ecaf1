import { describe, expect, it } from "vitest";
import { boundsOf, clipTransform, fitView, lerpView, panBy, toScreen, toWorld, zoomAt } from "./camera.js";

describe("camera", () => {
  const pos = new Float32Array([0, 0, 10, 5, -2, NaN, 4, -5]);
  it("bounds skip non-finite points", () => {
    expect(boundsOf(pos)).toEqual({ minX: 0, minY: -5, maxX: 10, maxY: 5 });
    expect(boundsOf(new Float32Array([NaN, NaN]))).toEqual({ minX: -1, minY: -1, maxX: 1, maxY: 1 });
  });
  it("fit puts every point inside the canvas, centred", () => {
    const view = fitView(boundsOf(pos), 400, 200, 0.1);
    for (const [x, y] of [[0, 0], [10, 5], [4, -5]]) {
      const [sx, sy] = toScreen(view, 400, 200, x, y);
      expect(sx).toBeGreaterThanOrEqual(0);
      expect(sx).toBeLessThanOrEqual(400);
      expect(sy).toBeGreaterThanOrEqual(0);
      expect(sy).toBeLessThanOrEqual(200);
    }
    expect(toScreen(view, 400, 200, 5, 0)).toEqual([200, 100]);
  });
  it("screen and world are inverse, y up in the world", () => {
    const view = { cx: 1, cy: 2, scale: 30 };
    const [sx, sy] = toScreen(view, 300, 200, 3, 4);
    expect(sy).toBeLessThan(100);
    const [x, y] = toWorld(view, 300, 200, sx, sy);
    expect(x).toBeCloseTo(3);
    expect(y).toBeCloseTo(4);
  });
  it("zoom keeps the point under the cursor fixed", () => {
    const view = { cx: 0, cy: 0, scale: 10 };
    const before = toWorld(view, 300, 200, 50, 60);
    const zoomed = zoomAt(view, 300, 200, 50, 60, 2.5);
    expect(zoomed.scale).toBe(25);
    const after = toWorld(zoomed, 300, 200, 50, 60);
    expect(after[0]).toBeCloseTo(before[0]);
    expect(after[1]).toBeCloseTo(before[1]);
  });
  it("pan moves the picture with the pointer", () => {
    const view = { cx: 0, cy: 0, scale: 10 };
    const moved = panBy(view, 20, 10);
    expect(toScreen(moved, 300, 200, 0, 0)).toEqual([170, 110]);
  });
  it("clip transform maps the view to [-1, 1]", () => {
    const view = { cx: 2, cy: 1, scale: 50 };
    const [ax, ay, bx, by] = clipTransform(view, 200, 100);
    expect(2 * ax + bx).toBeCloseTo(0);
    expect(1 * ay + by).toBeCloseTo(0);
    expect((2 + 2) * ax + bx).toBeCloseTo(1); // 100 px right of the centre = the right edge
  });
  it("view interpolation is geometric in scale", () => {
    const mid = lerpView({ cx: 0, cy: 0, scale: 1 }, { cx: 2, cy: 4, scale: 100 }, 0.5);
    expect(mid).toEqual({ cx: 1, cy: 2, scale: 10 });
  });
});
