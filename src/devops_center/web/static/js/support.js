// Support Hub: confirmation before destructive admin forms (CSP: no inline scripts).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.classList.contains("confirm")) {
    if (!window.confirm(form.dataset.confirm || "?")) {
      event.preventDefault();
    }
  }
});
