/* County referral network: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  /* Ask before destructive actions. */
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-confirm]");
    if (btn && !window.confirm(btn.getAttribute("data-confirm"))) ev.preventDefault();
  });

  /* Do not submit a form twice on a slow link. */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset.sent) { ev.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(function () { delete form.dataset.sent; }, 8000);
  });

  var form = document.querySelector("[data-case-form]");
  if (!form) return;
  var t = form.dataset;

  /* Enter in a search box searches instead of submitting the whole form. */
  form.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && ev.target.matches("[data-patient-search], [data-dx-search]")) {
      ev.preventDefault();
      ev.target.dispatchEvent(new Event("input"));
    }
  });

  /* Patients: live search, and the new-patient fields only when "new patient" is chosen. */
  var pInput = form.querySelector("[data-patient-search]");
  var pResults = form.querySelector("[data-patient-results]");
  var newBlock = form.querySelector("[data-new-patient]");
  var newChoice = form.querySelector("[data-new-patient-choice]");

  function syncNewPatient() {
    if (newBlock && newChoice) newBlock.hidden = !newChoice.checked;
  }
  form.addEventListener("change", function (ev) {
    if (ev.target.name === "patient_choice") syncNewPatient();
  });
  syncNewPatient();

  if (pInput && pResults) {
    pInput.addEventListener("input", debounce(function () {
      var q = pInput.value.trim();
      if (q.length < 1) return;
      getJSON("/lookup/patients?q=" + encodeURIComponent(q)).then(function (data) {
        Array.prototype.slice.call(pResults.querySelectorAll(".choice, .empty")).forEach(function (n) {
          var input = n.querySelector("input");
          if (!(input && (input.checked || input.hasAttribute("data-new-patient-choice")))) n.remove();
        });
        var first = newChoice ? newChoice.closest(".choice") : null;
        if (!data.items.length) {
          pResults.insertBefore(el("p", { class: "empty" }, t.tNoPatient), first);
        }
        data.items.forEach(function (p) {
          if (pResults.querySelector('input[value="' + p.id + '"]')) return;
          var label = el("label", { class: "choice" });
          var input = el("input", { type: "radio", name: "patient_choice", value: String(p.id) });
          var parts = [p.name, t["tSex_" + p.sex] || p.sex];
          if (p.birth_date) parts.push(p.birth_date);
          if (p.id_number) parts.push(p.id_number);
          label.appendChild(input);
          label.appendChild(el("span", {}, " " + parts.join(" · ")));
          pResults.insertBefore(label, first);
        });
      }).catch(function () {});
    }, 300));
  }

  /* Diagnoses: live ICD-10 search; choosing a result adds a row, "remove" drops it. */
  var dxInput = form.querySelector("[data-dx-search]");
  var dxResults = form.querySelector("[data-dx-results]");
  var dxList = form.querySelector("[data-dx-list]");

  function addDiagnosis(code, name) {
    if (dxList.querySelector('input[name="dx_code"][value="' + code + '"]')) return;
    var li = el("li");
    li.appendChild(el("input", { type: "hidden", name: "dx_code", value: code }));
    li.appendChild(el("input", { type: "hidden", name: "dx_name", value: name }));
    li.appendChild(el("span", { class: "dx-code" }, code));
    li.appendChild(el("span", {}, " " + name));
    var rm = el("button", { type: "button", class: "link", "data-remove-dx": "", "aria-label": t.tRemove + " " + code }, t.tRemove);
    li.appendChild(rm);
    dxList.appendChild(li);
  }

  if (dxList) {
    dxList.addEventListener("click", function (ev) {
      var btn = ev.target.closest('[data-remove-dx], button[name="remove_dx"]');
      if (!btn) return;
      ev.preventDefault();
      var li = btn.closest("li");
      var next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      (next ? next.querySelector("button") : dxInput).focus();
    });
  }

  if (dxInput && dxResults && dxList) {
    dxInput.addEventListener("input", debounce(function () {
      var q = dxInput.value.trim();
      dxResults.textContent = "";
      if (!q) return;
      getJSON("/lookup/icd10?q=" + encodeURIComponent(q)).then(function (data) {
        dxResults.textContent = "";
        if (!data.items.length) dxResults.appendChild(el("li", { class: "empty" }, t.tNoDx));
        data.items.forEach(function (item) {
          var li = el("li");
          var btn = el("button", { type: "button", class: "link" });
          btn.appendChild(el("span", { class: "dx-code" }, item.code));
          btn.appendChild(document.createTextNode(" " + item.name));
          btn.addEventListener("click", function () {
            addDiagnosis(item.code, item.name);
            dxResults.textContent = "";
            dxInput.value = "";
            dxInput.focus();
          });
          li.appendChild(btn);
          dxResults.appendChild(li);
        });
      }).catch(function () {});
    }, 200));
  }
})();
