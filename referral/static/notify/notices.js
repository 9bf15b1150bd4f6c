/* Emergency notices: the compose page's facility filter, and the live acknowledgement board
   (fed by notify.js's "referral:notice_ack" events; re-read from the server after a reconnect). */
(function () {
  "use strict";

  function localTime(iso) {
    try {
      return new Date(iso).toLocaleString(document.documentElement.lang || "zh-CN",
        {timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
         second: "2-digit", hour12: false});
    } catch (e) { return iso; }
  }

  // ---- compose
  var picker = document.querySelector("[data-facility-picker]");
  if (picker) {
    var filter = document.querySelector("[data-facility-filter]");
    var chosenCount = document.querySelector("[data-chosen-count]");
    filter && filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      picker.querySelectorAll("label[data-name]").forEach(function (label) {
        label.hidden = q !== "" && label.dataset.name.toLowerCase().indexOf(q) < 0;
      });
    });
    picker.addEventListener("change", function () {
      if (chosenCount) { chosenCount.textContent = String(picker.querySelectorAll("input:checked").length); }
    });
  }

  // ---- board
  var board = document.querySelector("[data-notice-board]");
  if (!board) { return; }
  var noticeId = Number(board.dataset.noticeBoard);
  var acked = board.querySelector("[data-acknowledged]");
  var outstanding = board.querySelector("[data-outstanding]");

  function setCounts(a, o) {
    board.querySelector("[data-acked-count]").textContent = String(a);
    board.querySelector("[data-outstanding-count]").textContent = String(o);
    var bar = board.querySelector("[data-progress]");
    if (bar && a + o > 0) { bar.style.width = (100 * a / (a + o)).toFixed(1) + "%"; }
    var resend = board.querySelector("[data-resend]");
    var resendCount = board.querySelector("[data-resend-count]");
    if (resendCount) { resendCount.textContent = String(o); }
    if (resend && o === 0) { resend.disabled = true; }
  }

  function markAcknowledged(d) {
    var row = outstanding.querySelector('tr[data-facility-id="' + d.facility_id + '"]');
    if (!row || acked.querySelector('tr[data-facility-id="' + d.facility_id + '"]')) { return; }
    var name = row.cells[0].firstChild ? row.cells[0].firstChild.textContent.trim() : d.facility;
    row.remove();
    var tr = document.createElement("tr");
    tr.dataset.facilityId = String(d.facility_id);
    tr.className = "fresh";
    var td1 = document.createElement("td"); td1.textContent = name || d.facility;
    var td2 = document.createElement("td"); td2.textContent = d.by || "";
    var td3 = document.createElement("td");
    var t = document.createElement("time"); t.dateTime = d.acknowledged_at; t.textContent = localTime(d.acknowledged_at);
    td3.append(t);
    tr.append(td1, td2, td3);
    acked.append(tr);
  }

  document.addEventListener("referral:notice_ack", function (e) {
    var d = e.detail || {};
    if (Number(d.notice_id) !== noticeId) { return; }
    markAcknowledged(d);
    setCounts(d.acknowledged, d.outstanding);
  });

  // After a reconnect the board may have missed acknowledgements: read them again.
  function resync() {
    fetch(board.dataset.boardUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) { return; }
        d.facilities.forEach(function (f) {
          if (f.acknowledged_at) { markAcknowledged({facility_id: f.facility_id, facility: f.facility, by: f.by, acknowledged_at: f.acknowledged_at}); }
        });
        setCounts(d.acknowledged, d.outstanding);
      })
      .catch(function () {});
  }
  var tries = 0;
  (function attach() {
    if (window.referralSocket) {
      var first = true;
      window.referralSocket.on("connect", function () { if (!first) { resync(); } first = false; });
      if (window.referralSocket.connected) { first = false; }
    } else if (tries++ < 50) {
      setTimeout(attach, 100);
    }
  })();
})();
