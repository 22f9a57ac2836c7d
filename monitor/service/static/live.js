"use strict";
// Refresh each camera's masked frame twice a second and its status every two seconds.
// One request per camera at a time: an offline camera answers only after a wait, and requests
// piling up would keep the page "loading" forever (a spinner on a phone).
function refreshFrames() {
  for (const img of document.querySelectorAll("figure.camera img")) {
    if (img.dataset.busy) continue;
    img.dataset.busy = "1";
    const next = new Image();
    next.onload = () => { img.src = next.src; img.classList.remove("stale"); delete img.dataset.busy; };
    next.onerror = () => { img.classList.add("stale"); delete img.dataset.busy; };
    next.src = `${img.dataset.src}?t=${Date.now()}`;
  }
}

async function refreshStatus() {
  const cameras = await (await api("GET", "/api/cameras")).json();
  for (const camera of cameras) {
    const figure = document.querySelector(`figure[data-camera="${CSS.escape(camera.id)}"]`);
    if (!figure) continue;
    const state = figure.querySelector(".state");
    state.textContent = camera.state;
    state.className = `state state-${camera.state}`;
    figure.querySelector(".fps").textContent = `${camera.fps} fps`;
    figure.querySelector(".error").textContent = camera.last_error || "";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  refreshFrames();
  setInterval(refreshFrames, 500);
  setInterval(() => refreshStatus().catch(() => null), 2000);
});
