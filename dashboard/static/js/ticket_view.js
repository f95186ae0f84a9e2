// The order ticket's live side: the symbol's bid/ask/last and the estimated cost and buying
// power after (both from the dashboard's /api/v1/ticket, exact decimals from paper trading),
// hotkeys, and the optional pause of a replay clock while the ticket is being edited.
import { $, ApiError, account, api, confirmDialog, el, on } from "./core.js";
import { decFmt, moneyFmt } from "./orders_view.js";

const POSITIVE = /^\d{0,12}(\.\d{0,8})?$/;
const positive = (v) => POSITIVE.test(v) && Number(v) > 0;
const SYMBOL = /^[A-Za-z][A-Za-z0-9.\/-]{0,20}$/;

// ---- quote and estimate -------------------------------------------------------------------
export function wireEstimate(form, readTicket) {
  let seq = 0, timer = null;
  const state = { last: null };
  async function update() {
    const t = readTicket();
    if (!SYMBOL.test(t.symbol || "")) { show(null, "type a symbol"); return null; }
    const query = { symbol: t.symbol, side: t.side, type: t.type, account: account.ref };
    for (const k of ["qty", "notional", "limit_price", "stop_price"]) if (t[k] && positive(t[k])) query[k] = t[k];
    const mine = ++seq;
    try {
      const est = await api("/api/v1/ticket", { query });
      const ok = est && est.available !== false;
      if (mine === seq) show(ok ? est : null, ok ? "" : est.message);
      return ok ? est : null;
    } catch (err) {
      if (mine === seq) show(null, err instanceof ApiError ? err.message : String(err));
      return null;
    }
  }
  function show(est, note) {
    state.last = est;
    const q = (est && est.quote) || {};
    const cell = (v, label, key) => el("div", { "data-quote": key, "data-value": v ?? "" }, v == null ? "—" : decFmt(v, 2), el("span", {}, label));
    $("#ticket-quote").replaceChildren(cell(q.bid, "bid", "bid"), cell(q.ask, "ask", "ask"), cell(q.last, "last", "last"));
    $("#ticket-quote").title = q.as_of ? `as of ${q.as_of}` : "";
    const set = (id, v) => { const d = $(id); d.textContent = moneyFmt(v); d.dataset.value = v ?? ""; };
    set("#est-cost", est && est.cost);
    set("#est-bp", est && est.buying_power);
    set("#est-bp-after", est && est.buying_power_after);
    $("#est-bp-after").classList.toggle("neg", Boolean(est && est.exceeds_buying_power));
    $("#est-note").textContent = note || (est && est.price ? `priced at the ${est.price_basis} ${decFmt(est.price)}` +
      (est.closing_qty && est.closing_qty !== "0" ? `; ${est.closing_qty} shares close a position and take no buying power` : "") +
      `; asks to confirm above ${moneyFmt(est.confirm_above)}` : "");
  }
  const soon = () => { clearTimeout(timer); timer = setTimeout(update, 150); };
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  form.addEventListener("click", (e) => { if (e.target.closest("[data-side]")) soon(); });
  // the quote moves with the clock: refresh on each clock tick of the live stream, and every
  // few seconds should the stream be away
  let lastNow = null;
  on("clock", (c) => { if (c && c.now && c.now !== lastNow) { lastNow = c.now; soon(); } });
  setInterval(() => { if (document.visibilityState === "visible") update(); }, 5000);
  update();
  return { update, state };
}

// ---- hotkeys ------------------------------------------------------------------------------
const typing = (t) => t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName));
export function wireHotkeys({ buy, sell, submit, clear }) {
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || document.querySelector("dialog[open]")) return;
    if (e.key === "Escape" && e.target.closest?.("#ticket")) { e.preventDefault(); clear(); return; }
    if (typing(e.target) || e.target.closest?.("button, a, [role=option], [role=listbox]")) return;
    const k = e.key.toLowerCase();
    if (k === "b") { e.preventDefault(); buy(); }
    else if (k === "s") { e.preventDefault(); sell(); }
    else if (e.key === "Enter") { e.preventDefault(); submit(true); }
    else if (e.key === "Escape") { e.preventDefault(); clear(); }
  });
}

// ---- pause while editing ----------------------------------------------------------------------
// While the box is ticked and the ticket (or its confirmation) has the focus, the replay clock
// is held paused through the dashboard (renewed every third of its lapse time; the dashboard resumes it
// if the renewals stop). Released on submit, Esc, leaving the ticket, hiding or closing the tab.
export function wireHold(form) {
  const box = $("#f-hold");
  let holding = false, wanted = false, renew = null, replay = false;
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  on("clock", (c) => {
    replay = Boolean(c && c.mode === "replay" && c.controls !== false);
    box.disabled = !replay;
    $("#hold-label").title = replay ? "The clock resumes at its speed when you place the order, press Esc or leave the ticket"
      : "Only a replay clock can be paused";
  });
  async function hold() {
    if (!box.checked) return;  // the dashboard itself holds only a running replay
    wanted = true;
    try {
      let r;
      for (let attempt = 1; ; attempt++) {  // a busy coordination may miss one answer
        try { r = await api("/api/v1/ticket/hold", { method: "POST" }); break; }
        catch (err) {
          if (attempt >= 3 || !wanted) throw err;
          await new Promise((ok) => setTimeout(ok, 500));
        }
      }
      if (!wanted) {  // the ticket was left while the pause was on its way: undo it
        if (r.held) await api("/api/v1/ticket/hold", { method: "DELETE" }).catch(() => {});
        return;
      }
      if (r.held && !holding) {
        holding = true;
        clearInterval(renew);
        // renew well inside the dashboard's lapse time (dashboard.ticket_hold_ttl_s)
        renew = setInterval(() => api("/api/v1/ticket/hold", { method: "POST" }).catch(() => {}),
          Math.max(1000, (r.ttl_s || 15) * 1000 / 3));
      }
      form.dataset.hold = r.held ? "held" : r.result;
      $("#hold-state").textContent = r.held ? "Clock paused while you edit: it resumes when you place, press Esc or leave the ticket."
        : `The clock was not paused: ${r.result}.`;
    } catch (err) { form.dataset.hold = "error"; }
  }
  async function release() {
    wanted = false;
    clearInterval(renew); renew = null;
    $("#hold-state").textContent = "";
    if (!holding) return;
    holding = false;
    form.dataset.hold = "released";
    try { await api("/api/v1/ticket/hold", { method: "DELETE" }); } catch (err) { /* lapses server-side */ }
  }
  form.addEventListener("focusin", (e) => { if (e.target !== box) hold(); });
  form.addEventListener("focusout", () => setTimeout(() => {
    if (!form.contains(document.activeElement) && !document.querySelector("dialog[open]")) release();
  }, 0));
  box.addEventListener("change", () => (box.checked ? null : release()));
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") release(); });
  // a closing tab: fetch with keepalive outlives the page (and carries the CSRF header)
  addEventListener("pagehide", () => {
    if (!holding) return;
    holding = false;
    fetch("/api/v1/ticket/hold", { method: "DELETE", keepalive: true, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), Accept: "application/json" } });
  });
  return { release, held: () => holding };
}

// ---- confirmations ----------------------------------------------------------------------------
export function orderSummary(body, est) {
  const px = (body.limit_price ? ` at ${decFmt(body.limit_price)}` : "") + (body.stop_price ? ` stop ${decFmt(body.stop_price)}` : "");
  const lines = [el("p", {}, el("b", {}, `${body.side === "buy" ? "Buy" : "Sell"} ${body.qty ?? moneyFmt(body.notional)} ${body.symbol}`),
    ` · ${body.type.replace("_", "-")}${px} · ${body.time_in_force}${body.order_class !== "simple" ? " · " + body.order_class : ""}`)];
  if (body.take_profit) lines.push(el("p", {}, `take-profit limit ${decFmt(body.take_profit.limit_price)}`));
  if (body.stop_loss && body.stop_loss.stop_price) lines.push(el("p", {}, `stop-loss stop ${decFmt(body.stop_loss.stop_price)}`));
  if (est) {
    lines.push(el("p", {}, `Est. cost ${moneyFmt(est.cost)} · buying power after ${moneyFmt(est.buying_power_after)}`));
    if (est.needs_confirmation) lines.push(el("p", { class: "warn" }, `Above your confirmation size of ${moneyFmt(est.confirm_above)}.`));
  }
  return lines;
}
export const confirmOrder = (body, est) => confirmDialog("Place this order?", orderSummary(body, est),
  { confirm: `Place ${body.side} order`, cancel: "Back to the ticket", danger: false });
