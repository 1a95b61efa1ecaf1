// Search over the labels: plain text (case-insensitive substring) or /regex/flags (pure).

/** {test(label) -> bool, error} for a query; an empty query matches nothing. */
export function makeMatcher(query) {
  const q = (query || "").trim();
  if (!q) return { test: () => false, error: null, empty: true };
  const re = /^\/(.+)\/([a-z]*)$/s.exec(q);
  if (re) {
    try {
      const flags = re[2].replace(/[gy]/g, ""); // stateful flags would skip matches with test()
      const regex = new RegExp(re[1], flags);
      return { test: (label) => regex.test(label), error: null, empty: false };
    } catch (error) {
      return { test: () => false, error: `invalid regular expression: ${error.message}`, empty: false };
    }
  }
  const needle = q.toLowerCase();
  return { test: (label, lower) => (lower ?? label.toLowerCase()).includes(needle), error: null, empty: false };
}

/** Indices of matching labels (Uint32Array) and the matcher's error; `lower` = lower-cased labels. */
export function findMatches(labels, query, lower = null) {
  const matcher = makeMatcher(query);
  if (matcher.empty || matcher.error) return { indices: new Uint32Array(0), error: matcher.error };
  const out = [];
  for (let i = 0; i < labels.length; i++) if (matcher.test(labels[i], lower ? lower[i] : undefined)) out.push(i);
  return { indices: Uint32Array.from(out), error: null };
}

/** Labels sent as one string joined by "\n" (trait `labels_text`) -> array of n labels. */
export function decodeLabels(text, n) {
  const labels = text ? text.split("\n") : [];
  if (n !== undefined && labels.length < n) for (let i = labels.length; i < n; i++) labels.push("");
  return n === undefined ? labels : labels.slice(0, n);
}

/** label -> first row holding it (a frequency-ordered vocabulary: the most frequent). */
export function labelIndex(labels) {
  const map = new Map();
  labels.forEach((label, i) => { if (!map.has(label)) map.set(label, i); });
  return map;
}
