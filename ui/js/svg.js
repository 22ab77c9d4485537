// Inserts an SVG string rendered by the core (the QR codes, the "today" chart) as DOM, through a
// strict allowlist: only <svg>, <rect>, <path>, <line>, <text> and a few geometry / paint attributes
// survive (text as text nodes); nothing is fetched and no markup is assigned with innerHTML.
const ELEMENTS = new Set(["svg", "rect", "path", "line", "text"]);
const ATTRS = new Set([
  "xmlns", "version", "viewBox", "shape-rendering", "width", "height", "x", "y", "fill", "d",
  "x1", "y1", "x2", "y2", "stroke", "stroke-width", "font-size", "text-anchor",
]);
const NS = "http://www.w3.org/2000/svg";

function clean(node) {
  const name = node.localName;
  if (node.namespaceURI !== NS || !ELEMENTS.has(name)) return null;
  const out = document.createElementNS(NS, name);
  for (const a of node.attributes) {
    if (!ATTRS.has(a.name)) continue;
    if (/url\(|javascript:/i.test(a.value)) continue;
    out.setAttribute(a.name, a.value);
  }
  if (name === "text") {
    out.textContent = node.textContent;
    return out;
  }
  for (const c of node.children) {
    const cc = clean(c);
    if (cc) out.append(cc);
  }
  return out;
}

/** Replaces `container`'s content with the sanitised SVG (or empties it). */
export function putSvg(container, svgText, label = "QR") {
  container.replaceChildren();
  if (!svgText) return;
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.localName !== "svg" || doc.querySelector("parsererror")) return;
  const svg = clean(root);
  if (!svg) return;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  container.append(svg);
}
