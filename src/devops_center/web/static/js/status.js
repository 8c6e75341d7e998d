/* System status: response-time charts on /admin/status (Chart.js, vendored). */
(function () {
  "use strict";

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") return;
    var points;
    try {
      points = JSON.parse(canvas.dataset.points || "[]");
    } catch (e) {
      return;
    }
    canvas.dataset.drawn = "1";
    var labels = points.map(function (p) {
      var d = new Date(p[0]);
      return d.toLocaleString(document.documentElement.lang || undefined, {
        month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
      });
    });
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          {
            label: canvas.dataset.labelMs || "ms",
            data: points.map(function (p) { return p[1]; }),
            borderColor: "#1565c0",
            backgroundColor: "rgba(21, 101, 192, 0.15)",
            fill: true,
            pointRadius: 0,
            spanGaps: false,
            yAxisID: "y"
          },
          {
            label: canvas.dataset.labelUp || "%",
            data: points.map(function (p) { return p[2]; }),
            borderColor: "#2e7d32",
            pointRadius: 0,
            stepped: true,
            yAxisID: "up"
          }
        ]
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 8, autoSkip: true } },
          y: { beginAtZero: true, position: "left" },
          up: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false } }
        }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas.status-chart").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
