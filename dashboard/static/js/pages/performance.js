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
    let peak = -Infinity;
    series("drawdown", "AreaSeries", { lineColor: "#ff5b5b", topColor: "rgba(255,91,91,0)", bottomColor: "rgba(255,91,91,.35)", invertFilledArea: true })
      .setData(eqPts.map((p) => { peak = Math.max(peak, p.value); return { time: p.time, value: peak > 0 ? ((p.value - peak) / peak) * 100 : 0 }; }));
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
      Object.entries(m).filter(([, v]) => v === null || typeof v !== "object").map(([k, v]) => [el("dt", {}, k.replace(/_/g, " ")),
        el("dd", {}, /pnl|return|pl$/.test(k) ? pnl(v) : typeof v === "number" || /^-?\d/.test(String(v)) ? num(v, 2) : String(v ?? "—"))])));
  }
  const jbox = $("#journal");
  if (trades.available === false) { jbox.replaceChildren(notice(trades.message)); return; }
  const td = trades.data;
  const rows = Array.isArray(td) ? td : (td && (td.trades || td.items)) || [];
  table(jbox, [
    { key: "symbol", label: "Symbol" }, { key: "side", label: "Side" },
    { key: "qty", label: "Qty", num: true, render: (r) => num(r.qty, 2) },
    { key: "entry_price", label: "Entry", num: true, render: (r) => num(r.entry_price, 2) },
    { key: "exit_price", label: "Exit", num: true, render: (r) => num(r.exit_price, 2) },
    { key: "pnl", label: "P&L", num: true, sort: (r) => r.pnl ?? r.pl, render: (r) => pnl(r.pnl ?? r.pl) },
    { key: "fees", label: "Fees", num: true, render: (r) => money(r.fees ?? r.commission) },
    { key: "entry_at", label: "Entry time", render: (r) => time(r.entry_at || r.entry_ts || r.opened_at) },
    { key: "decision", label: "Decision", nosort: true, render: (r) => el("span", { class: "muted", style: "white-space:normal" },
        typeof r.decision === "object" && r.decision ? JSON.stringify(r.decision).slice(0, 160) : String(r.decision ?? r.strategy ?? "")) },
  ], rows, { empty: "no trades yet", sortKey: "entry_at" });
}
load();
setInterval(load, 10000);
