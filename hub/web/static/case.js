/* Case page charts: one uPlot per parameter, time axis, the adult normal range shaded.
   The series are fetched once the page is painted (a case may hold thousands of readings);
   the summary table above them is in the page itself. */
(function () {
  "use strict";
  var holder = document.getElementById("charts");
  if (!holder || !holder.dataset.src || typeof uPlot === "undefined") return;
  var lang = holder.dataset.lang === "en" ? "en" : "es";
  var tz = holder.dataset.tz || "America/Guatemala";
  // The same zone and format as the tables: es 01/12/2026 15:04, en 1 Dec 2026 15:04 (24 h).
  var fmt = new Intl.DateTimeFormat(lang === "es" ? "es-GT" : "en-GB", {
    timeZone: tz, year: "numeric", month: lang === "es" ? "2-digit" : "short", day: lang === "es" ? "2-digit" : "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  function parts(epochS) {
    var p = {};
    fmt.formatToParts(new Date(epochS * 1000)).forEach(function (x) { p[x.type] = x.value; });
    p.date = lang === "es" ? p.day + "/" + p.month + "/" + p.year : p.day + " " + p.month + " " + p.year;
    p.clock = p.hour + ":" + p.minute;
    return p;
  }
  function axisValues(u, splits) {
    var lastDate = "";
    return splits.map(function (s) {
      if (s == null) return null;
      var p = parts(s), label = p.clock;
      if (p.date !== lastDate) { label = p.clock + "\n" + p.date; lastDate = p.date; }
      return label;
    });
  }
  function fullTime(u, v) { if (v == null) return "—"; var p = parts(v); return p.date + " " + p.clock + ":" + p.second; }
  function num(v, decimals) { if (v == null) return "—"; var s = v.toFixed(decimals); return lang === "es" ? s.replace(".", ",") : s; }
  window.puenteChartTime = function (epochS) { var p = parts(epochS); return p.date + " " + p.clock; };

  function band(low, high) {
    return function (u) {
      if (!(high > low)) return;
      var ctx = u.ctx, top = u.valToPos(high, "y", true), bottom = u.valToPos(low, "y", true);
      var b = u.bbox;
      top = Math.max(top, b.top); bottom = Math.min(bottom, b.top + b.height);
      if (bottom <= top) return;
      ctx.save();
      ctx.fillStyle = "rgba(17, 99, 41, 0.12)";
      ctx.fillRect(b.left, top, b.width, bottom - top);
      ctx.restore();
    };
  }

  function draw(charts) {
    var made = [];
    charts.forEach(function (c) {
      var fig = holder.querySelector('figure.chart[data-parameter="' + c.parameter + '"]');
      if (!fig || !c.v.length) return;
      var plot = fig.querySelector(".plot");
      var lo = Math.min(c.low, Math.min.apply(null, c.v)), hi = Math.max(c.high, Math.max.apply(null, c.v));
      var pad = (hi - lo) * 0.08 || 1;
      var width = Math.max(240, Math.min(plot.clientWidth || 600, 900));
      made.push(new uPlot({
        width: width,
        height: 180,
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true, range: function (u, a, b) { return a === b ? [a - 300, b + 300] : [a, b]; } },
          y: { range: [lo - pad, hi + pad] } },
        axes: [{ values: axisValues, size: 50 }, { label: c.unit, size: 56,
          values: function (u, splits) { return splits.map(function (v) { return num(v, c.decimals || 0); }); } }],
        series: [{ value: fullTime }, { label: lang === "es" ? c.es : c.en, stroke: "#0b5cad", width: 1.5,
          value: function (u, v) { return num(v, c.decimals || 0); },
          points: { show: c.v.length < 60 } }],
        hooks: { drawClear: [band(c.low, c.high)] }
      }, [c.t, c.v], plot));
      // One instant only: uPlot widens a lone x value by years; show ±5 minutes around it.
      var first = c.t[0], last = c.t[c.t.length - 1];
      if (first === last) made[made.length - 1].setScale("x", { min: first - 300, max: last + 300 });
      plot.dataset.ready = "1";
    });
    window.puenteCharts = made;
    holder.removeAttribute("aria-busy");
    holder.dataset.rendered = String(made.length);
  }

  fetch(holder.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
    .then(draw)
    .catch(function () {
      // The summary table stays; the charts say they could not be loaded (both languages
      // are in the page's words: the holder carries the sentence).
      holder.removeAttribute("aria-busy");
      holder.dataset.rendered = "error";
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = holder.dataset.failed || "";
      holder.prepend(p);
    });
})();
