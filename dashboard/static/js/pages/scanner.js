// Scanner: the latest matches (sortable, each with why it matched); presets and filters editable.
import { $, ApiError, act, el, notice, num, pct, start, table, time, toast, upstream } from "../core.js";
import { explain } from "../decision_view.js";

start();
const RANGES = [["price", "Price"], ["avg_volume", "Avg volume"], ["rvol", "Rel. volume"], ["gap_pct", "Gap %"],
  ["change_pct", "Change %"], ["atr_pct", "ATR %"], ["rsi", "RSI"]];
const FLAGS = [["new_high", "New high"], ["new_low", "New low"], ["above_vwap", "Above VWAP"], ["below_vwap", "Below VWAP"]];
let presets = {};

function buildFilters() {
  const box = $("#filters");
  const rows = RANGES.map(([k, label]) => el("div", { style: "display:grid;grid-template-columns:90px 1fr 1fr;gap:4px;align-items:center" },
    el("span", { class: "muted" }, label),
    el("input", { class: "num", id: `f-min_${k}`, "aria-label": `${label} minimum`, placeholder: "min", inputmode: "decimal" }),
    el("input", { class: "num", id: `f-max_${k}`, "aria-label": `${label} maximum`, placeholder: "max", inputmode: "decimal" }),
    el("div", { class: "field-error", id: `err-min_${k}`, style: "grid-column: 1 / -1" }),
    el("div", { class: "field-error", id: `err-max_${k}`, style: "grid-column: 1 / -1" })));
  const flags = el("div", { style: "display:flex;flex-wrap:wrap;gap:8px;margin-top:6px" }, FLAGS.map(([k, label]) =>
    el("label", { style: "flex-direction:row;gap:4px" }, el("input", { type: "checkbox", id: `f-${k}` }), label)));
  box.replaceChildren(...rows, flags);
}

function fillFrom(preset) {
  const f = presets[preset] || {};
  for (const [k] of RANGES) for (const m of ["min", "max"]) $(`#f-${m}_${k}`).value = f[`${m}_${k}`] ?? "";
  for (const [k] of FLAGS) $(`#f-${k}`).checked = Boolean(f[k]);
}

function readFilters() {
  const out = {};
  for (const [k] of RANGES) for (const m of ["min", "max"]) { const v = $(`#f-${m}_${k}`).value.trim(); if (v !== "") out[`${m}_${k}`] = v; }
  for (const [k] of FLAGS) if ($(`#f-${k}`).checked) out[k] = true;
  return out;
}

// Each explanation entry is {filter, metric, value, threshold, passed}: "rvol 1.43 ≥ 1.20".
function why(r) {
  const e = r.explanation;
  if (!e || (Array.isArray(e) && !e.length)) return "no filter set: every visible symbol matches";
  if (typeof e === "string") return e;
  if (Array.isArray(e)) return e.map(explain).join(" · ");
  return Object.entries(e).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
}

function render(run) {
  const box = $("#matches");
  if (!run || run.available === false) { box.replaceChildren(notice(run ? run.message : "no scan")); return; }
  const d = run.data || run;
  const active = Object.keys(d.filters || {});
  $("#scan-meta").textContent = `${d.preset || (active.length ? "custom" : "no filter")} · ${d.matched ?? (d.results || []).length} of ${d.universe_size ?? "?"} matched · clock ${time(d.clock_ts)} · ${num(d.duration_ms, 0)} ms`;
  const m = (r, k) => (r.metrics || {})[k];
  table(box, [
    { key: "rank", label: "#", num: true },
    { key: "symbol", label: "Symbol", render: (r) => el("a", { href: `/symbol?symbol=${encodeURIComponent(r.symbol)}` }, r.symbol) },
    { key: "sector", label: "Sector", render: (r) => r.sector || "—" },
    { key: "score", label: "Score", num: true, render: (r) => num(r.score, 2) },
    { key: "price", label: "Price", num: true, render: (r) => num(r.price, 2) },
    { key: "change", label: "Chg %", num: true, sort: (r) => m(r, "change_pct"), render: (r) => pct(m(r, "change_pct")) },
    { key: "gap", label: "Gap %", num: true, sort: (r) => m(r, "gap_pct"), render: (r) => pct(m(r, "gap_pct")) },
    { key: "rvol", label: "RVOL", num: true, sort: (r) => m(r, "rvol"), render: (r) => num(m(r, "rvol"), 2) },
    { key: "rsi", label: "RSI", num: true, sort: (r) => m(r, "rsi"), render: (r) => num(m(r, "rsi"), 1) },
    { key: "why", label: "Why it matched", nosort: true, render: (r) => el("span", { class: "muted", style: "white-space:normal" }, why(r)) },
  ], d.results || [], { empty: "no symbol matched", sortKey: "rank" });
  if (!box._sort.touched) { box._sort.dir = 1; box._sort.touched = true; render(run); }
}

async function init() {
  buildFilters();
  const p = await upstream("scanner", "scan/presets");
  if (p.available) {
    presets = p.data || {};
    for (const name of Object.keys(presets)) $("#preset").append(el("option", { value: name }, name));
  } else {
    $("#err-scan").textContent = p.message;
  }
  $("#preset").addEventListener("change", () => fillFrom($("#preset").value));
  render(await upstream("scanner", "scan/latest"));
}

$("#scan-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  for (const x of document.querySelectorAll("#scan-form .field-error")) x.textContent = "";
  const body = { preset: $("#preset").value || null, filters: readFilters() };
  const limit = $("#scan-limit").value.trim();
  if (limit) body.limit = limit;
  // a preset's own values are sent as overrides only where the user changed them
  const base = presets[body.preset] || {};
  for (const [k, v] of Object.entries(body.filters)) if (String(base[k]) === String(v)) delete body.filters[k];
  const btn = $("#run-scan");
  btn.disabled = true; btn.textContent = "Scanning…";
  try { render(await act("scanner", "scan", "POST", body)); toast("Scan done"); }
  catch (err) {
    const field = err instanceof ApiError ? (err.fields()[0] || "").replace(/^filters\./, "") : "";
    const box = field && document.getElementById(`err-${field}`);
    (box || $("#err-scan")).textContent = err.message;
  } finally { btn.disabled = false; btn.textContent = "Run scan"; }
});
init();
