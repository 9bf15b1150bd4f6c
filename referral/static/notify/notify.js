/* Live notifications: one Socket.IO connection per page (the login session cookie
   authenticates it), the header badge's unread count, a short toast for each new
   notification, and DOM events other scripts listen to:
     referral:notification  (detail: the notification)
     referral:notice_ack    (detail: an acknowledgement on a notice board)
   The connection is shared as window.referralSocket. */
(function () {
  "use strict";
  var badge = document.querySelector("[data-notify-badge]");
  if (!badge || typeof window.io !== "function") { return; }
  var countEl = badge.querySelector("[data-notify-count]");
  var toasts = document.querySelector("[data-notify-toasts]");
  var count = parseInt((countEl && countEl.textContent) || "0", 10) || 0;

  function setCount(n) {
    count = Math.max(0, n);
    if (countEl) {
      countEl.textContent = count > 99 ? "99+" : String(count);
      countEl.hidden = count === 0;
    }
    var label = count ? (badge.dataset.labelSome || "").replace("{n}", String(count)) : badge.dataset.labelZero;
    if (label) { badge.setAttribute("aria-label", label); }
    document.querySelectorAll("[data-notify-count-inline]").forEach(function (el) { el.textContent = String(count); });
    badge.dataset.count = String(count);
  }

  var notices = document.querySelector("[data-notices-badge]");
  function setNotices(n) {
    if (!notices) { return; }
    var el = notices.querySelector("[data-notices-count]");
    el.textContent = String(n);
    el.hidden = n === 0;
    notices.classList.toggle("alert", n > 0);
    var label = n ? (notices.dataset.labelSome || "").replace("{n}", String(n)) : notices.dataset.labelZero;
    if (label) { notices.setAttribute("aria-label", label); }
  }

  function localTime(iso) {
    try {
      return new Date(iso).toLocaleString(document.documentElement.lang || "zh-CN",
        {timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false});
    } catch (e) { return iso; }
  }

  function toast(n) {
    if (!toasts) { return; }
    var box = document.createElement("div");
    box.className = "notify-toast kind-" + n.kind;
    box.setAttribute("data-notify-toast", String(n.id));
    var link = document.createElement("a");
    link.href = "/notifications/" + encodeURIComponent(n.id);
    link.textContent = n.title;
    var when = document.createElement("time");
    when.dateTime = n.created_at;
    when.textContent = localTime(n.created_at);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "notify-close";
    close.setAttribute("aria-label", toasts.dataset.textClose || "Close");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { box.remove(); });
    box.append(link, when, close);
    toasts.prepend(box);
    // Emergency notices stay until closed; everything else fades after a while.
    if (n.kind !== "emergency_notice") {
      setTimeout(function () { box.remove(); }, 10000);
    }
    while (toasts.children.length > 5) { toasts.lastElementChild.remove(); }
  }

  function prependToList(n) {
    var list = document.querySelector("[data-notify-list]");
    if (!list || list.querySelector('[data-notification-id="' + n.id + '"]')) { return; }
    var empty = list.querySelector("[data-notify-empty]");
    if (empty) { empty.remove(); }
    var li = document.createElement("li");
    li.className = "notify-item unread kind-" + n.kind;
    li.setAttribute("data-notification-id", String(n.id));
    var a = document.createElement("a");
    a.className = "notify-title";
    a.href = "/notifications/" + encodeURIComponent(n.id);
    a.textContent = n.title;
    var meta = document.createElement("span");
    meta.className = "notify-meta";
    var t = document.createElement("time");
    t.dateTime = n.created_at;
    t.textContent = localTime(n.created_at);
    meta.append(t);
    li.append(a, meta);
    list.prepend(li);
  }

  function resync() {
    fetch(badge.dataset.countUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (d && typeof d.unread === "number") { setCount(d.unread); }
        if (d && typeof d.notices === "number") { setNotices(d.notices); }
      })
      .catch(function () { /* offline: the next reconnect tries again */ });
  }

  var socket = window.io({path: "/socket.io", withCredentials: true});
  window.referralSocket = socket;
  var connectedBefore = false;
  socket.on("connect", function () {
    badge.dataset.live = "1";
    if (connectedBefore) { resync(); }  // missed pushes while offline: the server has the truth
    connectedBefore = true;
  });
  socket.on("disconnect", function () { badge.dataset.live = "0"; });
  socket.on("notification", function (n) {
    setCount(count + 1);
    if (n.kind === "emergency_notice") { resync(); }  // the notices icon counts facilities' acknowledgements
    toast(n);
    prependToList(n);
    document.dispatchEvent(new CustomEvent("referral:notification", {detail: n}));
  });
  socket.on("notifications_read", function (d) {
    if (d && typeof d.unread === "number") { setCount(d.unread); }
  });
  socket.on("notice_ack", function (d) {
    document.dispatchEvent(new CustomEvent("referral:notice_ack", {detail: d}));
  });
})();
