"use strict";
async function loadTokens() {
  const table = document.querySelector("#tokens tbody");
  if (!table) return;
  const tokens = await (await api("GET", "/api/me/tokens")).json();
  table.replaceChildren(...tokens.map((t) => el("tr", {},
    el("td", {}, t.name), el("td", {}, siteTime(t.created_at)), el("td", {}, t.last_used ? siteTime(t.last_used) : "never"),
    el("td", {}, t.revoked ? "revoked" : "active"),
    el("td", {}, t.revoked ? "" : el("button", { type: "button", onclick: async () => {
      await api("POST", `/api/me/tokens/${t.id}/revoke`); loadTokens();
    } }, "Revoke")))));
}

document.addEventListener("DOMContentLoaded", () => {
  const passwordForm = document.getElementById("password-form");
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { ...formJSON(passwordForm), revoke_tokens: passwordForm.elements.revoke_tokens.checked };
      const done = await (await api("POST", "/api/me/password", body)).json();
      sessionStorage.setItem("flash", `Password changed: every session ended, ${done.tokens_revoked} API token(s) revoked. Log in again.`);
      window.location.href = "/login?next=/alerts";
    } catch (error) {
      flash(error.message, "error");
    }
  });
  const tokenForm = document.getElementById("token-form");
  tokenForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await (await api("POST", "/api/me/tokens", formJSON(tokenForm))).json();
      const box = document.getElementById("new-token");
      box.textContent = `New token (shown once): ${created.token}`;
      box.hidden = false;
      tokenForm.reset();
      loadTokens();
    } catch (error) {
      flash(error.message, "error");
    }
  });
  loadTokens().catch((error) => flash(error.message, "error"));
});
