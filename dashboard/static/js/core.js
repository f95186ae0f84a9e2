// Shared helpers of every page: API calls with CSRF, number formatting, tables, the live
// event stream, the service-down banner and the header clock. Plain ES module, no build.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `request failed with ${status}`);
    this.status = status;
    this.code = err.code || "error";
    this.details = err.details || {};
  }
  // Every field named by the error: details.field, then each details.errors[].field.
  fields() {
    const out = [];
    if (this.details.field) out.push(this.details.field);
    for (const e of this.details.errors || []) if (e.field) out.push(e.field);
    return out;
  }
}

export async function api(path, { method = "GET", body, query } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") qs.append(k, v);
    if ([...qs].length) url += (url.includes("?") ? "&" : "?") + qs;
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = meta("csrf-token");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                              credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, { error: { code: "network", message: "the dashboard did not answer" } });
  }
  let json = null;
  try { json = await resp.json(); } catch (e) { json = null; }
  if (!resp.ok || (json && json.status === "error")) throw new ApiError(resp.status, json);
  return json ? json.data : null;
}

// Read an endpoint of another service through the dashboard; returns {available, data|message}.
export const upstream = (service, path, query) => api(`/api/v1/upstream/${service}/${path}`, { query });
export const act = (service, path, method = "POST", body) =>
  api(`/api/v1/upstream/${service}/${path}`, { method, body });

// ---- formatting -------------------------------------------------------------------------
export function num(v, digits = 2) {
  if (v === null || v === undefined || v === "") return "—";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
export const money = (v) => (v === null || v === undefined || v === "" ? "—" : "$" + num(v, 2));
// P&L: colour plus a sign and an arrow, so it reads without colour too.
export function pnl(v, digits = 2, suffix = "") {
  const span = document.createElement("span");
  if (v === null || v === undefined || v === "") { span.textContent = "—"; return span; }
  const n = Number(v);
  const cls = n > 0 ? "pos" : n < 0 ? "neg" : "flat";
  const arrow = n > 0 ? "▲ +" : n < 0 ? "▼ −" : "• ";
  span.className = cls;
  span.textContent = arrow + num(Math.abs(n), digits) + suffix;
  return span;
}
export function pct(v, digits = 2) { return pnl(v === null || v === undefined ? v : Number(v), digits, "%"); }
export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace("T", " ").slice(0, 19);
}
export function duration(s) {
  if (s === null || s === undefined) return "—";
  s = Math.floor(Number(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
}

// ---- DOM ------------------------------------------------------------------------------
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
export const $ = (sel, root = document) => root.querySelector(sel);

export function notice(text) { return el("div", { class: "notice", role: "status" }, text); }

// A table whose columns may be sorted by clicking (or Enter on) the header.
// columns: [{key, label, num, render(row) -> Node|string, sort(row) -> value}]
export function table(container, columns, rows, { empty = "nothing yet", sortKey, rowAttrs } = {}) {
  const state = container._sort || { key: sortKey, dir: -1 };
  container._sort = state;
  const sorted = [...rows];
  const col = columns.find((c) => c.key === state.key);
  if (col) {
    const f = col.sort || ((r) => r[col.key]);
    sorted.sort((a, b) => {
      const x = f(a), y = f(b);
      const nx = Number(x), ny = Number(y);
      const cmp = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : String(x ?? "").localeCompare(String(y ?? ""));
      return cmp * state.dir;
    });
  }
  const head = el("tr", {}, columns.map((c) => {
    const th = el("th", { class: (c.num ? "num " : "") + (c.nosort ? "" : "sortable"), scope: "col",
                          tabindex: c.nosort ? null : "0", text: c.label });
    if (!c.nosort) {
      if (state.key === c.key) th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      const go = () => { state.dir = state.key === c.key ? -state.dir : -1; state.key = c.key;
                         table(container, columns, rows, { empty, sortKey, rowAttrs }); };
      th.addEventListener("click", go);
      th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    }
    return th;
  }));
  const body = sorted.length ? sorted.map((r) => el("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => {
    const v = c.render ? c.render(r) : r[c.key];
    return el("td", { class: c.num ? "num" : "" }, v === undefined || v === null ? "—" : v);
  }))) : [el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, empty))];
  container.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
}

let toastTimer;
export function toast(text, kind = "okay") {
  let t = $("#toast");
  if (!t) { t = el("div", { id: "toast", role: "status", "aria-live": "polite" }); document.body.append(t); }
  t.className = "toast " + kind;
  t.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.remove(), 5000);
}

// ---- live updates ---------------------------------------------------------------------
const bus = new EventTarget();
const last = {};
export function on(topic, fn) {
  bus.addEventListener(topic, (e) => fn(e.detail));
  if (last[topic] !== undefined) fn(last[topic]);
}
const TOPICS = ["health", "clock", "orders", "positions", "account", "fills", "workflow", "automation"];
let source;
function connect() {
  const dot = $("#live-dot");
  source = new EventSource("/api/v1/stream");
  source.onopen = () => { dot?.classList.add("ok"); dot?.classList.remove("bad"); dot?.setAttribute("title", "live"); };
  source.onerror = () => {
    dot?.classList.add("bad"); dot?.classList.remove("ok"); dot?.setAttribute("title", "reconnecting…");
    // EventSource retries by itself while CONNECTING; once CLOSED (e.g. an HTTP error
    // during a dashboard restart) we open a new one.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  };
  for (const t of TOPICS) {
    source.addEventListener(t, (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      last[t] = data;
      bus.dispatchEvent(new CustomEvent(t, { detail: data }));
    });
  }
}

// ---- banner and header ------------------------------------------------------------------
function showHealth(h) {
  const b = $("#banner");
  if (!b) return;
  const down = (h && h.down) || [];
  const md = (h && h.market_data) || {};
  const lines = [];
  if (down.length) {
    lines.push(`⚠ Service down: ${down.join(", ")} — panels that need ${down.length > 1 ? "them" : "it"} show what is missing; actions may fail.`);
  }
  if (md.stale) {
    lines.push(`⚠ Market data stale: prices are stored up to ${md.through ? time(md.through) + " UTC" : "nothing yet"}, ` +
      `the clock is at ${md.clock ? time(md.clock) + " UTC" : "?"} — the market-data owner (coordination) is behind or down; what is shown is the last stored.`);
  }
  b.textContent = lines.join(" ");
  b.classList.toggle("show", lines.length > 0);
  b.dataset.down = down.join(",");
  b.dataset.stale = md.stale ? "true" : "false";
}
function showClock(c) {
  const box = $("#hdr-clock");
  if (!box || !c) return;
  if (c.available === false) { box.textContent = "clock unavailable"; return; }
  const state = c.paused ? "PAUSED" : c.is_open ? "OPEN" : "CLOSED";
  const speed = c.pace === "multiplier" && c.speed ? " x" + c.speed : c.pace && c.pace !== "multiplier" ? " " + c.pace : "";
  box.dataset.now = c.now || "";
  box.replaceChildren(el("b", {}, time(c.now)), ` UTC · ${c.mode || "?"}${speed} · `,
    el("span", { class: c.paused ? "warn" : c.is_open ? "pos" : "muted" }, state),
    c.source === "database" ? el("span", { class: "neg", title: c.controls_message || "" }, " · coordination down") : "");
}

export function start() {
  on("health", showHealth);
  on("clock", showClock);
  connect();
  // A first paint without waiting for the stream.
  api("/api/v1/overview").then(showHealth).catch(() => {});
  api("/api/v1/clock").then(showClock).catch(() => {});
}

export function loggedOutNotice() {
  return meta("login-required") === "true" && meta("logged-in") !== "true";
}
