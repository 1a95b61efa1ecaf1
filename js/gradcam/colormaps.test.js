import { describe, expect, it } from "vitest";
import { COLORMAPS, colorize, lut, rgbToRgba } from "./colormaps.js";

describe("lut", () => {
  it("has 256 RGB entries from the first to the last stop", () => {
    const t = lut("viridis");
    expect(t.length).toBe(768);
    expect([...t.slice(0, 3)]).toEqual([68, 1, 84]);
    expect([...t.slice(765)]).toEqual([253, 231, 37]);
  });
  it("gray is the identity ramp", () => {
    const t = lut("gray");
    for (const i of [0, 17, 128, 255]) expect([...t.slice(i * 3, i * 3 + 3)]).toEqual([i, i, i]);
  });
  it("falls back to viridis for an unknown name and caches tables", () => {
    expect(lut("nope")).toBe(lut("viridis"));
    expect(COLORMAPS).toContain("jet");
  });
});

describe("colorize", () => {
  it("maps each byte through the table into opaque RGBA", () => {
    const out = colorize(Uint8Array.from([0, 255]), lut("gray"));
    expect([...out]).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
  });
});

describe("rgbToRgba", () => {
  it("reads the right image out of an (N, H, W, 3) buffer", () => {
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6, /* image 1 */ 7, 8, 9, 10, 11, 12]);
    expect([...rgbToRgba(rgb, 1, 1, 2)]).toEqual([7, 8, 9, 255, 10, 11, 12, 255]);
  });
});
