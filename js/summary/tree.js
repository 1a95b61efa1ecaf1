// Which summary rows to show, in which order: pure functions over the rows sent by Python.
// Rows arrive in display order with `path`, `parent`, `depth`, `is_container`.

/** Paths of every ancestor of `row` (its parent, grandparent, ...). */
export function ancestors(row, byPath) {
  const out = [];
  let parent = row.parent;
  while (parent !== null && parent !== undefined) {
    out.push(parent);
    parent = byPath.get(parent)?.parent;
  }
  return out;
}

export function matches(row, query) {
  if (!query) return true;
  const q = query.toLowerCase();
  return row.name.toLowerCase().includes(q) || row.class_name.toLowerCase().includes(q);
}

const compare = (key) => (a, b) => {
  const x = a[key], y = b[key];
  if (x === y) return 0;
  if (x === null || x === undefined) return 1; // unknowns last whichever way we sort
  if (y === null || y === undefined) return -1;
  return typeof x === "string" ? x.localeCompare(y) : x - y;
};

/**
 * visibleRows(rows, {expanded, query, sortKey, sortDir}) -> rows to draw.
 * - No sort: tree order; children of a container show only when it is expanded.
 * - A search keeps matching rows and their ancestors (expanded so the match is seen).
 * - A sort flattens the tree: every matching row, ordered by `sortKey` (nulls last).
 */
export function visibleRows(rows, { expanded = new Set(), query = "", sortKey = null, sortDir = 1 } = {}) {
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const hits = rows.filter((r) => matches(r, query));
  if (sortKey) {
    const cmp = compare(sortKey);
    return [...hits].sort((a, b) => {
      const c = cmp(a, b);
      const unknown = a[sortKey] === null || a[sortKey] === undefined || b[sortKey] === null || b[sortKey] === undefined;
      return unknown ? c : sortDir * c;
    });
  }
  const keep = new Set(hits.map((r) => r.path));
  const open = new Set(expanded);
  if (query) for (const r of hits) for (const a of ancestors(r, byPath)) { keep.add(a); open.add(a); }
  return rows.filter((r) => keep.has(r.path) && ancestors(r, byPath).every((a) => open.has(a)));
}

/** Share of the total, for the params bar: 0..1, 0 when unknown. */
export function share(params, total) {
  return params && total ? Math.min(1, params / total) : 0;
}
