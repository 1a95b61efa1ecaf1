import { describe, expect, it } from "vitest";
import {
  cellInfo, cellSize, className, epochLabel, hashBytes, mapOf, nextFrameIndex, percent, readFrame, toBytes,
} from "./data.js";

describe("toBytes", () => {
  it("accepts DataView, ArrayBuffer, typed arrays, arrays and nothing", () => {
    const buf = Uint8Array.from([9, 1, 2, 3]).buffer;
    expect([...toBytes(new DataView(buf, 1, 2))]).toEqual([1, 2]);
    expect([...toBytes(buf)]).toEqual([9, 1, 2, 3]);
    expect([...toBytes([4, 5])]).toEqual([4, 5]);
    expect(toBytes(null).length).toBe(0);
  });
});

describe("hashBytes", () => {
  it("is stable and changes with the content", () => {
    expect(hashBytes(new Uint8Array(0))).toBe("811c9dc5");
    expect(hashBytes(Uint8Array.from([1, 2]))).not.toBe(hashBytes(Uint8Array.from([2, 1])));
  });
});

describe("readFrame", () => {
  it("checks the byte count against N * h * w", () => {
    const ok = readFrame({ map_shape: [2, 2], maps: new DataView(new ArrayBuffer(8)) }, 2);
    expect(ok.ok).toBe(true);
    expect(mapOf(ok.maps, 1, 2, 2).length).toBe(4);
    const bad = readFrame({ map_shape: [2, 2], maps: new ArrayBuffer(7) }, 2);
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/7 bytes for 2 maps of 2x2/);
    expect(readFrame(undefined, 2).ok).toBe(false);
  });
});

describe("cellInfo", () => {
  const frame = { epoch: 2, predicted: [1, 0], classes: [1, 0], confidence: [0.5, 0.999], empty: [false, true] };
  it("names classes, marks right and wrong, flags empty maps", () => {
    const a = cellInfo({ frame, index: 0, names: ["cat", "<b>dog</b>"], labels: [1, 1], layer: "conv", method: "gradcam" });
    expect(a.pred).toBe("pred: <b>dog</b> 50%");
    expect(a.truth).toBe("true: <b>dog</b>");
    expect(a.correct).toBe(true);
    expect(a.empty).toBe(false);
    expect(a.layer).toBe("conv · gradcam");
    const b = cellInfo({ frame, index: 1, names: ["cat", "dog"], labels: [1, 1] });
    expect(b.correct).toBe(false);
    expect(b.empty).toBe(true);
    expect(b.emptyText).toMatch(/empty map/);
  });
  it("uses a picked class when there is one and no label when unknown", () => {
    const c = cellInfo({ frame, index: 0, labels: [-1, -1], picked: { class: 3, confidence: 0.02, empty: false } });
    expect(c.explained).toBe(3);
    expect(c.explains).toBe("map of: class 3 2.0% (picked)");
    expect(c.truth).toBe("");
    expect(c.correct).toBe(null);
  });
});

describe("small helpers", () => {
  it("formats", () => {
    expect(className([], 4)).toBe("class 4");
    expect(className(["a"], -1)).toBe("?");
    expect(percent(0.123)).toBe("12%");
    expect(percent(NaN)).toBe("");
    expect(epochLabel({ epoch: 0 })).toBe("initial");
    expect(epochLabel({ epoch: 3 })).toBe("epoch 3");
  });
  it("keeps the slider on the latest frame only if it was there", () => {
    expect(nextFrameIndex(2, 3, 4)).toBe(3);
    expect(nextFrameIndex(0, 3, 4)).toBe(0);
    expect(nextFrameIndex(null, 0, 1)).toBe(0);
    expect(nextFrameIndex(5, 6, 2)).toBe(1);
  });
  it("zooms small images by an integer and caps large ones", () => {
    expect(cellSize(28, 28)).toEqual({ width: 112, height: 112 });
    expect(cellSize(352, 176)).toEqual({ width: 88, height: 176 });
    expect(cellSize(128, 128)).toEqual({ width: 128, height: 128 });
  });
});
