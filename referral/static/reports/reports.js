// Sortable report tables: click a column header to sort by it; click again to reverse.
// Numbers sort as numbers (the data-sort attribute), text by the reader's language.
(function () {
  "use strict";
  function value(cell) {
    var raw = cell ? cell.getAttribute("data-sort") : "";
    if (raw === null || raw === "" || raw === "None") return null;
    var n = Number(raw);
    return isNaN(n) ? raw : n;
  }
  function compare(a, b) {
    if (a === b) return 0;
    if (a === null) return 1;           // blanks last whichever the direction
    if (b === null) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), document.documentElement.lang || undefined);
  }
  function sort(table, col, button) {
    var th = button.parentNode;
    var descending = th.getAttribute("aria-sort") !== "descending";
    var numeric = th.classList.contains("num");
    if (!numeric) descending = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = value(r1.cells[col]), b = value(r2.cells[col]);
      if (a === null || b === null) return compare(a, b);
      return descending ? compare(b, a) : compare(a, b);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("button.sort").forEach(function (button) {
      button.addEventListener("click", function () { sort(table, Number(button.getAttribute("data-col")), button); });
    });
  });
})();
