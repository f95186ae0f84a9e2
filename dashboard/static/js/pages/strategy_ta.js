// Strategy page, "Technical strategies": technical analysis's strategies chosen at run time.
// Each row is one strategy (kind or file, parameters, weight, on/off); technical analysis
// checks every value and its refusal is shown in words beside the field. A user strategy is
// added from the files of the allowed folders (a select of their classes). The change log
// lists who changed what, when, from what to what. Applied from the next analysis.
import { $, act, el, notice, table, time, toast, upstream, zoneInfo } from "../core.js";

const TA = "technical_analysis";
const safe = (s) => String(s).replace(/[^a-z0-9_]/gi, "_");
const errId = (name, field) => `ta-err-${safe(name)}-${safe(field)}`;
const inId = (name, field) => `ta-${safe(name)}-${safe(field)}`;
const shown = (v) => (v === null || v === undefined ? "settings' value" : typeof v === "object"
  ? Object.entries(v).map(([k, x]) => `${k}=${x}`).join(", ") : String(v));
let files = [];  // [{file, classes: [{name, ref, params}], error}]

// A parameter's value as typed: numbers as numbers, true/false as booleans, else the text (so
// technical analysis says what is wrong with it).
function typed(text, dflt) {
  const t = text.trim();
  if (typeof dflt === "boolean") return t === "true" ? true : t === "false" ? false : t;
  if (t !== "" && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return Number(t);
  return t;
}

function paramInputs(name, params, defaults) {
  return Object.keys(defaults).map((k) => el("span", { class: "ta-param" },
    el("label", { for: inId(name, `params.${k}`) }, k),
    el("input", { id: inId(name, `params.${k}`), class: "num", "data-param": k, value: String(params[k]),
      title: `default ${defaults[k]}`, autocomplete: "off", "aria-describedby": errId(name, `params.${k}`) }),
    el("span", { class: "field-error", id: errId(name, `params.${k}`), role: "alert" })));
}

// Show a refusal beside its field (weight, params.<name>, file...), else under the row.
function showError(name, err, fallback) {
  const field = err.details?.field || err.details?.errors?.[0]?.field || "";
  const box = document.getElementById(errId(name, field)) || document.getElementById(errId(name, fallback));
  box.textContent = err.message;
  document.getElementById(inId(name, field))?.setAttribute("aria-invalid", "true");
}

function clear(root) {
  for (const x of root.querySelectorAll(".field-error")) x.textContent = "";
  for (const x of root.querySelectorAll("[aria-invalid]")) x.removeAttribute("aria-invalid");
}

function row(s) {
  const what = s.kind === "user" ? el("code", { title: s.file }, s.file) : el("span", { class: "muted" }, `built-in: ${s.kind}`);
  const tr = el("div", { class: "ta-row", "data-strategy": s.name },
    el("label", { class: "inline ta-on" }, el("input", { type: "checkbox", id: inId(s.name, "enabled"), checked: s.enabled }), "on"),
    el("div", { class: "ta-name" }, el("b", {}, s.name), " ", what,
      s.source === "settings" && s.overridden.length ? el("span", { class: "muted small" }, ` (changed: ${s.overridden.join(", ")})`) : null),
    el("span", { class: "ta-param" }, el("label", { for: inId(s.name, "weight") }, "weight"),
      el("input", { id: inId(s.name, "weight"), class: "num", value: String(s.weight), autocomplete: "off",
        title: "0 to 100; 0 keeps it out of the blend", "aria-describedby": errId(s.name, "weight") }),
      el("span", { class: "field-error", id: errId(s.name, "weight"), role: "alert" })),
    el("div", { class: "ta-params" }, paramInputs(s.name, s.params, s.defaults)),
    el("div", { class: "ta-actions" },
      el("button", { type: "button", class: "primary", onclick: () => save(s, tr) }, "Save"),
      s.source === "added" ? el("button", { type: "button", class: "sell", onclick: () => remove(s, tr) }, "Delete") : null),
    el("div", { class: "field-error ta-rowerr", id: errId(s.name, "row"), role: "alert" },
      s.last_error ? `Last error: ${s.last_error}` : ""),
    el("span", { class: "field-error", id: errId(s.name, "enabled"), role: "alert" }));
  return tr;
}

async function save(s, tr) {
  clear(tr);
  const body = {};
  const on = document.getElementById(inId(s.name, "enabled")).checked;
  if (on !== s.enabled) body.enabled = on;
  const w = typed(document.getElementById(inId(s.name, "weight")).value, 0);
  if (w !== s.weight) body.weight = w;
  const params = {};
  for (const x of tr.querySelectorAll("[data-param]")) {
    const v = typed(x.value, s.defaults[x.dataset.param]);
    if (v !== s.params[x.dataset.param]) params[x.dataset.param] = v;
  }
  if (Object.keys(params).length) body.params = params;
  if (!Object.keys(body).length) { document.getElementById(errId(s.name, "row")).textContent = "Nothing to save: no value was changed."; return; }
  try {
    await act(TA, `strategies/${encodeURIComponent(s.name)}`, "PUT", body);
    toast(`${s.name} saved: it applies from the next analysis`);
    refresh();
  } catch (err) { showError(s.name, err, "row"); }
}

async function remove(s, tr) {
  clear(tr);
  try {
    await act(TA, `strategies/${encodeURIComponent(s.name)}`, "DELETE");
    toast(`${s.name} deleted`);
    refresh();
  } catch (err) { showError(s.name, err, "row"); }
}

function fillAddParams() {
  const ref = $("#ta-new-file").value;
  const cls = files.flatMap((f) => f.classes).find((c) => c.ref === ref);
  $("#ta-add-params").replaceChildren(...(cls ? paramInputs("new", cls.params, cls.params) : []));
}

function buildAdd(dirs) {
  const opts = [];
  for (const f of files) {
    if (f.error) opts.push(el("option", { disabled: true, value: "" }, `${f.file}: does not load (${f.error})`));
    for (const c of f.classes) opts.push(el("option", { value: c.ref }, `${f.file} — ${c.name}`));
  }
  $("#ta-add-hint").textContent = `files of ${dirs.join("/, ")}/ only`;
  $("#ta-new-file").replaceChildren(...opts);
  fillAddParams();
}

async function add(e) {
  e.preventDefault();
  const form = $("#ta-add");
  clear(form);
  const params = {};
  for (const x of form.querySelectorAll("[data-param]")) {
    const cls = files.flatMap((f) => f.classes).find((c) => c.ref === $("#ta-new-file").value);
    const v = typed(x.value, cls?.params[x.dataset.param]);
    params[x.dataset.param] = v;
  }
  const body = { name: $("#ta-new-name").value.trim(), file: $("#ta-new-file").value, params,
    weight: typed($("#ta-new-weight").value, 0), enabled: true };
  try {
    await act(TA, "strategies", "POST", body);
    toast(`${body.name} added: it runs from the next analysis`);
    $("#ta-new-name").value = "";
    refresh();
  } catch (err) { showError("new", err, "form"); }
}

async function loadLog() {
  const r = await upstream(TA, "strategies/changes", { limit: 100 });
  const box = $("#ta-log");
  if (!r.available) { box.replaceChildren(notice(r.message || "Technical analysis is not running.")); return; }
  const rows = r.data.changes.map((c) => ({ ...c,
    what: c.action === "add" ? `added ${c.new.file}` : c.action === "delete" ? "deleted"
      : ["enabled", "weight", "params"].filter((k) => JSON.stringify(c.old?.[k] ?? null) !== JSON.stringify(c.new?.[k] ?? null))
        .map((k) => `${k}: ${shown(c.old?.[k])} → ${shown(c.new[k])}`).join("; ") }));
  table(box, [
    { key: "changed_at", label: `When (${zoneInfo().short})`, render: (c) => time(c.changed_at) },
    { key: "changed_by", label: "Who" },
    { key: "name", label: "Strategy" },
    { key: "what", label: "Change", nosort: true },
  ], rows, { empty: "No change yet: the strategies are those of the settings.", sortKey: "changed_at" });
}

async function refresh() {
  const list = $("#ta-list");
  const r = await upstream(TA, "strategies");
  if (!r.available) {
    list.replaceChildren(notice(r.down ? "Technical analysis is not running: its strategies show again once it is back." : r.message));
    return;
  }
  $("#ta-meta").textContent = `${r.data.strategies.filter((s) => s.enabled).length} of ${r.data.strategies.length} on · applied from the next analysis`;
  list.replaceChildren(...r.data.strategies.map(row));
  const f = await upstream(TA, "strategies/files");
  if (f.available) { files = f.data.files; buildAdd(r.data.allowed_dirs); }
  loadLog();
}

$("#ta-new-file").addEventListener("change", fillAddParams);
$("#ta-add").addEventListener("submit", add);
refresh();
