"use strict";
// The alert board: initial alerts from the page, then every new or changed alert over SSE.
let board;

function matches(alert) {
  const f = board.filters;
  return (!f.camera || alert.camera_id === f.camera) && (!f.zone || alert.zones.includes(f.zone))
    && (!f.unacknowledged || !alert.acknowledged_at);
}

function ackControls(alert) {
  if (alert.acknowledged_at) {
    return el("p", { class: "acked" }, `Acknowledged by ${alert.acknowledged_by} at ${alert.acknowledged_at}`,
      alert.ack_note ? `: ${alert.ack_note}` : "");
  }
  if (!board.can_ack) return el("p", { class: "muted" }, "Not acknowledged");
  const note = el("input", { name: "note", placeholder: "note (what you did)", maxlength: "2000" });
  const form = el("form", { class: "ack inline" }, note, el("button", { type: "submit" }, "Acknowledge"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      upsert(await (await api("POST", `/api/alerts/${alert.id}/ack`, { note: note.value })).json());
    } catch (error) {
      flash(error.message, "error");
    }
  });
  return form;
}

function card(alert) {
  const when = new Date(alert.time);
  return el("article", { class: `alert kind-${alert.kind}${alert.acknowledged_at ? " acknowledged" : ""}`,
                         id: `alert-${alert.id}`, "data-alert": alert.id },
    alert.snapshot_url ? el("img", { src: alert.snapshot_url, alt: `snapshot of alert ${alert.id}`, loading: "lazy" }) : null,
    el("div", { class: "body" },
      el("h2", {}, `${alert.kind === "motion" ? "Motion" : alert.kind} · ${alert.camera_id}`),
      el("p", { class: "meta" }, el("time", { datetime: alert.time }, when.toLocaleString()),
        alert.zones.length ? ` · zone ${alert.zones.join(", ")}` : "",
        alert.kind === "motion" ? ` · score ${alert.score.toFixed(2)}` : ""),
      alert.message ? el("p", {}, alert.message) : null,
      board.can_clips && (alert.event_id || alert.clip_id)
        ? el("p", {}, el("a", { href: `/clips?alert_id=${alert.id}` }, "Clips of this alert")) : null,
      board.can_cases && alert.clip_id
        ? el("p", {}, el("a", { href: `/cases?alert=${alert.id}`, class: "open-case" }, "Open a case from this alert"))
        : null,
      ackControls(alert)));
}

function upsert(alert) {
  const list = document.getElementById("alerts");
  const existing = document.getElementById(`alert-${alert.id}`);
  if (!matches(alert)) {
    existing?.remove();
  } else if (existing) {
    existing.replaceWith(card(alert));
  } else {
    const newer = [...list.children].find((node) => Number(node.dataset.alert) < alert.id);
    list.insertBefore(card(alert), newer || null);
  }
  document.getElementById("no-alerts").hidden = list.children.length > 0;
}

function connect() {
  const state = document.getElementById("live-state");
  const source = new EventSource("/api/alerts/stream");
  source.addEventListener("open", () => { state.textContent = "live"; state.className = "badge live"; });
  source.addEventListener("alert", (event) => upsert(JSON.parse(event.data)));
  source.addEventListener("error", () => { state.textContent = "reconnecting…"; state.className = "badge"; });
}

// Camera health under the title: online/offline, fps and the last error, every five seconds.
async function refreshCameras() {
  const cameras = await (await api("GET", "/api/cameras")).json();
  document.getElementById("camera-states").replaceChildren(...cameras.map((c) => el("li",
    { "data-camera": c.id, class: `state-${c.state}`, title: c.last_error || "" },
    `${c.name}: ${c.state}${c.state === "online" ? ` (${c.fps} fps)` : ""}`)));
}

document.addEventListener("DOMContentLoaded", () => {
  setInterval(() => refreshCameras().catch(() => null), 5000);
  board = JSON.parse(document.getElementById("alert-data").textContent);
  [...board.alerts].reverse().forEach(upsert);
  document.getElementById("no-alerts").hidden = board.alerts.length > 0;
  connect();
});
