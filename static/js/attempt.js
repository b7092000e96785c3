/* Autosave, offline queue, server-synchronised timer and integrity signals for a test page.
 *
 * Progressive enhancement: the page works as a plain form without this file. With it, every
 * choice is saved at once through the JSON API. Unsent answers wait in localStorage (surviving a
 * reload or a crash) and are retried with backoff when the network returns. An answer counts as
 * saved only when the server acknowledges it, which it does after committing. Each save carries a
 * per-item sequence number, so retries and duplicates are harmless and an older save never
 * overwrites a newer one.
 */
(function () {
  "use strict";
  var root = document.getElementById("attempt");
  if (!root) { return; }
  var attemptId = root.dataset.attempt;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var queueKey = "assess.queue." + attemptId;
  var statusEl = document.getElementById("save-status");
  var timerEl = document.getElementById("timer");
  var warnEl = document.getElementById("time-warning");
  var form = document.getElementById("answer-form");
  var inFlight = false;
  var retryDelay = 1000;
  var retryTimer = null;
  var stopped = false;
  var shownAt = Date.now();

  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(queueKey) || "{}"); } catch (e) { return {}; }
  }
  function storeQueue(q) {
    try { localStorage.setItem(queueKey, JSON.stringify(q)); } catch (e) { /* private mode: memory only */ }
    memoryQueue = q;
  }
  var memoryQueue = loadQueue();
  function queue() { return localStorage ? loadQueue() : memoryQueue; }
  function pending() { return Object.keys(queue()).length; }

  function setStatus(kind, detail) {
    if (!statusEl) { return; }
    var text = statusEl.dataset[kind] || "";
    text = text.replace("{n}", String(pending())).replace("{msg}", detail || "");
    statusEl.textContent = text;
    statusEl.classList.toggle("text-danger", kind === "error" || kind === "offline");
    statusEl.classList.toggle("text-success", kind === "saved");
  }
  function refreshStatus() {
    if (stopped) { return; }
    if (!navigator.onLine && pending()) { setStatus("offline"); }
    else if (pending()) { setStatus("saving"); }
    else { setStatus("saved"); }
  }

  function fieldsetOf(itemId) { return document.querySelector('fieldset.item[data-item="' + itemId + '"]'); }

  function record(fieldset) {
    var itemId = parseInt(fieldset.dataset.item, 10);
    var q = queue();
    var last = Math.max(parseInt(fieldset.dataset.seq || "0", 10), q[itemId] ? q[itemId].seq : 0);
    var checked = fieldset.querySelector('input[type="radio"]:checked');
    var flag = fieldset.querySelector("input.flag");
    var seq = last + 1;
    q[itemId] = {
      item: itemId, seq: seq, choice: checked ? parseInt(checked.value, 10) : null,
      flagged: !!(flag && flag.checked), elapsed_ms: Date.now() - shownAt
    };
    fieldset.dataset.seq = String(seq);
    var hidden = fieldset.querySelector('input[name="seq-' + itemId + '"]');
    if (hidden) { hidden.value = String(seq); }  // a plain form submit goes on from here
    storeQueue(q);
    var nav = document.querySelector('.qnav[data-item="' + itemId + '"]');
    if (nav && checked && !nav.classList.contains("btn-primary")) {
      nav.classList.remove("btn-outline-secondary"); nav.classList.add("btn-outline-success");
    }
    flush();
  }

  function scheduleRetry() {
    if (retryTimer || stopped) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function flush() {
    if (inFlight || stopped) { return; }
    var q = queue();
    var answers = Object.keys(q).map(function (k) { return q[k]; });
    if (!answers.length) { refreshStatus(); return; }
    if (!navigator.onLine) { refreshStatus(); return; }
    inFlight = true;
    setStatus("saving");
    fetch(root.dataset.saveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ answers: answers })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      inFlight = false;
      if (result.status === 200) {
        var current = queue();
        (result.body.acks || []).forEach(function (ack) {
          var entry = current[ack.item];
          if (entry && entry.seq <= ack.seq) { delete current[ack.item]; }
          var fs = fieldsetOf(ack.item);
          if (fs && parseInt(fs.dataset.seq || "0", 10) < ack.seq) { fs.dataset.seq = String(ack.seq); }
        });
        storeQueue(current);
        retryDelay = 1000;
        if (typeof result.body.remaining_ms === "number") { syncClock(result.body.remaining_ms); }
        if (pending()) { flush(); } else { refreshStatus(); }
      } else if (result.status === 409 || result.status === 403 || result.status === 404) {
        stopped = true;
        setStatus("error", (result.body && result.body.message) || String(result.status));
        if (result.body && (result.body.error === "time_up" || result.body.error === "closed")) {
          storeQueue({});
          setTimeout(function () { window.location.assign(root.dataset.resumeUrl); }, 2500);
        }
      } else if (result.status === 400) {
        setStatus("error", (result.body && result.body.message) || "400");
        storeQueue({});  // a malformed answer will never be accepted; do not retry it forever
      } else {
        scheduleRetry(); refreshStatus();
      }
    }).catch(function () {
      inFlight = false; scheduleRetry(); refreshStatus();
    });
  }

  // ------------------------------------------------------------------ timer
  var deadlineAt = null;
  function syncClock(remainingMs) { deadlineAt = performance.now() + remainingMs; }
  if (timerEl) { syncClock(parseInt(timerEl.dataset.remaining || "0", 10) * 1000); }
  var warned10 = false, warned1 = false, expiredShown = false;
  function tick() {
    if (deadlineAt === null || !timerEl) { return; }
    var left = Math.max(0, Math.round((deadlineAt - performance.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    timerEl.textContent = (m >= 60 ? Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    if (warnEl && left <= 600 && left > 60 && !warned10) { warned10 = true; warnEl.textContent = warnEl.dataset.ten; warnEl.classList.remove("d-none"); }
    if (warnEl && left <= 60 && !warned1) { warned1 = true; warnEl.textContent = warnEl.dataset.one; warnEl.classList.remove("d-none"); timerEl.classList.add("text-danger"); }
    if (left === 0 && !expiredShown) {
      expiredShown = true;
      flush();
      setTimeout(function () { window.location.assign(root.dataset.resumeUrl); }, 3000);
    }
  }
  setInterval(tick, 1000);
  tick();
  function pollClock() {
    if (!navigator.onLine || !root.dataset.clockUrl) { return; }
    fetch(root.dataset.clockUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (typeof body.remaining_ms === "number") { syncClock(body.remaining_ms); }
        if (body.status && body.status !== "in_progress") { window.location.assign(root.dataset.resumeUrl); }
      }).catch(function () { /* offline: keep counting locally */ });
  }
  setInterval(pollClock, 60000);

  // ------------------------------------------------------------------ integrity signals
  var events = [];
  function signal(kind, detail) {
    var e = { kind: kind, at: new Date().toISOString() };
    if (detail) { for (var k in detail) { e[k] = detail[k]; } }
    events.push(e);
    sendEvents();
  }
  function sendEvents() {
    if (!events.length || !navigator.onLine || !root.dataset.eventsUrl) { return; }
    var batch = events.splice(0, 50);
    fetch(root.dataset.eventsUrl, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ events: batch })
    }).catch(function () { events = batch.concat(events); });
  }
  var hiddenAt = null;
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { hiddenAt = Date.now(); signal("page_hidden"); flush(); }
    else if (hiddenAt) { hiddenAt = null; }
  });
  window.addEventListener("blur", function () { signal("focus_lost"); });
  document.addEventListener("paste", function () { signal("paste"); });
  window.addEventListener("online", function () { retryDelay = 1000; signal("online"); flush(); sendEvents(); });
  window.addEventListener("offline", function () { signal("offline"); refreshStatus(); });

  // ------------------------------------------------------------------ wiring
  document.querySelectorAll("fieldset.item").forEach(function (fs) {
    fs.addEventListener("change", function () { record(fs); });
  });
  if (form) {
    form.addEventListener("submit", function (event) {
      if (!navigator.onLine) {
        event.preventDefault();
        setStatus("offline");
        if (statusEl && root.dataset.offlineNav) { statusEl.textContent = root.dataset.offlineNav + " (" + pending() + ")"; }
      }
    });
  }
  flush();
  refreshStatus();
})();
