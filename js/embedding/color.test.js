import { describe, expect, it } from "vitest";
import { parseColor, withAlpha } from "./color.js";

describe("parseColor", () => {
  it("reads hex and rgb(a) as a canvas normalises them", () => {
    expect(parseColor("#ff0000")).toEqual([1, 0, 0, 1]);
    expect(parseColor("#0f0")).toEqual([0, 1, 0, 1]);
    expect(parseColor("rgba(0, 0, 255, 0.5)")).toEqual([0, 0, 1, 0.5]);
    expect(parseColor("rgb(255 255 255 / 0.25)")).toEqual([1, 1, 1, 0.25]);
  });
  it("falls back on anything else", () => {
    expect(parseColor("var(--x)", [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
    expect(parseColor("#12345", [0, 0, 0, 1])).toEqual([0, 0, 0, 1]);
  });
  it("scales alpha", () => {
    expect(withAlpha([1, 1, 1, 0.5], 0.5)).toEqual([1, 1, 1, 0.25]);
  });
});
