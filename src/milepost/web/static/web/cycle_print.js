/* The printable cycle report: a Print button (shown only when scripts run; no inline
   scripts anywhere, the Content-Security-Policy forbids them). */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
});
