// Market clock: mode, pace, speed, paused, session and time; controls when coordination offers them.
import { $, ApiError, api, el, num, on, start, time, toast } from "../core.js";
import { renderWorkflow } from "../workflow_view.js";

start();

function render(c) {
  if (!c) return;
  const box = $("#clock");
  if (c.available === false) { box.textContent = c.message; return; }
  const item = (k, v) => [el("dt", {}, k), el("dd", {}, v)];
  box.replaceChildren(el("dl", { class: "kv" },
    item("Now (UTC)", time(c.now)), item("Mode", c.mode || "—"), item("Pace", c.pace || "—"),
    item("Speed", c.speed == null ? "—" : "x" + num(c.speed, 1)), item("Paused", c.paused ? "yes" : "no"),
    item("Market", c.is_open ? "open" : "closed"), item("Session", c.session || "—"),
    item("Next open", time(c.next_open)), item("Next close", time(c.next_close)),
    item("Step", c.step_minutes ? `${c.step_minutes} min` : "—")));
  $("#clock-source").textContent = c.source === "coordination" ? "from coordination" : "read from the database";
  const controls = c.controls !== false;
  for (const b of document.querySelectorAll("#clock-controls button, #speed")) b.disabled = !controls;
  $("#err-clock").textContent = controls ? "" : `Clock controls not available yet: ${c.controls_message || "coordination offers no clock endpoint"}.`;
}

async function control(action, body = {}) {
  try { render(await api(`/api/v1/clock/${action}`, { method: "POST", body })); toast(`clock: ${action}`); }
  catch (err) { $("#err-clock").textContent = err instanceof ApiError ? err.message : String(err); }
}
for (const b of document.querySelectorAll("[data-act]")) b.addEventListener("click", () => control(b.dataset.act));
$("#set-speed").addEventListener("click", () => control("configure", { speed: Number($("#speed").value) }));
on("clock", render);
on("workflow", (w) => renderWorkflow($("#workflow"), w));
api("/api/v1/clock").then(render).catch(() => {});
