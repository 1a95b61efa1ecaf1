import { describe, expect, it } from "vitest";
import { share, visibleRows } from "./tree.js";

const row = (path, parent, depth, extra = {}) => ({
  path, parent, depth, name: path.split("/").pop(), class_name: "Dense", params: 1, ...extra,
});
const rows = [
  row("input", null, 0, { class_name: "InputLayer", params: 0 }),
  row("backbone", null, 0, { is_container: true, class_name: "Functional", params: 30 }),
  row("backbone/conv", "backbone", 1, { class_name: "Conv2D", params: 20 }),
  row("backbone/block", "backbone", 1, { is_container: true, params: 10 }),
  row("backbone/block/bn", "backbone/block", 2, { class_name: "BatchNormalization", params: 10 }),
  row("head", null, 0, { params: null }),
];
const paths = (rs) => rs.map((r) => r.path);

describe("visibleRows", () => {
  it("hides children of collapsed containers", () => {
    expect(paths(visibleRows(rows))).toEqual(["input", "backbone", "head"]);
  });
  it("shows one level when a container is expanded", () => {
    expect(paths(visibleRows(rows, { expanded: new Set(["backbone"]) }))).toEqual([
      "input", "backbone", "backbone/conv", "backbone/block", "head",
    ]);
  });
  it("search keeps ancestors and opens them", () => {
    expect(paths(visibleRows(rows, { query: "batchnorm" }))).toEqual([
      "backbone", "backbone/block", "backbone/block/bn",
    ]);
  });
  it("sort flattens, unknowns last in both directions", () => {
    const up = paths(visibleRows(rows, { sortKey: "params", sortDir: 1 }));
    const down = paths(visibleRows(rows, { sortKey: "params", sortDir: -1 }));
    expect(up[0]).toBe("input");
    expect(up.at(-1)).toBe("head");
    expect(down[0]).toBe("backbone");
    expect(down.at(-1)).toBe("head");
  });
});

describe("share", () => {
  it("is a bounded fraction", () => {
    expect(share(25, 100)).toBe(0.25);
    expect(share(null, 100)).toBe(0);
  });
});
