"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("verify-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    if (!file) return;
    const out = document.getElementById("verify-result");
    out.hidden = false;
    out.textContent = "verifying…";
    try {
      const result = await (await api("POST", "/api/bundles/verify", file, { "Content-Type": "application/zip" })).json();
      out.className = result.ok ? "ok" : "failed";
      out.textContent = (result.ok ? "VERIFIED\n" : `FAILED: ${result.error}\n`) + JSON.stringify(result.result || {}, null, 2);
    } catch (error) {
      out.className = "failed";
      out.textContent = error.message;
    }
  });
});
