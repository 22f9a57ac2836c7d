"use strict";
// Green only for a bundle that verifies AND is signed by this site's keys (the server pins them).
// A case bundle shows its case number, each clip's result and the report's result.

function caseLines(result) {
  const lines = [`Case ${result.case} (${result.title}): ${result.clips.length} clip(s) and the incident report`];
  for (const clip of result.clips) {
    lines.push(`clip ${clip.clip_id}: VERIFIED, sha256 ${clip.sha256}, sealed ${clip.sealed_at}, ${clip.entries} custody entries`);
  }
  lines.push(`report: VERIFIED, sha256 ${result.report_sha256}, made ${result.report_made_at}`);
  for (const stamp of result.timestamps) lines.push(`timestamped by ${stamp}`);
  return lines;
}

function claimedLines(claimed) {
  // After a failure nothing is verified: say only which members differ from what the bundle lists.
  if (!claimed) return [];
  const lines = [`Case ${claimed.case} (as the bundle claims; not verified)`];
  for (const member of claimed.members) {
    const what = member.kind === "clip" ? `clip ${member.id}` : "report";
    lines.push(`${what}: ${member.matches ? "matches the SHA-256 its manifest lists" : "DOES NOT MATCH the SHA-256 its manifest lists"}`);
  }
  return lines;
}

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
      const isCase = result.kind === "hotspot-case-bundle";
      out.className = verified ? "ok" : "failed";
      if (verified) {
        const what = isCase ? "case bundle " : "";
        out.textContent = [`VERIFIED: ${what}intact and signed by this site's key ${result.result.signed_by}`,
          ...(isCase ? caseLines(result.result) : []), JSON.stringify(result.result, null, 2)].join("\n");
      } else if (result.trusted === false) {
        out.textContent = [`NOT VERIFIED: ${result.error}`,
          "The bundle may be intact, but it was not signed by this site's keys.", ...claimedLines(result.claimed)].join("\n");
      } else {
        out.textContent = [`NOT VERIFIED: ${result.error}`, ...claimedLines(result.claimed)].join("\n");
      }
    } catch (error) {
      out.className = "failed";
      out.textContent = error.message;
    }
  });
});
