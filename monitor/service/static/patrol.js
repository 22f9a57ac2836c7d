"use strict";
// Patrol plan: draw a fresh plan for a shift through the API, show it as a printable table.

function showPlan(plan) {
  document.getElementById("plan-title").textContent = `Patrol plan for ${plan.shift.label}`;
  document.getElementById("plan-meta").textContent =
    `Plan #${plan.id}, drawn by ${plan.created_by} at ${new Date(plan.created_at).toLocaleString()}; ` +
    `${plan.timezone} time; at least ${plan.min_visits} visit(s) per point.`;
  document.getElementById("plan-visits").replaceChildren(...plan.visits.map((visit) =>
    el("tr", {}, el("td", { class: "time" }, visit.local), el("td", {}, visit.point), el("td", { class: "tick" }, "\u2610"))));
  document.getElementById("plan").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("plan-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formJSON(form);
    const body = { date: data.date, shift: `${data.from}-${data.to}` };
    if (data.min_visits) body.min_visits = Number(data.min_visits);
    try {
      const response = await api("POST", "/api/patrol/plans", body);
      showPlan(await response.json());
      flash("A fresh plan was drawn and recorded.", "ok");
    } catch (error) {
      flash(`No plan: ${error.message}`, "error");
    }
  });
  document.getElementById("print-plan").addEventListener("click", () => window.print());
});
