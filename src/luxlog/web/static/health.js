/* Health: /api/health: polls per day (a stacked bar of ok / failed / missing), the buffer
 * backlog, the disk, the reports written and the last poll. */
(function () {
  "use strict";
  const { api, el, fill, num, age, when, showError } = window.Lux;
  const { barChart } = window.LuxCharts;

  function pairs(object) {
    const rows = Object.entries(object || {}).map(([k, v]) => [
      k.replaceAll("_", " "),
      typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "–"),
    ]);
    return rows.length ? Lux.table(["", ""], rows) : el("p", { class: "muted" }, "–");
  }

  function disk(d) {
    if (!d) return el("p", { class: "muted" }, "–");
    const gib = (b) => (b === null || b === undefined ? "–" : `${(b / 2 ** 30).toFixed(1)} GiB`);
    return Lux.table(
      ["", ""],
      [
        ["path", d.path],
        ["used", `${num(d.used_pct, 1)} %`],
        ["free", gib(d.free_bytes)],
        ["total", gib(d.total_bytes)],
      ]
    );
  }

  function render(h) {
    const days = h.days || [];
    barChart(
      document.getElementById("chart-coverage"),
      days.map((d) => d.date),
      [
        { label: "ok", values: days.map((d) => d.ok), colour: "#2ca02c", decimals: 0 },
        { label: "failed", values: days.map((d) => d.failed), colour: "#d62728", decimals: 0 },
        {
          label: "missing",
          values: days.map((d) => Math.max(0, (d.expected ?? 0) - (d.ok ?? 0) - (d.failed ?? 0))),
          colour: "#aaaaaa",
          decimals: 0,
        },
      ],
      { title: "Polls per day", unit: "polls" }
    );
    fill(
      "days",
      Lux.table(
        ["date", "expected", "ok", "failed", "coverage %", "longest gap min"],
        days.map((d) => [d.date, d.expected, d.ok, d.failed, num(d.coverage_pct, 1), num(d.longest_gap_min, 1)]),
        [1, 2, 3, 4, 5]
      )
    );
    const last = h.last_poll || {};
    fill("last-poll", pairs(last.time ? { ...last, ago: last.age_s !== undefined ? age(last.age_s) : undefined } : last));
    fill("backlog", pairs(h.backlog));
    fill("disk", disk(h.disk));
    const reports = h.reports || [];
    fill(
      "reports",
      reports.length
        ? Lux.table(["file", "window", "written"], reports.map((r) => [r.file, r.window, when(r.written)]))
        : el("p", { class: "muted" }, "none yet")
    );
  }

  api("/api/health?days=14")
    .then((h) => {
      render(h);
      showError(null);
    })
    .catch(showError);
})();
