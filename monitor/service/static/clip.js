"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const clipId = document.getElementById("clip").dataset.clip;

  document.getElementById("verify").addEventListener("click", async () => {
    const state = document.getElementById("verify-state");
    state.textContent = "checking…";
    try {
      const result = await (await api("POST", `/api/clips/${clipId}/verify`)).json();
      state.textContent = result.ok
        ? `intact: the file matches its seal and ${result.entries} custody entries verify`
        : `${result.status.toUpperCase()}: ${result.problems.join("; ")}`;
      state.className = result.ok ? "ok" : "failed";
    } catch (error) {
      state.textContent = error.message;
    }
  });

  const exportForm = document.getElementById("export-form");
  exportForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const response = await api("POST", `/api/clips/${clipId}/export`, formJSON(exportForm));
      const name = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "")?.[1]
        || `${clipId}.zip`;
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: name, id: "bundle-link" }, `Download ${name}`);
      exportForm.after(el("p", { class: "ok" }, "Bundle ready: ", link));
      link.click();
      flash(`Exported ${name}; the export is recorded in the custody log.`, "ok");
    } catch (error) {
      flash(error.message, "error");
    }
  });

  const unmaskForm = document.getElementById("unmask-form");
  unmaskForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const request = await (await api("POST", `/api/unmask/clips/${clipId}`, formJSON(unmaskForm))).json();
      window.location.assign(`/unmask/${request.id}`);
    } catch (error) {
      flash(error.message, "error");
    }
  });

  const holdForm = document.getElementById("hold-form");
  holdForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const release = holdForm.dataset.hold === "true";
    try {
      await api("POST", `/api/clips/${clipId}/hold${release ? "/release" : ""}`, formJSON(holdForm));
      window.location.reload();
    } catch (error) {
      flash(error.message, "error");
    }
  });
});
