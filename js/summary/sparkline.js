// A sparkline's SVG path for a series of numbers (pure; unit-tested).

/** sparkPath([1, 3, 2], 60, 16) -> "M0,16 L30,0 L60,8" scaled into a width x height box. */
export function sparkPath(values, width, height, pad = 1) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return "";
  const lo = Math.min(...finite), hi = Math.max(...finite);
  const span = hi - lo || 1;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const parts = [];
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    const x = values.length > 1 ? i * step : width / 2;
    const y = hi === lo ? height / 2 : pad + (1 - (v - lo) / span) * (height - 2 * pad);
    parts.push(`${parts.length ? "L" : "M"}${round(x)},${round(y)}`);
  });
  return parts.join(" ");
}

const round = (v) => Math.round(v * 10) / 10;
