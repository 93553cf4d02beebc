/* Live telemedicine view: numerics from the hub's SSE feed into fixed ring buffers and a fixed
   DOM (one tile per parameter); "signal lost" when no reading arrives in time. */
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) return;
  var CAP = 120; // 2 minutes at 1 Hz per parameter; never more
  var lostAfter = parseFloat(root.dataset.lostAfter) * 1000;
  var signal = document.getElementById("signal");
  var sinceLast = document.getElementById("since-last");
  var tiles = {};
  var lang = root.dataset.lang === "en" ? "en" : "es";
  var clockFmt = new Intl.DateTimeFormat(lang === "es" ? "es-GT" : "en-GB", { timeZone: root.dataset.tz || "America/Guatemala",
    year: "numeric", month: lang === "es" ? "2-digit" : "short", day: lang === "es" ? "2-digit" : "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  function localTime(ms) {
    var p = {};
    clockFmt.formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    return (lang === "es" ? p.day + "/" + p.month + "/" + p.year : p.day + " " + p.month + " " + p.year) + " " + p.hour + ":" + p.minute;
  }
  function num(v, decimals) { var s = Number(v).toFixed(decimals); return lang === "es" ? s.replace(".", ",") : s; }
  root.querySelectorAll(".tile").forEach(function (li) {
    tiles[li.dataset.parameter] = {
      li: li, value: li.querySelector(".value"), canvas: li.querySelector("canvas"),
      low: parseFloat(li.dataset.low), high: parseFloat(li.dataset.high), decimals: parseInt(li.dataset.decimals || "0", 10),
      v: new Float64Array(CAP), t: new Float64Array(CAP), head: 0, n: 0, dirty: false
    };
  });
  var lastAt = 0, received = 0, state = "waiting", drawQueued = false, ended = false;

  function setState(next, text) {
    if (state === next) return;
    state = next;
    signal.dataset.state = next;
    signal.className = "signal " + next;
    signal.textContent = text;
  }

  function fill(tile, item, at) {
    tile.v[tile.head] = item.value;
    tile.t[tile.head] = at;
    tile.head = (tile.head + 1) % CAP;
    if (tile.n < CAP) tile.n++;
    tile.value.textContent = num(item.value, tile.decimals);
    tile.value.dataset.value = String(item.value);
    tile.li.classList.remove("unseen");
    var out = tile.high > tile.low && (item.value < tile.low || item.value > tile.high);
    tile.li.classList.toggle("out", out);
    tile.dirty = true;
  }

  function ingest(item) {
    if (item.status !== "accepted") return;
    var tile = tiles[item.parameter];
    if (!lastAt) { sinceLast.dataset.seconds = "0"; sinceLast.textContent = root.dataset.lAgo.replace("{s}", "0"); }
    lastAt = Date.now();
    received++;
    if (!tile) return;
    fill(tile, item, Date.parse(item.measured_at) || lastAt);
    if (ended) { ended = false; root.classList.remove("ended"); }
    setState("receiving", root.dataset.lReceiving);
    if (!drawQueued) { drawQueued = true; requestAnimationFrame(draw); }
  }

  function draw() {
    drawQueued = false;
    Object.keys(tiles).forEach(function (k) {
      var tile = tiles[k];
      if (!tile.dirty) return;
      tile.dirty = false;
      var ctx = tile.canvas.getContext("2d"), w = tile.canvas.width, h = tile.canvas.height;
      ctx.clearRect(0, 0, w, h);
      if (tile.n < 1) return;
      var lo = Infinity, hi = -Infinity, i, idx;
      for (i = 0; i < tile.n; i++) { idx = (tile.head - tile.n + i + CAP) % CAP; lo = Math.min(lo, tile.v[idx]); hi = Math.max(hi, tile.v[idx]); }
      if (tile.high > tile.low) { lo = Math.min(lo, tile.low); hi = Math.max(hi, tile.high); }
      var span = (hi - lo) || 1, y = function (v) { return h - 2 - (v - lo) / span * (h - 4); };
      if (tile.high > tile.low) { ctx.fillStyle = "rgba(17,99,41,0.12)"; ctx.fillRect(0, y(tile.high), w, y(tile.low) - y(tile.high)); }
      ctx.strokeStyle = "#0b5cad"; ctx.lineWidth = 1.5; ctx.beginPath();
      for (i = 0; i < tile.n; i++) {
        idx = (tile.head - tile.n + i + CAP) % CAP;
        var x = (CAP - tile.n + i) / (CAP - 1) * w;
        if (i === 0) ctx.moveTo(x, y(tile.v[idx])); else ctx.lineTo(x, y(tile.v[idx]));
      }
      ctx.stroke();
    });
  }

  function tick() {
    if (!lastAt) return;
    var age = Date.now() - lastAt;
    var s = Math.floor(age / 1000);
    sinceLast.dataset.seconds = String(s);
    sinceLast.textContent = root.dataset.lAgo.replace("{s}", String(s));
    if (age > lostAfter && !ended) setState("lost", root.dataset.lLost);
  }
  setInterval(tick, 250);

  // On load: the session's last two minutes into the sparklines; an ended session says so.
  var tailNode = document.getElementById("live-tail");
  var tail = tailNode ? JSON.parse(tailNode.textContent || "[]") : [];
  tail.forEach(function (item) { var tile = tiles[item.parameter]; if (tile) fill(tile, item, Date.parse(item.measured_at)); });
  if (tail.length) { drawQueued = true; requestAnimationFrame(draw); }
  if (root.dataset.endedAt) {
    ended = true;
    root.classList.add("ended");
    setState("ended", root.dataset.lEnded.replace("{at}", localTime(Date.parse(root.dataset.endedAt))));
  }

  var source = null;
  function connect() {
    source = new EventSource(root.dataset.stream);
    source.addEventListener("reading", function (e) { ingest(JSON.parse(e.data)); });
    source.addEventListener("session_start", function (e) {
      var d = JSON.parse(e.data), el = document.getElementById("session");
      ended = false; root.classList.remove("ended");
      if (el) { el.dataset.session = d.session_id; el.textContent = root.dataset.lStarted.replace("{at}", localTime(Date.parse(d.at) || Date.now())); }
    });
    source.addEventListener("session_stop", function (e) {
      // Ended normally: say so with its time and grey the last values; never "signal lost".
      var d = JSON.parse(e.data);
      ended = true;
      root.classList.add("ended");
      state = "";
      setState("ended", root.dataset.lEnded.replace("{at}", localTime(Date.parse(d.at) || Date.now())));
    });
    source.addEventListener("hello", function () { if (state === "conn") setState(lastAt ? "lost" : "waiting", lastAt ? root.dataset.lLost : root.dataset.lWaiting); });
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) { setState("conn", root.dataset.lConn); setTimeout(connect, 2000); } };
  }
  connect();

  // For tests and the bench: counters only, never the buffers themselves.
  window.puenteLive = {
    ingest: ingest,
    stats: function () {
      var buffered = 0;
      Object.keys(tiles).forEach(function (k) { buffered += tiles[k].n; });
      return { received: received, buffered: buffered, capacity: CAP * Object.keys(tiles).length,
        nodes: document.getElementsByTagName("*").length, state: state };
    }
  };
})();
