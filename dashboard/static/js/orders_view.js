// Open orders as a trader reads them: a bracket / OCO / OTO is its parent with its legs
// (role, type, prices, status in words); a parent that has filled is no longer an open order,
// only its working exits are. Positions get their stop and target from those exits.
// Amounts are formatted from paper trading's decimal strings, never through a float.

// Round a decimal string half away from zero to `digits` and group thousands: exact.
export function decFmt(v, digits = 2) {
  if (v === null || v === undefined || v === "") return "—";
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(v));
  if (!m || (m[2] === "" && !m[3])) return String(v);
  const neg = m[1] === "-";
  const frac = (m[3] || "").padEnd(digits + 1, "0");
  let units = BigInt((m[2] || "0") + frac.slice(0, digits));
  if (Number(frac[digits]) >= 5) units += 1n;  // half away from zero (sign applied after)
  let s = units.toString().padStart(digits + 1, "0");
  const int = s.slice(0, s.length - digits), dec = s.slice(s.length - digits);
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const zero = units === 0n;
  return (neg && !zero ? "-" : "") + grouped + (digits ? "." + dec : "");
}
export function moneyFmt(v) {
  if (v === null || v === undefined || v === "") return "—";
  const t = decFmt(v);
  return t.startsWith("-") ? "-$" + t.slice(1) : "$" + t;
}
const isZero = (v) => /^-?0\.00$/.test(decFmt(v));
const isNeg = (v) => decFmt(v).startsWith("-");

// P&L from its decimal string: colour, sign and arrow (readable without colour too).
export function pnlExact(v, suffix = "") {
  const span = document.createElement("span");
  if (v === null || v === undefined || v === "") { span.textContent = "—"; return span; }
  const neg = isNeg(v), zero = isZero(v);
  const abs = String(v).trim().replace(/^[+-]/, "");
  span.className = zero ? "flat" : neg ? "neg" : "pos";
  span.textContent = (zero ? "• " : neg ? "▼ −" : "▲ +") + decFmt(abs) + suffix;
  span.dataset.value = String(v);
  return span;
}

const WORDS = {
  new: "working", accepted: "accepted, not yet working", pending_new: "being sent",
  held: "held until the entry fills", partially_filled: "partly filled", filled: "filled",
  canceled: "canceled", expired: "expired", pending_cancel: "cancel pending",
  pending_replace: "replace pending", replaced: "replaced", rejected: "rejected",
  done_for_day: "done for the day", stopped: "stopped", suspended: "suspended",
  calculated: "calculated", accepted_for_bidding: "accepted for bidding",
};
const OPEN = new Set(["new", "accepted", "pending_new", "held", "partially_filled", "pending_cancel",
  "pending_replace", "accepted_for_bidding", "calculated"]);
export const isOpen = (o) => OPEN.has(o.status);

// The order's real status in words ("partly filled: 3 of 10").
export function statusWords(o) {
  const w = WORDS[o.status] || String(o.status || "unknown").replace(/_/g, " ");
  if (o.status === "partially_filled") return `${w}: ${decQty(o.filled_qty)} of ${decQty(o.qty)}`;
  if (o.status === "filled" && o.filled_avg_price) return `${w} at ${decFmt(o.filled_avg_price)}`;
  return w;
}
export function decQty(v) {
  if (v === null || v === undefined || v === "") return "—";
  const s = String(v);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : decFmt(s, 0);
}

// What a leg does: its limit takes profit, its stop cuts the loss.
export function role(o, parent) {
  if (!parent) {
    if (o.order_class === "oco") return "take-profit";
    return o.order_class && o.order_class !== "simple" ? "entry" : "";
  }
  return o.type === "limit" ? "take-profit" : "stop-loss";
}

const CLASS_WORDS = { bracket: "Bracket", oco: "OCO", oto: "OTO", simple: "" };

// Rows to draw: {kind: "order"|"leg"|"group", order, parent, role, cancellable}.
// An open parent lists its open legs under it (cancelled with it); a parent no longer open
// is a group line (not an order row) over its working legs, each cancellable.
export function orderRows(orders) {
  const out = [];
  for (const o of orders || []) {
    const legs = (o.legs || []).filter(isOpen);
    if (isOpen(o)) {
      out.push({ kind: "order", order: o, parent: null, role: role(o, null), cancellable: true });
      for (const l of legs) out.push({ kind: "leg", order: l, parent: o, role: role(l, o), cancellable: false });
    } else if (legs.length) {
      out.push({ kind: "group", order: o, parent: null, role: "", cancellable: false });
      for (const l of legs) out.push({ kind: "leg", order: l, parent: o, role: role(l, o), cancellable: true });
    }
  }
  return out;
}

export function groupText(o) {
  const what = `${CLASS_WORDS[o.order_class] || o.order_class} ${o.symbol}`;
  const did = o.side === "buy" ? "bought" : "sold";
  return `${what} · entry ${statusWords(o)} (${did} ${decQty(o.filled_qty)}) · its exits still working:`;
}

// The working exits of a position: every open, not held, order or leg on the other side.
// Returns {stops: [{price, id}], targets: [{price, id}]}.
export function exitsOf(orders, symbol, qty) {
  const exitSide = Number(qty) > 0 ? "sell" : "buy";
  const stops = [], targets = [];
  const look = (o) => {
    if (o.symbol !== symbol || o.side !== exitSide || !isOpen(o) || o.status === "held") return;
    if (o.type === "limit") targets.push({ price: o.limit_price, id: o.id });
    else if (o.type === "stop" || o.type === "stop_limit" || o.type === "trailing_stop") {
      stops.push({ price: o.stop_price ?? o.trail_price, id: o.id });
    }
  };
  for (const o of orders || []) { look(o); for (const l of o.legs || []) look(l); }
  return { stops, targets };
}

// a - b of two decimal strings, exact to the micro-unit (paper trading's precision).
export function decSub(a, b) {
  if (a == null || b == null || a === "" || b === "") return null;
  const micros = (v) => {
    const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(v));
    if (!m) return null;
    const n = BigInt((m[2] || "0") + (m[3] || "").padEnd(6, "0").slice(0, 6));
    return m[1] === "-" ? -n : n;
  };
  const x = micros(a), y = micros(b);
  if (x === null || y === null) return null;
  const d = x - y, abs = (d < 0n ? -d : d).toString().padStart(7, "0");
  return (d < 0n ? "-" : "") + abs.slice(0, -6) + "." + abs.slice(-6);
}

// A decimal string times 10^places, by moving its point (a fraction as a percentage: exact).
export function decShift(v, places) {
  if (v === null || v === undefined || v === "") return v;
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(v));
  if (!m) return v;
  const frac = (m[3] || "").padEnd(places, "0");
  const int = ((m[2] || "0") + frac.slice(0, places)).replace(/^0+(?=\d)/, "");
  const rest = frac.slice(places);
  return m[1] + int + (rest ? "." + rest : "");
}
