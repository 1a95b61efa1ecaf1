import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["js/**/*.test.js", "tests/js/**/*.test.js"], environment: "node" },
});
