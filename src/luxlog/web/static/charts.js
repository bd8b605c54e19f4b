/* luxlog's charts on uPlot (vendor/uPlot.iife.min.js, the global ``uPlot``).
 *
 * timeChart: lines over time from an /api/series payload. Nulls are gaps (spanGaps false:
 * the server puts a null row in every series where polls are missing). When the payload is
 * down-sampled, each line's per-bucket min..max is filled as a band behind it so spikes stay
 * visible. Operating-mode bands are painted behind everything, compressor runs as a strip
 * along the bottom. Drag selects an x range (zoom), a double click resets it.
 * barChart / scatterChart: the summary page's period bars and COP-vs-outdoor points.
 *
 * Every chart container gets data-ready="1" and data-points="N" (x values plotted) once drawn,
 * which the browser tests and bench/web_pages.py wait for. */
(function () {
  "use strict";

  const PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"];
  const MODE_COLOURS = {
    heating: "rgba(255, 140, 0, 0.14)",
    hot_water: "rgba(214, 39, 160, 0.13)",
    defrost: "rgba(31, 119, 180, 0.22)",
    evu: "rgba(90, 90, 90, 0.22)",
    cooling: "rgba(23, 190, 207, 0.18)",
  };
  const MODE_LABELS = { heating: "heating", hot_water: "hot water", defrost: "defrost", evu: "EVU block", cooling: "cooling" };
  const COMPRESSOR_COLOUR = "rgba(44, 160, 44, 0.85)";
  const OTHER_MODE = "rgba(150, 150, 150, 0.12)";

  function modeColour(kind) {
    return MODE_COLOURS[String(kind).toLowerCase()] || OTHER_MODE;
  }

  function widthOf(container) {
    return Math.max(320, Math.floor(container.clientWidth || 800));
  }

  function markReady(container, points) {
    container.dataset.points = String(points);
    container.dataset.ready = "1";
  }

  /** Canvas x of epoch ``t``, clamped to the plot box. */
  function xPos(u, t) {
    const x = u.valToPos(t, "x", true);
    return Math.min(Math.max(x, u.bbox.left), u.bbox.left + u.bbox.width);
  }

  function paintSpans(u, spans, colourOf, top, height) {
    const ctx = u.ctx;
    for (const span of spans) {
      const x0 = xPos(u, span.from);
      const x1 = xPos(u, span.to);
      if (x1 <= x0) continue;
      ctx.fillStyle = colourOf(span);
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
    }
  }

  /** Fill min..max of one line, broken at nulls, like the line itself. */
  function paintEnvelope(u, t, lo, hi, colour) {
    const ctx = u.ctx;
    ctx.fillStyle = colour;
    let i = 0;
    while (i < t.length) {
      while (i < t.length && (lo[i] === null || hi[i] === null)) i++;
      let j = i;
      while (j < t.length && lo[j] !== null && hi[j] !== null) j++;
      if (j > i) {
        ctx.beginPath();
        for (let k = i; k < j; k++) ctx.lineTo(u.valToPos(t[k], "x", true), u.valToPos(hi[k], "y", true));
        for (let k = j - 1; k >= i; k--) ctx.lineTo(u.valToPos(t[k], "x", true), u.valToPos(lo[k], "y", true));
        ctx.closePath();
        ctx.fill();
      }
      i = j;
    }
  }

  function extent(arrays) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of arrays) {
      for (const v of a || []) {
        if (v === null || v === undefined) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return lo <= hi ? [lo, hi] : null;
  }

  function paddedRange(lo, hi) {
    if (lo === hi) return [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }

  /**
   * Lines of ``names`` from an /api/series payload into ``container``.
   * opts: {title, height, decorate (mode bands + compressor strip), onZoom(min, max), sync}
   */
  function timeChart(container, payload, names, opts) {
    opts = opts || {};
    const t = payload.t;
    const envelopes = payload.downsampled && payload.min && payload.max;
    const data = [t];
    const series = [{}];
    const colours = [];
    names.forEach((name, i) => {
      const colour = PALETTE[i % PALETTE.length];
      const unit = (payload.units && payload.units[name]) || "";
      const target = /soll|target/i.test(name) || /target/i.test((payload.headers || {})[name] || "");
      colours.push(colour);
      data.push(payload.series[name]);
      series.push({
        label: (payload.headers && payload.headers[name]) || name,
        stroke: colour,
        width: target ? 1 : 1.5,
        dash: target ? [6, 4] : undefined,
        spanGaps: false,
        points: { show: false },
        value: (u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} ${unit}`.trim()),
      });
    });
    const all = names.map((n) => payload.series[n]);
    if (envelopes) {
      for (const n of names) all.push(payload.min[n], payload.max[n]);
    }
    const span = extent(all);
    const bands = opts.decorate ? payload.bands || [] : [];
    const runs = opts.decorate ? payload.compressor || [] : [];
    const hooks = {
      drawClear: [
        (u) => {
          u.ctx.save();
          const { left, top, width, height } = u.bbox;
          u.ctx.beginPath();
          u.ctx.rect(left, top, width, height);
          u.ctx.clip();
          paintSpans(u, bands, (b) => modeColour(b.kind), top, height);
          if (envelopes) {
            names.forEach((n, i) => {
              if (payload.min[n] && payload.max[n]) {
                paintEnvelope(u, t, payload.min[n], payload.max[n], alpha(colours[i], 0.18));
              }
            });
          }
          u.ctx.restore();
        },
      ],
      draw: [
        (u) => {
          if (!runs.length) return;
          const strip = Math.round(6 * devicePixelRatio);
          const top = u.bbox.top + u.bbox.height - strip;
          paintSpans(u, runs, () => COMPRESSOR_COLOUR, top, strip);
        },
      ],
      setScale: [
        (u, key) => {
          if (key !== "x") return;
          container.dataset.xmin = String(u.scales.x.min);
          container.dataset.xmax = String(u.scales.x.max);
          if (opts.onZoom) opts.onZoom(u.scales.x.min, u.scales.x.max, u);
        },
      ],
    };
    const options = {
      title: opts.title,
      width: widthOf(container),
      height: opts.height || 300,
      series,
      scales: {
        x: { time: true },
        y: { range: (u, lo, hi) => (span ? paddedRange(Math.min(lo, span[0]), Math.max(hi, span[1])) : [0, 1]) },
      },
      axes: [{}, { label: unitLabel(payload, names) }],
      // times in the configured zone (the day's boundaries, the reports), not the browser's
      tzDate: payload.timezone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), payload.timezone) : undefined,
      cursor: { drag: { x: true, y: false, setScale: true }, sync: opts.sync ? { key: opts.sync } : undefined },
      hooks,
    };
    return mount(container, options, data, t.length);
  }

  function unitLabel(payload, names) {
    const units = new Set(names.map((n) => (payload.units && payload.units[n]) || ""));
    return units.size === 1 ? [...units][0] : "";
  }

  /** A legend for the mode bands and the compressor strip (DOM, no data as HTML). */
  function bandLegend(kinds) {
    const items = kinds.map((kind) => {
      const swatch = document.createElement("span");
      swatch.className = `swatch mode-${String(kind).toLowerCase()}`;
      const item = document.createElement("span");
      item.className = "legend-item";
      item.append(swatch, document.createTextNode(MODE_LABELS[String(kind).toLowerCase()] || String(kind).replaceAll("_", " ")));
      return item;
    });
    const swatch = document.createElement("span");
    swatch.className = "swatch compressor";
    const item = document.createElement("span");
    item.className = "legend-item";
    item.append(swatch, document.createTextNode("compressor running"));
    items.push(item);
    return items;
  }

  /** Rectangles centred on each x (index scale), ``frac`` of the slot wide, shifted by ``offset`` slots. */
  function barPaths(frac, offset) {
    return (u, si, i0, i1) => {
      const path = new Path2D();
      const xs = u.data[0];
      const ys = u.data[si];
      const slot = u.valToPos(1, "x", true) - u.valToPos(0, "x", true);
      const w = Math.max(1, slot * frac);
      const base = u.valToPos(0, "y", true);
      for (let i = i0; i <= i1; i++) {
        if (ys[i] === null || ys[i] === undefined) continue;
        const x = u.valToPos(xs[i], "x", true) + slot * offset - w / 2;
        const y = u.valToPos(ys[i], "y", true);
        path.rect(x, Math.min(y, base), w, Math.abs(base - y));
      }
      return { stroke: path, fill: path };
    };
  }

  function indexAxis(labels) {
    return {
      values: (u, splits) => splits.map((i) => (Number.isInteger(i) && labels[i] !== undefined ? labels[i] : "")),
      splits: (u) => {
        const room = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 90));
        const step = Math.max(1, Math.ceil(labels.length / room));
        const out = [];
        for (let i = 0; i < labels.length; i += step) out.push(i);
        return out;
      },
    };
  }

  /**
   * Bars per period: ``defs`` = [{label, values, colour, unit}], drawn side by side.
   */
  function barChart(container, labels, defs, opts) {
    opts = opts || {};
    const xs = labels.map((_, i) => i);
    const frac = 0.8 / defs.length;
    const series = [{ label: "period", value: (u, i) => (i === null ? "–" : labels[i]) }];
    defs.forEach((d, k) => {
      const offset = (k - (defs.length - 1) / 2) * frac;
      series.push({
        label: d.label,
        stroke: d.colour,
        fill: d.colour,
        width: 0,
        points: { show: false },
        paths: barPaths(frac * 0.9, offset),
        value: (u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(d.decimals ?? 1)} ${d.unit || ""}`.trim()),
      });
    });
    const top = extent(defs.map((d) => d.values));
    const options = {
      title: opts.title,
      width: widthOf(container),
      height: opts.height || 240,
      series,
      scales: {
        x: { time: false, range: () => [-0.6, Math.max(labels.length - 0.4, 0.4)] },
        y: { range: () => [Math.min(0, top ? top[0] : 0), top && top[1] > 0 ? top[1] * 1.1 : 1] },
      },
      axes: [indexAxis(labels), { label: opts.unit || "" }],
      cursor: { drag: { x: false, y: false } },
    };
    return mount(container, options, [xs, ...defs.map((d) => d.values)], labels.length);
  }

  /** Points (x, y) without lines, e.g. COP per day against the day's mean outdoor temperature. */
  function scatterChart(container, points, opts) {
    opts = opts || {};
    const sorted = points.filter((p) => p[0] !== null && p[1] !== null).sort((a, b) => a[0] - b[0]);
    const xs = sorted.map((p) => p[0]);
    const ys = sorted.map((p) => p[1]);
    const xr = extent([xs]) || [0, 1];
    const yr = extent([ys]) || [0, 1];
    const options = {
      title: opts.title,
      width: widthOf(container),
      height: opts.height || 260,
      mode: 1,
      series: [
        { label: opts.xLabel || "x", value: (u, v) => (v === null ? "–" : v.toFixed(1)) },
        {
          label: opts.yLabel || "y",
          stroke: PALETTE[1],
          fill: PALETTE[1],
          paths: () => null,
          points: { show: true, size: 8, fill: PALETTE[1] },
          value: (u, v) => (v === null ? "–" : v.toFixed(2)),
        },
      ],
      scales: { x: { time: false, range: () => paddedRange(xr[0], xr[1]) }, y: { range: () => paddedRange(Math.min(0, yr[0]), yr[1]) } },
      axes: [{ label: opts.xLabel || "" }, { label: opts.yLabel || "" }],
      cursor: { drag: { x: false, y: false } },
    };
    return mount(container, options, [xs, ys], xs.length);
  }

  /** Draw a new chart into ``container`` (replacing the one there) and mark it ready. */
  function mount(container, options, data, points) {
    reset(container);
    const chart = new uPlot(options, data, container);
    followWidth(container, chart);
    markReady(container, points);
    return chart;
  }

  /** The container's chart follows the window's width; a redraw replaces (destroys) the old one. */
  function followWidth(container, chart) {
    container.luxChart = chart;
    if (container.luxResize) return;
    container.luxResize = true;
    window.addEventListener("resize", () => {
      const current = container.luxChart;
      const w = widthOf(container);
      if (current && w !== current.width) current.setSize({ width: w, height: current.height });
    });
  }

  /** Empty ``container`` for a new chart, destroying the one drawn there before. */
  function reset(container) {
    if (container.luxChart) container.luxChart.destroy();
    container.luxChart = null;
    container.replaceChildren();
  }

  window.LuxCharts = { timeChart, barChart, scatterChart, bandLegend, markReady, modeColour, MODE_LABELS };
})();
