// The chart page's fundamentals panel: coordination's GET /api/v1/fundamentals/<symbol>, each
// value with the provider it came from on hover, a missing one with the reason, a mark where
// providers disagree, and "simulated" for the built-in market's made-up figures.
// Amounts arrive as decimal strings and are abbreviated with BigInt (no float on the digits).
import { el, notice } from "./core.js";

const UNITS = [[12, "T"], [9, "B"], [6, "M"], [3, "K"]];

// "2895577263150" -> "2.90T" (prefix "$": "$2.90T"); two decimals, half up.
export function abbreviate(value, prefix = "") {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value).trim();
  const neg = text.startsWith("-");
  const whole = (neg ? text.slice(1) : text).split(".")[0] || "0";
  if (!/^\d+$/.test(whole)) return text;
  const n = BigInt(whole);
  for (const [exp, unit] of UNITS) {
    const scale = 10n ** BigInt(exp);
    if (n >= scale) {
      const c = (n * 100n + scale / 2n) / scale;
      return `${neg ? "-" : ""}${prefix}${c / 100n}.${String(c % 100n).padStart(2, "0")}${unit}`;
    }
  }
  return `${neg ? "-" : ""}${prefix}${whole}`;
}

// "0.0158" -> "1.58%" by moving the point (BigInt: the digits stay the provider's; half up).
export function percentOf(fraction) {
  if (fraction === null || fraction === undefined || fraction === "") return "—";
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(String(fraction).trim());
  if (!m) return String(fraction);
  const frac = (m[3] || "").padEnd(5, "0");
  let hundredths = BigInt(m[2] || "0") * 10000n + BigInt(frac.slice(0, 4));
  if (frac[4] >= "5") hundredths += 1n;
  return `${m[1]}${hundredths / 100n}.${String(hundredths % 100n).padStart(2, "0")}%`;
}

const fixed2 = (v) => {
  if (v === null || v === undefined || v === "") return "—";
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(String(v).trim());
  return m ? `${m[1]}${m[2]}.${(m[3] || "").padEnd(2, "0").slice(0, 2)}` : String(v);
};

const ROWS = [
  ["market_cap", "Market cap", (v) => abbreviate(v, "$")],
  ["float_shares", "Float", (v) => abbreviate(v)],
  ["shares_outstanding", "Shares out", (v) => abbreviate(v)],
  ["pe_ratio", "P/E", fixed2],
  ["eps", "EPS", (v) => (v === null || v === undefined ? "—" : `$${fixed2(v)}`)],
  ["sector", "Sector", (v) => v || "—"],
  ["industry", "Industry", (v) => v || "—"],
  ["dividend_yield", "Dividend yield", percentOf],
  ["beta", "Beta", fixed2],
  ["next_earnings_date", "Next earnings", (v) => v || "—"],
  ["last_earnings_date", "Last earnings", (v) => v || "—"],
];

// Fill `box` (and the heading's `badge`) from the upstream answer {available, data|message}.
export function showFundamentals(box, badge, payload) {
  badge.replaceChildren();
  if (!payload || payload.available === false) {
    box.replaceChildren(notice(payload?.message || "fundamentals are not available"));
    return;
  }
  const d = payload.data;
  const disagree = new Map((d.disagreements || []).map((x) => [x.field, x]));
  const dl = el("dl", { class: "kv fundamentals", "data-testid": "fundamentals" });
  for (const [key, label, fmt] of ROWS) {
    const value = d.fundamentals[key];
    const src = d.sources[key];
    const odd = disagree.get(key);
    let title = src ? `from ${src}` : (d.missing[key] || "no provider has it");
    if (odd) title += ` · providers disagree: ${Object.entries(odd.values).map(([p, v]) => `${p} ${v}`).join(", ")}`;
    dl.append(el("dt", {}, label),
      el("dd", { title, "data-field": key, "data-source": src || "", class: value === null ? "muted" : "" },
        fmt(value), odd ? el("span", { class: "warn-mark", "aria-label": "providers disagree" }, " ≠") : ""));
  }
  box.replaceChildren(dl);
  if (d.simulated) badge.append(el("span", { class: "pill", "data-testid": "fund-simulated",
    title: "the built-in market's made-up figures, not a data provider's" }, "simulated"));
  if (d.stale) badge.append(el("span", { class: "pill degraded", title: "a provider failed: its expired figures are shown" }, "stale"));
}
