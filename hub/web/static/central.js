/* Central station: refresh the tiles fragment every second (one request whatever the number
   of sessions); a failed refresh keeps the last tiles and marks the page stale. */
(function () {
  "use strict";
  var root = document.getElementById("central");
  if (!root) return;
  var busy = false;
  window.puenteCentral = { refreshed: 0 };
  function refresh() {
    if (busy) return;
    // Someone is editing limits: keep the form as it is (the tiles catch up afterwards).
    if (root.querySelector("details[open]")) return;
    busy = true;
    fetch(root.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) { root.innerHTML = html; root.classList.remove("offline"); window.puenteCentral.refreshed++; })
      .catch(function () { root.classList.add("offline"); })
      .then(function () { busy = false; });
  }
  setInterval(refresh, 1000);
})();
