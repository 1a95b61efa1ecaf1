// CSS colour strings (as a canvas normalises them: "#rrggbb" or "rgba(r, g, b, a)") -> [r, g, b, a]
// in 0..1, for WebGL uniforms. Pure; the view normalises theme variables through a 2-D context first.

export function parseColor(text, fallback = [0.1, 0.45, 0.82, 1]) {
  const s = String(text || "").trim().toLowerCase();
  let m = /^#([0-9a-f]{3,8})$/.exec(s);
  if (m) {
    let hex = m[1];
    if (hex.length === 3 || hex.length === 4) hex = [...hex].map((c) => c + c).join("");
    if (hex.length !== 6 && hex.length !== 8) return fallback;
    const v = (i) => parseInt(hex.slice(i, i + 2), 16) / 255;
    return [v(0), v(2), v(4), hex.length === 8 ? v(6) : 1];
  }
  m = /^rgba?\(([^)]+)\)$/.exec(s);
  if (m) {
    const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    if (parts.length < 3 || parts.slice(0, 3).some((x) => !Number.isFinite(x))) return fallback;
    const a = parts.length > 3 && Number.isFinite(parts[3]) ? parts[3] : 1;
    return [parts[0] / 255, parts[1] / 255, parts[2] / 255, a];
  }
  return fallback;
}

/** The same colour with its alpha multiplied by `alpha`. */
export function withAlpha(rgba, alpha) {
  return [rgba[0], rgba[1], rgba[2], rgba[3] * alpha];
}
