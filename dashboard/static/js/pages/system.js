// System: every service's state, uptime, restarts, health latency, breakers; restart; log tails;
// the workflow timeline.
import { $, api, confirmDialog, duration, el, emptyState, notice, num, on, start, table, time, toast } from "../core.js";
import { renderProviders, staleLine } from "../providers_view.js";
import { renderWorkflow } from "../workflow_view.js";

start();

function pill(text) { return el("span", { class: "pill " + String(text).replace(/\s+/g, "-") }, text); }

// Breakers not closed are listed (they matter); the closed ones are only counted.
function breakers(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return el("span", { class: "muted" }, "none");
  const bad = entries.filter(([, v]) => v !== "closed");
  const closed = entries.length - bad.length;
  return el("span", { title: entries.map(([k, v]) => `${k}: ${v}`).join("\n") },
    bad.map(([k, v]) => [pill(`${k}: ${v}`), " "]),
    closed ? el("span", { class: "muted" }, `${closed} closed`) : null);
}

async function restart(name) {
  const ok = await confirmDialog(`Restart ${name}?`,
    `The manager stops ${name} and starts it again: its requests in flight fail and pages that need it show it as down for a few seconds.`,
    { confirm: `Restart ${name}`, cancel: "Keep it running" });
  if (!ok) return;
  try { await api(`/api/v1/services/${name}/restart`, { method: "POST" }); toast(`Restart of ${name} requested`); }
  catch (err) { toast(err.message, "err"); }
}

// Who runs the processes (the overview's supervisor): the manager, or Docker Compose.
let compose = false;
let commands = {};

// PIDs as `hybrid_manager.py status` reports them: the process the manager started (gunicorn's
// master, or the stream server itself) and its workers. Without a manager there is no master:
// only the worker that answered /health is known.
function masterPid(r) {
  if (!r.managed) return el("span", { class: "muted", title: "no manager runs this suite (python hybrid_manager.py start)" }, "not managed");
  return r.master_pid ? el("span", { "data-pid": r.master_pid }, String(r.master_pid)) : el("span", { class: "muted" }, "—");
}
function workerPids(r) {
  if (!r.managed) return r.pid ? el("span", { class: "muted" }, `${r.pid} (answered /health)`) : "—";
  if (!r.worker_pids || !r.worker_pids.length) return el("span", { class: "muted" }, r.master_pid ? "none (one process)" : "—");
  return el("span", { "data-workers": r.worker_pids.join(",") }, r.worker_pids.join(", "));
}

// Under Docker Compose no manager runs: each row says the command that restarts it (in the
// PID column's place, which has no manager's PID to show) instead of a Restart button that
// could only fail.
function composeCommand(r) {
  const cmd = commands[r.name] || `docker compose restart ${r.name.replaceAll("_", "-")}`;
  return el("code", { class: "cmd", title: "run this where docker-compose.yml is" }, cmd);
}
function restartCell(r) {
  return r.name === "dashboard"
    ? el("span", { class: "muted", title: "restart the dashboard with hybrid_manager.py restart dashboard" }, "this page")
    : el("button", { type: "button", onclick: () => restart(r.name), "aria-label": `Restart ${r.name}` }, "Restart");
}
function render(h) {
  if (!h || !h.services) return;
  const sup = h.supervisor || { kind: "manager" };
  compose = sup.kind === "compose";
  commands = sup.commands || {};
  const note = $("#sys-supervisor");
  note.hidden = !compose;
  if (compose) note.replaceChildren("Processes are managed by Docker Compose, not by hybrid_manager.py: Docker restarts a failed container; restart one yourself with ",
    el("code", {}, "docker compose restart <service>"), ".");
  const first = h.services.find((r) => r.managed);
  $("#sys-checked").textContent = (compose ? "managed by Docker Compose · "
    : first ? `PIDs as hybrid_manager.py status reports them (manager ${first.manager_pid}) · `
    : "no manager runs this suite · ") + `checked ${time(h.checked_at)}`;
  const box = $("#services");
  box._sort = box._sort || { key: "port", dir: 1 };  // port order, ascending, until a header is clicked
  table(box, [
    { key: "name", label: "Service" },
    { key: "port", label: "Port", num: true },
    { key: "state", label: "State", render: (r) => pill(r.state) },
    compose ? { key: "cmd", label: "Restart with", nosort: true, render: composeCommand }
      : { key: "master_pid", label: "PID", num: true, render: masterPid },
    { key: "worker_pids", label: "Worker PIDs", nosort: true, render: workerPids },
    { key: "uptime_s", label: "Uptime", num: true, render: (r) => duration(r.uptime_s) },
    { key: "restarts", label: "Restarts", num: true },
    { key: "latency_ms", label: "Health ms", num: true, render: (r) => num(r.latency_ms, 1) },
    { key: "heartbeat_age_s", label: "Heartbeat age", num: true, render: (r) => r.heartbeat_age_s == null ? "—" : num(r.heartbeat_age_s, 1) + "s" },
    { key: "breakers", label: "Breakers (its own)", nosort: true, render: (r) => breakers(r.breakers) },
    { key: "error", label: "Last error", render: (r) => el("span", { class: "muted" }, r.error || r.last_reason || "") },
    compose ? null : { key: "x", label: "", nosort: true, render: restartCell },
  ].filter(Boolean), h.services, { sortKey: "port" });
  const sel = $("#log-service");
  if (!sel.options.length) {
    for (const r of [...h.services].sort((a, b) => a.port - b.port)) sel.append(el("option", { value: r.name }, r.name));
    loadLog();
  }
}

// The log as a person reads it: time, service, level, message (the dashboard parses the JSON
// lines); the level filter hides what is below it (slow-query timings are debug).
function logLine(e) {
  return el("div", { class: "logline lvl-" + e.level.toLowerCase(), "data-level": e.level },
    el("span", { class: "muted" }, e.time ? time(e.time) : ""), " ",
    el("span", { class: "svc" }, e.service), " ",
    el("b", { class: e.level === "ERROR" || e.level === "CRITICAL" ? "neg" : e.level === "WARNING" ? "warn" : "muted" }, e.level), " ",
    el("span", {}, e.message),
    e.details ? el("span", { class: "muted" }, " — " + e.details) : null);
}
async function loadLog() {
  const name = $("#log-service").value, level = $("#log-level").value;
  if (!name) return;
  const box = $("#log");
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  try {
    const d = await api(`/api/v1/services/${name}/logs`, { query: { lines: 80, level } });
    if (!d.lines.length) box.replaceChildren(emptyState(`No log from ${name} yet.`, `It writes ${d.path} once it starts; ` +
      (compose ? `its console: docker compose logs ${name.replaceAll("_", "-")}.` : "start it with hybrid_manager.py start.")));
    else if (!d.entries.length) box.replaceChildren(emptyState(`Nothing at ${level} or above in the last ${d.lines.length} lines of ${name}'s log.`, "Choose a lower level (debug shows everything)."));
    else box.replaceChildren(...d.entries.map(logLine));
    if (atEnd) box.scrollTop = box.scrollHeight;
  } catch (err) { box.replaceChildren(notice(err.message)); }
}
$("#log-service").addEventListener("change", loadLog);
$("#log-level").addEventListener("change", loadLog);
setInterval(loadLog, 5000);
on("health", render);

// Data providers: coordination owns market data, so its answer is the one that counts.
async function loadProviders() {
  const box = $("#providers");
  try {
    const up = await api("/api/v1/upstream/coordination/providers");
    if (!up.available) {
      box.replaceChildren(emptyState(up.down ? "Coordination is down, and it owns market data." : "Coordination has no providers endpoint.",
        up.message || "Start it with hybrid_manager.py start coordination."));
      $("#prov-stale").textContent = "";
      return;
    }
    renderProviders(box, up.data);
    $("#prov-stale").textContent = staleLine(up.data);
    $("#prov-checked").textContent = `routes from market.routes · wall-clock times · checked ${time(up.data.checked_at)}`;
  } catch (err) { box.replaceChildren(notice(err.message)); }
}
loadProviders();
setInterval(loadProviders, 5000);
on("workflow", (w) => renderWorkflow($("#timeline"), w));
api("/api/v1/overview").then(render).catch((e) => $("#services").replaceChildren(notice(e.message)));
