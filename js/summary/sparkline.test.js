import { expect, it } from "vitest";
import { sparkPath } from "./sparkline.js";

it("scales into the box, top is the maximum", () => {
  expect(sparkPath([1, 3, 2], 60, 16, 0)).toBe("M0,16 L30,0 L60,8");
});
it("flat and single series sit in the middle; empty is empty", () => {
  expect(sparkPath([2, 2], 10, 10)).toBe("M0,5 L10,5");
  expect(sparkPath([4], 10, 10)).toBe("M5,5");
  expect(sparkPath([], 10, 10)).toBe("");
});
it("skips non-finite values", () => {
  expect(sparkPath([1, NaN, 3], 20, 10, 0)).toBe("M0,10 L20,0");
});
