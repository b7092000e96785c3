/* Item bank pages: show the fields that fit the item type and model; follow a calibration's
   progress. Progressive enhancement only: every page works without this script. */
(function () {
  "use strict";

  function itemForm(form) {
    var type = form.querySelector("[data-bank-type]");
    var model = form.querySelector("[data-bank-model]");
    function sync() {
      var t = type ? type.value : "";
      var m = model ? model.value : "";
      form.querySelectorAll("[data-bank-only]").forEach(function (el) {
        el.classList.toggle("d-none", el.getAttribute("data-bank-only").split(" ").indexOf(t) < 0);
      });
      form.querySelectorAll("[data-bank-help]").forEach(function (el) {
        el.classList.toggle("d-none", el.getAttribute("data-bank-help") !== t);
      });
      form.querySelectorAll("[data-bank-model-only]").forEach(function (el) {
        el.classList.toggle("d-none", el.getAttribute("data-bank-model-only").split(" ").indexOf(m) < 0);
      });
    }
    if (type) { type.addEventListener("change", sync); }
    if (model) { model.addEventListener("change", sync); }
    sync();
  }

  function calibration(box) {
    var url = box.getAttribute("data-status-url");
    function poll() {
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          if (s.status !== "running") { window.location.reload(); return; }
          ["stage_label", "iteration"].forEach(function (k) {
            var el = box.querySelector('[data-field="' + k + '"]');
            if (el && s[k] !== null && s[k] !== undefined) { el.textContent = s[k]; }
          });
          var ll = box.querySelector('[data-field="loglik"]');
          if (ll && typeof s.loglik === "number") { ll.textContent = s.loglik.toFixed(3); }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 500);
  }

  document.querySelectorAll(".bank-item-form").forEach(itemForm);
  var box = document.getElementById("calibration-progress");
  if (box) { calibration(box); }
})();
