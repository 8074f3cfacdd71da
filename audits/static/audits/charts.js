// Draw every <canvas data-chart="key"> from the JSON in <script id="chart-data">.
// A click on a bar, point or slice opens the page behind it (chart.urls[dataset][index]).
// A chart with links also takes the keyboard focus: the arrow keys, Home and End choose
// a bar, point or slice, which shows its tooltip and is announced, and Enter or Space
// opens its page.
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
      // Counts in a percent chart, such as framework tags corrected, get their own axis
      // on the right, in whole numbers.
      if (chart.datasets.some((dataset) => dataset.yAxisID === "count")) {
        result.scales.count = {
          position: "right",
          beginAtZero: true,
          ticks: { precision: 0 },
          grid: { drawOnChartArea: false },
        };
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

  // The values that a keyboard user steps through, in reading order: label by label,
  // and dataset by dataset within a label. Values without data are skipped.
  function keyboardElements(chart) {
    const elements = [];
    chart.labels.forEach((_, index) => {
      chart.datasets.forEach((dataset, datasetIndex) => {
        if (dataset.data[index] !== null && dataset.data[index] !== undefined) {
          elements.push({ datasetIndex: datasetIndex, index: index });
        }
      });
    });
    return elements;
  }

  function describe(chart, element) {
    const dataset = chart.datasets[element.datasetIndex];
    const value = dataset.data[element.index];
    const name =
      chart.datasets.length > 1
        ? `${chart.labels[element.index]} · ${dataset.label}`
        : chart.labels[element.index];
    const percent = dataset.percent === undefined ? chart.percent : dataset.percent;
    const formatted = percent ? `${value}%` : Number(value).toLocaleString("en");
    const action = urlOf(chart, element) ? " Press Enter to open the list." : "";
    return `${name}: ${formatted}.${action}`;
  }

  function highlight(drawn, element) {
    const active = element ? [element] : [];
    drawn.setActiveElements(active);
    if (element) {
      const point = drawn.getDatasetMeta(element.datasetIndex).data[element.index];
      drawn.tooltip.setActiveElements(active, point.tooltipPosition());
    } else {
      drawn.tooltip.setActiveElements([], { x: 0, y: 0 });
    }
    drawn.update();
  }

  function addKeyboard(canvas, chart, drawn) {
    const elements = keyboardElements(chart);
    if (!elements.some((element) => urlOf(chart, element))) {
      return;
    }
    const status = document.querySelector(`[data-chart-status="${canvas.dataset.chart}"]`);
    let position = -1;
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "application");
    canvas.setAttribute("aria-roledescription", "chart");
    canvas.setAttribute(
      "aria-label",
      `${chart.title}: use the arrow keys to choose a value and Enter to open its list. ` +
        "The values are also listed below the chart."
    );
    function choose(next) {
      position = next;
      highlight(drawn, elements[position]);
      if (status) {
        status.textContent = describe(chart, elements[position]);
      }
    }
    canvas.addEventListener("keydown", (event) => {
      const last = elements.length - 1;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") {
        choose(position < last ? position + 1 : 0);
      } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
        choose(position > 0 ? position - 1 : last);
      } else if (event.key === "Home") {
        choose(0);
      } else if (event.key === "End") {
        choose(last);
      } else if (event.key === "Enter" || event.key === " ") {
        const url = position >= 0 ? urlOf(chart, elements[position]) : "";
        if (url) {
          window.location.href = url;
        } else if (position < 0) {
          choose(0);
        }
      } else {
        return;
      }
      event.preventDefault();
    });
    canvas.addEventListener("blur", () => {
      position = -1;
      highlight(drawn, null);
      if (status) {
        status.textContent = "";
      }
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
      const drawn = new Chart(canvas, {
        type: chart.type,
        data: { labels: chart.labels, datasets: datasets(chart) },
        options: options(chart),
      });
      addKeyboard(canvas, chart, drawn);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
