// Where the symbol chart's fills and patterns go, and what their markers and hover details say.
// Plain functions over the chart API's candles (UNIX seconds, each a bar's open) and the
// upstream rows; no chart or DOM here.
import { num, time } from "./core.js";

const secs = (iso) => (iso ? Math.floor(new Date(iso).getTime() / 1000) : NaN);
const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; };

// The exchange's session date (YYYY-MM-DD, New York) of an instant: a daily bar is stamped at
// its session date's midnight New York time.
const nyFmt = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit" });
export const sessionDate = (sec) => nyFmt.format(new Date(sec * 1000));

// Index of the last candle opening at or before t, or -1.
function lastAtOrBefore(candles, t) {
  let lo = 0, hi = candles.length - 1;
  if (hi < 0 || candles[0].time > t) return -1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (candles[mid].time <= t) lo = mid; else hi = mid - 1; }
  return lo;
}

// Index of the bar whose interval holds instant t: [open, open + interval) intraday, the
// session's date for daily bars; -1 when no shown bar holds it (older, or not closed yet).
export function barIndexAt(candles, t, intervalS) {
  if (!Number.isFinite(t)) return -1;
  const i = lastAtOrBefore(candles, t);
  if (i < 0) return -1;
  if (intervalS >= 86400) return sessionDate(candles[i].time) === sessionDate(t) ? i : -1;
  return t < candles[i].time + intervalS ? i : -1;
}

// The instant a fill happened in: paper trading stamps a fill at the close of the minute it
// executed in (filled_at) and keeps that minute's open (bar_ts); the minute's open is inside
// the bar that holds the whole minute at every timeframe. Other brokers' fills: filled_at.
export function fillInstant(f) {
  const at = secs(pick(f, "filled_at", "at", "ts", "created_at"));
  const bt = secs(f.bar_ts);
  return Number.isFinite(bt) && bt < at && at - bt <= 60 ? bt : at;
}

export function fillBar(f, candles, intervalS) {
  if (intervalS >= 86400 && f.session) {  // the exchange session the fill belongs to
    const i = lastAtOrBefore(candles, secs(f.session + "T12:00:00Z"));  // that date, morning in New York
    return i >= 0 && sessionDate(candles[i].time) === f.session ? i : -1;
  }
  return barIndexAt(candles, fillInstant(f), intervalS);
}

export const patternInstant = (p) => secs(pick(p, "ts", "confirmed_ts", "end_ts", "time", "detected_at"));
const patternName = (p) => String(pick(p, "pattern", "name", "type") || "?").replace(/^CDL/, "").toLowerCase().replace(/_/g, " ");
const bullish = (p) => {
  const dir = String(pick(p, "bias", "direction", "signal") || "").toLowerCase();
  return dir.includes("bull") || dir === "buy" || dir === "long" || (!dir && Number(pick(p, "value", "score")) > 0);
};

// Reliability of a candlestick pattern from pattern recognition's walk-forward stats (the
// middle horizon), or a chart pattern's own confidence.
function reliability(p, stats) {
  if (p.confidence !== undefined && p.confidence !== null) return `confidence ${num(Number(p.confidence) * 100, 0)}%`;
  const g = stats && stats.get(`${pick(p, "pattern")}|${bullish(p) ? "bullish" : "bearish"}`);
  if (!g) return "reliability: no outcomes yet";
  const hs = Object.keys(g.horizons || {}).sort((a, b) => a - b);
  const h = hs[Math.floor(hs.length / 2)];
  const s = h && g.horizons[h];
  if (!s || !s.samples) return "reliability: no outcomes yet";
  return `reliability: ${num(Number(s.hit_rate) * 100, 0)}% right over the next ${h} bar${h === "1" ? "" : "s"}, ` +
    `${s.samples} past case${s.samples === 1 ? "" : "s"}${s.thin ? " (few)" : ""}`;
}
// pattern recognition's /stats groups -> Map "PATTERN|bullish" -> group
export function statsIndex(payload) {
  const groups = (payload && payload.available !== false && payload.data && payload.data.groups) || [];
  return new Map(groups.map((g) => [`${g.pattern}|${g.direction}`, g]));
}

// Group fills and patterns by the bar that holds them: one compact marker per bar, side and
// direction (arrows for fills, dots for patterns), the details listed on hover.
export function placeMarks(candles, intervalS, fills, patterns, stats) {
  const groups = new Map();  // bar open (UTC s) -> {fills: [], patterns: [], unplaced}
  let unplaced = 0;
  const at = (i) => {
    const t = candles[i].time;
    if (!groups.has(t)) groups.set(t, { time: t, fills: [], patterns: [] });
    return groups.get(t);
  };
  for (const f of fills) {
    const i = fillBar(f, candles, intervalS);
    if (i < 0) { unplaced += 1; continue; }
    at(i).fills.push({ id: String(pick(f, "order_id", "id")), side: f.side, qty: f.qty, price: f.price,
                       at: pick(f, "filled_at", "at", "ts"), session: f.session });
  }
  for (const p of patterns) {
    const i = barIndexAt(candles, patternInstant(p), intervalS);
    if (i < 0) continue;
    at(i).patterns.push({ name: patternName(p), bull: bullish(p), kind: p.status ? `chart pattern, ${p.status}` : "candlestick",
                          reliability: reliability(p, stats) });
  }
  return { groups, unplaced };
}

// Lightweight Charts markers for the groups; `display` maps a bar's UTC seconds to chart time.
export function markersOf(groups, display, { fills = true, patterns = true } = {}) {
  const out = [];
  for (const g of groups.values()) {
    const time = display(g.time);
    if (fills) {
      for (const side of ["buy", "sell"]) {
        const n = g.fills.filter((f) => f.side === side).length;
        if (!n) continue;
        const buy = side === "buy";
        out.push({ id: `fill:${g.time}:${side}`, time, position: buy ? "belowBar" : "aboveBar",
                   shape: buy ? "arrowUp" : "arrowDown", color: buy ? "#4da3ff" : "#ff9f43",
                   text: n > 1 ? `×${n}` : "" });
      }
    }
    if (patterns && g.patterns.length) {
      const bull = g.patterns.filter((p) => p.bull).length, bear = g.patterns.length - bull;
      if (bull) out.push({ id: `pattern:${g.time}:bull`, time, position: "belowBar", shape: "circle", color: "#26c281", size: 0.6 });
      if (bear) out.push({ id: `pattern:${g.time}:bear`, time, position: "aboveBar", shape: "circle", color: "#ff5b5b", size: 0.6 });
    }
  }
  return out.sort((a, b) => a.time - b.time);
}

// Hover lines of one bar's group: each fill (side, qty, price, time, order id) and pattern.
export function detailLines(g, { fills = true, patterns = true } = {}) {
  const lines = [];
  if (fills) for (const f of g.fills) {
    lines.push({ kind: "fill", side: f.side, text: `${f.side === "buy" ? "BUY" : "SELL"} ${num(f.qty, 0)} @ ${num(f.price, 2)} · ${time(f.at)}`,
                 sub: `order ${f.id}` });
  }
  if (patterns) for (const p of g.patterns) {
    lines.push({ kind: "pattern", side: p.bull ? "bull" : "bear", text: `${p.bull ? "▲" : "▼"} ${p.name} (${p.bull ? "bullish" : "bearish"} ${p.kind})`,
                 sub: p.reliability });
  }
  return lines;
}
