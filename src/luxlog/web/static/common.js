/* luxlog dashboard: what every page shares (fetching the API, building DOM, formatting).
 * Classic script (no modules): the self-contained HTML report inlines the same files and
 * must run from file://, where module scripts are refused. Data reaches the page only as
 * text nodes and attributes, never as HTML. */
(function () {
  "use strict";

  /** GET a JSON API path; a non-2xx answer throws an Error with the server's one line. */
  async function api(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.assign("/login");
      throw new Error("not logged in");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.error || `${path}: HTTP ${response.status}`);
    }
    return body;
  }

  /** An element: el("td", {class: "num", title: "x"}, "text", child, ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replace the children of the element with id ``id`` by ``children``. */
  function fill(id, ...children) {
    const node = document.getElementById(id);
    node.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  /** A number with ``decimals`` places; null/undefined as an en dash. */
  function num(value, decimals) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return typeof value === "number" ? value.toFixed(decimals) : String(value);
  }

  /** "42 s", "3 min", "2.5 h", "3.1 d": how long ago, for people. */
  function age(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} d`;
  }

  /** Local date/time of an epoch (s) or ISO string, as the browser's locale writes it. */
  function when(value) {
    if (value === null || value === undefined) return "–";
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  /** Show ``error`` (an Error or text) in the page's #error line; null clears it. */
  function showError(error) {
    const box = document.getElementById("error");
    if (!box) return;
    box.hidden = !error;
    box.textContent = error ? String(error.message || error) : "";
  }

  const PAGES = [["now", "/", "Now"], ["day", "/day", "Day / week"], ["summary", "/summary", "Summary"],
    ["health", "/health", "Health"]];

  /** The header every page shares: the name and the navigation, this page marked. */
  function header() {
    const page = document.body.dataset.page;
    const links = PAGES.map(([name, href, label]) =>
      el("a", { href, "data-page": name, "aria-current": name === page ? "page" : null }, label)
    );
    document.body.prepend(el("header", {}, el("span", { class: "brand" }, "luxlog"), el("nav", {}, ...links)));
  }

  /** A simple table: headers and rows of cells (text or nodes); numeric columns right-aligned. */
  function table(headers, rows, numeric) {
    const isNum = (i) => numeric && numeric.includes(i);
    const head = el("tr", {}, ...headers.map((h, i) => el("th", { class: isNum(i) ? "num" : null }, h)));
    const body = rows.map((cells) =>
      el("tr", {}, ...cells.map((c, i) => el("td", { class: isNum(i) ? "num" : null }, c)))
    );
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
  }

  window.Lux = { api, el, fill, num, age, when, showError, table };
  header(); // a deferred script: the body is parsed
})();
