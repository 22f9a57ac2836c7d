"use strict";
// Schedule editor: one card per named schedule, one row per window.
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function windowRow(window) {
  const days = DAYS.map((d) => el("label", { class: "day" },
    el("input", { type: "checkbox", value: d, checked: window.days.includes(d) ? "" : null }), d));
  const row = el("div", { class: "window" }, ...days,
    el("label", {}, "from ", el("input", { class: "from", value: window.from, size: "5", maxlength: "5", placeholder: "HH:MM" })),
    el("label", {}, "to ", el("input", { class: "to", value: window.to, size: "5", maxlength: "5", placeholder: "HH:MM" })),
    el("button", { type: "button", onclick: () => row.remove() }, "Remove window"));
  return row;
}

function scheduleCard(name, schedule) {
  const windows = el("div", { class: "windows" }, schedule.windows.map(windowRow));
  const holidays = el("select", { class: "on-holidays" },
    ["as-scheduled", "all-day", "inactive"].map((v) => el("option", { selected: v === schedule.on_holidays ? "" : null }, v)));
  const card = el("fieldset", { class: "schedule", "data-name": name },
    el("legend", {}, name), windows,
    el("p", {}, el("button", { type: "button", onclick: () => windows.append(windowRow({ days: [], from: "", to: "" })) }, "Add window"),
      " On holidays: ", holidays, " ",
      el("button", { type: "button", onclick: () => card.remove() }, "Delete schedule")));
  return card;
}

function collect() {
  const schedules = {};
  for (const card of document.querySelectorAll("fieldset.schedule")) {
    schedules[card.dataset.name] = {
      windows: [...card.querySelectorAll(".window")].map((row) => ({
        days: [...row.querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value),
        from: row.querySelector(".from").value.trim(), to: row.querySelector(".to").value.trim() })),
      on_holidays: card.querySelector(".on-holidays").value,
    };
  }
  const holidays = document.getElementById("holidays").value.split(/\s+/).filter(Boolean);
  return { schedules, holidays };
}

let data;

async function save() {
  const saved = await saveConfig("/api/schedules", collect(), data.version,
    "Saved to cameras.yaml and applied to the cameras.");
  if (saved) data.version = saved.version;
}

document.addEventListener("DOMContentLoaded", () => {
  data = JSON.parse(document.getElementById("schedule-data").textContent);
  const container = document.getElementById("schedules");
  for (const [name, schedule] of Object.entries(data.schedules)) container.append(scheduleCard(name, schedule));
  document.getElementById("holidays").value = data.holidays.join("\n");
  document.getElementById("add-schedule").addEventListener("click", () => {
    const input = document.getElementById("new-schedule-name");
    const name = input.value.trim();
    if (!name) return;
    container.append(scheduleCard(name, { windows: [{ days: [], from: "", to: "" }], on_holidays: "as-scheduled" }));
    input.value = "";
  });
  document.getElementById("save-schedules").addEventListener("click", save);
});
