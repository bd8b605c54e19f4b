/* Day / week: /api/series for one local day or the 7 days ending on a date, as charts.
 * State lives in the URL (?date=YYYY-MM-DD&days=1|7) so a view can be bookmarked and the
 * browser's back button works. */
(function () {
  "use strict";
  const { api, el, fill, showError } = window.Lux;
  const { timeChart, bandLegend } = window.LuxCharts;
  const TEMPERATURE_UNITS = new Set(["°C", "K"]);

  const state = { date: null, days: 1, charts: [], full: null };

  function iso(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  /** ``text`` (YYYY-MM-DD) plus ``n`` days, by the calendar (noon: no DST edge). */
  function shift(text, n) {
    const [y, m, d] = text.split("-").map(Number);
    return iso(new Date(y, m - 1, d + n, 12));
  }

  function readUrl() {
    const params = new URLSearchParams(window.location.search);
    const date = params.get("date");
    state.date = /^\d{4}-\d{2}-\d{2}$/.test(date || "") ? date : null; // null: today (load)
    state.days = params.get("days") === "7" ? 7 : 1;
  }

  /** The local date (YYYY-MM-DD) of an ISO instant in ``zone``. */
  function dateIn(instant, zone) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date(instant));
  }

  /** Today in the configured time zone: the server's default range (one small query). */
  async function today() {
    const probe = await api("/api/series?names=ID_WEB_Temperatur_TA&points=10");
    return dateIn(probe.from, probe.timezone);
  }

  function writeUrl(push) {
    const url = `/day?date=${state.date}&days=${state.days}`;
    if (push) window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
  }

  function zoomAll(min, max, except) {
    for (const chart of state.charts) {
      if (chart !== except && (chart.scales.x.min !== min || chart.scales.x.max !== max)) {
        chart.setScale("x", { min, max });
      }
    }
  }

  function pan(direction) {
    const chart = state.charts[0];
    if (!chart) return;
    const { min, max } = chart.scales.x;
    const step = ((max - min) / 2) * direction;
    zoomAll(min + step, max + step, null);
  }

  function split(payload) {
    const temps = [];
    const other = [];
    for (const name of payload.names) {
      const unit = (payload.units || {})[name];
      (TEMPERATURE_UNITS.has(unit) ? temps : other).push(name);
    }
    return [temps, other];
  }

  function describe(payload) {
    const n = payload.t.length;
    const how = payload.downsampled
      ? `down-sampled to ${n} buckets of ${Math.round(payload.step_s / 60)} min (shaded: min–max per bucket)`
      : `${n} samples`;
    const local = (instant) => new Date(instant).toLocaleString(undefined, { timeZone: payload.timezone });
    return `${local(payload.from)} – ${local(payload.to)} (${payload.timezone}): ${how}`;
  }

  function draw(payload) {
    state.charts = [];
    const [temps, other] = split(payload);
    // the x scale spans the samples (drawn once: no second draw to widen it to from..to)
    const t = payload.t;
    state.full = t.length ? [t[0], t[t.length - 1]] : null;
    const onZoom = (min, max, u) => zoomAll(min, max, u);
    const tempsBox = document.getElementById("chart-temps");
    const powerBox = document.getElementById("chart-power");
    for (const box of [tempsBox, powerBox]) box.dataset.from = payload.from;
    state.charts.push(
      timeChart(tempsBox, payload, temps, { title: "Temperatures", height: 340, decorate: true, onZoom, sync: "day" })
    );
    powerBox.hidden = other.length === 0;
    if (other.length) {
      state.charts.push(
        timeChart(powerBox, payload, other, { title: "Heat output / power input", height: 220, onZoom, sync: "day" })
      );
    }
    const kinds = [...new Set((payload.bands || []).map((b) => b.kind))];
    fill("legend", ...bandLegend(kinds));
    fill("range", payload.t.length ? describe(payload) : "No samples in this range.");
  }

  async function load() {
    if (state.date === null) {
      try {
        state.date = await today();
      } catch (error) {
        showError(error);
        return;
      }
      writeUrl(false);
    }
    const input = document.getElementById("date");
    input.value = state.date;
    for (const b of document.querySelectorAll("[data-days]")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.days) === state.days));
    }
    fill("heading", state.days === 7 ? `Week ending ${state.date}` : `Day ${state.date}`);
    for (const id of ["chart-temps", "chart-power"]) document.getElementById(id).dataset.ready = "0";
    const from = shift(state.date, 1 - state.days);
    try {
      // a day at 30 s is 2880 samples: all of them; a week is down-sampled to 2000 buckets
      const points = state.days === 1 ? 3000 : 2000;
      draw(await api(`/api/series?from=${from}&to=${state.date}&points=${points}`));
      showError(null);
    } catch (error) {
      showError(error);
    }
  }

  function go(changes) {
    Object.assign(state, changes);
    writeUrl(true);
    load();
  }

  function wire() {
    document.getElementById("prev").addEventListener("click", () => go({ date: shift(state.date, -state.days) }));
    document.getElementById("next").addEventListener("click", () => go({ date: shift(state.date, state.days) }));
    document.getElementById("date").addEventListener("change", (event) => {
      if (event.target.value) go({ date: event.target.value });
    });
    for (const b of document.querySelectorAll("[data-days]")) {
      b.addEventListener("click", () => go({ days: Number(b.dataset.days) }));
    }
    document.getElementById("pan-left").addEventListener("click", () => pan(-1));
    document.getElementById("pan-right").addEventListener("click", () => pan(1));
    document.getElementById("reset-zoom").addEventListener("click", () => {
      if (state.full) zoomAll(state.full[0], state.full[1], null);
    });
    document.getElementById("controls").addEventListener("submit", (event) => event.preventDefault());
    window.addEventListener("popstate", () => {
      readUrl();
      load();
    });
  }

  readUrl();
  wire();
  load();
})();
