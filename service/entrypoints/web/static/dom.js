// Small DOM helpers. Every value from the API goes in as text (textContent), never as HTML. Children may be nodes,
// text or arrays of them, nested to any depth.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
}

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
export const money = (value) => (value === null || value === undefined ? "—" : usd.format(Number(value)));

export const when = (iso) => {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
};

// ISO timestamps inside free text (an audit note's "leased until 2026-12-07T01:57:48.172528+00:00") read like the
// page's other times.
const ISO_TIMESTAMP = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;
export const readableTimes = (text) => (text ? String(text).replace(ISO_TIMESTAMP, (iso) => when(iso)) : "");

// Text with its hyphenated tokens (ids, dates, codes such as CO-50) kept whole on one line: browsers otherwise break
// a line after any hyphen, so "demo-7ec0021f-C00037" or "2026-12-10" could wrap. Returns nodes for `el`/`fill`.
const HYPHENATED = /[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+/g;
export function unbroken(value) {
  const text = value === undefined || value === null ? "" : String(value);
  const out = [];
  let last = 0;
  for (const m of text.matchAll(HYPHENATED)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(el("span", { class: "id" }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// A table box that scrolls sideways (a wide heat map at 1024 px) must be reachable by keyboard to scroll it: it
// becomes a named tab stop while it overflows, and leaves the tab order when it fits again.
export function scrollableByKeyboard(root = document) {
  for (const box of root.querySelectorAll(".table-wrap")) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      const caption = box.closest("figure")?.querySelector("figcaption")?.textContent
        || box.querySelector("caption")?.textContent || "Table";
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", `${caption.trim()} (scrolls sideways)`);
    } else if (!scrolls && box.getAttribute("role") === "region") {
      for (const name of ["tabindex", "role", "aria-label"]) box.removeAttribute(name);
    }
  }
}

// Save a downloaded file (a Blob) under its name, as a link the user clicked would.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const words = (value) => (value ? String(value).replaceAll("_", " ") : "—");

export function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return target.isContentEditable || tag === "TEXTAREA" || tag === "SELECT"
    || (tag === "INPUT" && !["checkbox", "radio", "button", "submit", "reset"].includes(target.type));
}
