// Shared helpers of every page: API calls with CSRF, number formatting, tables, the live
// event stream, the service-down banner and the header clock. Plain ES module, no build.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";

// ---- errors in plain words ----------------------------------------------------------------
// The suite's error body is {code, message, details: {field, errors: [{field, message, type}]}}
// with pydantic's wording ("body field 'speed': Input should be greater than 0"). A person
// reads the field in words and what to type instead; the original stays in err.raw / e.raw.
const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const WORDS = { body: "the form", qty: "quantity", tif: "time in force", pct: "percent" };
export function fieldWords(field) {
  const last = String(field || "").split(".").filter((p) => !/^\d+$/.test(p)).pop() || "value";
  return WORDS[last] || last.replace(/_/g, " ");
}
// What to type, for one problem of details.errors (or the error itself): no field name in it.
export function hint({ message = "", type = "" } = {}) {
  const m = String(message).replace(/^(body|query|path) field '[^']*': /, "").replace(/^Value error, /, "");
  if (type === "missing") return "is required: fill it in";
  if (type === "extra_forbidden") return "is not something this form takes: leave it out";
  if (/^int_(parsing|type|from_float)/.test(type)) return "must be a whole number: type digits only, like 10";
  if (/^(float|decimal)_(parsing|type)/.test(type)) return "must be a number: type digits, like 2 or 1.5";
  if (/^(datetime|date)_/.test(type)) return "must be a date and time: type it like 2024-03-04T14:30:00Z";
  if (type === "literal_error" || type === "enum") {
    const opts = [...m.matchAll(/'([^']*)'/g)].map((x) => x[1]);
    if (opts.length) return `must be one of: ${opts.join(", ")}`;
  }
  return m.replace(/^Input should be /, "must be ").replace(/^String should have /, "must have ")
    .replace(/^List should have /, "must have ").replace(/\.$/, "");
}
// One sentence per problem: "Speed must be greater than 0." (the field in words first).
export function errorSentence(err) {
  const details = (err && err.details) || {};
  const problems = Array.isArray(details.errors) && details.errors.length ? details.errors
    : details.field ? [{ field: details.field, message: err.raw || err.message }] : [];
  if (!problems.length) return String((err && (err.raw || err.message)) || "something went wrong");
  return problems.map((p) => {
    const words = fieldWords(p.field), h = hint({ ...p, message: p.raw ?? p.message });
    if (h.toLowerCase().startsWith(words.toLowerCase())) return capital(h) + ".";
    return /^(must|is|should|has) /.test(h) ? `${capital(words)} ${h}.` : `${capital(words)}: ${h}.`;
  }).join(" ");
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `request failed with ${status}`);
    this.status = status;
    this.code = err.code || "error";
    this.details = err.details || {};
    // every page shows err.message: it is the plain sentence; the problems keep theirs too
    this.raw = this.message;
    for (const e of this.details.errors || []) { e.raw = e.message; e.message = hint(e); }
    if (status >= 400 && status < 500 && this.fields().length) this.message = errorSentence(this);
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

// ---- paper account ----------------------------------------------------------------------
// The paper account a page shows and acts on: ?account= (so a link shows the same account),
// else the one this browser picked last, else the automation's. Every read and action of paper
// trading and reporting carries it, and the live stream's account topics are that account's.
const AUTOMATION = "automation";
const SCOPED = new Set(["paper_trading", "reporting"]);
function stored() { try { return localStorage.getItem("account") || ""; } catch (e) { return ""; } }
function remember(name) { try { localStorage.setItem("account", name); } catch (e) { /* private mode */ } }
export const account = {
  ref: (new URLSearchParams(location.search).get("account") || "").trim() || stored() || AUTOMATION,
  info: null,      // the account's row from paper trading once the list is read
  missing: false,  // the list was read and has no such account
};
let resolveAccount;
// Settles once the account list was read (or could not be): `account` is as good as it gets.
export const accountReady = new Promise((resolve) => { resolveAccount = resolve; });
export const isAutomation = () => (account.info ? account.info.id === 1
  : account.ref === AUTOMATION || account.ref === "1");
// `url` (a path or URL of this dashboard) with the selected account in its query.
export function withAccount(url) {
  const u = new URL(url, location.href);
  u.searchParams.set("account", account.ref);
  return u.origin === location.origin ? u.pathname + u.search + u.hash : u.href;
}
const scope = (service, path, query) => (SCOPED.has(service) && path !== "accounts"
  ? { ...(query || {}), account: account.ref } : query);

// Read an endpoint of another service through the dashboard; returns {available, data|message}.
export const upstream = (service, path, query) =>
  api(`/api/v1/upstream/${service}/${path}`, { query: scope(service, path, query) });
export const act = (service, path, method = "POST", body) =>
  api(`/api/v1/upstream/${service}/${path}`, { method, body, query: scope(service, path) });

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
// ---- one time zone for every page --------------------------------------------------------
// Exchange time (New York) unless this browser chose UTC; the header says which and toggles it.
// Everything that shows a time goes through time() (tables, header, banner) or chartTime()
// (Lightweight Charts axes, which draw UTC: a chart's times are shifted into the zone).
export const ZONES = { exchange: { tz: "America/New_York", label: "New York (ET)", short: "ET" },
                       utc: { tz: "UTC", label: "UTC", short: "UTC" } };
function storedZone() { try { return localStorage.getItem("tz") === "utc" ? "utc" : "exchange"; } catch (e) { return "exchange"; } }
export const zone = { key: storedZone() };
export const zoneInfo = () => ZONES[zone.key];
// Choose the zone for this browser and show every page again in it (each page renders its
// times once, so a reload is what keeps header, tables and charts in agreement).
export function setZone(key) {
  if (!ZONES[key] || key === zone.key) return;
  try { localStorage.setItem("tz", key); } catch (e) { /* private mode: this page only */ }
  zone.key = key;
  location.reload();
}
const offsets = new Map();  // "zone:UTC hour" -> seconds east of UTC (zones change on the hour)
let zoneFmt = null;
export function zoneOffset(sec) {
  if (zone.key === "utc") return 0;
  const hour = Math.floor(sec / 3600), key = zone.key + ":" + hour;
  let off = offsets.get(key);
  if (off === undefined) {
    zoneFmt = zoneFmt || new Intl.DateTimeFormat("en-US", { timeZone: zoneInfo().tz, hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const p = Object.fromEntries(zoneFmt.formatToParts(new Date(hour * 3600000)).map((x) => [x.type, x.value]));
    off = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) / 1000 - hour * 3600;
    offsets.set(key, off);
  }
  return off;
}
// UNIX seconds -> the seconds a Lightweight Chart must be given to show that instant in the zone.
export const chartTime = (sec) => sec + zoneOffset(sec);
// A time as "YYYY-MM-DD HH:MM:SS" in the chosen zone (ISO string, Date or UNIX seconds).
export function time(iso) {
  if (iso === null || iso === undefined || iso === "") return "—";
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  const ms = d.getTime();
  if (Number.isNaN(ms)) return String(iso);
  return new Date(ms + zoneOffset(Math.floor(ms / 1000)) * 1000).toISOString().replace("T", " ").slice(0, 19);
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
// An empty panel says what is missing and what to do about it: emptyState("No trades yet.",
// "Orders placed on the Trading page show here once they fill.")
export function emptyState(missing, todo) {
  return el("div", { class: "muted empty-state", role: "status" }, el("b", {}, missing), todo ? " " + todo : null);
}

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

// Ask before an action that cannot be undone: a modal <dialog> (focus trapped, Esc or
// "Keep" dismisses). Resolves true only when the person pressed the confirm button.
// body: a string or nodes (e.g. a summary of what will happen).
export function confirmDialog(title, body, { confirm = "Confirm", cancel = "Keep", danger = true } = {}) {
  return new Promise((resolve) => {
    const ok = el("button", { type: "button", class: danger ? "danger" : "primary", "data-confirm": "yes" }, confirm);
    const no = el("button", { type: "button", "data-confirm": "no" }, cancel);
    const dlg = el("dialog", { class: "confirm", "data-testid": "confirm-dialog", "aria-labelledby": "confirm-title" },
      el("h2", { id: "confirm-title" }, title),
      el("div", { class: "confirm-body" }, body),
      el("div", { class: "confirm-btns" }, no, ok));
    let answered = false;
    const done = (yes) => { if (answered) return; answered = true; dlg.close(); dlg.remove(); resolve(yes); };
    ok.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });  // Esc
    document.body.append(dlg);
    dlg.showModal();
    (danger ? no : ok).focus();  // a stray Enter must not confirm a destructive action
  });
}

// ---- live updates ---------------------------------------------------------------------
const bus = new EventTarget();
const last = {};
export function on(topic, fn) {
  bus.addEventListener(topic, (e) => fn(e.detail));
  if (last[topic] !== undefined) fn(last[topic]);
}
const TOPICS = ["health", "clock", "orders", "positions", "account", "fills", "workflow", "automation"];
const ACCOUNT_TOPICS = new Set(["orders", "positions", "account", "fills"]);
let source;
function connect() {
  const dot = $("#live-dot");
  // an unknown account has no topics of its own: the rest of the stream still comes
  source = new EventSource(account.missing
    ? "/api/v1/stream?topics=" + TOPICS.filter((t) => !ACCOUNT_TOPICS.has(t)).join(",")
    : "/api/v1/stream?account=" + encodeURIComponent(account.ref));
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
    lines.push(`⚠ Market data stale: prices are stored up to ${md.through ? time(md.through) : "nothing yet"}, ` +
      `the clock is at ${md.clock ? time(md.clock) : "?"} — the market-data owner (coordination) is behind or down; what is shown is the last stored.`);
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
  box.replaceChildren(el("b", {}, time(c.now)), ` ${zoneInfo().short} · ${c.mode || "?"}${speed} · `,
    el("span", { class: c.paused ? "warn" : c.is_open ? "pos" : "muted" }, state),
    c.source === "database" ? el("span", { class: "neg", title: c.controls_message || "" }, " · coordination down") : "");
  box.title = box.textContent;  // all of it, should a narrow window cut it
}

// ---- the header's account selector --------------------------------------------------------
const fmtCash = (v) => (v === null || v === undefined ? "" : money(v));
function matches(a, ref) { return a.name === ref || String(a.id) === ref; }

function showAccount() {
  const btn = $("#acct-btn");
  if (!btn) return;
  const auto = !account.missing && isAutomation();
  $("#acct-name").textContent = account.info ? account.info.name : account.ref;
  const note = $("#acct-flag");
  note.textContent = account.missing ? " — no such paper account" : auto ? "" : " — not the automation's";
  btn.classList.toggle("not-auto", !auto && !account.missing);
  btn.classList.toggle("missing", account.missing);
  btn.title = account.missing ? `No paper account "${account.ref}": pick one`
    : auto ? "The automation's paper account" : "Orders, positions and figures here are this account's, not the automation's";
  document.body.dataset.account = account.info ? account.info.name : account.ref;
  document.body.dataset.accountState = account.missing ? "missing" : auto ? "automation" : "other";
}

function renderAccountList(rows) {
  const list = $("#acct-list");
  const focused = document.activeElement?.closest?.("#acct-list [role=option]")?.dataset.account;
  list.replaceChildren(...rows.map((a) => {
    const current = account.info && a.id === account.info.id;
    const li = el("li", { role: "option", tabindex: "-1", "data-account": a.name,
      "aria-selected": String(Boolean(current)), class: current ? "current" : "" },
      el("span", { class: "acct-opt-name" }, a.name, el("span", { class: "muted" },
        a.id === 1 ? " · the automation's" : a.key_id && a.key_id !== a.name ? ` · key ${a.key_id}` : "")),
      el("span", { class: "acct-opt-cash" }, fmtCash(a.cash)));
    li.addEventListener("click", () => pickAccount(a.name));
    return li;
  }));
  if (!rows.length) list.append(el("li", { class: "muted" }, "no accounts listed"));
  if (focused) list.querySelector(`[data-account="${CSS.escape(focused)}"]`)?.focus();
}

// Switch by loading the page again with ?account=: nothing of the previous account (an answer
// still in flight, the stream's last values, a chart) can land on the new one's page.
function pickAccount(name) {
  closeAccountList(true);
  if (account.info && name === account.info.name) return;
  remember(name);
  const u = new URL(location.href);
  u.searchParams.set("account", name);
  location.assign(u.pathname + u.search + u.hash);
}

function openAccountList() {
  const list = $("#acct-list");
  list.hidden = false;
  $("#acct-btn").setAttribute("aria-expanded", "true");
  (list.querySelector("[aria-selected=true]") || list.querySelector("[role=option]"))?.focus();
  loadAccounts();
}
function closeAccountList(focusButton) {
  const list = $("#acct-list");
  if (!list || list.hidden) return;
  list.hidden = true;
  $("#acct-btn").setAttribute("aria-expanded", "false");
  if (focusButton) $("#acct-btn").focus();
}

function wireSelector() {
  const btn = $("#acct-btn"), list = $("#acct-list");
  if (!btn) return;
  btn.addEventListener("click", () => (list.hidden ? openAccountList() : closeAccountList(false)));
  btn.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); openAccountList(); }
  });
  list.addEventListener("keydown", (e) => {
    const opts = [...list.querySelectorAll("[role=option]")];
    const i = opts.indexOf(document.activeElement);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      opts[Math.max(0, Math.min(opts.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)))]?.focus();
    } else if (e.key === "Home" || e.key === "End") {
      e.preventDefault(); opts[e.key === "Home" ? 0 : opts.length - 1]?.focus();
    } else if ((e.key === "Enter" || e.key === " ") && i >= 0) {
      e.preventDefault(); pickAccount(opts[i].dataset.account);
    } else if (e.key === "Escape") { e.preventDefault(); closeAccountList(true); }
    else if (e.key === "Tab") closeAccountList(false);
  });
  document.addEventListener("click", (e) => { if (!e.target.closest("#acct")) closeAccountList(false); });
  // links to the other pages keep this tab's account (another tab may have picked another)
  const keep = (e) => {
    const a = e.target.closest?.("a[href]");
    if (!a || a.hasAttribute("download") || account.missing) return;
    const u = new URL(a.href, location.href);
    if (u.origin === location.origin && !u.pathname.startsWith("/api/") && !u.pathname.startsWith("/static/")) a.href = withAccount(u.href);
  };
  document.addEventListener("click", keep, true);
  document.addEventListener("auxclick", keep, true);
}

// Read the account list: resolve the selection (a name or an id) to its account, or mark it
// missing. Returns whether the list could be read.
async function loadAccounts() {
  let res;
  try { res = await upstream("paper_trading", "accounts"); } catch (e) { return false; }
  if (!res || res.available === false || !Array.isArray(res.data)) return false;
  const found = res.data.find((a) => matches(a, account.ref)) || null;
  account.info = found;
  account.missing = !found;
  if (found) {
    account.ref = found.name;
    remember(found.name);
    const u = new URL(location.href);
    if (u.searchParams.get("account") !== found.name) {
      u.searchParams.set("account", found.name);
      history.replaceState(history.state, "", u);
    }
    for (const a of document.querySelectorAll("nav.tabs a")) a.href = withAccount(a.getAttribute("href"));
  }
  showAccount();
  renderAccountList(res.data);
  return true;
}

// The header's "Times: <zone>" button: says the zone every time on the page is in, toggles it.
function wireZone() {
  const btn = $("#tz-toggle");
  if (!btn) return;
  const other = zone.key === "utc" ? "exchange" : "utc";
  btn.dataset.zone = zone.key;
  // the whole name, or its abbreviation where the header is narrow (app.css); the title says all
  $("#tz-name").replaceChildren(el("span", { class: "tz-long" }, zoneInfo().label),
                                el("span", { class: "tz-short" }, zoneInfo().short));
  btn.title = `Every time on these pages is ${zoneInfo().label}; click to show ${ZONES[other].label}`;
  btn.addEventListener("click", () => setZone(other));
}

export function start() {
  wireZone();
  on("health", showHealth);
  on("clock", showClock);
  showAccount();
  wireSelector();
  // the stream's account topics need the account resolved (an unknown one has none)
  loadAccounts().finally(() => {
    if (account.missing) toast(`No paper account "${account.ref}": pick one in the header`, "err");
    resolveAccount(account);
    connect();
  });
  setInterval(() => { if (document.visibilityState === "visible") loadAccounts(); }, 15000);
  // A first paint without waiting for the stream.
  api("/api/v1/overview").then(showHealth).catch(() => {});
  api("/api/v1/clock").then(showClock).catch(() => {});
}

export function loggedOutNotice() {
  return meta("login-required") === "true" && meta("logged-in") !== "true";
}
