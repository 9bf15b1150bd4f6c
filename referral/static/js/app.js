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

  /* What is typed into a form marked `data-keep` is kept in this tab (sessionStorage: gone when the
     tab closes, never shared with another tab or account) until the server has taken it. A link
     that drops at "submit", a reload, or a switch of language then costs nothing: the page puts
     the text back into the empty fields and says so. A submission the server accepted ends with a
     redirect (refusals show the form again with what was typed), so a redirect forgets it. */
  var KEEP_HOURS = 12, SKIP_TYPES = { password: 1, hidden: 1, file: 1, submit: 1, button: 1, reset: 1 };
  var user = document.body.dataset.user;
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }

  function keepKey(f) { return "keep:" + user + ":" + f.getAttribute("action"); }
  function keptFields(f) {
    return Array.prototype.filter.call(f.elements, function (e) {
      return e.name && !SKIP_TYPES[e.type] && e.name !== "csrf_token" && !e.disabled;
    });
  }
  function snapshot(f) {
    var values = keptFields(f).map(function (e) {
      return (e.type === "radio" || e.type === "checkbox") ? [e.name, e.value, e.checked] : [e.name, e.value];
    });
    var typed = values.some(function (v) { return v.length === 2 && v[1].trim(); });
    try {
      if (typed) store.setItem(keepKey(f), JSON.stringify({ at: Date.now(), values: values }));
      else store.removeItem(keepKey(f));
    } catch (e) { /* storage full or refused: nothing kept */ }
  }
  function restore(f, saved) {
    var fields = keptFields(f), used = {}, restored = [];
    saved.values.forEach(function (v) {
      var n = (used[v[0]] = (used[v[0]] || 0) + 1);
      var same = fields.filter(function (e) { return e.name === v[0]; });
      if (v.length === 3) {  // a radio button or check box the person chose
        var box = same.filter(function (e) { return e.value === v[1]; })[0];
        if (box && v[2] && !box.checked) { box.checked = true; restored.push(box); }
        return;
      }
      var field = same[n - 1];
      if (field && v[1].trim() && !field.value.trim() && field.tagName !== "SELECT") {
        field.value = v[1]; restored.push(field);
      } else if (field && field.tagName === "SELECT" && v[1] && field.value !== v[1] && field.selectedIndex <= 0) {
        field.value = v[1]; if (field.value === v[1]) restored.push(field);
      }
    });
    return restored;
  }
  function announce(f, saved, restored) {  // the page says so, and offers to start again
    var details = f.closest("details");
    if (details) details.open = true;
    var time = new Date(saved.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false,
                                                          timeZone: "Asia/Shanghai" });  // the site speaks Beijing time
    var note = el("p", { "class": "alert alert-kept", role: "status" },
                  (document.body.dataset.tKept || "Restored what you typed at {time} and had not sent.").replace("{time}", time) + " ");
    var discard = el("button", { type: "button", "class": "link" }, document.body.dataset.tDiscard || "Discard it");
    discard.addEventListener("click", function () {
      f.reset();  // back to what the page came with
      restored.forEach(function (e) { e.dispatchEvent(new Event("change", { bubbles: true })); });
      try { store.removeItem(keepKey(f)); } catch (e) { /* ignore */ }
      note.remove();
    });
    note.appendChild(discard);
    f.parentNode.insertBefore(note, f);
  }
  if (user && store) {
    var nav = (performance.getEntriesByType && performance.getEntriesByType("navigation")[0]) || {};
    if (nav.redirectCount > 0) {  // a submission was accepted: forget what was kept for it
      Object.keys(store).forEach(function (k) {
        if (k.indexOf("keep-sent:" + user + ":") === 0) {
          store.removeItem(k); store.removeItem(k.replace("keep-sent:", "keep:"));
        }
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-keep]"), function (f) {
      if (!(nav.redirectCount > 0)) {  // the form is shown again: its last submission was not taken
        try { store.removeItem(keepKey(f).replace("keep:", "keep-sent:")); } catch (e) { /* ignore */ }
      }
      var saved = null;
      try { saved = JSON.parse(store.getItem(keepKey(f)) || "null"); } catch (e) { saved = null; }
      if (saved && Date.now() - saved.at < KEEP_HOURS * 3600e3) {
        var restored = restore(f, saved);
        restored.forEach(function (e) { e.dispatchEvent(new Event("change", { bubbles: true })); });
        if (restored.length) announce(f, saved, restored);
      }
      var save = debounce(function () { snapshot(f); }, 400);
      f.addEventListener("input", save);
      f.addEventListener("change", save);
      f.addEventListener("submit", function () {
        snapshot(f);
        try { store.setItem(keepKey(f).replace("keep:", "keep-sent:"), "1"); } catch (e) { /* ignore */ }
      });
    });
    // Signing out leaves nothing of this account's typing in the tab.
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sign-out]"), function (f) {
      f.addEventListener("submit", function () {
        Object.keys(store).forEach(function (k) { if (/^keep(-sent)?:/.test(k)) store.removeItem(k); });
      });
    });
  }

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
