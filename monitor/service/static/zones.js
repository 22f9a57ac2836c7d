"use strict";
// Zone editor: polygons are kept in frame fractions and drawn over the editor frame.
const HIT = 9; // pixels
let canvas, ctx, frame = null, data, zones = [], selected = -1, dragging = null;

function toPixels([x, y]) { return [x * canvas.width, y * canvas.height]; }
function toFraction(event) {
  const box = canvas.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
}
function scale() { return canvas.width / canvas.getBoundingClientRect().width; }

function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (frame) ctx.drawImage(frame, 0, 0, canvas.width, canvas.height);
  else { ctx.fillStyle = "#444"; ctx.fillRect(0, 0, canvas.width, canvas.height); }
  zones.forEach((zone, index) => {
    const colour = zone.kind === "privacy" ? "30,110,255" : "255,140,0";
    ctx.beginPath();
    zone.polygon.forEach((p, i) => { const [x, y] = toPixels(p); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.closePath();
    ctx.fillStyle = `rgba(${colour},${index === selected ? 0.35 : 0.2})`;
    ctx.strokeStyle = `rgb(${colour})`;
    ctx.lineWidth = index === selected ? 3 : 2;
    ctx.fill(); ctx.stroke();
    if (index === selected) {
      zone.polygon.forEach((p) => { const [x, y] = toPixels(p); ctx.fillStyle = "#fff"; ctx.fillRect(x - 5, y - 5, 10, 10); });
    }
    if (zone.polygon.length) {
      const [x, y] = toPixels(zone.polygon[0]);
      ctx.fillStyle = "#fff"; ctx.font = "16px sans-serif"; ctx.fillText(zone.name || zone.id || "(no id)", x + 6, y - 6);
    }
  });
}

function renderList() {
  const list = document.getElementById("zone-list");
  list.replaceChildren(...zones.map((zone, index) => el("li", {},
    el("button", { type: "button", class: `${zone.kind}${index === selected ? " selected" : ""}`,
                   onclick: () => select(index) },
      `${zone.kind === "privacy" ? "privacy" : "hotspot"}: ${zone.name ? `${zone.name} · ` : ""}${zone.id || "(no id)"} (${zone.polygon.length} points)`))));
  const fields = document.getElementById("zone-fields");
  fields.disabled = selected < 0;
  const zone = zones[selected];
  document.getElementById("zone-id").value = zone ? zone.id || "" : "";
  document.getElementById("zone-name").value = zone ? zone.name || "" : "";
  document.getElementById("zone-schedule").value = zone ? zone.schedule || "" : "";
  document.getElementById("zone-min-area").value = zone ? zone.min_area ?? "" : "";
  for (const node of fields.querySelectorAll(".hotspot-only")) node.hidden = zone?.kind === "privacy";
}

function select(index) { selected = index; renderList(); draw(); }

function vertexAt(event) {
  const [fx, fy] = toFraction(event);
  const order = selected >= 0 ? [selected, ...zones.keys()] : [...zones.keys()];
  for (const z of order) {
    const i = zones[z].polygon.findIndex(([x, y]) =>
      Math.hypot((x - fx) * canvas.width, (y - fy) * canvas.height) <= HIT * scale());
    if (i >= 0) return { zone: z, point: i };
  }
  return null;
}

function inside(polygon, [x, y]) {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i], [xj, yj] = polygon[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function insertPoint(polygon, point) {
  if (polygon.length < 3) { polygon.push(point); return; }
  let best = 0, bestDistance = Infinity;
  polygon.forEach((a, i) => {
    const b = polygon[(i + 1) % polygon.length];
    const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
    const t = Math.max(0, Math.min(1, ((point[0] - a[0]) * dx + (point[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
    const distance = Math.hypot(a[0] + t * dx - point[0], a[1] + t * dy - point[1]);
    if (distance < bestDistance) { bestDistance = distance; best = i + 1; }
  });
  polygon.splice(best, 0, point);
}

function onDown(event) {
  const hit = vertexAt(event);
  if (hit) { dragging = hit; if (hit.zone !== selected) select(hit.zone); return; }
  const point = toFraction(event);
  const other = zones.findIndex((z, i) => i !== selected && z.polygon.length >= 3 && inside(z.polygon, point));
  if (other >= 0 && (selected < 0 || zones[selected].polygon.length >= 3)) { select(other); return; }
  if (selected < 0) { flash("Select a zone or create a new one first.", "info"); return; }
  insertPoint(zones[selected].polygon, point.map((v) => Math.round(v * 10000) / 10000));
  renderList(); draw();
}

function onMove(event) {
  if (!dragging) return;
  zones[dragging.zone].polygon[dragging.point] = toFraction(event).map((v) => Math.round(v * 10000) / 10000);
  draw();
}

function onDoubleClick(event) {
  const hit = vertexAt(event);
  if (!hit) return;
  zones[hit.zone].polygon.splice(hit.point, 1);
  renderList(); draw();
}

function addZone(kind) {
  const prefix = kind === "privacy" ? "privacy" : "zone";
  let n = 1;
  while (zones.some((z) => z.id === `${prefix}-${n}`)) n += 1;
  zones.push({ kind, id: `${prefix}-${n}`, name: "", schedule: "", min_area: 0.02, polygon: [] });
  select(zones.length - 1);
}

function bindFields() {
  const bind = (id, key, parse) => document.getElementById(id).addEventListener("input", (event) => {
    if (selected < 0) return;
    zones[selected][key] = parse ? parse(event.target.value) : event.target.value;
    renderList(); draw();
  });
  bind("zone-id", "id"); bind("zone-name", "name"); bind("zone-schedule", "schedule");
  bind("zone-min-area", "min_area", Number);
  document.getElementById("delete-zone").addEventListener("click", () => {
    zones.splice(selected, 1); select(-1);
  });
}

async function save() {
  const body = {
    zones: zones.filter((z) => z.kind === "hotspot").map((z) => ({
      id: z.id, name: z.name || null, polygon: z.polygon, schedule: z.schedule || null, min_area: Number(z.min_area) })),
    privacy_zones: zones.filter((z) => z.kind === "privacy").map((z) => ({ id: z.id || null, polygon: z.polygon })),
  };
  const saved = await saveConfig(`/api/cameras/${encodeURIComponent(data.camera.camera_id)}/zones`, body,
    data.camera.version, "Saved to cameras.yaml and applied to the camera.");
  if (saved) data.camera.version = saved.version;
}

// The camera's current frame; retried until the worker has written one.
function loadFrame() {
  const image = new Image();
  image.onload = () => {
    frame = image;
    canvas.height = Math.round(canvas.width * image.naturalHeight / image.naturalWidth);
    canvas.dataset.frame = "loaded";
    document.getElementById("no-frame").hidden = true;
    draw();
  };
  image.onerror = () => { document.getElementById("no-frame").hidden = false; setTimeout(loadFrame, 2000); };
  image.src = `/api/cameras/${encodeURIComponent(data.camera.camera_id)}/editor.jpg?t=${Date.now()}`;
}

document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("zone-data");
  if (!source) return;
  data = JSON.parse(source.textContent);
  zones = [
    ...data.camera.zones.map((z) => ({ kind: "hotspot", ...z, polygon: z.polygon.map((p) => [...p]) })),
    ...data.camera.privacy_zones.map((z) => ({ kind: "privacy", id: z.id || "", polygon: z.polygon.map((p) => [...p]) })),
  ];
  canvas = document.getElementById("zone-canvas");
  ctx = canvas.getContext("2d");
  loadFrame();
  canvas.addEventListener("mousedown", onDown);
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", () => { if (dragging) { dragging = null; renderList(); } });
  canvas.addEventListener("dblclick", onDoubleClick);
  document.getElementById("add-hotspot").addEventListener("click", () => addZone("hotspot"));
  document.getElementById("add-privacy").addEventListener("click", () => addZone("privacy"));
  document.getElementById("save-zones").addEventListener("click", save);
  bindFields();
  renderList(); draw();
});
