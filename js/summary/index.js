// The ModelSummaryTable view. Everything is drawn from the traits `summary`, `weight_stats` and
// `error`, so a page reload (or a static export) shows the current state.
//
// DOM hooks for tests: root `.ipyviz-summary[data-state][data-epoch]`, rows
// `tr.ipyviz-summary-row[data-path]`, `.ipyviz-summary-toggle` buttons on nested models,
// `input.ipyviz-summary-search`, sortable `th[data-sort]`, `svg.ipyviz-summary-spark[data-points]`.
import "../shared/theme.css";
import "./style.css";
import { errorBanner, h, svg } from "../shared/dom.js";
import { formatBytes, formatCompact, formatCount, formatShape } from "../shared/format.js";
import { sparkPath } from "./sparkline.js";
import { share, visibleRows } from "./tree.js";

const COLUMNS = [
  { key: "name", label: "Layer" },
  { key: "class_name", label: "Type" },
  { key: null, label: "Output shape" },
  { key: "params", label: "Params" },
  { key: null, label: "Formula" },
  { key: "trainable", label: "Trainable" },
  { key: "macs", label: "MACs" },
  { key: "weight_bytes", label: "Memory" },
  { key: null, label: "Weights" },
];

function totalsLine(s) {
  if (s.state !== "built") return [h("div", { class: "ipyviz-summary-message" }, s.message)];
  const item = (label, value) =>
    h("span", { class: "ipyviz-summary-total" }, h("b", {}, label), " ", value);
  return [
    item("Total", `${formatCount(s.total_params)} (${formatBytes(s.weight_bytes)})`),
    item("Trainable", formatCount(s.trainable_params)),
    item("Non-trainable", formatCount(s.non_trainable_params)),
    item("Optimizer", formatCount(s.optimizer_params)),
    s.total_macs ? item("MACs", formatCompact(s.total_macs)) : null,
  ];
}

function spark(stats) {
  if (!stats || !stats.norm || stats.norm.length === 0) return "";
  const change = stats.change.at(-1);
  return h(
    "span",
    { class: "ipyviz-summary-weights" },
    svg(
      "svg",
      { class: "ipyviz-summary-spark", width: 60, height: 16, "data-points": stats.norm.length },
      svg("path", { d: sparkPath(stats.norm, 60, 16) }),
    ),
    h("span", { class: "ipyviz-summary-norm" }, stats.norm.at(-1).toPrecision(3)),
    Number.isFinite(change) ? h("span", { class: "ipyviz-summary-change" }, `Δ ${(100 * change).toFixed(2)}%`) : null,
  );
}

function render({ model, el }) {
  const view = { expanded: new Set(), query: "", sortKey: null, sortDir: 1 };
  const root = h("div", { class: "ipyviz-summary" });
  const { banner, update: updateError } = errorBanner(model, "ipyviz-summary");
  const title = h("div", { class: "ipyviz-summary-title" });
  const totals = h("div", { class: "ipyviz-summary-totals" });
  const search = h("input", {
    class: "ipyviz-summary-search", type: "search", placeholder: "Search layers…", "aria-label": "Search layers",
  });
  const head = h("tr");
  const body = h("tbody");
  root.append(banner, h("div", { class: "ipyviz-summary-bar" }, title, search), totals,
    h("div", { class: "ipyviz-summary-scroll" }, h("table", {}, h("thead", {}, head), body)));
  el.append(root);

  const drawHead = () => {
    head.replaceChildren(...COLUMNS.map(({ key, label }) => {
      const arrow = key && view.sortKey === key ? (view.sortDir > 0 ? " ▲" : " ▼") : "";
      return h("th", { "data-sort": key ?? undefined, class: key ? "ipyviz-summary-sortable" : undefined }, label + arrow);
    }));
  };

  const drawBody = () => {
    const s = model.get("summary") || {};
    const stats = model.get("weight_stats") || {};
    const rows = s.rows || [];
    root.dataset.state = s.state || "empty";
    root.dataset.epoch = String(model.get("epoch") || 0);
    title.textContent = s.model_name ? `Model “${s.model_name}”` : "";
    totals.replaceChildren(...totalsLine(s));
    const shown = visibleRows(rows, view);
    body.replaceChildren(...shown.map((r) => {
      const indent = view.sortKey ? 0 : r.depth;
      const toggle = r.is_container && !view.sortKey
        ? h("button", { class: "ipyviz-summary-toggle", "data-path": r.path, "aria-expanded": view.expanded.has(r.path) },
            view.expanded.has(r.path) ? "▾" : "▸")
        : h("span", { class: "ipyviz-summary-spacer" });
      const pct = share(r.params, s.total_params);
      return h("tr", { class: "ipyviz-summary-row", "data-path": r.path, "data-depth": r.depth },
        h("td", { class: "ipyviz-summary-name", style: `padding-left:${0.4 + indent * 1.2}em` }, toggle, r.name),
        h("td", {}, r.class_name),
        h("td", { class: "ipyviz-summary-shape" }, formatShape(r.output_shape)),
        h("td", { class: "ipyviz-summary-params", title: `${(100 * pct).toFixed(1)}% of all parameters` },
          h("span", { class: "ipyviz-summary-share", style: `width:${(100 * pct).toFixed(1)}%` }),
          h("span", { class: "ipyviz-summary-count" }, formatCount(r.params))),
        h("td", { class: "ipyviz-summary-formula" }, r.formula ?? ""),
        h("td", {}, r.trainable ? "✓" : "frozen"),
        h("td", { class: "ipyviz-summary-num", title: r.macs == null ? "" : formatCount(r.macs) }, formatCompact(r.macs)),
        h("td", { class: "ipyviz-summary-num" }, r.weight_bytes ? formatBytes(r.weight_bytes) : ""),
        h("td", {}, spark(stats[r.path])),
      );
    }));
  };

  const onClick = (event) => {
    const toggle = event.target.closest(".ipyviz-summary-toggle");
    const th = event.target.closest("th[data-sort]");
    if (toggle) {
      const path = toggle.dataset.path;
      view.expanded.has(path) ? view.expanded.delete(path) : view.expanded.add(path);
      drawBody();
    } else if (th) {
      const key = th.dataset.sort;
      // Cycle: ascending, descending, back to tree order.
      if (view.sortKey !== key) Object.assign(view, { sortKey: key, sortDir: 1 });
      else if (view.sortDir > 0) view.sortDir = -1;
      else Object.assign(view, { sortKey: null, sortDir: 1 });
      drawHead();
      drawBody();
    }
  };
  const onSearch = () => { view.query = search.value.trim(); drawBody(); };
  root.addEventListener("click", onClick);
  search.addEventListener("input", onSearch);

  drawHead();
  drawBody();
  model.on("change:summary", drawBody);
  model.on("change:weight_stats", drawBody);
  model.on("change:epoch", drawBody);
  model.on("change:error", updateError);
  return () => {
    model.off("change:summary", drawBody);
    model.off("change:weight_stats", drawBody);
    model.off("change:epoch", drawBody);
    model.off("change:error", updateError);
    root.removeEventListener("click", onClick);
    search.removeEventListener("input", onSearch);
  };
}

export default { render };
