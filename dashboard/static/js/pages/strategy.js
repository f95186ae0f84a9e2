// Strategy settings: the automation's scanner preset, strategy weights, sizing, risk limits and
// news weight. Coordination checks every value; its message is shown beside the field, in the
// field's own words. The change log shows who changed what, when, from what to what.
import { $, ApiError, act, api, el, notice, on, start, table, time, toast, upstream, zoneInfo } from "../core.js";

start();

// [path, label, kind, allowed values]; kind: number | int | money (sent as typed: exact) | bool |
// preset | select:a,b; "?" = may be empty
const SECTIONS = [
  ["Scanner", [
    ["scanner_preset", "Scanner preset", "preset", "which symbols the automation looks at; “none” ranks every symbol by its setup"],
    ["max_candidates", "Candidates per cycle", "int", "1 to 500 of the best matches are analysed"],
    ["universe_limit", "Universe limit", "int?", "empty: every symbol; else only the first 1 to 5,000"],
  ]],
  ["Strategies and weights", [
    ["weights.technical", "Technical strategies", "number", "weight 0 to 10"],
    ["weights.patterns", "Chart patterns", "number", "weight 0 to 10"],
    ["weights.candles", "Candlesticks", "number", "weight 0 to 10"],
    ["entry_threshold", "Score to enter", "number", "above 0, up to 1"],
    ["exit_threshold", "Opposite score to exit", "number", "0 to 1"],
    ["allow_short", "Short selling", "bool", "enter short on a negative score"],
    ["timeframe", "Bars analysed", "select:1m,5m,15m,1h,1d", "one cycle per bar"],
  ]],
  ["News", [
    ["weights.news", "News weight", "number", "0 to 10 (at least one weight above 0)"],
    ["block_news_below", "No long entry on news below", "number", "sentiment −1 to 1"],
    ["block_short_news_above", "No short entry on news above", "number", "sentiment −1 to 1"],
  ]],
  ["Sizing", [
    ["sizing.method", "Sizing method", "select:fixed,percent,risk,all_in", "fixed dollars, % of equity, risk per trade, or all in"],
    ["sizing.fixed_dollars", "Fixed dollars", "money", "above $0, at most the account's equity"],
    ["sizing.equity_pct", "Percent of equity", "number", "above 0, up to 100 %"],
    ["sizing.risk_pct", "Risk per trade, %", "number", "of equity: above 0, up to 10 %"],
    ["sizing.risk_dollars", "Risk per trade, $", "money?", "empty: use the %; else at most the equity"],
    ["sizing.max_position_pct", "Largest position, %", "number", "of equity: above 0, up to 400 %"],
    ["sizing.stop_source", "Stop placed from", "select:atr,pattern", "ATR, or the chart pattern's level"],
    ["sizing.atr_multiple", "Stop distance, ATRs", "number", "above 0, up to 50"],
    ["sizing.reward_risk", "Take profit at reward/risk", "number?", "empty: none; else above 0, up to 50"],
  ]],
  ["Risk limits", [
    ["max_positions", "Open positions at most", "int", "1 to 500"],
    ["no_entry_minutes_before_close", "No entries in the last", "int", "0 to 390 minutes of the session"],
    ["flatten_minutes_before_close", "Close all positions", "int", "0 to 390 minutes before the close, at most the no-entry window"],
    ["max_holding_minutes", "Hold a position at most", "int?", "empty: no limit; else 1 to 390 minutes"],
  ]],
];
const FIELDS = SECTIONS.flatMap(([, rows]) => rows);
const LABEL = Object.fromEntries(FIELDS.map(([p, label]) => [p, label]));
const fid = (path) => "s-" + path.replace(/\./g, "-");
const eid = (path) => "err-" + path.replace(/\./g, "-");
const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
let live = null;  // the settings as coordination has them

function input(path, kind, presets) {
  const attrs = { id: fid(path), name: path, "aria-describedby": `${fid(path)}-hint ${eid(path)}` };
  if (kind === "bool") return el("input", { ...attrs, type: "checkbox" });
  if (kind === "preset") {
    return el("select", attrs, el("option", { value: "" }, "none (every symbol)"),
      presets.map((n) => el("option", { value: n }, n)));
  }
  if (kind.startsWith("select:")) return el("select", attrs, kind.slice(7).split(",").map((v) => el("option", { value: v }, v)));
  return el("input", { ...attrs, class: "num", inputmode: kind.startsWith("int") ? "numeric" : "decimal", autocomplete: "off" });
}

function build(presets) {
  $("#strategy-fields").replaceChildren(...SECTIONS.map(([title, rows]) => el("fieldset", {},
    el("legend", {}, title),
    rows.map(([path, label, kind, hint]) => el("div", { class: "setting" },
      el("label", { for: fid(path) }, label), input(path, kind, presets),
      el("span", { class: "hint", id: `${fid(path)}-hint` }, hint),
      el("div", { class: "field-error", id: eid(path), role: "alert" }))))));
  for (const x of document.querySelectorAll("#strategy-fields input, #strategy-fields select")) {
    x.addEventListener("input", markEdited);
    x.addEventListener("change", markEdited);
  }
}

function show(s) {
  live = s;
  for (const [path, , kind] of FIELDS) {
    const x = document.getElementById(fid(path));
    const v = get(s, path);
    if (kind === "bool") x.checked = Boolean(v);
    else {
      if (kind === "preset" && v && ![...x.options].some((o) => o.value === v)) x.append(el("option", { value: v }, v));
      x.value = v === null || v === undefined ? "" : String(v);
    }
  }
  clearErrors();
  markEdited();
}

// The value to send: numbers as numbers; anything else as typed, so coordination says what is wrong.
function read(path, kind) {
  const x = document.getElementById(fid(path));
  if (kind === "bool") return x.checked;
  const text = x.value.trim();
  if (kind === "preset") return text || null;
  if (kind.startsWith("select:")) return text;
  if (text === "") return kind.endsWith("?") ? null : "";
  const plain = text.replace(/[,_\s$%]/g, "");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(plain)) return text;
  return kind.startsWith("money") ? plain : Number(plain);
}

function changes() {
  const out = [];
  for (const [path, , kind] of FIELDS) {
    const v = read(path, kind), old = get(live, path);
    const same = v === old || (v !== null && v !== "" && old !== null && Number(old) === Number(v) &&
      (kind.startsWith("money") ? String(old) === String(v) : true));
    if (!same) out.push([path, v]);
  }
  return out;
}

function markEdited() {
  if (!live) return;
  const edited = new Set(changes().map(([p]) => p));
  for (const [path] of FIELDS) document.getElementById(fid(path)).classList.toggle("edited", edited.has(path));
  $("#strategy-dirty").textContent = edited.size ? `${edited.size} unsaved change${edited.size > 1 ? "s" : ""}` : "";
}

function clearErrors() {
  for (const x of document.querySelectorAll("#strategy-form .field-error")) x.textContent = "";
  for (const x of document.querySelectorAll("#strategy-form [aria-invalid]")) x.removeAttribute("aria-invalid");
}

// "sizing.fixed_dollars must be ..." reads as "Fixed dollars must be ..." beside its field.
const plainWords = (message, path) => (LABEL[path] ? message.split(path).join(LABEL[path]) : message);

function showErrors(err) {
  const list = err instanceof ApiError && err.details.errors?.length ? err.details.errors
    : [{ field: err.details?.field, message: err.message }];
  const elsewhere = [];
  for (const e of list) {
    const box = e.field && document.getElementById(eid(e.field));
    if (box) {
      box.textContent = plainWords(e.message, e.field);
      document.getElementById(fid(e.field))?.setAttribute("aria-invalid", "true");
    } else elsewhere.push(e.message);
  }
  $("#err-strategy").textContent = elsewhere.length ? elsewhere.join(" · ")
    : `Nothing was saved: ${list.length > 1 ? `${list.length} values need` : "one value needs"} fixing (see beside the field).`;
  const first = list.find((e) => e.field && document.getElementById(fid(e.field)));
  if (first) document.getElementById(fid(first.field)).focus();
}

async function load() {
  const r = await upstream("coordination", "strategy");
  if (!r.available) {
    $("#strat-meta").textContent = "";
    $("#err-strategy").textContent = r.down ? "Coordination is not running, so the settings cannot be read or changed now. They show again once it is back."
      : r.message;
    $("#save-strategy").disabled = true;
    return;
  }
  $("#save-strategy").disabled = false;
  $("#strat-meta").textContent = "changes apply from the next cycle";
  show(r.data);
}

const shown = (v) => (v === null || v === undefined ? "empty" : typeof v === "object" ? JSON.stringify(v) : String(v));

async function loadLog() {
  const box = $("#change-log");
  const r = await upstream("coordination", "strategy/changes", { limit: 200 });
  if (!r.available) { box.replaceChildren(notice(r.down ? "Coordination is not running: the change log shows again once it is back." : r.message)); return; }
  $("#log-meta").textContent = `${r.data.length} change${r.data.length === 1 ? "" : "s"}`;
  table(box, [
    { key: "changed_at", label: `When (${zoneInfo().short})`, render: (c) => time(c.changed_at) },
    { key: "changed_by", label: "Who" },
    { key: "key", label: "Setting", render: (c) => el("span", { title: c.key }, LABEL[c.key] || c.key) },
    { key: "old_value", label: "Old", nosort: true, render: (c) => shown(c.old_value) },
    { key: "new_value", label: "New", nosort: true, render: (c) => el("b", {}, shown(c.new_value)) },
  ], r.data, { empty: "No change yet: the settings are the defaults from config/default.yaml.", sortKey: "changed_at" });
}

$("#strategy-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  const list = changes();
  if (!list.length) { $("#err-strategy").textContent = "Nothing to save: no value was changed."; return; }
  const patch = {};
  for (const [path, v] of list) {
    const keys = path.split(".");
    let o = patch;
    for (const k of keys.slice(0, -1)) o = o[k] ??= {};
    o[keys.at(-1)] = v;
  }
  const btn = $("#save-strategy");
  btn.disabled = true; btn.textContent = "Saving…";
  try {
    const out = await act("coordination", "strategy", "PATCH", patch);
    show(out.strategy);
    toast(`Saved: ${out.changes.length} setting${out.changes.length === 1 ? "" : "s"} changed`);
    loadLog();
  } catch (err) { showErrors(err); } finally { btn.disabled = false; btn.textContent = "Save changes"; }
});
$("#reset-strategy").addEventListener("click", () => live && show(live));

function renderAutomation(a) {
  if (!a) return;
  const btns = document.querySelectorAll("#sauto-controls button");
  if (a.available === false) {
    $("#sauto-text").replaceChildren(notice(a.down ? "Coordination is not running: the automation cannot be turned on or off now." : a.message));
    for (const b of btns) b.disabled = true;
    return;
  }
  const d = a.data || a;
  for (const b of btns) { b.disabled = false; b.setAttribute("aria-pressed", String(b.dataset.auto === d.state)); }
  $("#sauto-state").textContent = d.state;
  const on_ = d.state === "running";
  $("#sauto-text").replaceChildren(el("span", { class: on_ ? "pos" : "warn", id: "sauto-value" },
    on_ ? "On: it scans, decides and trades at every step of the clock."
      : d.state === "paused" ? "Paused: no cycle runs until it is turned on." : "Off: it does not trade."));
}

for (const b of document.querySelectorAll("[data-auto]")) {
  b.addEventListener("click", async () => {
    $("#err-sauto").textContent = "";
    try {
      const d = await api("/api/v1/automation", { method: "POST", body: { state: b.dataset.auto } });
      renderAutomation({ available: true, data: d });
      toast(b.dataset.auto === "running" ? "Automation on" : "Automation off");
    } catch (err) { $("#err-sauto").textContent = err.message; }
  });
}

async function init() {
  const p = await upstream("scanner", "scan/presets");
  build(p.available ? Object.keys(p.data || {}) : []);
  await load();
  if (!p.available) $("#err-strategy").textContent = "The scanner is not running: its presets cannot be listed; the current one is kept.";
  loadLog();
  on("automation", renderAutomation);
  api("/api/v1/automation").then(renderAutomation).catch(() => {});
}
init();
