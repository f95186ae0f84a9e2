// Trading: order ticket (live quote, estimate, confirmations, hotkeys, pause-while-editing),
// open orders grouped by bracket, positions (stop, target, exact live P&L, close), account, fills.
import { $, ApiError, account, act, confirmDialog, el, notice, num, on, start, table, time, toast, upstream } from "../core.js";
import { showDecision } from "../decision_view.js";
import { decFmt, decQty, decShift, decSub, exitsOf, groupText, moneyFmt, orderRows, pnlExact, statusWords } from "../orders_view.js";
import { confirmOrder, wireEstimate, wireHold, wireHotkeys } from "../ticket_view.js";

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
function setSide(s) {
  side = s;
  for (const o of form.querySelectorAll("[data-side]")) o.setAttribute("aria-pressed", String(o.dataset.side === s));
  $("#submit-order").textContent = `Place ${side} order`;
  form.dataset.side = s;
}
for (const b of form.querySelectorAll("[data-side]")) b.addEventListener("click", () => setSide(b.dataset.side));
setSide("buy");
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

const estimate = wireEstimate(form, readTicket);
const holdCtl = wireHold(form);

// Place the ticket's order: asked first when its estimated cost is above the configured size
// (or always, from the Enter hotkey). Each order carries a client_order_id; after an answer
// that leaves its fate unknown (a timeout, paper trading down) placing the same ticket again
// reuses it, so paper trading returns the order it may already hold instead of a second one.
let unsure = null;  // {key, id} of the last placement whose outcome is unknown
const newId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
async function placeOrder(askAlways) {
  clearErrors();
  const btn = $("#submit-order");
  if (btn.disabled) return;
  btn.disabled = true;
  try {
    const body = readTicket();
    const key = JSON.stringify(body);
    body.client_order_id = unsure && unsure.key === key ? unsure.id : newId();
    const est = await estimate.update();
    if (askAlways || (est && est.needs_confirmation)) {
      if (!(await confirmOrder(body, est))) { $("#submit-order").focus(); return; }
    }
    let order;
    try { order = await act("paper_trading", "orders", "POST", body); unsure = null; }
    catch (err) {
      if (!(err instanceof ApiError) || err.status === 0 || err.status >= 500) unsure = { key, id: body.client_order_id };
      else unsure = null;
      throw err;
    }
    toast(`${order.side === "buy" ? "Buy" : "Sell"} ${decQty(order.qty) ?? moneyFmt(order.notional)} ${order.symbol}: ${statusWords(order)}`);
    await holdCtl.release();
    document.activeElement?.blur?.();
    refresh();
  } catch (err) {
    if (err instanceof ApiError) showError(err); else $("#err-form").textContent = String(err);
  } finally { btn.disabled = false; }
}
form.addEventListener("submit", (e) => { e.preventDefault(); placeOrder(false); });

function clearTicket() {
  const sym = $("#f-symbol").value, pause = $("#f-hold").checked;
  form.reset();
  $("#f-symbol").value = sym;  // Esc clears the order, not the symbol being watched
  $("#f-hold").checked = pause;
  setSide(side);
  layout();
  clearErrors();
  holdCtl.release();
  document.activeElement?.blur?.();
  estimate.update();
}
wireHotkeys({ buy: () => $("#side-buy").click(), sell: () => $("#side-sell").click(), submit: placeOrder, clear: clearTicket });

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

let lastOrders = [], lastPositions = null;

async function cancel(id) {
  try { await act("paper_trading", `orders/${id}`, "DELETE"); toast("Cancel sent"); refresh(); }
  catch (err) { toast(err.message, "err"); }
}
// Close at market; the position's working exits (its stop and target) hold its shares, so
// they are cancelled first (the dialog says so).
async function closeOne(p) {
  const { stops, targets } = exitsOf(lastOrders, p.symbol, p.qty);
  for (const x of [...stops, ...targets]) await act("paper_trading", `orders/${x.id}`, "DELETE").catch(() => {});
  return act("paper_trading", `positions/${encodeURIComponent(p.symbol)}`, "DELETE");
}
function exitNote(p) {
  const { stops, targets } = exitsOf(lastOrders, p.symbol, p.qty);
  const n = stops.length + targets.length;
  return n ? ` Its ${n} working exit order${n > 1 ? "s" : ""} (stop/target) will be cancelled first.` : "";
}
async function closePosition(p) {
  const side = Number(p.qty) > 0 ? "Sell" : "Buy";
  const ok = await confirmDialog(`Close ${p.symbol}?`,
    `${side} ${decQty(String(p.qty).replace("-", ""))} ${p.symbol} at market (last ${decFmt(p.current_price)}; unrealised P&L ${decFmt(p.unrealized_pl)}).${exitNote(p)}`,
    { confirm: `Close ${p.symbol}` });
  if (!ok) return;
  try { await closeOne(p); toast(`Closing ${p.symbol}`); refresh(); }
  catch (err) { toast(err.message, "err"); }
}

function why(orderId, label) {
  $("#decision-what").textContent = label;
  showDecision($("#decision"), { order_id: orderId }, label);
}
const whyButton = (orderId, label) => el("button", { type: "button", class: "why", "data-why": orderId,
  "aria-label": `Why: ${label}`, onclick: (e) => { e.stopPropagation(); why(orderId, label); } }, "Why");

// Open orders, a bracket / OCO / OTO as its parent with its legs; a filled parent is a group
// line over its working exits (not an open order, no Cancel of its own).
function renderOrders(payload) {
  const box = $("#orders");
  const rows = listOf(payload);
  if (!rows) return;
  if (!Array.isArray(rows)) return unavailable(box, rows);
  lastOrders = rows;
  if (lastPositions) renderPositions(lastPositions);
  const lines = orderRows(rows);
  const px = (v) => (v == null ? "—" : decFmt(v));
  const head = el("tr", {}, ["Symbol", "Role", "Side", "Type", "Class", "Qty", "Filled", "Limit", "Stop", "Status", "Created", ""]
    .map((h, i) => el("th", { scope: "col", class: i >= 5 && i <= 8 ? "num" : "" }, h)));
  const body = lines.map(({ kind, order: o, parent, role, cancellable }) => {
    if (kind === "group") {
      return el("tr", { class: "group", "data-group-of": o.id }, el("td", { colspan: 12 }, groupText(o)));
    }
    const label = `${role ? role + " " : ""}${o.side} ${o.symbol} order`;
    return el("tr", { class: `clickable ${kind}`, "data-order-id": o.id, "data-parent-id": parent ? parent.id : null,
        "data-role": role || null, "data-status": o.status,
        onclick: (e) => { if (!e.target.closest("button")) why(parent ? parent.id : o.id, label); } },
      el("td", {}, kind === "leg" ? "↳ " + o.symbol : o.symbol),
      el("td", { class: "role" }, role || "—"),
      el("td", {}, el("span", { class: o.side === "buy" ? "pos" : "neg" }, o.side)),
      el("td", {}, o.type.replace("_", "-")),
      el("td", {}, o.order_class || "simple"),
      el("td", { class: "num" }, o.qty == null ? moneyFmt(o.notional) : decQty(o.qty)),
      el("td", { class: "num" }, decQty(o.filled_qty)),
      el("td", { class: "num", "data-col": "limit" }, px(o.limit_price)),
      el("td", { class: "num", "data-col": "stop" }, px(o.stop_price)),
      el("td", { class: "status", "data-col": "status" }, statusWords(o)),
      el("td", {}, time(o.created_at || o.submitted_at)),
      el("td", {}, el("span", { class: "btns" }, whyButton(parent ? parent.id : o.id, label),
        cancellable ? el("button", { type: "button", class: "cancel", "aria-label": `Cancel ${label}`,
          "data-order-id": o.id, onclick: () => cancel(o.id) }, "Cancel") : null)));
  });
  box.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {},
    body.length ? body : el("tr", {}, el("td", { colspan: 12, class: "muted" }, "no open orders")))));
}

function renderPositions(payload) {
  const box = $("#positions");
  const rows = listOf(payload);
  if (!rows) return;
  if (!Array.isArray(rows)) return unavailable(box, rows);
  lastPositions = payload;
  const exits = (r, which) => {
    const xs = exitsOf(lastOrders, r.symbol, r.qty)[which];
    return xs.length ? el("span", { "data-col": which === "stops" ? "stop" : "target" }, xs.map((x) => decFmt(x.price)).join(" / ")) : "none";
  };
  table(box, [
    { key: "symbol", label: "Symbol" },
    { key: "qty", label: "Qty", num: true, render: (r) => decQty(r.qty) },
    { key: "avg_entry_price", label: "Avg entry", num: true, render: (r) => decFmt(r.avg_entry_price) },
    { key: "current_price", label: "Last", num: true, render: (r) => decFmt(r.current_price) },
    { key: "market_value", label: "Value", num: true, render: (r) => decFmt(r.market_value) },
    { key: "stop", label: "Stop", num: true, nosort: true, render: (r) => exits(r, "stops") },
    { key: "target", label: "Target", num: true, nosort: true, render: (r) => exits(r, "targets") },
    { key: "unrealized_pl", label: "Unreal. P&L", num: true, render: (r) => pnlExact(r.unrealized_pl) },
    { key: "unrealized_plpc", label: "P&L %", num: true, render: (r) => pnlExact(decShift(r.unrealized_plpc, 2), "%") },
    { key: "x", label: "", nosort: true, render: (r) => el("button", { type: "button", onclick: () => closePosition(r),
        "aria-label": `Close ${r.symbol}`, "data-close": r.symbol }, "Close") },
  ], rows, { empty: "flat: no positions", sortKey: "unrealized_pl",
             rowAttrs: (r) => ({ "data-symbol": r.symbol }) });
}

function renderFills(payload) {
  const box = $("#fills");
  const rows = listOf(payload);
  if (!rows) return;
  if (!Array.isArray(rows)) return unavailable(box, rows);
  table(box, [
    { key: "symbol", label: "Symbol" },
    { key: "side", label: "Side", render: (r) => el("span", { class: r.side === "buy" ? "pos" : "neg" }, r.side) },
    { key: "qty", label: "Qty", num: true, render: (r) => decQty(r.qty) },
    { key: "price", label: "Price", num: true, render: (r) => decFmt(r.price) },
    { key: "commission", label: "Fees", num: true, render: (r) => decFmt(r.commission) },
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
  const dayPnl = decSub(a.equity, a.last_equity);
  const item = (k, v) => [el("dt", {}, k), el("dd", {}, v)];
  box.replaceChildren(el("dl", { class: "kv", style: "grid-template-columns: repeat(6, auto 1fr)" },
    item("Cash", moneyFmt(a.cash)), item("Equity", moneyFmt(a.equity)), item("Buying power", moneyFmt(a.buying_power)),
    item("Day P&L", pnlExact(dayPnl)), item("Day trades", num(a.daytrade_count, 0)),
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
  const n = orderRows(lastOrders).filter((r) => r.kind !== "group").length;
  const held = ((lastPositions && listOf(lastPositions)) || []).filter((p) => {
    const x = exitsOf(lastOrders, p.symbol, p.qty);
    return x.stops.length + x.targets.length > 0;
  }).map((p) => p.symbol);
  const ok = await confirmDialog("Cancel every open order?",
    `${n} open order${n === 1 ? "" : "s"} of account ${account.ref} (bracket exits included) will be cancelled.` +
    (held.length ? ` ${held.join(", ")} stay${held.length === 1 ? "s" : ""} open without ${held.length === 1 ? "its" : "their"} stop and target.` : ""),
    { confirm: "Cancel all orders", cancel: "Keep them" });
  if (!ok) return;
  try { const out = await act("paper_trading", "orders", "DELETE"); toast(`Cancelled ${Array.isArray(out) ? out.length : ""} orders`); refresh(); }
  catch (err) { toast(err.message, "err"); }
});
$("#close-all").addEventListener("click", async () => {
  const rows = (lastPositions && listOf(lastPositions)) || [];
  if (!Array.isArray(rows) || !rows.length) { toast("No positions to close"); return; }
  const ok = await confirmDialog("Close every position?",
    `${rows.map((p) => `${decQty(String(p.qty))} ${p.symbol}`).join(", ")} will be closed at market; every open order is cancelled first.`,
    { confirm: `Close ${rows.length} position${rows.length > 1 ? "s" : ""}`, cancel: "Keep them" });
  if (!ok) return;
  try {
    await act("paper_trading", "orders", "DELETE");
    const res = await Promise.allSettled(rows.map((p) => act("paper_trading", `positions/${encodeURIComponent(p.symbol)}`, "DELETE")));
    const bad = res.filter((r) => r.status === "rejected");
    toast(bad.length ? `Closing: ${bad.length} failed: ${bad[0].reason.message}` : `Closing ${rows.length} position${rows.length > 1 ? "s" : ""}`, bad.length ? "err" : "okay");
    refresh();
  } catch (err) { toast(err.message, "err"); }
});
refresh();
