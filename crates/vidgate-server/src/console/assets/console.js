// vidgate console: live refresh without reloading. An element with data-refresh="URL" has
// its content replaced every few seconds by the HTML that URL answers; a page that is not
// visible is not refreshed. Nothing else: every page works without this script.
"use strict";
(function () {
  const PERIOD_MS = 2000;
  function refresh(el) {
    if (document.visibilityState !== "visible") return;
    fetch(el.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { el.dataset.refreshState = "stopped"; return null; }
        return r.text();
      })
      .then(function (html) {
        if (html === null || html === el.lastHtml) return;
        el.lastHtml = html;
        el.innerHTML = html;
        el.dataset.refreshedAt = String(Date.now());
        if (el.dataset.refreshStop && el.querySelector(el.dataset.refreshStop)) el.dataset.refreshState = "done";
      })
      .catch(function () { /* the next tick tries again */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(function (el) {
      const timer = setInterval(function () {
        if (el.dataset.refreshState === "stopped" || el.dataset.refreshState === "done") { clearInterval(timer); return; }
        refresh(el);
      }, PERIOD_MS);
    });
  });
})();
