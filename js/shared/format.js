// Number and shape formatting shared by the views (pure functions, unit-tested).

export function formatCount(n) {
  if (n === null || n === undefined) return "?";
  return Math.round(n).toLocaleString("en-US");
}

/** 1234567 -> "1.2 M" (MACs, big counts in tight cells). */
export function formatCompact(n) {
  if (n === null || n === undefined) return "";
  const units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, unit] of units) if (Math.abs(n) >= size) return `${(n / size).toFixed(1)} ${unit}`;
  return String(n);
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** [null, 24, 24, 64] -> "(None, 24, 24, 64)"; a list of shapes is joined; null -> "?". */
export function formatShape(shape) {
  if (shape === null || shape === undefined) return "?";
  if (shape.length && Array.isArray(shape[0])) return shape.map(formatShape).join(", ");
  return `(${shape.map((d) => (d === null ? "None" : String(d))).join(", ")})`;
}
