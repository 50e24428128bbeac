// The live page's refresh: every few seconds, fetch the page's changing part (rendered by the
// server, every value escaped there) and put it in place. No framework, no build step.
(() => {
  "use strict";
  const root = document.getElementById("live");
  const status = document.getElementById("live-status");
  if (!root) return;
  const every_ms = Math.max(1, Number(root.dataset.refreshS) || 5) * 1000;
  let timer = null;
  let busy = false;

  function show(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  async function refresh() {
    timer = null;
    if (busy) return;
    busy = true;
    try {
      const answer = await fetch(root.dataset.liveUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      });
      if (answer.status === 401) {
        window.location.assign("login"); // the key was revoked, or the cookie has gone
        return;
      }
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      root.innerHTML = await answer.text();
      show("live", "live");
    } catch (error) {
      show("offline", "cannot reach the server; retrying");
    } finally {
      busy = false;
    }
    schedule();
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = window.setTimeout(refresh, every_ms);
  }

  // A hidden tab asks nothing; shown again, it refreshes at once.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      window.clearTimeout(timer);
      timer = null;
    } else if (timer === null && !busy) {
      refresh();
    }
  });
  schedule();
})();
