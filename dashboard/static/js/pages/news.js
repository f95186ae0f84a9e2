// News: the feed with sentiment colours and per-symbol aggregates (counts from the feed, the
// window figures from news' /sentiment/<symbol> for the most-mentioned symbols).
import { $, el, notice, num, pnl, start, table, upstream } from "../core.js";
import { newsItems, newsList, sentimentOf } from "../news_view.js";

start();
const WINDOW_SYMBOLS = 6;
let windows = new Map();

async function loadWindows(symbols) {
  const got = await Promise.allSettled(symbols.map((s) => upstream("news", `sentiment/${encodeURIComponent(s)}`)));
  windows = new Map(got.map((g, i) => [symbols[i], g.status === "fulfilled" && g.value.available ? g.value.data : null]));
}

async function load() {
  const sym = $("#news-sym").value.trim().toUpperCase();
  const feed = await upstream("news", "news", { symbol: sym || undefined, limit: 100 });
  newsList($("#feed"), feed);
  const rows = newsItems(feed);
  const agg = $("#aggregates");
  if (rows === null) { agg.replaceChildren(notice(feed.message)); return; }
  const by = new Map();
  for (const n of rows) for (const s of n.symbols || []) {
    const a = by.get(s) || { symbol: s, count: 0, sum: 0, pos: 0, neg: 0 };
    const v = sentimentOf(n) || 0;
    a.count += 1; a.sum += v; if (v > 0.05) a.pos += 1; if (v < -0.05) a.neg += 1;
    by.set(s, a);
  }
  const top = [...by.values()].sort((a, b) => b.count - a.count).slice(0, WINDOW_SYMBOLS).map((a) => a.symbol);
  await loadWindows(top);
  const w = (r) => windows.get(r.symbol);
  table(agg, [
    { key: "symbol", label: "Symbol", render: (r) => el("a", { href: `/symbol?symbol=${encodeURIComponent(r.symbol)}` }, r.symbol) },
    { key: "count", label: "Items", num: true },
    { key: "avg", label: "Avg sent.", num: true, sort: (r) => r.sum / r.count, render: (r) => pnl(r.sum / r.count, 3) },
    { key: "pos", label: "▲ / ▼", num: true, render: (r) => `${r.pos} / ${r.neg}` },
    { key: "win", label: "Window mean", num: true, sort: (r) => w(r)?.mean_sentiment ?? -9,
      render: (r) => (w(r) ? (w(r).mean_sentiment == null ? "—" : pnl(w(r).mean_sentiment, 3)) : el("span", { class: "muted" }, "·")) },
    { key: "vol", label: "News vol.", num: true, sort: (r) => w(r)?.volume?.ratio ?? -1,
      render: (r) => { const v = w(r)?.volume; if (!v) return el("span", { class: "muted" }, "·");
        return el("span", { class: v.abnormal ? "warn" : "" }, `${v.count} (x${num(v.ratio, 1)})${v.abnormal ? " ⚠" : ""}`); } },
  ], [...by.values()], { empty: "no symbols tagged", sortKey: "count" });
  $("#agg-note").textContent = top.length ? `${(windows.get(top[0]) || {}).window || ""} window: top ${top.length}` : "";
}
$("#news-sym").addEventListener("change", load);
load();
setInterval(load, 15000);
