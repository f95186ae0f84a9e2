// The symbol chart's legend: O H L C V and every drawn indicator's value at one bar (the bar
// under the cursor, else the last one). Values come from the chart API's own arrays, so the
// legend says exactly what the API sent.
import { el, num, time, zoneInfo } from "./core.js";

// name -> Map(bar time -> value) for each line the payload has, built once per load.
export function indexSeries(cur) {
  const out = new Map();
  const add = (name, rows) => out.set(name, new Map((rows || []).map((r) => [r.time, r.value])));
  for (const [name, rows] of Object.entries(cur.overlays || {})) add(name, rows);
  add("RSI 14", cur.rsi);
  for (const k of ["macd", "signal", "hist"]) add(k === "macd" ? "MACD" : k === "signal" ? "MACD signal" : "MACD hist", (cur.macd || {})[k]);
  return out;
}

const item = (key, label, value, digits, cls, color) => el("span", { class: "lg-item" + (cls ? " " + cls : ""), "data-key": key,
  "data-value": value === undefined || value === null ? "" : String(value) },
  el("span", color ? { style: `color:${color}` } : {}, label), " ", el("b", {}, num(value, digits)));

// Fill `box` with bar i's values; `drawn(name)` says whether an overlay line is on the chart.
export function showLegend(box, cur, i, series, drawn, { daily = false, hovering = false, colors = {} } = {}) {
  const c = cur.candles[i];
  if (!c) { box.replaceChildren(el("span", { class: "muted" }, "no bars")); return; }
  const v = cur.volume[i];
  const iso = new Date(c.time * 1000).toISOString();
  const when = daily ? time(iso).slice(0, 10) : `${time(iso).slice(0, 16)} ${zoneInfo().short}`;
  box.dataset.time = String(c.time);
  box.dataset.hover = String(hovering);
  const up = c.close >= c.open;
  const head = el("div", { class: "lg-row" },
    el("span", { class: "lg-time", "data-key": "time" }, when + (hovering ? "" : " · last")),
    item("open", "O", c.open, 2, up ? "pos" : "neg"), item("high", "H", c.high, 2, up ? "pos" : "neg"),
    item("low", "L", c.low, 2, up ? "pos" : "neg"), item("close", "C", c.close, 2, up ? "pos" : "neg"),
    item("volume", "V", v ? v.value : null, 0));
  const lines = [];
  for (const [name, values] of series) {
    if (name.startsWith("RSI") || name.startsWith("MACD") || !drawn(name)) continue;
    lines.push(item(name, name, values.get(c.time), 2, "", colors[name]));
  }
  const panes = el("div", { class: "lg-row" }, ...lines,
    item("RSI 14", "RSI 14", series.get("RSI 14")?.get(c.time), 2, "", colors["RSI 14"]),
    item("MACD", "MACD", series.get("MACD")?.get(c.time), 3, "", colors.MACD),
    item("MACD signal", "signal", series.get("MACD signal")?.get(c.time), 3, "", colors["MACD signal"]),
    item("MACD hist", "hist", series.get("MACD hist")?.get(c.time), 3));
  box.replaceChildren(head, panes);
}
