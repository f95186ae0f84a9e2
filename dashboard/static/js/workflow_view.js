// The workflow runs as a timeline: one row per step with its duration bar and error.
import { el, notice, num, time } from "./core.js";

export function renderWorkflow(box, payload) {
  if (!payload) return;
  if (payload.available === false) {
    box.replaceChildren(notice(payload.down ? `coordination is down: ${payload.message}`
      : `Workflow timeline not available yet: ${payload.message}.`));
    return;
  }
  const d = payload.data;
  const runs = Array.isArray(d) ? d : (d && (d.runs || d.items)) || [];
  if (!runs.length) { box.replaceChildren(notice("no workflow runs yet")); return; }
  box.replaceChildren(...runs.slice(0, 5).map((run) => {
    const steps = run.steps || [];
    const longest = Math.max(1, ...steps.map((s) => Number(s.duration_ms ?? s.duration ?? 0)));
    return el("div", { class: "timeline", style: "margin-bottom:10px" },
      el("div", {}, el("b", {}, `Run ${run.id ?? ""} `), el("span", { class: "muted" },
        `${time(run.started_at || run.start)} · ${run.status || ""} · ${num(run.duration_ms, 0)} ms`)),
      steps.map((s) => {
        const ms = Number(s.duration_ms ?? s.duration ?? 0);
        return el("div", { class: "step" }, el("span", {}, s.name || s.step || "?"),
          el("div", {}, el("div", { class: "bar" + (s.error ? " err" : ""), style: `width:${Math.max(2, (ms / longest) * 100)}%` }),
            s.error ? el("div", { class: "neg" }, s.error) : null),
          el("span", { class: "num" }, `${num(ms, 0)} ms`));
      }));
  }));
}
