// The decision ledger entry of an order: scan match, signals, patterns, sentiment, sizing and
// the risk verdict, as coordination recorded them when it placed the order.
import { api, el, notice, num, pnl, time } from "./core.js";

const micros = (v) => (v === null || v === undefined ? null : Number(v) / 1e6);
const kv = (pairs) => el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined)
  .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v === null || v === "" ? "—" : v)]));
const section = (title, body) => el("div", { class: "dsec" }, el("h3", {}, title), body);

function scanPart(scan) {
  if (!scan) return el("span", { class: "muted" }, "not from a scan match (exit or held position)");
  const why = (scan.explanation || []).map((x) => explain(x)).join("; ");
  return kv([["Rank", num(scan.rank, 0)], ["Score", num(scan.score, 3)], ["Price", num(scan.price, 2)],
    ["Why", why || "no filter (whole universe)"]]);
}

// A scanner explanation {filter, metric, value, threshold, passed} as "rvol 1.43 ≥ 0.5".
export function explain(x) {
  if (typeof x === "string") return x;
  if (!x || typeof x !== "object") return String(x ?? "");
  if (x.metric !== undefined && x.threshold !== undefined) {
    const op = String(x.filter || "").startsWith("max_") ? "≤" : "≥";
    const v = typeof x.value === "number" ? num(x.value, 2) : String(x.value);
    return `${x.metric} ${v} ${op} ${typeof x.threshold === "number" ? num(x.threshold, 2) : x.threshold}${x.passed === false ? " ✗" : ""}`;
  }
  if (x.filter !== undefined) return `${x.filter}${x.value !== undefined ? " " + x.value : ""}`;
  return x.text || x.reason || JSON.stringify(x);
}

function signalsPart(sig) {
  if (!sig) return el("span", { class: "muted" }, "none");
  const scores = sig.scores || {};
  const contrib = ((sig.combined || {}).contributions || []).filter((c) => Number(c.score) !== 0);
  return el("div", {},
    kv([["Blend", sig.combined ? `${sig.combined.direction || ""} ${num(sig.combined.score, 3)}` : "—"],
      ...Object.entries(scores).map(([k, v]) => [k, v === null ? "—" : pnl(v, 3)]),
      ["ATR", sig.atr == null ? "—" : num(sig.atr, 3)]]),
    contrib.length ? el("div", { class: "muted" }, "Firing: " + contrib.map((c) => `${c.strategy} ${num(c.score, 2)}`).join(", ")) : null);
}

function patternsPart(p) {
  if (!p) return el("span", { class: "muted" }, "none");
  const rows = [...(p.candles || []).map((c) => `${String(c.pattern).replace(/^CDL/, "").toLowerCase()} (${c.bias}, ${time(c.ts)})`),
    ...(Array.isArray(p.chart) ? p.chart : p.chart ? [p.chart] : []).map((c) => `${c.pattern} (${c.direction || ""} ${c.status || ""})`)];
  return rows.length ? el("div", {}, rows.join("; ")) : el("span", { class: "muted" }, "none");
}

function sentimentPart(s) {
  if (!s) return el("span", { class: "muted" }, "none");
  return kv([["Mean", s.mean_sentiment == null ? "no stories" : pnl(s.mean_sentiment, 3)],
    ["Stories", num(s.article_count, 0)], ["Abnormal volume", s.volume && s.volume.abnormal ? "yes" : "no"]]);
}

function sizingPart(z, d) {
  if (!z) return el("span", { class: "muted" }, "none");
  return kv([["Method", z.method || "—"], ["Qty", num(z.qty ?? micros(d.qty_micros), 0)],
    ["Stop", num(z.stop ?? micros(d.stop_micros), 2)], ["Take profit", num(z.take_profit ?? micros(d.take_profit_micros), 2)],
    ["Risk/share", num(z.risk_per_share, 2)], ["Capped by", z.capped_by || "—"]]);
}

// Render ledger rows (newest first) into box.
export function renderDecisions(box, rows, what) {
  if (!rows.length) { box.replaceChildren(notice(`no decision recorded for ${what} (placed by hand, or before the ledger)`)); return; }
  box.replaceChildren(...rows.slice(0, 3).map((d) => {
    const ok = String(d.risk_verdict || "").startsWith("accepted");
    return el("article", { class: "decision", "data-decision-id": d.decision_id },
      el("div", { class: "dhead" }, el("b", {}, `${d.symbol} · ${d.action} · ${d.side}`),
        el("span", { class: "pill " + (ok ? "ok" : "failed") }, ok ? "✓ " + d.risk_verdict : "✗ " + d.risk_verdict),
        el("span", { class: "muted" }, ` ${time(d.clock_ts)} · score ${num(d.score, 3)} · ${d.strategy || ""}${d.pattern ? " · " + d.pattern : ""}`)),
      d.risk_message ? el("div", { class: "neg" }, d.risk_message) : null,
      (d.degraded || []).length ? el("div", { class: "warn" }, "⚠ decided without: " + d.degraded.join(", ")) : null,
      el("div", { class: "dgrid" },
        section("Scan match", scanPart(d.scan)), section("Signals", signalsPart(d.signals)),
        section("Patterns", patternsPart(d.patterns)), section("Sentiment", sentimentPart(d.sentiment)),
        section("Sizing", sizingPart(d.sizing, d)),
        section("Order", kv([["Order id", d.order_id ? el("span", { title: d.order_id }, d.order_id.slice(0, 8) + "…") : "—"], ["Status", d.order_status || "—"], ["Run", (d.run_id || "").slice(0, 8)]]))));
  }));
}

// Fetch and show the decision of an order (or a decision id) in box.
export async function showDecision(box, query, what) {
  box.replaceChildren(notice(`loading the decision of ${what}…`));
  box.closest("section")?.scrollIntoView({ block: "nearest" });
  try { renderDecisions(box, await api("/api/v1/decisions", { query }), what); }
  catch (err) { box.replaceChildren(notice(err.message)); }
}
