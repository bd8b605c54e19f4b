/* Now: /api/now every 30 s: the latest values, mode, compressor, poll age, checks, errors. */
(function () {
  "use strict";
  const { api, el, fill, num, age, when, showError } = window.Lux;
  const REFRESH_MS = 30000;

  function badge(text, kind) {
    return el("span", { class: `badge ${kind}` }, text);
  }

  function status(now) {
    if (now.time === null) {
      return [el("p", {}, "No sample stored yet: is the poll job running?")];
    }
    const stale = now.age_s > 300;
    const compressor =
      now.compressor === null || now.compressor === undefined
        ? badge("compressor –", "muted")
        : badge(now.compressor ? "compressor on" : "compressor off", now.compressor ? "on" : "off");
    return [
      el("span", { class: "stat" }, el("small", {}, "mode"), el("strong", { id: "mode" }, now.mode ?? "–")),
      compressor,
      el(
        "span",
        { class: `stat ${stale ? "warn" : ""}` },
        el("small", {}, "last poll"),
        el("strong", { id: "age", title: when(now.time) }, `${age(now.age_s)} ago`)
      ),
      el("span", { class: "stat" }, el("small", {}, "firmware"), el("strong", {}, now.firmware || "–")),
      now.site ? el("span", { class: "stat" }, el("small", {}, "site"), el("strong", {}, now.site)) : null,
    ];
  }

  function value(v) {
    if (v.value === null || v.value === undefined) return "–";
    return typeof v.value === "number" ? `${v.value}${v.unit ? " " + v.unit : ""}` : String(v.value);
  }

  function render(now) {
    fill("status", ...status(now));
    const rows = (now.values || []).map((v) => [v.header, value(v)]);
    const values = fill("values", rows.length ? Lux.table(["", "value"], rows, [1]) : "no values");
    values.dataset.points = String(rows.length);
    values.dataset.ready = "1";
    fill(
      "checks",
      ...(now.checks || []).map((c) =>
        el("li", { class: c.status }, badge(c.status, c.status), " ", el("strong", {}, c.name), " ", c.detail)
      )
    );
    const errors = now.errors || [];
    fill(
      "errors",
      errors.length
        ? Lux.table(["time", "code", "meaning"], errors.map((e) => [when(e.time), String(e.code), e.text || ""]))
        : el("p", { class: "muted" }, "none stored")
    );
    fill("refreshed", `Updated ${new Date().toLocaleTimeString()}.`);
  }

  async function refresh() {
    try {
      render(await api("/api/now"));
      showError(null);
    } catch (error) {
      showError(error);
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
