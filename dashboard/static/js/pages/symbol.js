// Symbol view: candles + volume, SMA/EMA/VWAP/Bollinger overlays, RSI and MACD panes, a legend
// of the bar under the cursor, compact fill and pattern markers (details on hover),
// support/resistance lines, signals and news. Times in the zone the header names.
import { $, api, chartTime, el, notice, num, on, pnl, start, table, time, upstream, zoneInfo } from "../core.js";
import { newsList } from "../news_view.js";
import { showFundamentals } from "../fundamentals_view.js";
import { detailLines, markersOf, placeMarks, sessionDate, statsIndex } from "../chart_marks.js";
import { indexSeries, showLegend } from "../chart_legend.js";

start();
const LC = window.LightweightCharts;
const params = new URLSearchParams(location.search);
let symbol = (params.get("symbol") || localStorage.getItem("symbol") || "AAPL").toUpperCase();
let tf = params.get("timeframe") || localStorage.getItem("timeframe") || "5m";
const TFS = ["1m", "5m", "15m", "1h", "1d"];
const TF_SEC = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };
const COLORS = { "SMA 20": "#f5b942", "EMA 9": "#4da3ff", VWAP: "#c77dff", "BB upper": "#5f7a99",
                 "BB middle": "#5f7a99", "BB lower": "#5f7a99" };
const LEGEND_COLORS = { ...COLORS, "BB upper": "#8fa6c2", "BB middle": "#8fa6c2", "BB lower": "#8fa6c2",
                        "RSI 14": "#f5b942", MACD: "#4da3ff", "MACD signal": "#f5b942" };

// Lightweight Charts draws UTC: the data's times are shifted into the header's zone, and
// shown back as the bar's own UTC seconds wherever a time leaves the chart.
const shift = (rows) => rows.map((r) => ({ ...r, time: chartTime(r.time) }));
// VWAP starts again each session: no stroke joins one session's last value to the next's first
// (a point's colour is the colour of the segment that leaves it).
const sessionBreaks = (rows) => rows.map((r, i) => (i + 1 < rows.length && sessionDate(r.time) !== sessionDate(rows[i + 1].time)
  ? { ...r, color: "rgba(0,0,0,0)" } : r));
const pad = (n) => String(n).padStart(2, "0");
function axisLabel(t) {  // a shifted chart time, as the tables write times
  const d = new Date(t * 1000);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return tf === "1d" ? day : `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

const chart = LC.createChart($("#chart"), {
  autoSize: true,
  layout: { background: { type: "solid", color: "#131820" }, textColor: "#d6dde8", fontSize: 11,
            panes: { separatorColor: "#263040" } },
  grid: { vertLines: { color: "#1c2430" }, horzLines: { color: "#1c2430" } },
  timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#263040" },
  rightPriceScale: { borderColor: "#263040" },
  crosshair: { mode: 0 },
  localization: { timeFormatter: axisLabel },
});
const candles = chart.addSeries(LC.CandlestickSeries, {
  upColor: "#26c281", downColor: "#ff5b5b", borderUpColor: "#26c281", borderDownColor: "#ff5b5b",
  wickUpColor: "#26c281", wickDownColor: "#ff5b5b" });
const volume = chart.addSeries(LC.HistogramSeries, { priceScaleId: "vol", priceFormat: { type: "volume" },
  lastValueVisible: false, priceLineVisible: false });
chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
const overlays = {};
for (const name of Object.keys(COLORS)) {
  overlays[name] = chart.addSeries(LC.LineSeries, { color: COLORS[name], lineWidth: name.startsWith("BB") ? 1 : 2,
    // named in the legend, in the line's colour (a title here would sit on the last bars)
    lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false, title: "" });
}
const rsi = chart.addSeries(LC.LineSeries, { color: "#f5b942", lineWidth: 1, title: "RSI 14" }, 1);
rsi.createPriceLine({ price: 70, color: "#ff5b5b", lineStyle: 2, lineWidth: 1, axisLabelVisible: false });
rsi.createPriceLine({ price: 30, color: "#26c281", lineStyle: 2, lineWidth: 1, axisLabelVisible: false });
const macdHist = chart.addSeries(LC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, 2);
const macdLine = chart.addSeries(LC.LineSeries, { color: "#4da3ff", lineWidth: 1, title: "MACD" }, 2);
const macdSignal = chart.addSeries(LC.LineSeries, { color: "#f5b942", lineWidth: 1, title: "signal" }, 2);
const markerApi = LC.createSeriesMarkers(candles, []);
// lightweight-charts applies a change of the time scale on the next animation frame: the tests'
// zoom and range wait for two frames, so they read the range the trader sees, not the one before.
const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
// For the browser tests: where a bar (its UTC open) and a price are on the chart, in pixels.
window.__chartApi = {
  x: (t) => chart.timeScale().timeToCoordinate(chartTime(t)),
  y: (price) => candles.priceToCoordinate(price),
  points: (name) => (overlays[name] ? overlays[name].data().length : null),
  shown: (t) => chartTime(t),
  axisLabel: (t) => axisLabel(t),
  markerTexts: () => markerApi.markers().map((m) => m.text || ""),
  zoom: (from, to) => { chart.timeScale().setVisibleLogicalRange({ from, to }); return frames(); },
  range: async () => { await frames(); const r = chart.timeScale().getVisibleRange(); return r && [r.from, r.to]; },
  logical: async () => { await frames(); const r = chart.timeScale().getVisibleLogicalRange(); return r && [r.from, r.to]; },
  levels: () => priceLines.map((l) => [l.options().title, l.options().price]),
};
let priceLines = [];
let current = null;

function visible(key) { const b = document.querySelector(`[data-ov="${key}"]`); return !b || b.checked; }
const overlayKey = (name) => (name.startsWith("BB") ? "BB" : name.split(" ")[0]);
const drawn = (name) => visible(overlayKey(name)) && (current?.overlays?.[name] || []).length > 0;

// ---- legend and hover details ---------------------------------------------------------------
let seriesAt = new Map();   // series name -> Map(bar time -> value)
let byDisplay = new Map();  // chart (shifted) time -> candle index
function legendAt(param) {
  if (!current) return;
  const i = param && param.time !== undefined ? byDisplay.get(param.time) : undefined;
  const hovering = i !== undefined;
  showLegend($("#chart-legend"), current, hovering ? i : current.candles.length - 1, seriesAt, drawn,
             { daily: tf === "1d", hovering, colors: LEGEND_COLORS });
  const tip = $("#chart-tip");
  const g = hovering ? placed.groups.get(current.candles[i].time) : undefined;
  const lines = g ? detailLines(g, { fills: visible("fills"), patterns: visible("markers") }) : [];
  if (!lines.length || !param.point) { tip.hidden = true; return; }
  const first = String(param.hoveredObjectId || "").split(":")[0];  // the marker under the pointer first
  lines.sort((x, y) => (y.kind === first) - (x.kind === first));
  tip.dataset.time = String(current.candles[i].time);
  tip.replaceChildren(...lines.map((l) => el("div", { class: `tip-line ${l.kind} ${l.side}`, "data-kind": l.kind },
    el("div", {}, l.text), el("div", { class: "muted" }, l.sub))));
  tip.hidden = false;
  const box = $("#chart").getBoundingClientRect();
  const w = tip.offsetWidth, h = tip.offsetHeight;
  // beside the cursor, on the side with room, so the bar and its markers stay in sight
  const right = param.point.x + 18 + w <= box.width - 70;
  tip.style.left = `${Math.max(4, right ? param.point.x + 18 : param.point.x - 18 - w)}px`;
  tip.style.top = `${Math.max(4, Math.min(param.point.y + 16, box.height - h - 4))}px`;
}
chart.subscribeCrosshairMove(legendAt);

function applyOverlays() {
  for (const [name, s] of Object.entries(overlays)) {
    const key = name.startsWith("BB") ? "BB" : name.split(" ")[0];
    s.applyOptions({ visible: visible(key) });
  }
  drawMarkers();
  drawLevels();
  legendAt(null);
}

// ---- extras: patterns, levels, fills ------------------------------------------------------
let extras = { candles: [], patterns: [], levels: [], fills: [], stats: new Map() };
let placed = { groups: new Map(), unplaced: 0 };
const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; };
const items = (payload) => {
  if (!payload || payload.available === false) return [];
  const d = payload.data;
  if (Array.isArray(d)) return d;
  return (d && (d.detections || d.patterns || d.levels || d.items || d.signals || d.fills)) || [];
};
// Candlestick patterns fire on many bars: only the last few bars that have one get a dot.
const RECENT_CANDLE_BARS = 25;
function recentCandles(list) {
  const bars = [...new Set(list.map((p) => p.ts))].sort().slice(-RECENT_CANDLE_BARS);
  const keep = new Set(bars);
  return list.filter((p) => keep.has(p.ts));
}
function drawMarkers() {
  if (!current) return;
  const show = { fills: visible("fills"), patterns: visible("markers") };
  placed = placeMarks(current.candles, current.interval_s || TF_SEC[tf], extras.fills,
                      [...recentCandles(extras.candles), ...extras.patterns], extras.stats);
  markerApi.setMarkers(markersOf(placed.groups, chartTime, show));
  window.__chartMarks = [...placed.groups.values()].map((g) => ({ time: g.time,
    fills: g.fills.map((f) => ({ ...f })), candles: g.patterns.filter((p) => p.kind === "candlestick").length,
    patterns: g.patterns.filter((p) => p.kind !== "candlestick").length }));
  const off = placed.unplaced && show.fills
    ? `${placed.unplaced} fill${placed.unplaced > 1 ? "s" : ""} outside the bars shown (older, or in a bar not closed yet)` : "";
  $("#chart-marks-note").textContent = off;
}
function drawLevels() {
  for (const l of priceLines) candles.removePriceLine(l);
  priceLines = [];
  if (!visible("levels")) return;
  // the nearest few on each side of the last close: a stack of labels hides the last bars
  const last = current && current.candles.length ? current.candles[current.candles.length - 1].close : NaN;
  const levels = extras.levels.map((lv) => ({ price: Number(pick(lv, "price", "level", "value")),
    kind: String(pick(lv, "kind", "type", "side") || "") })).filter((lv) => Number.isFinite(lv.price));
  const near = (side) => levels.filter((lv) => (side > 0 ? lv.price >= last : lv.price < last))
    .sort((a, b) => Math.abs(a.price - last) - Math.abs(b.price - last)).slice(0, 3);
  for (const lv of Number.isFinite(last) ? [...near(1), ...near(-1)] : levels.slice(0, 6)) {
    // above the last close a level resists, below it supports (whatever it was found as)
    const res = Number.isFinite(last) ? lv.price >= last : lv.kind.startsWith("res");
    priceLines.push(candles.createPriceLine({ price: lv.price, color: res ? "#ff5b5b" : "#26c281",
      lineStyle: 1, lineWidth: 1, title: res ? "R" : "S" }));
  }
}

function recentStart() {
  if (!current || !current.candles.length) return undefined;
  const c = current.candles[Math.max(0, current.candles.length - 150)];
  return new Date(c.time * 1000).toISOString();
}

let fitted = null;  // the symbol|timeframe the time scale was last fitted to
let loadSeq = 0;  // answers of an earlier symbol or timeframe are dropped
async function loadExtras() {
  const s = encodeURIComponent(symbol);
  const seq = loadSeq;
  const [cs, pats, lv, fills, sig, news, stats, fund] = await Promise.allSettled([
    // only the candles of the last bars shown: older detections would pile up off to the left
    upstream("pattern_recognition", `candlesticks/${s}`, { timeframe: tf, limit: 500, start: recentStart() }),
    upstream("pattern_analysis", `patterns/${s}`, { timeframe: tf }),
    upstream("pattern_analysis", `levels/${s}`, { timeframe: tf }),
    upstream("paper_trading", "fills", { symbol, limit: 200 }),
    upstream("technical_analysis", `signals/${s}`, { limit: 50 }),
    upstream("news", "news", { symbol, limit: 30 }),
    // each candlestick pattern's walk-forward hit rate over the universe, for the hover
    upstream("pattern_recognition", "candlesticks/stats", { timeframe: tf, group_by: "direction" }),
    // a pair's slash would split the path: BTC-USD names BTC/USD
    upstream("coordination", `fundamentals/${encodeURIComponent(symbol.replace("/", "-"))}`),
  ]);
  if (seq !== loadSeq) return;
  const val = (r) => (r.status === "fulfilled" ? r.value : { available: false, message: r.reason?.message || "error" });
  extras = { candles: items(val(cs)), patterns: items(val(pats)), levels: items(val(lv)), fills: items(val(fills)),
             stats: statsIndex(val(stats)) };
  drawMarkers();
  drawLevels();
  const pbox = $("#patterns");
  const pl = [...extras.patterns, ...extras.candles];
  if (val(cs).available === false && val(pats).available === false) {
    pbox.replaceChildren(notice(`${val(pats).message}; ${val(cs).message}`));
  } else {
    table(pbox, [
      { key: "pattern", label: "Pattern", render: (p) => String(pick(p, "pattern", "name", "type") || "?").replace(/^CDL/, "").toLowerCase().replace(/_/g, " ") },
      // an arrow (the word in its title): the panel is narrow and the time must fit
      { key: "direction", label: "Dir", render: (p) => {
        const dir = String(pick(p, "direction", "signal", "bias") || "");
        const bull = /bull|long|buy/i.test(dir), bear = /bear|short|sell/i.test(dir);
        return el("span", { class: bull ? "pos" : bear ? "neg" : "muted", title: dir, "aria-label": dir }, bull ? "▲" : bear ? "▼" : dir || "—");
      } },
      { key: "status", label: "Kind", render: (p) => String(pick(p, "status") || (p.value !== undefined ? "candle" : "")) },
      { key: "ts", label: "When", sort: (p) => String(pick(p, "ts", "time", "end_ts", "detected_at") || ""),
        render: (p) => time(pick(p, "ts", "time", "end_ts", "detected_at")).slice(tf === "1d" ? 0 : 5, tf === "1d" ? 10 : 16) },
    ], pl, { empty: "no patterns on this timeframe", sortKey: "ts" });
  }
  const sbox = $("#signals");
  const sv = val(sig);
  if (sv.available === false) sbox.replaceChildren(notice(sv.message));
  else table(sbox, [
    { key: "strategy", label: "Strategy", render: (r) => String(pick(r, "strategy", "name") || "") },
    { key: "signal", label: "Signal", render: (r) => el("span", { title: String(pick(r, "rule") || "") }, String(pick(r, "signal", "direction", "action") || "")) },
    { key: "strength", label: "Score", num: true, render: (r) => pnl(pick(r, "score", "strength", "confidence"), 2) },
    { key: "ts", label: "Bar", render: (r) => time(pick(r, "bar_ts", "clock_ts", "ts", "created_at")).slice(11, 16) },
  ], items(sv).slice(0, 50), { empty: "no signals" });
  newsList($("#sym-news"), val(news));
  showFundamentals($("#fundamentals"), $("#fund-badge"), val(fund));
}

async function load() {
  localStorage.setItem("symbol", symbol);
  localStorage.setItem("timeframe", tf);
  $("#sym").value = symbol;
  $("#chart-title").textContent = `${symbol} · ${tf}`;
  document.title = `Chart ${symbol} · Trading terminal`;
  for (const b of document.querySelectorAll("#tfs button")) b.setAttribute("aria-pressed", String(b.dataset.tf === tf));
  const seq = ++loadSeq;
  let got;
  try {
    got = await api(`/api/v1/chart/${encodeURIComponent(symbol)}`, { query: { timeframe: tf } });
  } catch (err) {
    $("#chart-note").textContent = err.message;
    return;
  }
  if (seq !== loadSeq) return;
  current = got;
  seriesAt = indexSeries(current);
  byDisplay = new Map(current.candles.map((c, i) => [chartTime(c.time), i]));
  const vwapBox = document.querySelector('[data-ov="VWAP"]');
  vwapBox.disabled = !("VWAP" in current.overlays);
  vwapBox.parentElement.title = vwapBox.disabled ? "VWAP is a session measure: intraday timeframes only" : "";
  chart.applyOptions({ timeScale: { timeVisible: tf !== "1d" } });
  candles.setData(shift(current.candles));
  volume.setData(shift(current.volume.map((v) => ({ time: v.time, value: v.value,
    color: v.up ? "rgba(38,194,129,.45)" : "rgba(255,91,91,.45)" }))));
  for (const [name, s] of Object.entries(overlays)) {
    s.setData(shift(name === "VWAP" ? sessionBreaks(current.overlays[name] || []) : current.overlays[name] || []));
  }
  rsi.setData(shift(current.rsi));
  macdLine.setData(shift(current.macd.macd || []));
  macdSignal.setData(shift(current.macd.signal || []));
  macdHist.setData(shift((current.macd.hist || []).map((h) => ({ ...h, color: h.value >= 0 ? "#26c281" : "#ff5b5b" }))));
  const panes = chart.panes();
  if (panes[1]) panes[1].setHeight(100);
  if (panes[2]) panes[2].setHeight(110);
  // a new bar keeps the trader's zoom and scroll; a new symbol or timeframe shows all of it
  if (fitted !== `${symbol}|${tf}`) { chart.timeScale().fitContent(); fitted = `${symbol}|${tf}`; }
  window.__chartBars = current.candles.length;
  window.__chartLast = current.candles.length ? current.candles[current.candles.length - 1].time : 0;
  const lastBar = current.candles[current.candles.length - 1];
  $("#chart-asof").textContent = `as of ${time(current.as_of)} ${zoneInfo().short}${current.stale ? " · STALE" : ""}`;
  $("#chart-asof").title = current.stale && current.stale_reason ? "stale: " + current.stale_reason.join("; ") : "";
  $("#chart-note").textContent = current.candles.length ? "" : "no visible bars yet for this symbol and timeframe";
  if (lastBar) {
    const first = current.candles[0];
    $("#quote").replaceChildren(el("dl", { class: "kv" },
      el("dt", {}, "Last"), el("dd", {}, num(lastBar.close, 2)),
      el("dt", {}, "Change (window)"), el("dd", {}, pnl(((lastBar.close - first.open) / first.open) * 100, 2, "%")),
      el("dt", {}, "High"), el("dd", {}, num(Math.max(...current.candles.map((c) => c.high)), 2)),
      el("dt", {}, "Low"), el("dd", {}, num(Math.min(...current.candles.map((c) => c.low)), 2))));
  }
  applyOverlays();
  legendAt(null);
  loadExtras();
}

// ---- controls ---------------------------------------------------------------------------
for (const t of TFS) {
  $("#tfs").append(el("button", { type: "button", "data-tf": t, "aria-pressed": String(t === tf),
    onclick: () => { tf = t; load(); } }, t));
}
for (const box of document.querySelectorAll("[data-ov]")) box.addEventListener("change", applyOverlays);
$("#sym").addEventListener("change", () => { symbol = $("#sym").value.trim().toUpperCase() || symbol; load(); });
$("#sym").addEventListener("input", async () => {
  const q = $("#sym").value.trim();
  if (!q) return;
  try {
    const rows = await api("/api/v1/symbols", { query: { q, limit: 15 } });
    $("#sym-list").replaceChildren(...rows.map((r) => el("option", { value: r.symbol }, r.name)));
  } catch (e) { /* suggestions are optional */ }
});

// New bars: reload when the clock passes into a new bar of this timeframe.
let lastBucket = null;
on("clock", (c) => {
  if (!c || !c.now) return;
  const b = Math.floor(new Date(c.now).getTime() / 1000 / TF_SEC[tf]);
  if (lastBucket !== null && b !== lastBucket) load();
  lastBucket = b;
});
on("fills", () => loadExtras());
load();
