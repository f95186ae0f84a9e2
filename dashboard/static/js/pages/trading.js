// Trading: order ticket, open orders (cancel), positions (live P&L, close), account, fills.
import { $, ApiError, account, act, el, money, notice, num, on, pnl, start, table, time, toast, upstream } from "../core.js";
import { showDecision } from "../decision_view.js";

start();

const form = $("#ticket");
const FIELDS = ["symbol", "side", "type", "order_class", "qty", "time_in_force", "limit_price",
  "stop_price", "trail_price", "trail_percent", "take_profit.limit_price", "stop_loss.stop_price",
  "stop_loss.limit_price"];
let side = "buy";

// Show only the inputs the chosen type and class use (hidden ones are not sent).
function layout() {
  const type = $("#f-type").value, cls = $("#f-order_class").value;
  const show = {
    limit: type === "limit" || type === "stop_limit",
    stop: type === "stop" || type === "stop_limit",
    trail: type === "trailing_stop",
    legs: cls !== "simple",
  };
  for (const lab of form.querySelectorAll("label[data-for]")) lab.hidden = !show[lab.dataset.for];
}
$("#f-type").addEventListener("change", layout);
$("#f-order_class").addEventListener("change", layout);
for (const b of form.querySelectorAll("[data-side]")) {
  b.addEventListener("click", () => {
    side = b.dataset.side;
    for (const o of form.querySelectorAll("[data-side]")) o.setAttribute("aria-pressed", String(o === b));
    $("#submit-order").textContent = `Place ${side} order`;
  });
}
layout();

function clearErrors() {
  for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

function showFieldError(field, message) {
  const box = document.getElementById("err-" + field);
  if (!box) return false;
  box.textContent = message;
  const input = document.getElementById("f-" + field);
  if (input) { input.setAttribute("aria-invalid", "true"); }
  return true;
}

// "body field 'qty': Value error, x" -> "x": the field is already shown by position.
const clean = (m) => String(m).replace(/^(body|query) field '[^']*': /, "").replace(/^Value error, /, "");

// Map a 400's details to the inputs: details.field, details.errors[].field, or (for errors
// about the whole body) the first field name the message mentions.
function showError(err) {
  let placed = false;
  const errors = (err.details && err.details.errors) || [];
  for (const e of errors) if (e.field && showFieldError(e.field, clean(e.message || err.message))) placed = true;
  if (!placed) {
    let field = err.details && err.details.field;
    if (!field || !FIELDS.includes(field)) {
      field = [...FIELDS].sort((a, b) => b.length - a.length).find((f) => err.message.includes(f));
    }
    if (field && showFieldError(field, clean(err.message))) placed = true;
  }
  if (!placed) $("#err-form").textContent = clean(err.message);
  const first = form.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

function readTicket() {
  const val = (name) => { const i = document.getElementById("f-" + name);
    return i && !i.closest("label")?.hidden ? i.value.trim() : ""; };
  const body = { symbol: val("symbol"), side, type: $("#f-type").value,
                 order_class: $("#f-order_class").value, time_in_force: $("#f-time_in_force").value };
  for (const k of ["qty", "limit_price", "stop_price", "trail_price", "trail_percent"]) {
    const v = val(k); if (v !== "") body[k] = v;
  }
  if (body.order_class !== "simple") {
    const tp = val("take_profit.limit_price"), sp = val("stop_loss.stop_price"), sl = val("stop_loss.limit_price");
    if (tp) body.take_profit = { limit_price: tp };
    if (sp || sl) body.stop_loss = { stop_price: sp || undefined, limit_price: sl || undefined };
  }
  return body;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  const btn = $("#submit-order");
  btn.disabled = true;
  try {
    const order = await act("paper_trading", "orders", "POST", readTicket());
    toast(`Order ${order.side} ${order.qty ?? order.notional} ${order.symbol} ${order.status}`);
    refresh();
  } catch (err) {
    if (err instanceof ApiError) showError(err); else $("#err-form").textContent = String(err);
  } finally { btn.disabled = false; }
});

// ---- tables -----------------------------------------------------------------------------
function listOf(payload) {
  if (!payload) return null;
  if (payload.available === false) return payload;
  const d = payload.data !== undefined ? payload.data : payload;
  return Array.isArray(d) ? d : (d && (d.orders || d.positions || d.fills || d.items)) || [];
}
function unavailable(box, payload) {
  box.replaceChildren(notice(payload.down ? `paper trading is down: ${payload.message}` : payload.message));
}

async function cancel(id) {
  try { await act("paper_trading", `orders/${id}`, "DELETE"); toast("Cancel sent"); refresh(); }
  catch (err) { toast(err.message, "err"); }
}
async function closePosition(symbol) {
  try { await act("paper_trading", `positions/${encodeURIComponent(symbol)}`, "DELETE"); toast(`Closing ${symbol}`); refresh(); }
  catch (err) { toast(err.message, "err"); }
}

function why(orderId, label) {
  $("#decision-what").textContent = label;
  showDecision($("#decision"), { order_id: orderId }, label);
}
const whyButton = (orderId, label) => el("button", { type: "button", class: "why", "data-why": orderId,
  "aria-label": `Why: ${label}`, onclick: (e) => { e.stopPropagation(); why(orderId, label); } }, "Why");

function renderOrders(payload) {
  const box = $("#orders");
  const rows = listOf(payload);
  if (!rows) return;
  if (!Array.isArray(rows)) return unavailable(box, rows);
  table(box, [
    { key: "symbol", label: "Symbol" },
    { key: "side", label: "Side", render: (r) => el("span", { class: r.side === "buy" ? "pos" : "neg" }, r.side) },
    { key: "type", label: "Type" },
    { key: "order_class", label: "Class" },
    { key: "qty", label: "Qty", num: true, render: (r) => num(r.qty ?? r.notional, 2) },
    { key: "filled_qty", label: "Filled", num: true, render: (r) => num(r.filled_qty, 2) },
    { key: "limit_price", label: "Limit", num: true, render: (r) => num(r.limit_price, 2) },
    { key: "stop_price", label: "Stop", num: true, render: (r) => num(r.stop_price, 2) },
    { key: "status", label: "Status" },
    { key: "created_at", label: "Created", render: (r) => time(r.created_at || r.submitted_at) },
    { key: "x", label: "", nosort: true, render: (r) => el("span", { class: "btns" },
        whyButton(r.id, `${r.side} ${r.symbol} order`),
        el("button", { type: "button", class: "cancel",
        "aria-label": `Cancel ${r.side} ${r.symbol} order`, "data-order-id": r.id, onclick: () => cancel(r.id) }, "Cancel")) },
  ], rows, { empty: "no open orders", sortKey: "created_at",
             rowAttrs: (r) => ({ "data-order-id": r.id, class: "clickable", onclick: (e) => { if (!e.target.closest("button")) why(r.id, `${r.side} ${r.symbol} order`); } }) });
}

function renderPositions(payload) {
  const box = $("#positions");
  const rows = listOf(payload);
  if (!rows) return;
  if (!Array.isArray(rows)) return unavailable(box, rows);
  table(box, [
    { key: "symbol", label: "Symbol" },
    { key: "qty", label: "Qty", num: true, render: (r) => num(r.qty, 2) },
    { key: "avg_entry_price", label: "Avg entry", num: true, render: (r) => num(r.avg_entry_price, 2) },
    { key: "current_price", label: "Last", num: true, render: (r) => num(r.current_price, 2) },
    { key: "market_value", label: "Value", num: true, render: (r) => num(r.market_value, 2) },
    { key: "unrealized_pl", label: "Unreal. P&L", num: true, render: (r) => pnl(r.unrealized_pl) },
    { key: "unrealized_plpc", label: "P&L %", num: true, render: (r) => pnl(r.unrealized_plpc == null ? null : Number(r.unrealized_plpc) * 100, 2, "%") },
    { key: "x", label: "", nosort: true, render: (r) => el("button", { type: "button", onclick: () => closePosition(r.symbol),
        "aria-label": `Close ${r.symbol}` }, "Close") },
  ], rows, { empty: "flat: no positions", sortKey: "unrealized_pl" });
}

function renderFills(payload) {
  const box = $("#fills");
  const rows = listOf(payload);
  if (!rows) return;
  if (!Array.isArray(rows)) return unavailable(box, rows);
  table(box, [
    { key: "symbol", label: "Symbol" },
    { key: "side", label: "Side", render: (r) => el("span", { class: r.side === "buy" ? "pos" : "neg" }, r.side) },
    { key: "qty", label: "Qty", num: true, render: (r) => num(r.qty, 2) },
    { key: "price", label: "Price", num: true, render: (r) => num(r.price, 2) },
    { key: "commission", label: "Fees", num: true, render: (r) => num(r.commission, 2) },
    { key: "filled_at", label: "Time", render: (r) => time(r.filled_at || r.at || r.ts) },
    { key: "x", label: "", nosort: true, render: (r) => whyButton(r.order_id, `fill ${r.side} ${num(r.qty, 0)} ${r.symbol}`) },
  ], rows, { empty: "no fills yet", sortKey: "filled_at",
             rowAttrs: (r) => ({ "data-fill-order-id": r.order_id, class: "clickable",
                                 onclick: (e) => { if (!e.target.closest("button")) why(r.order_id, `fill ${r.side} ${num(r.qty, 0)} ${r.symbol}`); } }) });
}

function renderAccount(payload) {
  const box = $("#account");
  if (!payload) return;
  if (payload.available === false) return unavailable(box, payload);
  const a = payload.data || payload;
  $("#acct-note").textContent = `${account.ref}${a.account_number ? " · " + a.account_number : ""}`;
  const dayPnl = a.equity != null && a.last_equity != null ? Number(a.equity) - Number(a.last_equity) : null;
  const item = (k, v) => [el("dt", {}, k), el("dd", {}, v)];
  box.replaceChildren(el("dl", { class: "kv", style: "grid-template-columns: repeat(6, auto 1fr)" },
    item("Cash", money(a.cash)), item("Equity", money(a.equity)), item("Buying power", money(a.buying_power)),
    item("Day P&L", pnl(dayPnl)), item("Day trades", num(a.daytrade_count, 0)),
    item("PDT", a.pattern_day_trader ? "yes" : "no")));
}

on("orders", renderOrders);
on("positions", renderPositions);
on("fills", renderFills);
on("account", renderAccount);

// Actions refresh at once rather than waiting for the next poll.
async function refresh() {
  const [o, p, a, f] = await Promise.allSettled([
    upstream("paper_trading", "orders", { status: "open", limit: 200 }),
    upstream("paper_trading", "positions"), upstream("paper_trading", "account"),
    upstream("paper_trading", "fills", { limit: 50 })]);
  if (o.status === "fulfilled") renderOrders(o.value);
  if (p.status === "fulfilled") renderPositions(p.value);
  if (a.status === "fulfilled") renderAccount(a.value);
  if (f.status === "fulfilled") renderFills(f.value);
}
$("#cancel-all").addEventListener("click", async () => {
  try { await act("paper_trading", "orders", "DELETE"); toast("Cancel-all sent"); refresh(); }
  catch (err) { toast(err.message, "err"); }
});
refresh();
