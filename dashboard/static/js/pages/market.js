// Market clock (mode, pace, speed, pause/resume/step, session and time), the automation
// (start/pause/stop, one cycle now) and the workflow runs, all through coordination.
import { $, ApiError, account, accountReady, api, el, isAutomation, num, on, start, time, toast } from "../core.js";
import { renderWorkflow } from "../workflow_view.js";

start();
// the automation trades its own paper account whichever one this page shows
accountReady.then(() => {
  $("#auto-scope").textContent = isAutomation() ? "" : `These act on the automation's account, not ${account.ref}.`;
});

const item = (k, v) => [el("dt", {}, k), el("dd", {}, v)];

let lastClock = null;
function render(c) {
  if (!c) return;
  lastClock = c;
  const box = $("#clock");
  if (c.available === false) { box.textContent = c.message; return; }
  box.dataset.now = c.now || "";
  box.replaceChildren(el("dl", { class: "kv" },
    item("Now", el("b", { id: "clock-now" }, time(c.now))), item("Mode", c.mode || "—"), item("Pace", c.pace || "—"),
    item("Speed", c.speed == null ? "—" : "x" + num(c.speed, 1)),
    item("State", el("span", { class: c.paused ? "warn" : "pos" }, c.paused ? "❚❚ paused" : "▶ running")),
    item("Market", c.is_open ? el("span", { class: "pos" }, "● open") : el("span", { class: "muted" }, "○ closed")),
    item("Session", c.session || "— (closed)"), item("Step", c.step_minutes ? `${c.step_minutes} min` : "—"),
    item("Next open", time(c.next_open)), item("Next close", time(c.next_close)),
    item("Replay", c.mode === "replay" ? `${(c.replay_start || "").slice(0, 10)} → ${(c.replay_end || "").slice(0, 10)}` : "—"),
    item("Market run", el("b", { id: "clock-run", title: "a rewind starts a new run" }, c.run == null ? "—" : String(c.run)))));
  $("#clock-source").textContent = c.source === "coordination" ? "from coordination" : "read from the database";
  const controls = c.controls !== false;
  for (const b of document.querySelectorAll("#clock-controls button, #clock-controls input, #clock-controls select")) b.disabled = !controls;
  if (document.activeElement !== $("#speed") && c.speed != null) $("#speed").value = c.speed;
  if (document.activeElement !== $("#pace") && c.pace) $("#pace").value = c.pace;
  if (!controls) $("#err-clock").textContent = `⚠ Clock controls off: ${c.controls_message || "coordination is down"}.`;
  else if ($("#err-clock").dataset.kind === "down") $("#err-clock").textContent = "";
  $("#err-clock").dataset.kind = controls ? "" : "down";
}

async function control(action, body = {}) {
  $("#err-clock").textContent = "";
  try { render(await api(`/api/v1/clock/${action}`, { method: "POST", body })); toast(`clock: ${action}`); }
  catch (err) { $("#err-clock").textContent = err instanceof ApiError ? err.message : String(err); }
}
// Step count and speed are checked here first, in plain words (the server checks them too).
function stepCount() {
  const raw = $("#step-n").value.trim();
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 100000) {
    $("#err-clock").textContent = `Steps must be a whole number from 1 to 100,000; you typed "${raw}".`;
    return null;
  }
  return Number(raw);
}
for (const b of document.querySelectorAll("[data-act]")) {
  b.addEventListener("click", () => {
    if (b.dataset.act !== "step") return control(b.dataset.act);
    const n = stepCount();
    if (n !== null) control("step", { n });
  });
}
$("#set-speed").addEventListener("click", () => {
  const body = { pace: $("#pace").value };
  const raw = $("#speed").value.trim();
  if (raw) {
    const speed = Number(raw);
    if (!Number.isFinite(speed) || speed <= 0 || speed > 1e6) {
      $("#err-clock").textContent = `Speed must be a number greater than 0 and at most 1,000,000 (e.g. 60 for a minute a second); you typed "${raw}".`;
      return;
    }
    body.speed = speed;
  }
  control("configure", body);
});
// Rewind: destructive (the run's books are archived), so it asks first.
function showRewind(open) {
  $("#rewind-confirm").hidden = !open;
  if (!open) return;
  $("#err-clock").textContent = "";
  const c = lastClock || {};
  $("#rewind-to").textContent = c.replay_start ? time(c.replay_start) : "the replay's first open";
  $("#rewind-run").textContent = c.run == null ? "a new run" : `run ${c.run + 1}`;
  $("#rewind-cancel").focus();
}
$("#clock-rewind").addEventListener("click", () => showRewind(true));
$("#rewind-cancel").addEventListener("click", () => showRewind(false));
$("#rewind-go").addEventListener("click", async () => {
  showRewind(false);
  await control("rewind");
  loadWorkflow();
});

function renderAutomation(a) {
  if (!a) return;
  const box = $("#automation");
  const btns = document.querySelectorAll("#auto-controls button, #auto-controls input");
  if (a.available === false) {
    box.replaceChildren(el("div", { class: "notice" }, a.down ? `⚠ coordination is down: ${a.message}` : a.message));
    $("#auto-state").textContent = "";
    for (const b of btns) b.disabled = true;
    return;
  }
  for (const b of btns) b.disabled = false;
  const d = a.data || a;
  $("#auto-state").textContent = d.state;
  for (const b of document.querySelectorAll("[data-auto]")) b.setAttribute("aria-pressed", String(b.dataset.auto === d.state));
  box.replaceChildren(el("dl", { class: "kv" },
    item("State", el("span", { class: d.state === "running" ? "pos" : "warn", id: "auto-state-value" }, d.state)),
    item("Cycles every", d.cycle_every === "bar" ? `bar (${d.step_minutes} min)` : `${d.step_minutes} min`),
    item("Last step", time(d.last_step_ts)), item("Loop runs in", d.loop_holder || "— (no loop)")));
}

async function setAutomation(state) {
  $("#err-auto").textContent = "";
  try {
    const d = await api("/api/v1/automation", { method: "POST", body: { state } });
    renderAutomation({ available: true, data: d });
    toast(`automation ${state}${d.acknowledged === false ? " (a cycle was still running)" : ""}`);
  } catch (err) { $("#err-auto").textContent = err.message; }
}
for (const b of document.querySelectorAll("[data-auto]")) b.addEventListener("click", () => setAutomation(b.dataset.auto));

$("#run-cycle").addEventListener("click", async () => {
  const btn = $("#run-cycle");
  btn.disabled = true;
  btn.textContent = "Running…";
  $("#err-auto").textContent = "";
  try {
    const run = await api("/api/v1/cycle", { method: "POST", body: { advance_steps: Number($("#cycle-steps").value) || 0 } });
    toast(`cycle ${run.status} in ${num(run.duration_ms, 0)} ms`);
    loadWorkflow();
    api("/api/v1/clock").then(render).catch(() => {});
  } catch (err) { $("#err-auto").textContent = err.message; }
  finally { btn.disabled = false; btn.textContent = "Run one cycle now"; }
});

function loadWorkflow() { api("/api/v1/workflow").then((w) => renderWorkflow($("#workflow"), w, { max: 8 })).catch(() => {}); }

on("clock", render);
on("automation", renderAutomation);
on("workflow", (w) => renderWorkflow($("#workflow"), w, { max: 8 }));
api("/api/v1/clock").then(render).catch(() => {});
api("/api/v1/automation").then(renderAutomation).catch(() => {});
loadWorkflow();
