// Performance: equity curve, drawdown, daily P&L, metrics and the trade journal (reporting).
import { $, el, money, notice, num, pnl, start, table, time, upstream } from "../core.js";

start();
const LC = window.LightweightCharts;
const opts = { autoSize: true, layout: { background: { type: "solid", color: "#131820" }, textColor: "#d6dde8", fontSize: 11 },
  grid: { vertLines: { color: "#1c2430" }, horzLines: { color: "#1c2430" } }, timeScale: { timeVisible: true } };
const charts = {};
function series(id, kind, o) {
  if (!charts[id]) { const c = LC.createChart($("#" + id), opts); charts[id] = c.addSeries(LC[kind], o); }
  return charts[id];
}
const secs = (iso) => Math.floor(new Date(iso).getTime() / 1000);
function dedupe(points) {  // one value per time, ascending, as the chart requires
  const m = new Map(); for (const p of points) if (Number.isFinite(p.time) && Number.isFinite(p.value)) m.set(p.time, p);
  return [...m.values()].sort((a, b) => a.time - b.time);
}

async function load() {
  const [eq, sum, trades] = await Promise.all([upstream("reporting", "report/equity"),
    upstream("reporting", "report/summary"), upstream("reporting", "report/trades", { limit: 200 })]);
  if (eq.available === false) {
    for (const id of ["equity", "drawdown", "daily"]) $("#" + id).replaceChildren(notice(eq.message));
  } else {
    const d = eq.data || {};
    const pts = Array.isArray(d) ? d : d.points || d.equity || d.curve || [];
    const eqPts = dedupe(pts.map((p) => ({ time: secs(p.ts || p.time || p.at), value: Number(p.equity ?? p.value) })));
    series("equity", "AreaSeries", { lineColor: "#4da3ff", topColor: "rgba(77,163,255,.3)", bottomColor: "rgba(77,163,255,0)" }).setData(eqPts);
    // reporting sends each point's drawdown (a fraction); percent here
    series("drawdown", "AreaSeries", { lineColor: "#ff5b5b", topColor: "rgba(255,91,91,0)", bottomColor: "rgba(255,91,91,.35)", invertFilledArea: true })
      .setData(dedupe(pts.map((p) => ({ time: secs(p.ts || p.time), value: -Math.abs(Number(p.drawdown ?? 0)) * 100 }))));
    const daily = Array.isArray(d.daily) ? d.daily : [];
    series("daily", "HistogramSeries", {}).setData(dedupe(daily.map((x) => ({ time: secs(x.date || x.day), value: Number(x.pnl ?? x.pl ?? x.value),
      color: Number(x.pnl ?? x.pl ?? x.value) >= 0 ? "#26c281" : "#ff5b5b" }))));
    if (!daily.length) $("#daily").append(notice("no daily P&L in reporting's equity answer"));
  }
  const mbox = $("#metrics");
  if (sum.available === false) mbox.replaceChildren(notice(sum.message));
  else {
    const m = (sum.data && (sum.data.metrics || sum.data)) || {};
    mbox.replaceChildren(el("dl", { class: "kv", style: "grid-template-columns: repeat(4, auto 1fr)" },
      Object.entries(m).filter(([k, v]) => k !== "epoch" && (v === null || typeof v !== "object")).map(([k, v]) => [el("dt", {}, k.replace(/_/g, " ")),
        el("dd", {}, /pnl|return|pl$/.test(k) ? pnl(v) : typeof v === "number" || /^-?\d/.test(String(v)) ? num(v, 2) : String(v ?? "—"))])));
  }
  const jbox = $("#journal");
  if (trades.available === false) { jbox.replaceChildren(notice(trades.message)); return; }
  const td = trades.data;
  const rows = Array.isArray(td) ? td : (td && (td.trades || td.items)) || [];
  table(jbox, [
    { key: "symbol", label: "Symbol" }, { key: "side", label: "Side" },
    { key: "max_qty", label: "Qty", num: true, render: (r) => num(r.max_qty ?? r.entry_qty, 2) },
    { key: "entry_price", label: "Entry px", num: true, render: (r) => num(r.entry_price, 2) },
    { key: "exit_price", label: "Exit px", num: true, render: (r) => num(r.exit_price, 2) },
    { key: "net_pnl", label: "Net P&L", num: true, render: (r) => pnl(r.net_pnl) },
    { key: "return_pct", label: "Ret %", num: true, render: (r) => pnl(r.return_pct, 2, "%") },
    { key: "fees", label: "Fees", num: true, render: (r) => money(r.fees ?? r.commission) },
    { key: "entry_time", label: "Entry", render: (r) => time(r.entry_time) },
    { key: "exit_time", label: "Exit", render: (r) => time(r.exit_time) },
    { key: "decision", label: "Decision", nosort: true, render: (r) => el("span", { class: "muted", style: "white-space:normal" },
        [r.strategy, r.pattern, r.decision_id && `decision ${r.decision_id}`].filter(Boolean).join(" · ")) },
  ], rows, { empty: "no trades yet", sortKey: "entry_time" });
}
load();
setInterval(load, 10000);
