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
    return el("p", { class: "acked" }, `Acknowledged by ${alert.acknowledged_by} at ${siteTime(alert.acknowledged_at)}`,
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

// The alert's own clip, played in the card (security staff see what triggered the alert).
function playButton(alert) {
  const button = el("button", { type: "button", class: "play" }, "Play clip");
  button.addEventListener("click", async () => {
    try {
      const clips = await (await api("GET", `/api/alerts/${alert.id}/clips`)).json();
      if (!clips.length) { flash("The clip is still being recorded; try again in a moment.", "info"); return; }
      button.replaceWith(...clips.map((clip) => el("video", { class: "alert-clip", controls: "", playsinline: "",
        preload: "auto", src: clip.video_url, "aria-label": `clip of alert ${alert.id}` })));
    } catch (error) {
      flash(error.message, "error");
    }
  });
  return el("p", {}, button);
}

function card(alert) {
  return el("article", { class: `alert kind-${alert.kind}${alert.acknowledged_at ? " acknowledged" : ""}`,
                         id: `alert-${alert.id}`, "data-alert": alert.id },
    alert.snapshot_url ? el("img", { src: alert.snapshot_url, alt: `snapshot of alert ${alert.id}`, loading: "lazy" }) : null,
    el("div", { class: "body" },
      el("h2", {}, `${alert.kind === "motion" ? "Motion" : alert.kind} · ${alert.camera_name}`),
      el("p", { class: "meta" }, el("time", { datetime: alert.time }, siteTime(alert.time)),
        alert.zone_names.length ? el("span", { class: "zone" }, ` · zone ${alert.zone_names.join(", ")}`) : "",
        alert.kind === "motion" ? ` · score ${alert.score.toFixed(2)}` : ""),
      alert.message && alert.kind !== "motion" ? el("p", {}, alert.message) : null,
      board.can_play && (alert.event_id || alert.clip_id) ? playButton(alert) : null,
      board.can_clips && (alert.event_id || alert.clip_id)
        ? el("p", {}, el("a", { href: `/clips?alert_id=${alert.id}` }, "Clips of this alert")) : null,
      board.can_cases && alert.clip_id
        ? el("p", {}, el("a", { href: `/cases?alert=${alert.id}`, class: "open-case" }, "Open a case from this alert"))
        : null,
      ackControls(alert)));
}

// True when the alert was not on the board before (a new alert, not a change to one).
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
  return !existing && matches(alert);
}

// Notifications while the board is open (in a tab, in the background, or installed on a phone's
// home screen). Shown through the service worker: Android allows no other way.
function notifyState() {
  const button = document.getElementById("notify");
  const state = document.getElementById("notify-state");
  if (!("Notification" in window) || !("serviceWorker" in navigator)) {
    state.textContent = "This browser cannot show notifications (it needs HTTPS or localhost).";
    return;
  }
  button.hidden = Notification.permission !== "default";
  state.textContent = { granted: "Notifications are on while this board is open.",
    denied: "Notifications are blocked for this site in the browser's settings.", default: "" }[Notification.permission];
}

async function notify(alert) {
  if (!("Notification" in window) || Notification.permission !== "granted" || alert.acknowledged_at) return;
  const where = alert.zone_names.length ? `${alert.zone_names.join(", ")} · ` : "";
  const options = { body: `${where}${siteTime(alert.time, true)}`, tag: `alert-${alert.id}`,
    icon: "/static/icons/icon-192.png", requireInteraction: true, data: { url: `/alerts#alert-${alert.id}` } };
  const registration = await navigator.serviceWorker.getRegistration("/");
  const title = `${alert.kind === "motion" ? "Motion" : alert.kind} · ${alert.camera_name}`;
  if (registration) await registration.showNotification(title, options);
  else new Notification(title, options);
}

function connect() {
  const state = document.getElementById("live-state");
  const source = new EventSource("/api/alerts/stream");
  source.addEventListener("open", () => { state.textContent = "live"; state.className = "badge live"; });
  source.addEventListener("alert", (event) => {
    const alert = JSON.parse(event.data);
    if (upsert(alert)) notify(alert).catch(() => null);
  });
  source.addEventListener("error", () => { state.textContent = "reconnecting…"; state.className = "badge"; });
}

// What a camera decodes (decode gates): ", idle, 7% decoded", or nothing before it says.
function decoding(c) {
  return c.decode_mode ? `, ${c.decode_mode}, ${Math.round(100 * c.decoded_fraction)}% decoded` : "";
}

// With a detect substream: ", detecting on the substream" and how much of the main stream
// clips decode, or the main stream and why.
function detecting(c) {
  if (c.detect_source === "substream") {
    const main = c.main_decoded_fraction;
    return ", detecting on the substream" + (main == null ? "" : `, main stream ${Math.round(100 * main)}% decoded`);
  }
  return c.detect_source === "main" ? `, detecting on the main stream: ${c.detect_error || "substream down"}` : "";
}

// With several recorder nodes: which one records the camera, and how it came to it.
function recorder(c) {
  return (c.node ? ` on node ${c.node}` : "") + (c.moved_from ? ` (${c.moved_from})` : "");
}

// Camera health under the title: online/offline, fps and the last error, every five seconds.
async function refreshCameras() {
  const cameras = await (await api("GET", "/api/cameras")).json();
  document.getElementById("camera-states").replaceChildren(...cameras.map((c) => el("li",
    { "data-camera": c.id, class: `state-${c.state}` },
    `${c.name}: ${c.state}${recorder(c)}${c.state === "online" ? ` (${c.fps} fps${decoding(c)}${detecting(c)})` : (c.last_error ? `: ${c.last_error}` : "")}`)));
}

// Alert delivery to phones, radios and mail: say so on the board when messages are not getting through.
async function refreshDelivery() {
  const { status } = await (await api("GET", "/api/notify/status")).json();
  const line = document.getElementById("delivery-state");
  const errors = Object.entries(status?.last_error || {});
  line.hidden = !status || (!status.failed && !errors.length);
  if (line.hidden) return;
  line.textContent = `Alert messages are not getting through: ${status.queued} waiting, ${status.failed} given up`
    + (errors.length ? ` (${errors.map(([channel, why]) => `${channel}: ${why}`).join("; ")})` : "") + ".";
}

document.addEventListener("DOMContentLoaded", () => {
  setInterval(() => refreshCameras().catch(() => null), 5000);
  refreshDelivery().catch(() => null);
  setInterval(() => refreshDelivery().catch(() => null), 30000);
  board = JSON.parse(document.getElementById("alert-data").textContent);
  [...board.alerts].reverse().forEach(upsert);
  document.getElementById("no-alerts").hidden = board.alerts.length > 0;
  connect();
  navigator.serviceWorker?.register("/sw.js", { scope: "/" }).catch(() => null);
  notifyState();
  document.getElementById("notify").addEventListener("click", async () => {
    await Notification.requestPermission();
    notifyState();
  });
});
