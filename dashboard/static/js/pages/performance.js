// Performance: equity curve, drawdown, daily P&L, metrics and the trade journal (reporting).
import { $, el, emptyState, money, notice, num, pnl, start, table, time, upstream, withAccount } from "../core.js";
import { showDecision } from "../decision_view.js";
import * as core from "../core.js";

// The header's time zone (exchange time or UTC) when core offers it, else UTC: charts draw
// UTC, so an instant is shifted into the zone before it is given to one.
const shift = (sec) => (core.chartTime ? core.chartTime(sec) : sec);
const zoneShort = () => (core.zoneInfo ? core.zoneInfo().short : "UTC");

start();
// the exports are the selected account's too
for (const a of document.querySelectorAll("a[data-export]")) a.href = withAccount(a.getAttribute("href"));
const LC = window.LightweightCharts;

// ---- charts: dates on the x axis, money (or percent) on the y axis, filling their panel ----
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n) => String(n).padStart(2, "0");
// a chart's time (UTC seconds, "YYYY-MM-DD" or {year, month, day}) as a UTC Date
function asDate(t) {
  if (typeof t === "number") return new Date(t * 1000);
  if (typeof t === "string") return new Date(t + "T00:00:00Z");
  return new Date(Date.UTC(t.year, t.month - 1, t.day));
}
// TickMarkType: 0 year, 1 month, 2 day of month, 3 time, 4 time with seconds
function tickLabel(t, type) {
  const d = asDate(t);
  if (type <= 1) return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  if (type === 2) return `${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())}`;
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
const dollars = (v) => (v < 0 ? "−$" : "$") + Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = (v) => v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + "%";
const FORMATS = { money: dollars, percent };

const charts = {};
function chart(id, format, daily) {
  if (charts[id]) return charts[id];
  const box = $("#" + id);
  const labels = new Set();
  box.dataset.yFormat = format;
  const c = LC.createChart(box, {
    autoSize: true,
    layout: { background: { type: "solid", color: "#131820" }, textColor: "#d6dde8", fontSize: 12 },
    grid: { vertLines: { color: "#1c2430" }, horzLines: { color: "#1c2430" } },
    rightPriceScale: { borderColor: "#2a3442" },
    timeScale: { borderColor: "#2a3442", timeVisible: !daily, secondsVisible: false, rightOffset: 1,
      // record what the axis shows, so a test reads the labels a person reads
      tickMarkFormatter: (t, type) => { const s = tickLabel(t, daily ? Math.min(type, 2) : type);
        labels.add(s); box.dataset.xLabels = [...labels].slice(-12).join("|"); return s; } },
    localization: {
      priceFormatter: FORMATS[format],
      timeFormatter: (t) => { const d = asDate(t);
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
          (daily ? "" : ` ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} ${zoneShort()}`); },
    },
  });
  charts[id] = { chart: c, series: {} };
  return charts[id];
}
function draw(id, kind, options, data, { format = "money", daily = false } = {}) {
  const ch = chart(id, format, daily);
  ch.series[kind] = ch.series[kind] || ch.chart.addSeries(LC[kind], { priceLineVisible: false, ...options });
  ch.series[kind].setData(data);
  // few points spread over the width, not piled on the right; refitted only when the data
  // grew, so the 10 s refresh keeps a zoom the person chose
  if (ch.fitted !== data.length) { ch.chart.timeScale().fitContent(); ch.fitted = data.length; }
  $("#" + id).hidden = !data.length;  // an empty chart is only a blank frame: the note says why
}
const secs = (iso) => Math.floor(new Date(iso).getTime() / 1000);
function dedupe(points) {  // one value per time, ascending, as the chart requires
  const m = new Map(); for (const p of points) if (Number.isFinite(p.value) && p.time !== undefined) m.set(p.time, p);
  return [...m.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}
function empty(id, text) { const n = $(`#${id}-empty`); n.textContent = text; n.hidden = !text; }

function why(r) {
  const label = `${r.side} ${r.symbol} ${time(r.entry_time)}`;
  $("#decision-what").textContent = label;
  const q = { decision_id: r.decision_id };
  if (r.entry_order_id) q.order_id = r.entry_order_id;
  showDecision($("#decision"), q, label);
}

// ---- metrics ---------------------------------------------------------------------------------
// Fractions reporting sends (returns, drawdown, win rate, exposure) are shown as percent.
const PERCENT = new Set(["total_return", "annualized_return", "max_drawdown", "win_rate", "exposure"]);
const MONEY = new Set(["start_equity", "end_equity", "pnl", "realized_pnl", "open_realized_pnl", "unrealized_pnl", "fees", "ledger_cash_flow", "expectancy"]);
const SIGNED = new Set(["pnl", "realized_pnl", "open_realized_pnl", "unrealized_pnl", "ledger_cash_flow", "total_return", "annualized_return", "expectancy"]);
const LABELS = { pnl: "P&L", realized_pnl: "realised P&L", open_realized_pnl: "realised on open trades",
  unrealized_pnl: "unrealised P&L", ledger_cash_flow: "ledger cash flow", max_drawdown: "max drawdown",
  trades: "closed trades", sharpe: "Sharpe", sortino: "Sortino" };
function metric(k, v) {
  if (v === null || v === undefined) return "—";
  if (PERCENT.has(k)) return SIGNED.has(k) ? pnl(Number(v) * 100, 2, "%") : num(Number(v) * 100, 2) + "%";
  if (SIGNED.has(k)) return pnl(v);
  if (MONEY.has(k)) return money(v);
  if (k === "start" || k === "end") return time(v);
  if (typeof v === "number" || /^-?\d+(\.\d+)?$/.test(String(v))) return num(v, Number.isInteger(Number(v)) && !/\./.test(String(v)) ? 0 : 2);
  return String(v);
}
// Why a figure is missing, in the words reporting's minimums give (never a guess of our own).
function missing(k, m) {
  const need = (m.minimums || {})[k];
  const reason = (m.unavailable || {})[k] || "";
  if (need && reason.startsWith("not enough data")) {
    const [what, n] = Object.entries(need)[0];
    const have = m.trading_days;  // one daily return per trading day with equity
    return el("span", { class: "muted", title: reason || "" },
      `not enough data — needs ${n} ${what.replace(/_/g, " ")} (${have ?? 0} so far)`);
  }
  return el("span", { class: "muted" }, reason ? `— ${reason}` : "—");
}
function renderMetrics(box, m) {
  const unavailable = m.unavailable || {};
  const entries = Object.entries(m).filter(([k, v]) => k !== "epoch" && (v === null || typeof v !== "object"));
  box.replaceChildren(el("dl", { class: "kv metrics", style: "grid-template-columns: repeat(3, auto 1fr); column-gap: 18px" },
    entries.map(([k, v]) => [el("dt", {}, LABELS[k] || k.replace(/_/g, " ")),
      el("dd", { "data-metric": k }, v === null && unavailable[k] ? missing(k, m) : metric(k, v))])));
}

// ---- the journal -------------------------------------------------------------------------------
// An open trade's figure is its open quantity marked at the last price (reporting's
// unrealized_pnl); realised P&L of a partly closed trade is said beside it.
function netCell(r) {
  if (r.exit_time) return pnl(r.net_pnl);
  if (r.unrealized_pnl === null || r.unrealized_pnl === undefined) {
    return el("span", { class: "muted", "data-col": "unrealized" }, "open · no price yet");
  }
  const realised = Number(r.net_pnl);
  return el("span", { "data-col": "unrealized", "data-value": r.unrealized_pnl,
                      title: `marked at ${money(r.last_price)}` },
    pnl(r.unrealized_pnl), el("span", { class: "muted small" }, " unrealised"),
    realised ? el("span", { class: "muted small" }, ` · realised ${num(realised, 2)}`) : null);
}

const down = () => emptyState("Reporting is not answering.", "Its figures show again once it is back: restart it on the System page.");

async function load() {
  const [eq, sum, trades] = await Promise.all([upstream("reporting", "report/equity"),
    upstream("reporting", "report/summary"), upstream("reporting", "report/trades", { limit: 200 })]);
  if (eq.available === false) {
    for (const id of ["equity", "drawdown", "daily"]) {
      empty(id, eq.down ? "Reporting is not answering, so there is no chart: restart it on the System page." : eq.message);
      $("#" + id).hidden = true;
    }
  } else {
    const d = eq.data || {};
    const pts = Array.isArray(d.points) ? d.points : [];
    draw("equity", "AreaSeries", { lineColor: "#4da3ff", topColor: "rgba(77,163,255,.3)", bottomColor: "rgba(77,163,255,0)" },
      dedupe(pts.map((p) => ({ time: shift(secs(p.ts)), value: Number(p.equity) }))));
    // reporting sends each point's drawdown (a fraction); percent here
    draw("drawdown", "AreaSeries", { lineColor: "#ff5b5b", topColor: "rgba(255,91,91,0)", bottomColor: "rgba(255,91,91,.35)", invertFilledArea: true },
      dedupe(pts.map((p) => ({ time: shift(secs(p.ts)), value: -Math.abs(Number(p.drawdown ?? 0)) * 100 }))), { format: "percent" });
    const daily = Array.isArray(d.daily) ? d.daily : [];
    const bars = dedupe(daily.map((x) => ({ time: x.day, value: Number(x.pnl), color: Number(x.pnl) >= 0 ? "#26c281" : "#ff5b5b" })));
    draw("daily", "HistogramSeries", {}, bars, { daily: true });
    $("#daily").dataset.bars = bars.map((b) => b.time).join(",");
    const none = "No equity snapshots yet: reporting takes one each automation cycle. Start the automation or run one cycle on the Clock page.";
    empty("equity", pts.length ? "" : none);
    empty("drawdown", pts.length ? "" : none);
    empty("daily", daily.length ? "" : "No daily P&L yet: it needs equity snapshots on at least one trading day.");
    $("#equity-note").textContent = pts.length ? `${pts.length} steps · last ${money(pts[pts.length - 1].equity)}` : "";
    const dd = d.drawdown || {};
    $("#drawdown-note").textContent = pts.length && dd.max_drawdown != null ? `max ${num(Number(dd.max_drawdown) * 100, 2)}%` : "";
    $("#daily-note").textContent = daily.length ? `${daily.length} day(s)` : "";
  }
  const mbox = $("#metrics");
  if (sum.available === false) mbox.replaceChildren(sum.down ? down() : notice(sum.message));
  else renderMetrics(mbox, sum.data || {});
  const jbox = $("#journal");
  if (trades.available === false) { jbox.replaceChildren(trades.down ? el("div", { class: "body" }, down()) : notice(trades.message)); return; }
  const rows = (trades.data && trades.data.trades) || [];
  table(jbox, [
    { key: "symbol", label: "Symbol" }, { key: "side", label: "Side" },
    { key: "max_qty", label: "Qty", num: true, render: (r) => num(r.max_qty ?? r.entry_qty, 2) },
    { key: "entry_price", label: "Entry px", num: true, render: (r) => num(r.entry_price, 2) },
    { key: "exit_price", label: "Exit / last px", num: true, render: (r) => r.exit_time ? num(r.exit_price, 2)
        : el("span", { class: "muted" }, r.last_price == null ? "—" : num(r.last_price, 2)) },
    { key: "net_pnl", label: "Net P&L", num: true, render: netCell,
      sort: (r) => Number(r.exit_time ? r.net_pnl : r.unrealized_pnl ?? 0) },
    { key: "return_pct", label: "Ret %", num: true, render: (r) => r.exit_time ? pnl(r.return_pct == null ? null : Number(r.return_pct) * 100, 2, "%") : "—" },
    { key: "fees", label: "Fees", num: true, render: (r) => money(r.fees) },
    { key: "entry_time", label: "Entry", render: (r) => time(r.entry_time) },
    { key: "exit_time", label: "Exit", render: (r) => r.exit_time ? time(r.exit_time) : el("span", { class: "muted" }, "open") },
    { key: "strategy", label: "Strategy", render: (r) => [r.strategy, r.pattern].filter(Boolean).join(" · ") || "manual" },
    { key: "decision", label: "Decision", nosort: true, render: (r) => r.decision_id
        ? el("button", { type: "button", class: "why", "data-decision-id": r.decision_id, "aria-label": `Why ${r.symbol} ${r.side}`,
                         onclick: () => why(r) }, "Why")
        : el("span", { class: "muted" }, "—") },
  ], rows, { empty: emptyState("No trades yet.", "Orders placed on the Trading page or by the automation show here once they fill."), sortKey: "entry_time" });
}
load();
setInterval(load, 10000);
