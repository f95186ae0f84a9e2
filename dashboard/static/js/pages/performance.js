// Performance: equity curve, drawdown, daily P&L, metrics and the trade journal (reporting).
import { $, el, money, notice, num, pnl, start, table, time, upstream, withAccount } from "../core.js";
import { showDecision } from "../decision_view.js";

start();
// the exports are the selected account's too
for (const a of document.querySelectorAll("a[data-export]")) a.href = withAccount(a.getAttribute("href"));
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

function why(r) {
  const label = `${r.side} ${r.symbol} ${time(r.entry_time)}`;
  $("#decision-what").textContent = label;
  const q = { decision_id: r.decision_id };
  if (r.entry_order_id) q.order_id = r.entry_order_id;
  showDecision($("#decision"), q, label);
}

// Fractions reporting sends (returns, drawdown, win rate, exposure) are shown as percent.
const PERCENT = new Set(["total_return", "annualized_return", "max_drawdown", "win_rate", "exposure"]);
const MONEY = new Set(["start_equity", "end_equity", "pnl", "realized_pnl", "open_realized_pnl", "fees", "ledger_cash_flow", "expectancy"]);
const SIGNED = new Set(["pnl", "realized_pnl", "open_realized_pnl", "ledger_cash_flow", "total_return", "annualized_return", "expectancy"]);
function metric(k, v) {
  if (v === null || v === undefined) return "—";
  if (PERCENT.has(k)) return SIGNED.has(k) ? pnl(Number(v) * 100, 2, "%") : num(Number(v) * 100, 2) + "%";
  if (SIGNED.has(k)) return pnl(v);
  if (MONEY.has(k)) return money(v);
  if (k === "start" || k === "end") return time(v);
  if (typeof v === "number" || /^-?\d+(\.\d+)?$/.test(String(v))) return num(v, Number.isInteger(Number(v)) && !/\./.test(String(v)) ? 0 : 2);
  return String(v);
}
function renderMetrics(box, m) {
  const entries = Object.entries(m).filter(([k, v]) => k !== "epoch" && (v === null || typeof v !== "object"));
  const notes = Array.isArray(m.notes) ? m.notes : [];
  box.replaceChildren(el("dl", { class: "kv", style: "grid-template-columns: repeat(3, auto 1fr)" },
    entries.map(([k, v]) => [el("dt", {}, k.replace(/_/g, " ")), el("dd", { "data-metric": k }, metric(k, v))])),
    notes.length ? el("div", { class: "muted small", style: "margin-top:6px" }, notes.join(" · ")) : null);
}

async function load() {
  const [eq, sum, trades] = await Promise.all([upstream("reporting", "report/equity"),
    upstream("reporting", "report/summary"), upstream("reporting", "report/trades", { limit: 200 })]);
  if (eq.available === false) {
    for (const id of ["equity", "drawdown", "daily"]) $(`#${id}-note`).textContent = "⚠ " + eq.message;
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
    $("#equity-note").textContent = pts.length ? `${pts.length} steps · last ${money(pts[pts.length - 1].equity)}` : "no equity snapshots yet";
    const dd = d.drawdown || {};
    $("#drawdown-note").textContent = dd.max_drawdown != null ? `max ${num(Number(dd.max_drawdown) * 100, 2)}%` : "";
    $("#daily-note").textContent = daily.length ? `${daily.length} day(s)` : "no daily P&L yet";
  }
  const mbox = $("#metrics");
  if (sum.available === false) mbox.replaceChildren(notice(sum.message));
  else renderMetrics(mbox, sum.data || {});
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
    { key: "return_pct", label: "Ret %", num: true, render: (r) => pnl(r.return_pct == null ? null : Number(r.return_pct) * 100, 2, "%") },
    { key: "fees", label: "Fees", num: true, render: (r) => money(r.fees ?? r.commission) },
    { key: "entry_time", label: "Entry", render: (r) => time(r.entry_time) },
    { key: "exit_time", label: "Exit", render: (r) => time(r.exit_time) },
    { key: "strategy", label: "Strategy", render: (r) => [r.strategy, r.pattern].filter(Boolean).join(" · ") || "manual" },
    { key: "decision", label: "Decision", nosort: true, render: (r) => r.decision_id
        ? el("button", { type: "button", class: "why", "data-decision-id": r.decision_id, "aria-label": `Why ${r.symbol} ${r.side}`,
                         onclick: () => why(r) }, "Why")
        : el("span", { class: "muted" }, "—") },
  ], rows, { empty: "no trades yet", sortKey: "entry_time" });
}
load();
setInterval(load, 10000);
