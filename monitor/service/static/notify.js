"use strict";
// Route editor: one card per route; conditions left empty match everything.
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const data = JSON.parse(document.getElementById("notify-data").textContent);

function checks(cls, values, chosen, label = (v) => v) {
  return el("span", { class: cls }, values.map((v) => el("label", { class: "day" },
    el("input", { type: "checkbox", value: v, checked: chosen.includes(v) ? "" : null }), label(v))));
}

function picked(card, cls) {
  return [...card.querySelectorAll(`.${cls} input:checked`)].map((i) => i.value);
}

function routeCard(route) {
  const zones = data.cameras.flatMap((c) => c.zones.map((z) => ({ id: z.id, label: `${c.name}: ${z.name}` })));
  const card = el("fieldset", { class: "schedule route" },
    el("legend", {}, el("input", { class: "name", value: route.name || "", placeholder: "route name", maxlength: "63" })),
    el("p", {}, "Cameras: ", checks("cameras", data.cameras.map((c) => c.id), route.cameras || [],
      (id) => data.cameras.find((c) => c.id === id).name)),
    el("p", {}, "Zones: ", checks("zones", [...new Set(zones.map((z) => z.id))], route.zones || [],
      (id) => zones.filter((z) => z.id === id).map((z) => z.label).join(", "))),
    el("p", {}, "Kinds: ", checks("kinds", data.kinds, route.kinds || [])),
    el("p", {}, "Days: ", checks("days", DAYS, route.days || []),
      el("label", {}, " from ", el("input", { class: "from", value: route.from || "", size: "5", maxlength: "5", placeholder: "HH:MM" })),
      el("label", {}, " to ", el("input", { class: "to", value: route.to || "", size: "5", maxlength: "5", placeholder: "HH:MM" }))),
    el("p", {}, "Send to: ", checks("channels", ["webhook", ...data.channels], route.channels || [],
      (v) => (v === "webhook" ? "every webhook" : v))),
    el("p", {}, el("label", {}, "E-mail to instead of the default (one per line) ",
      el("textarea", { class: "email-to", rows: "2", cols: "30" }, (route.email_to || []).join("\n")))),
    el("button", { type: "button", onclick: () => card.remove() }, "Delete route"));
  return card;
}

function collect() {
  return [...document.querySelectorAll("fieldset.route")].map((card) => {
    const from = card.querySelector(".from").value.trim();
    const to = card.querySelector(".to").value.trim();
    return {
      name: card.querySelector(".name").value.trim(),
      cameras: picked(card, "cameras"), zones: picked(card, "zones"), kinds: picked(card, "kinds"),
      days: picked(card, "days"), from: from || null, to: to || null, channels: picked(card, "channels"),
      email_to: card.querySelector(".email-to").value.split("\n").map((s) => s.trim()).filter(Boolean),
    };
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const routes = document.getElementById("routes");
  routes.append(...data.routes.map(routeCard));
  document.getElementById("add-route").addEventListener("click", () => routes.append(routeCard({})));
  document.getElementById("save-routes").addEventListener("click", async () => {
    const saved = await saveConfig("/api/notify/routes", { routes: collect() }, data.version, "Routes saved and applied.");
    if (saved) data.version = saved.version;
  });
});
