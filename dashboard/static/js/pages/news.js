// News: the feed with sentiment colours and per-symbol aggregates.
import { $, el, notice, num, pnl, start, table, upstream } from "../core.js";
import { newsItems, newsList, sentimentOf } from "../news_view.js";

start();

async function load() {
  const sym = $("#news-sym").value.trim().toUpperCase();
  const feed = await upstream("news", "news", { symbol: sym || undefined, limit: 100 });
  newsList($("#feed"), feed);
  const rows = newsItems(feed);
  const agg = $("#aggregates");
  if (rows === null) { agg.replaceChildren(notice(feed.message)); return; }
  const by = new Map();
  for (const n of rows) for (const s of n.symbols || []) {
    const a = by.get(s) || { symbol: s, count: 0, sum: 0 };
    a.count += 1; a.sum += sentimentOf(n) || 0; by.set(s, a);
  }
  table(agg, [
    { key: "symbol", label: "Symbol", render: (r) => el("a", { href: `/symbol?symbol=${encodeURIComponent(r.symbol)}` }, r.symbol) },
    { key: "count", label: "Items", num: true },
    { key: "avg", label: "Avg sentiment", num: true, sort: (r) => r.sum / r.count, render: (r) => pnl(r.sum / r.count, 3) },
  ], [...by.values()], { empty: "no symbols tagged", sortKey: "count" });
}
$("#news-sym").addEventListener("change", load);
load();
setInterval(load, 15000);
