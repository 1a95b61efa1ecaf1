// Building DOM from data without ever parsing it as HTML: every string becomes a text node, so a
// layer called `<img src=x onerror=alert(1)>` is shown, never run.

/** h("td", {class: "x", title: name}, child, "text", ...) -> HTMLElement. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** SVG elements need their namespace; same rules as h(). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Shows the widget's `error` trait (plain text) in a banner; returns an updater. */
export function errorBanner(model, prefix) {
  const banner = h("div", { class: `${prefix}-error`, role: "alert" });
  const update = () => {
    const text = model.get("error") || "";
    banner.textContent = text;
    banner.hidden = !text;
  };
  update();
  return { banner, update };
}
