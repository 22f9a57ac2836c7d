"use strict";
async function loadUsers() {
  const users = await (await api("GET", "/api/users")).json();
  document.querySelector("#users tbody").replaceChildren(...users.map((u) => {
    const role = el("select", { "aria-label": `role of ${u.username}` },
      ["security", "investigator", "admin"].map((r) => el("option", { selected: r === u.role ? "" : null }, r)));
    role.addEventListener("change", () => change(u.username, { role: role.value }));
    return el("tr", { "data-user": u.username },
      el("td", {}, u.username), el("td", {}, role),
      el("td", {}, u.disabled ? "disabled" : (u.must_change_password ? "must change password" : "active")),
      el("td", {}, u.last_login ? siteTime(u.last_login) : "never"),
      el("td", {},
        el("button", { type: "button", onclick: () => change(u.username, { disabled: !u.disabled }) },
          u.disabled ? "Enable" : "Disable"), " ",
        el("button", { type: "button", onclick: () => reset(u.username) }, "Reset password")));
  }));
}

// Every one-time password made on this page stays listed: adding two users in a row loses neither.
function showSecret(result) {
  const revoked = result.tokens_revoked ? `; ${result.tokens_revoked} API token(s) revoked` : "";
  document.getElementById("one-time-list").prepend(el("li", { "data-user": result.username },
    `One-time password for ${result.username}: ${result.password} (they must change it at first login${revoked})`));
  document.getElementById("one-time").hidden = false;
}

async function change(username, body) {
  try { await api("PATCH", `/api/users/${encodeURIComponent(username)}`, body); } catch (error) { flash(error.message, "error"); }
  loadUsers();
}

async function reset(username) {
  try { showSecret(await (await api("POST", `/api/users/${encodeURIComponent(username)}/reset-password`)).json()); }
  catch (error) { flash(error.message, "error"); }
  loadUsers();
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("user-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      showSecret(await (await api("POST", "/api/users", formJSON(form))).json());
      form.reset();
    } catch (error) {
      flash(error.message, "error");
    }
    loadUsers();
  });
  loadUsers().catch((error) => flash(error.message, "error"));
});
