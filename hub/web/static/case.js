/* Case page charts: one uPlot per parameter, time axis, the adult normal range shaded. */
(function () {
  "use strict";
  var holder = document.getElementById("charts");
  var dataNode = document.getElementById("chart-data");
  if (!holder || !dataNode || typeof uPlot === "undefined") return;
  var charts = JSON.parse(dataNode.textContent);
  var figures = holder.querySelectorAll("figure.chart");

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

  charts.forEach(function (c, i) {
    var fig = figures[i];
    if (!fig) return;
    var plot = fig.querySelector(".plot");
    var lo = Math.min(c.low, Math.min.apply(null, c.v)), hi = Math.max(c.high, Math.max.apply(null, c.v));
    var pad = (hi - lo) * 0.08 || 1;
    var width = Math.max(280, Math.min(plot.clientWidth || 600, 900));
    new uPlot({
      width: width,
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true, range: function (u, a, b) { return a === b ? [a - 300, b + 300] : [a, b]; } },
        y: { range: [lo - pad, hi + pad] } },
      axes: [{}, { label: c.unit, size: 56 }],
      series: [{}, { label: holder.dataset.lang === "es" ? c.es : c.en, stroke: "#0b5cad", width: 1.5,
        points: { show: c.v.length < 60 } }],
      hooks: { drawClear: [band(c.low, c.high)] }
    }, [c.t, c.v], plot);
    plot.dataset.ready = "1";
  });
  holder.dataset.rendered = String(charts.length);
})();
