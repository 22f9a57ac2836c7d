"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const notice = sessionStorage.getItem("flash");
  if (notice) { sessionStorage.removeItem("flash"); flash(notice, "ok"); }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const response = await api("POST", "/api/auth/login", formJSON(form),
        { "X-CSRF-Token": cookie("hotspot_login_csrf") });
      const me = await response.json();
      window.location.href = me.must_change_password ? "/account" : form.dataset.next;
    } catch (error) {
      flash(error.message, "error");
    }
  });
});
