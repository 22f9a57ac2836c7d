"use strict";
// Green only for a bundle that verifies AND is signed by this site's keys (the server pins them).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("verify-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    if (!file) return;
    const out = document.getElementById("verify-result");
    out.hidden = false;
    out.className = "";
    out.textContent = "verifying…";
    try {
      const result = await (await api("POST", "/api/bundles/verify", file, { "Content-Type": "application/zip" })).json();
      const verified = result.ok === true && result.trusted === true && result.signed_by_this_site === true;
      out.className = verified ? "ok" : "failed";
      if (verified) {
        out.textContent = `VERIFIED: intact and signed by this site's key ${result.result.signed_by}\n`
          + JSON.stringify(result.result, null, 2);
      } else if (result.trusted === false) {
        out.textContent = `NOT VERIFIED: ${result.error}\n`
          + "The bundle may be intact, but it was not signed by this site's keys.";
      } else {
        out.textContent = `NOT VERIFIED: ${result.error}`;
      }
    } catch (error) {
      out.className = "failed";
      out.textContent = error.message;
    }
  });
});
