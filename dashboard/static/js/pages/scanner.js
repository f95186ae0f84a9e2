// Scanner: the latest matches (sortable, each with why it matched); presets and filters editable.
// The scanner's default preset (day trading) is selected unless the latest scan used another.
import { $, ApiError, act, el, emptyState, num, pct, start, table, time, toast, upstream } from "../core.js";

start();
const RANGES = [["price", "Price"], ["avg_volume", "Avg volume"], ["avg_dollar_volume", "Avg $ volume"],
  ["rvol", "Rel. volume"], ["gap_pct", "Gap %"], ["abs_gap_pct", "Gap % either way"], ["change_pct", "Change %"],
  ["abs_change_pct", "Change % either way"], ["atr_pct", "ATR %"], ["rsi", "RSI"]];
// How a metric reads in "why it matched".
const NAMES = { price: "price", avg_volume: "avg volume", avg_dollar_volume: "avg $ volume", rvol: "RVOL",
  gap_pct: "gap %", abs_gap_pct: "gap % either way", change_pct: "change %", abs_change_pct: "change % either way",
  atr_pct: "ATR %", rsi: "RSI", vwap_dist_pct: "% from VWAP", day_high: "day high", day_low: "day low" };
const FLAGS = [["new_high", "New high"], ["new_low", "New low"], ["above_vwap", "Above VWAP"], ["below_vwap", "Below VWAP"]];
let presets = {};
let defaultPreset = "";

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
  const any = f.any_of || [];
  $("#preset-note").textContent = preset === "" ? "No preset: every symbol, ranked by its setup (gap, relative volume, move)."
    : any.length ? `Needs every set filter, except that any one of ${any.map((k) => k.replace(/^(min|max)_/, "")).map((m) => NAMES[m] || m).join(", ").replace(/, ([^,]*)$/, " and $1")} is enough.`
      : "Needs every set filter.";
  for (const [k] of RANGES) for (const m of ["min", "max"]) $(`#f-${m}_${k}`).value = f[`${m}_${k}`] ?? "";
  for (const [k] of FLAGS) $(`#f-${k}`).checked = Boolean(f[k]);
}

function readFilters() {
  const out = {};
  for (const [k] of RANGES) for (const m of ["min", "max"]) { const v = $(`#f-${m}_${k}`).value.trim(); if (v !== "") out[`${m}_${k}`] = v; }
  for (const [k] of FLAGS) if ($(`#f-${k}`).checked) out[k] = true;
  return out;
}

const compact = (v) => (Math.abs(v) >= 1e6 ? `${num(v / 1e6, 1)}M` : Math.abs(v) >= 1e4 ? `${num(v / 1e3, 0)}k` : num(v, 2));
function fmt(metric, v) {
  if (typeof v !== "number") return String(v ?? "—");
  return metric === "avg_dollar_volume" ? "$" + compact(v) : metric === "avg_volume" ? compact(v) : num(v, 2);
}
// One met criterion {filter, metric, value, threshold}: "RVOL 1.43 ≥ 1.30".
function criterion(x) {
  if (x.metric === "sector") return `sector ${x.value}`;
  if (typeof x.threshold !== "number") return `${(x.filter || "").replace(/_/g, " ")} (${fmt(x.metric, x.value)})`;
  const op = String(x.filter).startsWith("max_") ? "≤" : "≥";
  return `${NAMES[x.metric] || x.metric} ${fmt(x.metric, x.value)} ${op} ${fmt(x.metric, x.threshold)}`;
}
// Which criteria the symbol met, with their values; without filters, its setup points.
function why(r) {
  const e = Array.isArray(r.explanation) ? r.explanation.filter((x) => x.passed !== false && x.filter !== "exclude") : [];
  const m = r.metrics || {};
  if (!e.length) {
    return `no filter: ranked by its setup (gap ${num(m.points_gap, 1)} + volume ${num(m.points_rvol, 1)} + move ${num(m.points_move, 1)} points)`;
  }
  const inPlay = e.filter((x) => x.any_of).map(criterion);
  const rest = e.filter((x) => !x.any_of).map(criterion);
  return [inPlay.length ? `in play: ${inPlay.join(", ")}` : "", rest.join(", ")].filter(Boolean).join(" · ");
}

function render(run) {
  const box = $("#matches");
  if (!run || run.available === false) {
    $("#scan-meta").textContent = "";
    box.replaceChildren(el("div", { class: "body" }, run && run.down
      ? emptyState("The scanner is not running, so no matches can be shown.", "They come back once it runs again (see the System page).")
      : emptyState("No scan has run yet.", "The automation scans at every step while the market is open; press “Run scan” to scan now with the preset and filters on the right.")));
    return;
  }
  const d = run.data || run;
  const active = Object.keys(d.filters || {}).filter((k) => k !== "exclude");
  $("#scan-meta").textContent = `${d.preset || (active.length ? "custom filters" : "no preset")} · ${d.matched ?? (d.results || []).length} of ${d.universe_size ?? "?"} matched · clock ${time(d.clock_ts)} · ${num(d.duration_ms, 0)} ms`;
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
  ], d.results || [], { empty: "No symbol met these filters at this time. Loosen a filter, or pick another preset.", sortKey: "rank" });
  if (!box._sort.touched) { box._sort.dir = 1; box._sort.touched = true; render(run); }
}

async function init() {
  buildFilters();
  const [p, dflt, latest] = await Promise.all([upstream("scanner", "scan/presets"),
    upstream("scanner", "scan/presets/default"), upstream("scanner", "scan/latest")]);
  if (p.available) {
    presets = p.data || {};
    for (const name of Object.keys(presets)) $("#preset").append(el("option", { value: name }, name));
  } else {
    $("#err-scan").textContent = "The scanner is not running: its presets cannot be listed and no scan can run now.";
  }
  defaultPreset = (dflt.available && dflt.data.preset) || "";
  // the preset of the matches shown, else the scanner's default
  const shown = latest.available ? (latest.data.preset ?? "") : defaultPreset;
  $("#preset").value = shown in presets || shown === "" ? shown : defaultPreset;
  fillFrom($("#preset").value);
  $("#preset").addEventListener("change", () => fillFrom($("#preset").value));
  render(latest);
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
