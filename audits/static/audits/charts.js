// Draw every <canvas data-chart="key"> from the JSON in <script id="chart-data">.
// A click on a bar, point or slice opens the page behind it (chart.urls[dataset][index]).
(function () {
  "use strict";

  const PALETTE = ["#0d6efd", "#198754", "#f0ad00", "#6c757d", "#dc3545", "#6f42c1", "#20c997", "#fd7e14"];

  function options(chart) {
    const axis = chart.horizontal ? "y" : "x";
    const valueAxis = chart.horizontal ? "x" : "y";
    const result = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: {
          display: chart.legend === true || chart.datasets.length > 1 || chart.type === "doughnut",
        },
      },
      onHover: (event, elements) => {
        const target = event.native && event.native.target;
        if (target) {
          target.style.cursor = elements.length && urlOf(chart, elements[0]) ? "pointer" : "default";
        }
      },
      onClick: (event, elements) => {
        const url = elements.length ? urlOf(chart, elements[0]) : "";
        if (url) {
          window.location.href = url;
        }
      },
    };
    if (chart.type !== "doughnut") {
      result.indexAxis = axis;
      result.scales = {};
      // Chart.js draws a line chart's first point on the value axis, so a chart with one
      // month hid its only point there. Offsetting the labels centres the points.
      result.scales[axis] = { stacked: chart.stacked, offset: true, ticks: { autoSkip: false } };
      result.scales[valueAxis] = { stacked: chart.stacked, beginAtZero: true };
      if (chart.percent) {
        result.scales[valueAxis].max = 100;
      }
    }
    return result;
  }

  function urlOf(chart, element) {
    const row = chart.urls[element.datasetIndex] || [];
    return row[element.index] || "";
  }

  function datasets(chart) {
    return chart.datasets.map((dataset, index) => {
      const colour = PALETTE[index % PALETTE.length];
      const styled = Object.assign({}, dataset);
      if (chart.type === "doughnut") {
        // The server may fix a colour per slice, such as grey for accounts not yet verified.
        const colours = chart.colors && chart.colors.length ? chart.colors : PALETTE;
        styled.backgroundColor = dataset.data.map((_, i) => colours[i % colours.length]);
      } else {
        styled.backgroundColor = colour;
        styled.borderColor = colour;
        styled.spanGaps = true;
      }
      return styled;
    });
  }

  function draw() {
    const source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined") {
      return;
    }
    const charts = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const chart = charts[canvas.dataset.chart];
      if (!chart) {
        return;
      }
      new Chart(canvas, {
        type: chart.type,
        data: { labels: chart.labels, datasets: datasets(chart) },
        options: options(chart),
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
