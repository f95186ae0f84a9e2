// Coordination's workflow runs as a timeline: one block per run (trigger, market time, status,
// degraded services), one row per step with its duration bar and error.
import { el, notice, num, time } from "./core.js";

function pill(text) { return el("span", { class: "pill " + String(text || "").replace(/\s+/g, "-") }, text || "?"); }

function summary(s) {
  if (!s || typeof s !== "object") return "";
  const parts = [];
  if (Array.isArray(s.candidates)) parts.push(`${s.candidates.length} candidates`);
  for (const k of ["intents", "orders", "accepted", "exits"]) if (s[k] !== undefined) parts.push(`${s[k]} ${k}`);
  return parts.join(" · ");
}

export function renderWorkflow(box, payload, { max = 5 } = {}) {
  if (!payload) return;
  if (payload.available === false) {
    box.replaceChildren(notice(payload.down ? `⚠ coordination is down — no workflow runs to show (${payload.message})`
      : payload.message || "workflow runs unavailable"));
    return;
  }
  const runs = payload.runs || [];
  box.dataset.runs = String(runs.length);
  if (!runs.length) { box.replaceChildren(notice("no workflow runs yet — start the automation or run one cycle")); return; }
  box.replaceChildren(...runs.slice(0, max).map((run) => {
    const steps = run.steps || [];
    const total = Math.max(1, Number(run.duration_ms) || steps.reduce((a, s) => a + Number(s.duration_ms || 0), 0));
    const degraded = run.degraded || [];
    return el("div", { class: "timeline run", "data-run-id": run.id },
      el("div", { class: "runhead" }, pill(run.status), " ",
        el("b", {}, time(run.clock_ts)), el("span", { class: "muted" },
          `${run.market_run ? ` · market run ${run.market_run}` : ""} · ${run.trigger || ""} · ${num(run.duration_ms, 0)} ms · ${summary(run.summary)}`),
        degraded.length ? el("span", { class: "warn" }, ` ⚠ degraded: ${degraded.join(", ")}`) : null),
      run.error ? el("div", { class: "neg" }, run.error) : null,
      steps.map((s) => {
        const ms = Number(s.duration_ms || 0);
        const bad = s.status === "failed" || s.error;
        return el("div", { class: "step" },
          el("span", {}, s.name, " ", s.status && s.status !== "ok" ? pill(s.status) : null),
          el("div", {}, el("div", { class: "bar" + (bad ? " err" : s.status === "degraded" ? " warnbar" : ""),
            style: `width:${Math.max(1, (ms / total) * 100)}%` }),
          s.error ? el("div", { class: "neg small" }, s.error) : null),
          el("span", { class: "num" }, `${num(ms, 0)} ms`));
      }),
      steps.length === 0 && run.status === "running" ? el("div", { class: "muted" }, "running…") : null);
  }));
}
