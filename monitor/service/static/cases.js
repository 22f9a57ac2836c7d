"use strict";
// Cases and the incident timeline. Times are drawn in the site's time zone (app.js's siteTime),
// whatever the phone's.

async function download(response, fallback) {
  const name = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "")?.[1] || fallback;
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: name }, `Download ${name}`);
  link.click();
  return link;
}

function caseForms() {
  const caseForm = document.getElementById("case-form");
  caseForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const alertId = caseForm.dataset.alert;
    try {
      const made = await (await api("POST", alertId ? `/api/cases/from-alert/${alertId}` : "/api/cases",
        formJSON(caseForm))).json();
      window.location.href = `/cases/${made.id}`;
    } catch (error) { flash(error.message, "error"); }
  });
  const box = document.getElementById("case");
  if (!box) return;
  const caseId = box.dataset.case;
  const call = async (method, url, body, done) => {
    try {
      await api(method, url, body);
      if (done) flash(done, "ok");
      window.location.reload();
    } catch (error) { flash(error.message, "error"); }
  };
  const submit = (id, handler) => document.getElementById(id)?.addEventListener("submit", (event) => {
    event.preventDefault();
    handler(event.target);
  });
  submit("narrative-form", (form) => call("PATCH", `/api/cases/${caseId}`, formJSON(form)));
  submit("add-clip-form", (form) => call("POST", `/api/cases/${caseId}/clips`, formJSON(form)));
  submit("photo-form", (form) => {
    const body = formJSON(form);
    body.offset_seconds = Number(body.offset_seconds);
    call("POST", `/api/cases/${caseId}/photos`, body);
  });
  for (const button of document.querySelectorAll(".remove-clip")) {
    button.addEventListener("click", () => call("DELETE", `/api/cases/${caseId}/clips/${button.dataset.clip}`));
  }
  document.getElementById("close-case")?.addEventListener("click", () => {
    if (window.confirm("Close this case? Its legal holds are released.")) call("POST", `/api/cases/${caseId}/close`);
  });
  document.getElementById("make-report")?.addEventListener("click", async () => {
    const state = document.getElementById("report-state");
    state.textContent = "verifying every clip and writing the report…";
    try {
      const response = await api("POST", `/api/cases/${caseId}/report`);
      const sha = response.headers.get("X-Report-SHA256");
      state.replaceChildren(await download(response, "report.pdf"), ` · SHA-256 ${sha} (recorded in the custody log)`);
      state.className = "ok";
    } catch (error) { state.textContent = error.message; state.className = "failed"; }
  });
  submit("case-export-form", async (form) => {
    try {
      const link = await download(await api("POST", `/api/cases/${caseId}/export`, formJSON(form)), "case.zip");
      link.id = "case-bundle-link";
      form.after(el("p", { class: "ok" }, "Case bundle ready: ", link));
      flash("Exported; the disclosure is recorded in the custody log.", "ok");
    } catch (error) { flash(error.message, "error"); }
  });
}

// ---- the timeline ----
const TICKS = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((s) => s * 1000);

class Timeline {
  constructor(box) {
    this.box = box;
    this.since = Date.parse(box.dataset.since);
    this.until = Date.parse(box.dataset.until);
    this.caseId = box.dataset.case;
    this.canAdd = box.dataset.canAdd === "true";
    this.player = document.getElementById("player");
    this.cursor = null;
    this.playing = null;
    this.pendingSeek = null;
    this.player.addEventListener("loadedmetadata", () => this.seek());
  }

  async load() {
    const params = new URLSearchParams({ since: new Date(this.since).toISOString(), until: new Date(this.until).toISOString() });
    this.data = await (await api("GET", `/api/timeline?${params}`)).json();
    this.clips = this.data.clips.map((c) => ({ ...c, t0: Date.parse(c.start), t1: Math.max(Date.parse(c.end), Date.parse(c.start)) }));
    this.alerts = this.data.alerts.map((a) => ({ ...a, t: Date.parse(a.time) }));
    this.events = [...this.clips.map((c) => ({ t: c.t0, clip: c })),
      ...this.alerts.map((a) => ({ t: a.t, alert: a }))].sort((a, b) => a.t - b.t);
    this.draw();
  }

  x(t) { return ((t - this.since) / (this.until - this.since)) * 100; }

  draw() {
    const span = this.until - this.since;
    const step = TICKS.find((s) => span / s <= 8) || TICKS[TICKS.length - 1];
    const axis = document.getElementById("axis");
    axis.replaceChildren();
    for (let t = Math.ceil(this.since / step) * step; t <= this.until; t += step) {
      const clock = siteTime(new Date(t).toISOString(), true).split(" ")[0];
      axis.append(el("span", { class: "tick", style: `left:${this.x(t)}%` }, step < 60000 ? clock : clock.slice(0, 5)));
    }
    const lanes = document.getElementById("lanes");
    lanes.replaceChildren();
    if (!this.data.cameras.length) lanes.append(el("p", { class: "muted" }, "Nothing recorded in this window."));
    for (const camera of this.data.cameras) {
      const track = el("div", { class: "track", "data-camera": camera });
      for (const clip of this.clips.filter((c) => c.camera_id === camera)) {
        track.append(el("button", {
          type: "button", class: `bar${clip.in_case ? " in-case" : ""}`, "data-clip": clip.id,
          title: `${camera} · ${siteTime(clip.t0)} – ${siteTime(clip.t1)}`,
          style: `left:${this.x(clip.t0)}%;width:${Math.max(0.4, this.x(clip.t1) - this.x(clip.t0))}%`,
        }));
      }
      for (const alert of this.alerts.filter((a) => a.camera_id === camera)) {
        track.append(el("span", { class: "mark", "data-alert": alert.id, style: `left:${this.x(alert.t)}%`,
          title: `alert ${alert.id} · ${alert.kind} · ${siteTime(alert.t)} ${alert.message}` }));
      }
      track.append(el("span", { class: "cursor", hidden: true }));
      track.addEventListener("click", (event) => this.clicked(event, track, camera));
      lanes.append(el("div", { class: "lane" }, el("span", { class: "lane-name" }, camera), track));
    }
  }

  clicked(event, track, camera) {
    const box = track.getBoundingClientRect();
    const t = this.since + ((event.clientX - box.left) / box.width) * (this.until - this.since);
    const bar = event.target.closest(".bar");
    const clip = bar ? this.clips.find((c) => c.id === bar.dataset.clip)
      : this.clips.find((c) => c.camera_id === camera && c.t0 <= t && t <= c.t1);
    if (clip) this.play(clip, Math.min(Math.max(t, clip.t0), clip.t1));
    else this.moveCursor(t);
  }

  moveCursor(t) {
    this.cursor = t;
    document.getElementById("cursor-time").textContent = siteTime(t);
    document.getElementById("cursor-time").dataset.moment = new Date(t).toISOString();
    for (const line of document.querySelectorAll("#lanes .cursor")) {
      line.hidden = false;
      line.style.left = `${this.x(t)}%`;
    }
  }

  play(clip, t) {
    this.moveCursor(t);
    this.playing = clip;
    this.pendingSeek = (t - clip.t0) / 1000;
    const src = `/api/clips/${clip.id}/video`;
    if (this.player.dataset.clip !== clip.id) {
      this.player.dataset.clip = clip.id;
      this.player.src = src;
    } else {
      this.seek();
    }
    for (const bar of document.querySelectorAll(".bar")) bar.classList.toggle("playing", bar.dataset.clip === clip.id);
    document.getElementById("now-playing").textContent =
      `${clip.camera_id} · clip ${clip.id} · at ${siteTime(t)} (${this.pendingSeek.toFixed(1)} s into the clip)`;
    document.getElementById("add-to-case-row").hidden = !(this.canAdd && !clip.in_case);
  }

  seek() {
    if (this.pendingSeek === null || this.player.readyState < 1) return;
    this.player.currentTime = this.pendingSeek;
    this.pendingSeek = null;
    this.player.play().catch(() => null);
  }

  step(direction) {
    const now = this.cursor ?? (direction > 0 ? this.since - 1 : this.until + 1);
    const list = direction > 0 ? this.events : [...this.events].reverse();
    const next = list.find((e) => (direction > 0 ? e.t > now + 1 : e.t < now - 1));
    if (!next) { flash("No more events in this window.", "info"); return; }
    if (next.clip) { this.play(next.clip, next.t); return; }
    const clip = this.clips.find((c) => c.id === next.alert.clip_id)
      || this.clips.find((c) => c.camera_id === next.alert.camera_id && c.t0 <= next.t && next.t <= c.t1);
    if (clip) this.play(clip, Math.min(Math.max(next.t, clip.t0), clip.t1));
    else this.moveCursor(next.t);
  }

  async near() {
    const typed = document.getElementById("near-at").value;  // site time, resolved by the server
    if (!typed && this.cursor === null) { flash("Pick a moment on the timeline, or type one.", "info"); return; }
    const minutes = document.getElementById("near-minutes").value || "5";
    const params = new URLSearchParams({ at: typed || new Date(this.cursor).toISOString(), minutes });
    const found = await (await api("GET", `/api/timeline/near?${params}`)).json();
    const moment = Date.parse(found.at);
    this.moveCursor(moment);
    const list = document.getElementById("near-list");
    list.replaceChildren(el("li", { class: "muted" }, `${found.clips.length} clip(s) within ${minutes} min of ${siteTime(moment)}`));
    for (const item of found.clips) {
      const t0 = Date.parse(item.start);
      const t1 = Math.max(Date.parse(item.end), t0);
      const at = Math.min(Math.max(moment, t0), t1);
      const clip = this.clips.find((c) => c.id === item.id) || { ...item, t0, t1, in_case: false };
      list.append(el("li", { "data-clip": item.id }, `${item.camera_id} · ${siteTime(t0)} `,
        el("button", { type: "button", class: "play-near", onclick: () => this.play(clip, at) }, "Play")));
    }
  }

  async addToCase() {
    if (!this.playing) return;
    try {
      await api("POST", `/api/cases/${this.caseId}/clips`, { clip_id: this.playing.id, note: "" });
      this.playing.in_case = true;
      document.querySelector(`.bar[data-clip="${this.playing.id}"]`)?.classList.add("in-case");
      document.getElementById("add-to-case-row").hidden = true;
      flash(`Clip ${this.playing.id} added to the case (on legal hold while it is open).`, "ok");
    } catch (error) { flash(error.message, "error"); }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const node of document.querySelectorAll("time[data-site-time]")) {
    if (node.dataset.siteTime && node.dataset.siteTime !== "None") node.textContent = siteTime(node.dataset.siteTime);
  }
  caseForms();
  const box = document.getElementById("timeline");
  if (!box) return;
  const timeline = new Timeline(box);
  window.hotspotTimeline = timeline;
  timeline.load().then(() => { box.dataset.ready = "true"; }).catch((error) => flash(error.message, "error"));
  document.getElementById("next-event").addEventListener("click", () => timeline.step(1));
  document.getElementById("prev-event").addEventListener("click", () => timeline.step(-1));
  document.getElementById("near-button").addEventListener("click", () => timeline.near().catch((e) => flash(e.message, "error")));
  document.getElementById("add-to-case").addEventListener("click", () => timeline.addToCase());
});
