// Every page: the menu button on narrow screens, and tables that become cards there.
// CSP allows no inline script, so this file does it; without it the menu stays open and
// tables scroll sideways.
(function () {
  "use strict";

  function setUpMenu() {
    var nav = document.querySelector("header.topbar nav");
    var button = nav && nav.querySelector(".menu-toggle");
    if (!button) return;
    document.documentElement.classList.add("js-menu");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        nav.classList.remove("open");
        button.setAttribute("aria-expanded", "false");
        button.focus();
      }
    });
  }

  // Each cell is labelled with its column's heading: on a phone a row is drawn as a card
  // of "heading: value" lines, so no column is hidden.
  function labelTables(root) {
    var tables = (root || document).querySelectorAll("main table");
    tables.forEach(function (table) {
      var heads = table.querySelectorAll("thead th");
      if (!heads.length || table.classList.contains("no-cards")) return;
      var names = Array.prototype.map.call(heads, function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var i = 0;
        Array.prototype.forEach.call(row.children, function (cell) {
          if (cell.colSpan > 1) {
            cell.classList.add("wide");
          } else if (names[i]) {
            cell.setAttribute("data-label", names[i]);
          }
          i += cell.colSpan || 1;
        });
      });
      table.classList.add("cards");
    });
  }

  function start() {
    setUpMenu();
    labelTables(document);
    document.body.addEventListener("htmx:afterSettle", function (event) {
      labelTables(event.target);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
