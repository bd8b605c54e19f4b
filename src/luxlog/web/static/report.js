/* The self-contained HTML report: draws the day's (or week's) charts from the JSON inlined in
 * the JSON script element #report-data, with the dashboard's charts.js; needs no
 * server and no network (it is opened from file://, a NAS share or a mail attachment). */
(function () {
  "use strict";
  const { timeChart, bandLegend } = window.LuxCharts;
  const TEMPERATURE_UNITS = new Set(["°C", "K"]);

  function draw() {
    const payload = JSON.parse(document.getElementById("report-data").textContent);
    const temps = payload.names.filter((n) => TEMPERATURE_UNITS.has((payload.units || {})[n]));
    const other = payload.names.filter((n) => !temps.includes(n));
    const charts = [];
    const onZoom = (min, max, u) => {
      for (const c of charts) if (c !== u && (c.scales.x.min !== min || c.scales.x.max !== max)) c.setScale("x", { min, max });
    };
    charts.push(
      timeChart(document.getElementById("chart-temps"), payload, temps, {
        title: "Temperatures",
        height: 340,
        decorate: true,
        onZoom,
        sync: "report",
      })
    );
    const powerBox = document.getElementById("chart-power");
    powerBox.hidden = other.length === 0;
    if (other.length) {
      charts.push(timeChart(powerBox, payload, other, { title: "Heat output / power input", height: 220, onZoom, sync: "report" }));
    }
    const kinds = [...new Set((payload.bands || []).map((b) => b.kind))];
    document.getElementById("legend").replaceChildren(...bandLegend(kinds));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
