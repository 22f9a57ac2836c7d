// Shared helpers: JSON calls with the CSRF header, messages, logout.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf"]')?.content || "";

// Times are shown in the site's zone (never the browser's), to the second, with the zone's name.
const siteZone = () => document.querySelector('meta[name="site-timezone"]')?.content || "UTC";

function siteTime(iso, timeOnly) {
  if (!iso) return "";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: siteZone(), year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  const time = `${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
  return timeOnly ? time : `${parts.year}-${parts.month}-${parts.day} ${time}`;
}

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

async function api(method, url, body, extraHeaders) {
  const headers = { "X-CSRF-Token": csrfToken(), ...(extraHeaders || {}) };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch (_) { /* not JSON */ }
    const error = new Error(typeof detail === "string" ? detail : (detail.message || JSON.stringify(detail)));
    error.status = response.status;
    error.detail = detail;
    throw error;
  }
  return response;
}

function flash(message, kind) {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = kind || "info";
  box.hidden = false;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function formJSON(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// A request validator's problem in the editor's words: names, and items counted from 1.
function describeProblem(problem) {
  const where = [];
  const loc = problem.loc.filter((part) => part !== "body");
  loc.forEach((part, i) => {
    const parent = loc[i - 1];
    if (typeof part === "number") where.push(`${{ windows: "window", zones: "zone", privacy_zones: "privacy zone" }[parent] || "item"} ${part + 1}`);
    else if (parent === "schedules") where.push(`schedule \u201c${part}\u201d`);
    else if (!["windows", "zones", "privacy_zones", "schedules"].includes(part)) where.push({ from: "start", to: "end" }[part] || part);
  });
  return `${where.join(", ")}: ${problem.msg}`;
}

// PUT a configuration change based on the part's `version` the page showed; the saved part's
// JSON (with its new version), or null. Refused as invalid: the problems go under #problems.
// Refused as stale (changed on this or another node since the page loaded): the page reloads to
// show the configuration as it is now, and says why.
async function saveConfig(url, body, version, done) {
  const problems = document.getElementById("problems");
  problems.replaceChildren();
  try {
    const saved = await (await api("PUT", url, { ...body, based_on: version })).json();
    flash(done, "ok");
    return saved;
  } catch (error) {
    if (error.status === 409 && error.detail?.stale) {
      sessionStorage.setItem("config-stale", error.detail.message);
      window.location.reload();
      return null;
    }
    const list = error.detail?.problems
      || (Array.isArray(error.detail) ? error.detail.map(describeProblem) : [error.message]);
    problems.replaceChildren(...list.map((p) => el("li", {}, p)));
    flash("Not saved: fix the problems listed.", "error");
    return null;
  }
}

// After a reload for a stale edit: say why the page shows something else than was typed.
function showStaleEdit() {
  const message = sessionStorage.getItem("config-stale");
  if (!message) return;
  sessionStorage.removeItem("config-stale");
  document.getElementById("problems")?.replaceChildren(el("li", {}, message));
  flash("Not saved: someone else changed this since you loaded it.", "error");
}

document.addEventListener("DOMContentLoaded", () => {
  showStaleEdit();
  document.getElementById("logout")?.addEventListener("click", async () => {
    await api("POST", "/api/auth/logout").catch(() => null);
    window.location.href = "/login";
  });
});
