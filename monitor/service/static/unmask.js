"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const requestId = document.getElementById("unmask")?.dataset.request;
  const shareForm = document.getElementById("share-form");
  shareForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/api/unmask/${requestId}/approve`, formJSON(shareForm));
      shareForm.reset();
      window.location.reload();
    } catch (error) {
      flash(error.message, "error");
    }
  });
});
