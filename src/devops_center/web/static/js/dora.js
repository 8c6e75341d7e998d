/* DORA trend charts on /admin/devops, over the selected window (a point a day or a week) (Chart.js, served locally).
   The data comes from <script type="application/json" id="dora-data">: no inline script. */
(function () {
  "use strict";

  function drawCharts() {
    var source = document.getElementById("dora-data");
    if (!source || typeof window.Chart === "undefined") { return; }
    var data;
    try { data = JSON.parse(source.textContent || "{}"); } catch (e) { return; }
    var labels = data.labels || [];
    var styles = getComputedStyle(document.documentElement);
    var color = (styles.getPropertyValue("--pico-primary") || "#1565c0").trim() || "#1565c0";
    document.querySelectorAll("canvas[data-metric]").forEach(function (canvas) {
      var metric = (data.metrics || {})[canvas.getAttribute("data-metric")];
      if (!metric) { return; }
      new window.Chart(canvas, {
        type: metric.unit === "per_day" ? "bar" : "line",
        data: {
          labels: labels,
          datasets: [{
            label: metric.title + " (" + metric.axis + ")",
            data: metric.values,
            borderColor: color,
            backgroundColor: color,
            spanGaps: true,
            tension: 0.25,
            pointRadius: 2
          }]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: {
            x: {
              ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 },
              title: { display: !!data.x_axis, text: data.x_axis, font: { size: 11 } }
            },
            y: {
              beginAtZero: true,
              title: { display: true, text: metric.axis, font: { size: 11 } }
            }
          }
        }
      });
    });
  }

  // Panels served by other features: a missing route leaves a neutral note, not an error.
  function panelUnavailable(event) {
    var target = event.detail && event.detail.elt;
    if (!target || !target.classList || !target.classList.contains("dora-panel")) { return; }
    var note = target.querySelector("[data-unavailable]");
    if (note) { note.textContent = note.getAttribute("data-unavailable"); }
  }
  document.addEventListener("htmx:responseError", panelUnavailable);
  document.addEventListener("htmx:sendError", panelUnavailable);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawCharts);
  } else {
    drawCharts();
  }
})();
