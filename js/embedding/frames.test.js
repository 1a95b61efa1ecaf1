import { describe, expect, it } from "vitest";
import { FrameStore, asFloat32, easeInOut, lerpInto } from "./frames.js";

describe("frames", () => {
  it("keeps the frames the kernel lists, plus the one on screen", () => {
    const store = new FrameStore();
    for (const id of [0, 1, 2, 3]) store.set(id, new Float32Array([id, id]));
    store.prune([{ id: 0 }, { id: 2 }, { id: 3 }], 1);
    expect([...store.frames.keys()]).toEqual([0, 1, 2, 3]);
    store.prune([{ id: 0 }, { id: 3 }], null);
    expect([...store.frames.keys()]).toEqual([0, 3]);
  });
  it("lists only frames it has data for, in the kernel's order", () => {
    const store = new FrameStore();
    store.set(5, new Float32Array(2));
    store.set(0, new Float32Array(2));
    const info = [{ id: 0, name: "initial" }, { id: 3, name: "epoch 3" }, { id: 5, name: "epoch 5" }];
    expect(store.available(info).map((f) => f.name)).toEqual(["initial", "epoch 5"]);
  });
  it("reads little-endian float32 from a DataView, aligned or not", () => {
    const source = new Float32Array([1.5, -2, 3.25]);
    expect([...asFloat32(new DataView(source.buffer))]).toEqual([1.5, -2, 3.25]);
    const bytes = new Uint8Array(13);
    bytes.set(new Uint8Array(source.buffer), 1);
    expect([...asFloat32(new DataView(bytes.buffer, 1, 12))]).toEqual([1.5, -2, 3.25]);
    expect(asFloat32(null).length).toBe(0);
  });
  it("interpolates and eases", () => {
    const out = lerpInto(new Float32Array(2), new Float32Array([0, 10]), new Float32Array([10, 0]), 0.25);
    expect([...out]).toEqual([2.5, 7.5]);
    expect(easeInOut(0)).toBe(0);
    expect(easeInOut(1)).toBe(1);
    expect(easeInOut(0.5)).toBeCloseTo(0.5);
    expect(easeInOut(0.1)).toBeLessThan(0.1);
  });
});
