// News items with sentiment colours (and a sign, for colour-blind readers).
import { el, notice, num, time } from "./core.js";

export function sentimentOf(item) {
  const s = item.sentiment ?? item.sentiment_score ?? item.score ?? (item.sentiment_label === "positive" ? 1 : item.sentiment_label === "negative" ? -1 : 0);
  return typeof s === "object" && s !== null ? Number(s.compound ?? s.score ?? 0) : Number(s);
}

export function newsItems(payload) {
  if (!payload || payload.available === false) return null;
  const d = payload.data;
  return Array.isArray(d) ? d : (d && (d.news || d.items || d.articles)) || [];
}

export function newsList(box, payload) {
  const rows = newsItems(payload);
  if (rows === null) { box.replaceChildren(notice(payload ? payload.message : "news unavailable")); return; }
  if (!rows.length) { box.replaceChildren(notice("no news")); return; }
  box.replaceChildren(el("table", {}, el("tbody", {}, rows.map((n) => {
    const s = sentimentOf(n);
    const cls = s > 0.05 ? "pos" : s < -0.05 ? "neg" : "flat";
    const mark = s > 0.05 ? "▲" : s < -0.05 ? "▼" : "•";
    return el("tr", {},
      el("td", { class: "num " + cls, title: "sentiment" }, `${mark} ${num(s, 2)}`),
      el("td", {}, el("div", {}, n.headline || n.title || "(no headline)"),
        el("div", { class: "muted" }, `${(n.symbols || []).join(", ")} · ${n.source || ""} · ${time(n.created_at || n.published_at || n.ts)}`)));
  }))));
}
