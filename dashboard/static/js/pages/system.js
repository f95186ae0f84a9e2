// System: every service's state, uptime, restarts, health latency, breakers; restart; log tails;
// the workflow timeline.
import { $, api, duration, el, notice, num, on, start, table, time, toast } from "../core.js";
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
  try { await api(`/api/v1/services/${name}/restart`, { method: "POST" }); toast(`Restart of ${name} requested`); }
  catch (err) { toast(err.message, "err"); }
}

function render(h) {
  if (!h || !h.services) return;
  $("#sys-checked").textContent = `checked ${time(h.checked_at)}`;
  table($("#services"), [
    { key: "name", label: "Service" },
    { key: "port", label: "Port", num: true },
    { key: "state", label: "State", render: (r) => pill(r.state) },
    { key: "pid", label: "PID", num: true },
    { key: "uptime_s", label: "Uptime", num: true, render: (r) => duration(r.uptime_s) },
    { key: "restarts", label: "Restarts", num: true },
    { key: "latency_ms", label: "Health ms", num: true, render: (r) => num(r.latency_ms, 1) },
    { key: "heartbeat_age_s", label: "Heartbeat age", num: true, render: (r) => r.heartbeat_age_s == null ? "—" : num(r.heartbeat_age_s, 1) + "s" },
    { key: "breakers", label: "Breakers (its own)", nosort: true, render: (r) => breakers(r.breakers) },
    { key: "error", label: "Last error", render: (r) => el("span", { class: "muted" }, r.error || r.last_reason || "") },
    { key: "x", label: "", nosort: true, render: (r) => el("button", { type: "button", onclick: () => restart(r.name),
        "aria-label": `Restart ${r.name}` }, "Restart") },
  ], h.services, { sortKey: "port" });
  const sel = $("#log-service");
  if (!sel.options.length) {
    for (const s of [...h.services.map((x) => x.name), "dashboard"]) sel.append(el("option", { value: s }, s));
    loadLog();
  }
}

async function loadLog() {
  const name = $("#log-service").value;
  if (!name) return;
  try {
    const d = await api(`/api/v1/services/${name}/logs`, { query: { lines: 80 } });
    $("#log").textContent = d.lines.length ? d.lines.join("\n") : `(no log yet at ${d.path})`;
    $("#log").scrollTop = $("#log").scrollHeight;
  } catch (err) { $("#log").textContent = err.message; }
}
$("#log-service").addEventListener("change", loadLog);
setInterval(loadLog, 5000);
on("health", render);
on("workflow", (w) => renderWorkflow($("#timeline"), w));
api("/api/v1/overview").then(render).catch((e) => $("#services").replaceChildren(notice(e.message)));
