import { describe, expect, it } from "vitest";
import { formatBytes, formatCompact, formatCount, formatShape } from "./format.js";

describe("format", () => {
  it("counts with separators and ? for unknown", () => {
    expect(formatCount(204928)).toBe("204,928");
    expect(formatCount(null)).toBe("?");
  });
  it("compacts big numbers", () => {
    expect(formatCompact(1806336)).toBe("1.8 M");
    expect(formatCompact(512)).toBe("512");
  });
  it("bytes", () => {
    expect(formatBytes(2144768)).toBe("2.0 MiB");
    expect(formatBytes(12)).toBe("12 B");
  });
  it("shapes", () => {
    expect(formatShape([null, 24, 24, 64])).toBe("(None, 24, 24, 64)");
    expect(formatShape([[null, 2], [null, 3]])).toBe("(None, 2), (None, 3)");
    expect(formatShape(null)).toBe("?");
  });
});
