// The System page's "Data providers" table: coordination's GET /api/v1/providers in words.
// Provider times (errors, breakers) are wall-clock times, shown in the page's time zone.
import { el, emptyState, num, table, time } from "./core.js";

const PILL = { ready: "ok", breaker_open: "open", rate_limited: "degraded", failing: "degraded" };
const ALL_TF = ["1m", "5m", "15m", "1h", "1d"];

// "14:03:12" on the day it happens, else the whole date and time.
function when(iso) {
  if (!iso) return "—";
  const t = time(iso), today = time(new Date().toISOString());
  return t.slice(0, 10) === today.slice(0, 10) ? t.slice(11, 19) : t;
}

// The state as a person says it: "ready", "no key (set POLYGON_API_KEY)",
// "breaker open until 14:03:12", "rate limited until ...", "2 failures in a row".
export function stateWords(p) {
  if (p.state === "breaker_open") {
    const until = p.breaker.open_until;
    return until && Date.parse(until) > Date.now() ? `breaker open until ${when(until)}`
      : "breaker open; the next call tries again";
  }
  if (p.state === "rate_limited" && p.rate_limited_until) return `rate limited until ${when(p.rate_limited_until)}`;
  if (p.state === "failing" && p.breaker.state === "half-open") return p.state_text;
  if (p.state === "failing") return `${p.breaker.fail_counter} failure${p.breaker.fail_counter === 1 ? "" : "s"} in a row`;
  return p.state_text;
}

function state(p) {
  // a long "no key (set A and B)" wraps inside its pill rather than widening the column
  return el("span", { class: "pill " + (PILL[p.state] || ""), "data-state": p.state,
                       style: "display:inline-block; white-space:normal; max-width:36ch" }, stateWords(p));
}

function serves(p) {
  if (!p.asset_classes.length) return el("span", { class: "muted" }, "—");
  const all = ALL_TF.every((t) => p.timeframes.includes(t));
  return el("span", { title: "timeframes: " + p.timeframes.join(" ") }, p.asset_classes.join(", "),
    all ? null : el("span", { class: "muted" }, " · " + p.timeframes.join(" ")));
}

function routes(p) {
  return p.routes.length ? p.routes.join(", ") : el("span", { class: "muted" }, "not routed");
}

function breaker(p) {
  const b = p.breaker;
  return el("span", { title: (b.opened_at ? `last opened ${time(b.opened_at)}` : "never opened") +
                       ` · ${p.skipped_open} call(s) skipped while open` },
    el("span", { class: "pill " + b.state }, b.state), " ",
    el("span", { class: "muted" }, `${b.fail_counter}/${b.fail_max}` +
      (p.skipped_open ? ` · ${p.skipped_open} skipped` : "")));
}

function lastError(p) {
  if (!p.last_error) return el("span", { class: "muted" }, "none");
  const text = p.last_error.length > 120 ? p.last_error.slice(0, 119) + "…" : p.last_error;
  return el("div", { class: "prov-error", title: p.last_error,
                     style: "min-width:26ch; max-width:40ch; white-space:normal; overflow-wrap:anywhere" },
    el("span", { class: "muted" }, when(p.last_error_at) + " "), text);
}

function budget(p) {
  const b = p.budget;
  if (!p.configured) return el("span", { class: "muted" }, "—");
  if (!p.active) return el("span", { class: "muted", title: "no route names it, so it is not started" }, "not in use");
  if (!b || b.limit == null) return el("span", { class: "muted" }, "no limit");
  const per = b.period_s === 86400 ? "a day" : b.period_s === 3600 ? "an hour"
    : b.period_s === 60 ? "a minute" : `per ${num(b.period_s, 0)} s`;
  const wait = b.remaining === 0 && b.next_slot_s ? ` · next in ${num(b.next_slot_s, 0)} s` : "";
  return el("span", { title: `${b.remaining} calls left of ${b.limit} ${per}` },
    `${b.remaining}/${b.limit} ${per}${wait}`);
}

export function renderProviders(box, data) {
  if (!data || !Array.isArray(data.providers)) {
    box.replaceChildren(emptyState("Coordination did not answer.", "It owns market data; start it with hybrid_manager.py start."));
    return;
  }
  box._sort = box._sort || { key: "order", dir: 1 };
  const rows = data.providers.map((p, i) => ({ ...p, order: i }));
  table(box, [
    { key: "name", label: "Provider", sort: (r) => r.name, render: (r) => el("b", {}, r.name) },
    { key: "state", label: "State", sort: (r) => r.state, render: state },
    { key: "serves", label: "Serves", nosort: true, render: serves },
    { key: "routes", label: "Routes", sort: (r) => r.routes.join(","), render: routes },
    { key: "breaker", label: "Breaker", sort: (r) => r.breaker.fail_counter, render: breaker },
    { key: "calls", label: "Calls", num: true },
    { key: "failures", label: "Failed", num: true },
    { key: "last_error", label: "Last error", sort: (r) => r.last_error_at || "", render: lastError },
    { key: "last_success_at", label: "Last success", render: (r) => when(r.last_success_at) },
    { key: "budget", label: "Calls left", nosort: true, render: budget },
  ], rows, { sortKey: "order", rowAttrs: (r) => ({ "data-provider": r.name }) });
}

// One line under the table: the stale fallback's count and last reason.
export function staleLine(data) {
  const s = data && data.stale;
  if (!s) return "";
  if (!s.served) return `No read served stale · ${s.failovers} failover${s.failovers === 1 ? "" : "s"} to a later provider`;
  const last = s.last;
  return `${s.served} read${s.served === 1 ? "" : "s"} served stale (every provider failed)` +
    (last ? ` · last ${last.symbol} ${last.timeframe} at ${when(last.at)}: ${last.reason.join("; ")}` : "");
}
