import { describe, expect, it } from "vitest";
import { decodeLabels, findMatches, labelIndex, makeMatcher } from "./search.js";

const labels = ["king", "queen", "King's", "<b>bold</b>", "kingdom", ""];

describe("search", () => {
  it("plain text is a case-insensitive substring", () => {
    expect([...findMatches(labels, "KING").indices]).toEqual([0, 2, 4]);
    expect([...findMatches(labels, "  ").indices]).toEqual([]);
  });
  it("/regex/flags is a regular expression", () => {
    expect([...findMatches(labels, "/^k/").indices]).toEqual([0, 4]);
    expect([...findMatches(labels, "/^k/i").indices]).toEqual([0, 2, 4]);
    expect([...findMatches(labels, "/^k/g").indices]).toEqual([0, 4]); // g would skip with test()
    expect([...findMatches(labels, "/<b>/").indices]).toEqual([3]);
  });
  it("an invalid regex reports an error and matches nothing", () => {
    const result = findMatches(labels, "/[/");
    expect(result.indices.length).toBe(0);
    expect(result.error).toMatch(/invalid regular expression/);
    expect(makeMatcher("/(/").error).toBeTruthy();
  });
  it("uses precomputed lower-case labels when given", () => {
    const lower = labels.map((x) => x.toLowerCase());
    expect([...findMatches(labels, "queen", lower).indices]).toEqual([1]);
  });
  it("decodes newline-joined labels to exactly n entries", () => {
    expect(decodeLabels("a\nb\n", 3)).toEqual(["a", "b", ""]);
    expect(decodeLabels("a\nb\nc", 2)).toEqual(["a", "b"]);
    expect(decodeLabels("", 1)).toEqual([""]);
  });
  it("maps a label to its first row", () => {
    expect(labelIndex(["a", "b", "a"]).get("a")).toBe(0);
  });
});
