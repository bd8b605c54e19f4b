/* Summary: /api/summary?by=day|month|year as charts (heat and electricity per period, COP per
 * day against the mean outdoor temperature, compressor starts) and a table. */
(function () {
  "use strict";
  const { api, el, fill, num, showError } = window.Lux;
  const { barChart, scatterChart } = window.LuxCharts;
  const BY = ["day", "month", "year"];
  const FIGURES = [
    ["coverage %", "coverage_pct", 1],
    ["heat kWh", "heat_total_kwh", 1],
    ["electricity kWh", "elec_total_kwh", 2],
    ["COP", "cop_total", 2],
    ["COP heating", "cop_heating", 2],
    ["COP hot water", "cop_dhw", 2],
    ["starts", "compressor_starts", 0],
    ["compressor h", "compressor_hours", 1],
    ["mean run min", "mean_run_min", 0],
    ["defrosts", "defrosts", 0],
    ["outdoor min °C", "outdoor_min_c", 1],
    ["outdoor mean °C", "outdoor_mean_c", 1],
    ["outdoor max °C", "outdoor_max_c", 1],
  ];
  const charts = [];

  /** A figure as the CLI's table writes it: ~estimated, partial*, – missing. */
  function cell(period, key, decimals) {
    const value = period[key];
    const status = (period.quality || {})[key] || "ok";
    if (value === null || value === undefined) return status === "n/a" ? "n/a" : "–";
    const text = num(value, decimals);
    if (status === "estimated") return `~${text}`;
    if (status === "partial") return `${text}*`;
    return text;
  }

  function draw(by, periods) {
    charts.length = 0;
    const labels = periods.map((p) => p.period);
    const pick = (key) => periods.map((p) => (p[key] === undefined ? null : p[key]));
    charts.push(
      barChart(
        document.getElementById("chart-energy"),
        labels,
        [
          { label: "heat", values: pick("heat_total_kwh"), colour: "#ff7f0e", unit: "kWh" },
          { label: "electricity", values: pick("elec_total_kwh"), colour: "#1f77b4", unit: "kWh", decimals: 2 },
        ],
        { title: `Heat and electricity per ${by}`, unit: "kWh" }
      )
    );
    const points = periods.map((p) => [p.outdoor_mean_c, p.cop_total]);
    document.getElementById("cop-note").hidden = points.some((p) => p[0] !== null && p[1] !== null);
    charts.push(
      scatterChart(document.getElementById("chart-cop"), points, {
        title: `COP per ${by} against the mean outdoor temperature`,
        xLabel: "mean outdoor °C",
        yLabel: "COP",
      })
    );
    charts.push(
      barChart(
        document.getElementById("chart-starts"),
        labels,
        [{ label: "compressor starts", values: pick("compressor_starts"), colour: "#2ca02c", decimals: 0 }],
        { title: `Compressor starts per ${by}`, height: 260 }
      )
    );
    const headers = [by, ...FIGURES.map((f) => f[0])];
    const rows = periods.map((p) => [p.period, ...FIGURES.map(([, key, d]) => cell(p, key, d))]);
    const numeric = FIGURES.map((_, i) => i + 1);
    fill("table", periods.length ? Lux.table(headers, rows, numeric) : el("p", {}, "No days summarised yet."));
  }

  async function load(by, push) {
    for (const b of document.querySelectorAll("[data-by]")) {
      b.setAttribute("aria-pressed", String(b.dataset.by === by));
    }
    const url = `/summary?by=${by}`;
    if (push) window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
    try {
      const body = await api(`/api/summary?by=${by}`);
      // the default range reaches back a month (a year …): start at the first period with data
      const periods = body.periods || [];
      const first = periods.findIndex((p) => p.coverage_pct);
      draw(by, first < 0 ? [] : periods.slice(first));
      showError(null);
    } catch (error) {
      showError(error);
    }
  }

  function current() {
    const by = new URLSearchParams(window.location.search).get("by");
    return BY.includes(by) ? by : "day";
  }

  for (const b of document.querySelectorAll("[data-by]")) {
    b.addEventListener("click", () => load(b.dataset.by, true));
  }
  window.addEventListener("popstate", () => load(current(), false));
  load(current(), false);
})();
