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

  // localStorage may be refused (blocked site data: even reading the property throws) or full;
  // the queue then lives in memory only, for as long as the page is open.
  var storage = null;
  try { storage = window.localStorage; storage.getItem(queueKey); } catch (e) { storage = null; }
  var memoryQueue = {};
  function loadQueue() {
    try { return JSON.parse(storage.getItem(queueKey) || "{}"); } catch (e) { return {}; }
  }
  function storeQueue(q) {
    memoryQueue = q;
    if (!storage) { return; }
    try { storage.setItem(queueKey, JSON.stringify(q)); } catch (e) { storage = null; }
  }
  if (storage) { memoryQueue = loadQueue(); }
  function queue() { return storage ? loadQueue() : memoryQueue; }
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
        syncFrom(result.body);
        if (pending()) { flush(); } else { refreshStatus(); }
      } else if (result.status === 409 && result.body && result.body.error === "paused") {
        // An admin stopped the clock: the answers stay queued on this device until it resumes.
        setStatus("error", result.body.message || "");
        pollClock();
      } else if (result.status === 409 || result.status === 403 || result.status === 404) {
        stopped = true;
        setStatus("error", (result.body && result.body.message) || String(result.status));
        if (result.body && (result.body.error === "time_up" || result.body.error === "closed" ||
                            result.body.error === "section_time_up")) {
          // Refused for good: the time of the test (or of this part) ran out before these answers.
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

  // Answers still waiting on this device are newer than what the server rendered: show them, and
  // carry their sequence number, so that what the page shows is what will be saved (also when the
  // participant moves on with the plain form). A disabled fieldset is a locked item.
  (function showWaiting() {
    var waiting = queue();
    document.querySelectorAll("fieldset.item").forEach(function (fs) {
      var entry = waiting[fs.dataset.item];
      if (!entry || fs.disabled || entry.seq <= parseInt(fs.dataset.seq || "0", 10)) { return; }
      fs.querySelectorAll('input[type="radio"]').forEach(function (input) {
        input.checked = entry.choice !== null && parseInt(input.value, 10) === entry.choice;
      });
      var flag = fs.querySelector("input.flag");
      if (flag) { flag.checked = !!entry.flagged; }
      fs.dataset.seq = String(entry.seq);
      var hidden = fs.querySelector('input[name="seq-' + fs.dataset.item + '"]');
      if (hidden) { hidden.value = String(entry.seq); }
    });
  })();

  // ------------------------------------------------------------------ timer
  // The countdown follows the current part's own deadline when it ends first, else the test's;
  // when the server has moved on to another part (its time ran out), the page follows it.
  var deadlineAt = null, testDeadlineAt = null;
  var testTimerEl = document.getElementById("test-timer");
  function syncClock(remainingMs) { deadlineAt = performance.now() + remainingMs; }
  function syncFrom(body) {
    if (!body) { return; }
    if (typeof body.paused === "boolean") { applyPause(body.paused, body.remaining_ms); }
    if (typeof body.remaining_ms === "number") { syncClock(body.remaining_ms); }
    if (typeof body.test_remaining_ms === "number") { testDeadlineAt = performance.now() + body.test_remaining_ms; }
    if (typeof body.section === "number" && root.dataset.section !== undefined &&
        String(body.section) !== root.dataset.section && !pending()) {
      window.location.assign(root.dataset.resumeUrl);
    }
  }
  if (timerEl) { syncClock(parseInt(timerEl.dataset.remaining || "0", 10) * 1000); }
  if (testTimerEl) { testDeadlineAt = performance.now() + parseInt(testTimerEl.dataset.remaining || "0", 10) * 1000; }
  function secondsUntil(at) { return Math.max(0, Math.ceil((at - performance.now()) / 1000)); }
  function clockText(left) {
    var m = Math.floor(left / 60), s = left % 60;
    return (m >= 60 ? Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  var warned10 = false, warned1 = false, closing = null;
  // At zero no more answers are taken on this page (the server's short grace period is for saves
  // already on their way, not for answering). The page waits for the server to close the attempt,
  // or to report more time (an admin may extend the deadline), instead of reloading itself.
  function setAnswering(on) {
    document.querySelectorAll("fieldset.item").forEach(function (fs) {
      if (!on && !fs.disabled) { fs.disabled = true; fs.dataset.timeUp = "1"; }
      else if (on && fs.dataset.timeUp) { fs.disabled = false; delete fs.dataset.timeUp; }
    });
  }
  // While an admin has paused the test the clock stands still, answering is off, and the page asks
  // the server every few seconds; when the test resumes, answering comes back and the queue is sent.
  var pauseEl = document.getElementById("pause-notice");
  var pausedLeft = null, pausePoll = null;
  function applyPause(paused, remainingMs) {
    if (paused && pausedLeft === null) {
      pausedLeft = Math.ceil((typeof remainingMs === "number" ? remainingMs : 0) / 1000);
      setAnswering(false);
      if (pauseEl) { pauseEl.classList.remove("d-none"); }
      if (!pausePoll) { pausePoll = setInterval(pollClock, 5000); }
    } else if (!paused && pausedLeft !== null) {
      pausedLeft = null;
      if (pausePoll) { clearInterval(pausePoll); pausePoll = null; }
      if (pauseEl) { pauseEl.classList.add("d-none"); }
      setAnswering(true);
      retryDelay = 1000;
      flush();
    }
  }
  function tick() {
    if (deadlineAt === null || !timerEl) { return; }
    if (pausedLeft !== null) { timerEl.textContent = clockText(pausedLeft); return; }
    var left = secondsUntil(deadlineAt);
    if (left > 0 && closing) {  // the server gave more time
      clearInterval(closing); closing = null;
      setAnswering(true);
      warned10 = warned1 = false;
      if (warnEl) { warnEl.classList.add("d-none"); }
      timerEl.classList.remove("text-danger");
    }
    timerEl.textContent = clockText(left);
    if (testTimerEl && testDeadlineAt !== null) {
      testTimerEl.textContent = clockText(secondsUntil(testDeadlineAt));
    }
    if (warnEl && left <= 600 && left > 60 && !warned10) { warned10 = true; warnEl.textContent = warnEl.dataset.ten; warnEl.classList.remove("d-none"); }
    if (warnEl && left <= 60 && !warned1) { warned1 = true; warnEl.textContent = warnEl.dataset.one; warnEl.classList.remove("d-none"); timerEl.classList.add("text-danger"); }
    if (left === 0 && !closing) {
      setAnswering(false);
      if (warnEl) { warnEl.textContent = warnEl.dataset.up; warnEl.classList.remove("d-none"); }
      flush();
      closing = setInterval(pollClock, 3000);
    }
  }
  if (root.dataset.paused === "1" && timerEl) {
    applyPause(true, parseInt(timerEl.dataset.remaining || "0", 10) * 1000);
  }
  setInterval(tick, 1000);
  tick();
  function pollClock() {
    if (!navigator.onLine || !root.dataset.clockUrl) { return; }
    fetch(root.dataset.clockUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.status && body.status !== "in_progress") { window.location.assign(root.dataset.resumeUrl); return; }
        syncFrom(body);
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
  // Moving to the next question also hides this page: that is not a signal. The page is leaving
  // once its form is submitted or the browser starts to unload it (a tab switch does neither).
  var leaving = false;
  function leave() { leaving = true; }
  window.addEventListener("beforeunload", leave);
  window.addEventListener("pagehide", leave);
  window.addEventListener("pageshow", function () { leaving = false; });  // back from the cache
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "hidden") { return; }
    if (!leaving) { signal("page_hidden"); }
    flush();
  });
  window.addEventListener("blur", function () { if (!leaving) { signal("focus_lost"); } });
  document.addEventListener("paste", function () { signal("paste"); });
  window.addEventListener("online", function () { retryDelay = 1000; signal("online"); flush(); sendEvents(); });
  window.addEventListener("offline", function () { signal("offline"); refreshStatus(); });

  // ------------------------------------------------------------------ wiring
  document.querySelectorAll("fieldset.item").forEach(function (fs) {
    fs.addEventListener("change", function () { record(fs); });
  });
  if (form) {
    form.addEventListener("submit", function (event) {
      leave();
      if (!navigator.onLine) {
        leaving = false;  // the page stays: the submit is held back below
        event.preventDefault();
        setStatus("offline");
        if (statusEl && root.dataset.offlineNav) { statusEl.textContent = root.dataset.offlineNav + " (" + pending() + ")"; }
      }
    });
  }
  flush();
  refreshStatus();
})();
