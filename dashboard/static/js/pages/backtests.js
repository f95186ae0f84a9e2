// Backtests: pick a strategy (built-in kind or a file from the allowed folders) and its
// parameters, data (a bundled file, an uploaded CSV, or the built-in market), costs and sizing;
// run it (a replay subprocess on the server) with its progress; read its report; compare two
// runs. Every check is the server's: its message shows beside the field it names.
import { $, ApiError, api, el, emptyState, errorSentence, start, table, toast } from "../core.js";

start();
const LC = window.LightweightCharts;
let catalog = null;
let upload = null;   // the uploaded file's id
let current = null;  // the run shown in the Run panel
let pollTimer = null;
const ticked = new Set();

const pct = (v, d = 2) => (v === null || v === undefined ? "—" : (Number(v) * 100).toFixed(d) + "%");
const fix = (v, d = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(d));
const usd = (v) => (v === null || v === undefined ? "—" : "$" + Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const FORMAT = { end_equity: usd, pnl: usd, fees: usd, total_return: pct, annualized_return: pct,
  max_drawdown: pct, win_rate: pct, exposure: pct, sharpe: fix, sortino: fix, profit_factor: fix,
  trades: (v) => (v ?? "—") };
const fmt = (key, v) => (FORMAT[key] || ((x) => (x === null || x === undefined ? "—" : String(x))))(v);
const when = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) + " UTC" : "");

function showError(id, err) {
  const box = $("#err-" + id);
  box.textContent = err ? errorSentence(err) : "";
}

// ---- the form --------------------------------------------------------------------------
function strategy() { return catalog.strategies.find((s) => s.id === $("#bt-strategy").value); }

function renderParams() {
  const s = strategy();
  $("#bt-strategy-hint").textContent = s.source === "built-in" ? "a built-in kind of the suite"
    : s.source === "docs" ? "an example file from docs/strategies" : `a file in ${catalog.user_folder}`;
  const box = $("#bt-params");
  box.replaceChildren(...s.params.map((p) => el("label", { class: "bt-param" }, p.name,
    p.type === "bool" ? el("input", { type: "checkbox", "data-param": p.name, "data-type": p.type, checked: p.default })
      : el("input", { class: p.type === "text" ? "" : "num", "data-param": p.name, "data-type": p.type,
        value: String(p.default ?? ""), inputmode: p.type === "text" ? "text" : "decimal",
        "aria-label": `parameter ${p.name} (default ${p.default})` }))));
  if (!s.params.length) box.replaceChildren(el("p", { class: "muted small" }, "no parameters"));
}

function params() {
  const out = {};
  for (const input of document.querySelectorAll("#bt-params [data-param]")) {
    const t = input.dataset.type;
    if (t === "bool") out[input.dataset.param] = input.checked;
    else if (t === "text") out[input.dataset.param] = input.value;
    else out[input.dataset.param] = input.value.trim() === "" || Number.isNaN(Number(input.value)) ? input.value : Number(input.value);
  }
  return out;
}

function dataKind() { return $("#bt-data").value.split(":")[0]; }
function onData() {
  const kind = dataKind();
  $("#bt-upload-row").hidden = kind !== "upload";
  $("#bt-market-row").hidden = kind !== "market";
  $("#bt-file-opts").hidden = kind === "market";
  const ds = catalog.datasets.find((d) => d.id === $("#bt-data").value);
  if (ds) $("#bt-tz").value = ds.tz;
  showError("data", null);
}

// the loader's advice names the options that fix the file: point at them
function offerOptions(err) {
  const opts = (err.details && err.details.options) || [];
  const ids = { dedupe: "#bt-dedupe", drop_missing: "#bt-drop", tz: "#bt-tz" };
  for (const [k, sel] of Object.entries(ids)) $(sel).closest("label").classList.toggle("bt-suggest", opts.includes(k));
}

async function sendUpload() {
  const file = $("#bt-file").files[0];
  if (!file) return;
  showError("data", null);
  if (file.size > catalog.upload_max_mb * 1e6) {
    $("#err-data").textContent = `The file is ${(file.size / 1e6).toFixed(1)} MB; at most ${catalog.upload_max_mb} MB may be uploaded.`;
    return;
  }
  $("#bt-upload-state").textContent = "uploading and checking…";
  const q = new URLSearchParams({ tz: $("#bt-tz").value, dedupe: $("#bt-dedupe").checked, drop_missing: $("#bt-drop").checked });
  if ($("#bt-symbol").value) q.set("symbol", $("#bt-symbol").value);
  const resp = await fetch("/api/v1/backtests/uploads?" + q, { method: "POST", body: file, credentials: "same-origin",
    headers: { "Content-Type": "text/csv", Accept: "application/json",
      "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content } });
  const json = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new ApiError(resp.status, json);
    upload = json && json.error && json.error.details && json.error.details.upload || null;
    $("#bt-upload-state").textContent = upload ? "uploaded, but the replay cannot read it as it is:" : "";
    showError("data", err);
    offerOptions(err);
    return;
  }
  upload = json.data.upload;
  $("#bt-upload-state").textContent = `uploaded: ${json.data.bars} bars, ${when(json.data.first)} to ${when(json.data.last)}`;
}

function body() {
  const kind = dataKind();
  const data = kind === "market" ? { kind, start: $("#bt-start").value, end: $("#bt-end").value, universe: Number($("#bt-universe").value) }
    : kind === "upload" ? { kind, name: upload || "" } : { kind, name: $("#bt-data").value.slice("bundled:".length) };
  const b = { strategy: $("#bt-strategy").value, params: params(), data,
    tz: $("#bt-tz").value, dedupe: $("#bt-dedupe").checked, drop_missing: $("#bt-drop").checked,
    cash: $("#bt-cash").value.trim(), commission: $("#bt-commission").value.trim(),
    slippage_bps: $("#bt-slippage").value.trim(), sizing: $("#bt-sizing").value,
    qty_step: $("#bt-qty-step").value.trim(), finalize_trades: $("#bt-finalize").checked,
    allow_short: $("#bt-short").checked };
  if (b.sizing !== "all_in") b.sizing_value = $("#bt-sizing-value").value.trim();
  if (kind === "upload" && $("#bt-symbol").value) b.symbol = $("#bt-symbol").value.trim();
  return b;
}

async function run(ev) {
  ev.preventDefault();
  for (const id of ["run", "data", "strategy"]) showError(id, null);
  if (dataKind() === "upload" && !upload) { $("#err-data").textContent = "Choose a CSV file to upload first."; return; }
  $("#bt-run").disabled = true;
  clearTimeout(pollTimer);
  $("#bt-report").hidden = true;
  $("#bt-cur-id").textContent = "";
  $("#bt-current").replaceChildren(el("p", { class: "muted", role: "status" }, "Checking the data and starting the run…"));
  try {
    const meta = await api("/api/v1/backtests/runs", { method: "POST", body: body() });
    show(meta);
    loadRuns();
  } catch (err) {
    const field = ((err.fields ? err.fields()[0] : "") || "").split(".")[0];
    $("#bt-current").replaceChildren(el("p", { class: "muted" }, "Not started: see the message under the form."));
    showError(field === "params" || field === "strategy" ? "strategy" : field === "data" || field === "symbol" ? "data" : "run", err);
    if (field === "data") offerOptions(err);
  } finally { $("#bt-run").disabled = false; }
}

// ---- the current run -------------------------------------------------------------------
function progressBar(p) {
  const done = p ? p.bars_done : 0, total = p ? p.bars_total : 0;
  const share = total ? done / total : 0;
  return el("div", { class: "bt-progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-valuenow": Math.round(share * 100), "data-testid": "bt-progress" },
    el("div", { class: "bar", style: `width:${(share * 100).toFixed(1)}%` }),
    el("span", { class: "small" }, total ? `${done.toLocaleString()} of ${total.toLocaleString()} bars (${Math.round(share * 100)}%)`
      : "starting the replay…"));
}

function figures(f) {
  const rows = [["Final equity", fmt("end_equity", f.end_equity)], ["Total return", fmt("total_return", f.total_return)],
    ["Annual return", fmt("annualized_return", f.annualized_return)], ["Sharpe", fmt("sharpe", f.sharpe)],
    ["Max drawdown", fmt("max_drawdown", f.max_drawdown)], ["Trades", fmt("trades", f.trades)], ["Win rate", fmt("win_rate", f.win_rate)]];
  return el("dl", { class: "kv bt-figs", "data-testid": "bt-figures" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

let shown = { id: null, state: null };
function show(meta) {
  // a poll sent while the run was running can answer after its end was shown: a run never
  // goes back to running, so that late answer is dropped (it hid the report again)
  if (meta.id === shown.id && shown.state !== "running" && meta.state === "running") return;
  shown = { id: meta.id, state: meta.state };
  current = meta;
  const c = meta.config;
  $("#bt-cur-id").textContent = meta.id;
  const head = el("p", { class: "bt-head" }, el("span", { class: `pill ${meta.state}`, "data-testid": "bt-state" }, meta.state), " ",
    el("b", {}, c.strategy_label), ` on ${c.data_label} · `, Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(", "));
  const parts = [head];
  const frame = $("#bt-report");
  if (meta.state === "running") {
    parts.push(progressBar(meta.progress), el("button", { type: "button", class: "danger", "data-testid": "bt-cancel",
      onclick: () => api(`/api/v1/backtests/runs/${meta.id}/cancel`, { method: "POST" }).then(show).catch((e) => toast(errorSentence(e), "err")) }, "■ Cancel"));
    frame.hidden = true;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => api(`/api/v1/backtests/runs/${meta.id}`).then(show).catch(() => {}), 400);
  } else if (meta.state === "done") {
    parts.push(figures(meta.figures || {}), el("p", { class: "small" },
      el("a", { href: `/backtests/runs/${meta.id}/report.html`, target: "_blank", rel: "noopener" }, "Open the report in its own tab")));
    const src = `/backtests/runs/${meta.id}/report.html`;
    if (frame.getAttribute("src") !== src) frame.setAttribute("src", src);
    frame.hidden = false;
    loadRuns();
  } else {
    parts.push(el("p", { class: "neg", role: "alert", "data-testid": "bt-failure" }, meta.error || "the run failed"));
    frame.hidden = true;
    loadRuns();
  }
  $("#bt-current").replaceChildren(...parts);
}

// ---- past runs and the comparison ------------------------------------------------------
let runsAsked = 0;
async function loadRuns() {
  const mine = ++runsAsked;
  let runs = [];
  try {
    runs = await api("/api/v1/backtests/runs");
    if (mine !== runsAsked) return;  // a newer list was asked for: an older answer must not win
  } catch (e) { $("#bt-runs").replaceChildren(emptyState("Runs could not be read.", errorSentence(e))); return; }
  for (const id of [...ticked]) if (!runs.some((r) => r.id === id && r.state === "done")) ticked.delete(id);
  const box = $("#bt-runs");
  // drawn again only when a run came, went or changed state: a tick being clicked stays put
  const sig = runs.map((r) => r.id + r.state).join();
  if (box.dataset.sig === sig) { syncCompare(); return; }
  box.dataset.sig = sig;
  if (!runs.length) { box.replaceChildren(emptyState("No runs yet.", "Run a backtest: it shows here with its figures.")); syncCompare(); return; }
  table(box, [
    { key: "pick", label: "", render: (r) => r.state === "done" ? el("input", { type: "checkbox", "aria-label": `compare ${r.id}`,
      "data-testid": "bt-tick", checked: ticked.has(r.id), onchange: (e) => { e.target.checked ? ticked.add(r.id) : ticked.delete(r.id); syncCompare(); } }) : "" },
    { key: "created", label: "Started", render: (r) => when(r.created), sort: (r) => r.created },
    { key: "strategy", label: "Strategy", render: (r) => el("a", { href: "#", onclick: (e) => { e.preventDefault(); api(`/api/v1/backtests/runs/${r.id}`).then(show); } },
      r.config.strategy_label), sort: (r) => r.config.strategy_label },
    { key: "params", label: "Parameters", render: (r) => Object.entries(r.config.params).map(([k, v]) => `${k}=${v}`).join(" ") },
    { key: "data", label: "Data", render: (r) => r.config.data_label },
    { key: "state", label: "State", render: (r) => el("span", { class: `pill ${r.state}` }, r.state) },
    { key: "ret", label: "Return", num: true, render: (r) => fmt("total_return", r.figures && r.figures.total_return), sort: (r) => r.figures ? r.figures.total_return : null },
    { key: "sharpe", label: "Sharpe", num: true, render: (r) => fmt("sharpe", r.figures && r.figures.sharpe) },
    { key: "dd", label: "Max DD", num: true, render: (r) => fmt("max_drawdown", r.figures && r.figures.max_drawdown) },
    { key: "del", label: "", render: (r) => r.state === "running" ? "" : el("button", { type: "button", class: "small", "aria-label": `delete run ${r.id}`,
      onclick: () => api(`/api/v1/backtests/runs/${r.id}`, { method: "DELETE" }).then(() => { ticked.delete(r.id); loadRuns(); }).catch((e) => toast(errorSentence(e), "err")) }, "Delete") },
  ], runs, { sortKey: "created", rowAttrs: (r) => ({ "data-run": r.id }) });
  syncCompare();
}

function syncCompare() {
  $("#bt-compare").disabled = ticked.size !== 2;
  $("#bt-compare-hint").textContent = ticked.size === 2 ? "" : `${ticked.size} of 2 ticked`;
}

let cmpChart = null;
async function compareRuns() {
  const [a, b] = [...ticked];
  let d;
  try { d = await api("/api/v1/backtests/compare", { query: { a, b } }); } catch (e) { toast(errorSentence(e), "err"); return; }
  $("#bt-cmp-panel").hidden = false;
  $("#bt-cmp-ids").textContent = `A ${d.a.id} · B ${d.b.id}`;
  table($("#bt-cmp-stats"), [{ key: "label", label: "Figure" },
    { key: "a", label: "A", num: true, render: (r) => fmt(r.key, r.a) }, { key: "b", label: "B", num: true, render: (r) => fmt(r.key, r.b) }], d.stats);
  const diff = $("#bt-cmp-diff");
  if (!d.differences.length) diff.replaceChildren(emptyState("Same configuration.", "Both runs used the same settings."));
  else table(diff, [{ key: "key", label: "Setting" }, { key: "a", label: "A", render: (r) => String(r.a ?? "—") },
    { key: "b", label: "B", render: (r) => String(r.b ?? "—") }], d.differences);
  const box = $("#bt-cmp-chart");
  if (!cmpChart) {
    cmpChart = LC.createChart(box, { autoSize: true,
      layout: { background: { type: "solid", color: "#131820" }, textColor: "#d6dde8", fontSize: 12 },
      grid: { vertLines: { color: "#1c2430" }, horzLines: { color: "#1c2430" } },
      rightPriceScale: { borderColor: "#2a3442" }, timeScale: { borderColor: "#2a3442" },
      localization: { priceFormatter: (v) => "$" + v.toLocaleString("en-US", { maximumFractionDigits: 0 }) } });
    cmpChart.a = cmpChart.addSeries(LC.LineSeries, { color: "#4da3ff", lineWidth: 2, title: "A", priceLineVisible: false });
    cmpChart.b = cmpChart.addSeries(LC.LineSeries, { color: "#f5b942", lineWidth: 2, title: "B", priceLineVisible: false });
  }
  cmpChart.a.setData(d.a.equity.map(([t, v]) => ({ time: t, value: Number(v) })));
  cmpChart.b.setData(d.b.equity.map(([t, v]) => ({ time: t, value: Number(v) })));
  cmpChart.timeScale().fitContent();
  box.dataset.points = `${d.a.equity.length},${d.b.equity.length}`;
  $("#bt-cmp-panel").scrollIntoView({ block: "start" });
}

// ---- start -----------------------------------------------------------------------------
async function init() {
  catalog = await api("/api/v1/backtests/catalog");
  const groups = { "built-in": "Built-in kinds", docs: "Examples (docs/strategies)", user: "Your files" };
  $("#bt-strategy").replaceChildren(...Object.entries(groups).map(([src, label]) => {
    const items = catalog.strategies.filter((s) => s.source === src);
    return items.length ? el("optgroup", { label }, items.map((s) => el("option", { value: s.id }, s.label))) : null;
  }).filter(Boolean));
  $("#bt-data").replaceChildren(el("optgroup", { label: "Bundled files" }, catalog.datasets.map((d) => el("option", { value: d.id }, d.label))),
    el("option", { value: "upload:" }, "Upload a CSV…"), el("option", { value: "market:" }, "Built-in market (date range)"));
  $("#bt-limit").textContent = `at most ${catalog.max_running} at once`;
  renderParams(); onData();
  $("#bt-strategy").addEventListener("change", renderParams);
  $("#bt-data").addEventListener("change", onData);
  $("#bt-file").addEventListener("change", sendUpload);
  $("#bt-sizing").addEventListener("change", () => { $("#bt-sizing-value").disabled = $("#bt-sizing").value === "all_in"; });
  $("#bt-form").addEventListener("submit", run);
  $("#bt-compare").addEventListener("click", compareRuns);
  loadRuns();
}
init().catch((e) => showError("run", e));
