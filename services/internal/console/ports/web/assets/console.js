// Roster console: the few lines of script the pages need (docs/adr/0094).
// Pages work without it; it shows times in the browser's zone, draws the
// charts with uPlot and sends a datetime-local field's zone offset.
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.local) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.textContent;
      el.textContent = d.toLocaleString();
      el.dataset.local = "1";
    });
  }

  function charts(root) {
    var dataEl = root.querySelector("#chart-data");
    if (!dataEl || typeof uPlot === "undefined") return;
    var data = JSON.parse(dataEl.textContent);
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      el.dataset.drawn = "1";
      var width = Math.max(300, Math.min(640, el.clientWidth || 600));
      if (el.dataset.chart === "series") {
        var s = data.series;
        new uPlot({
          width: width, height: 220,
          series: [{}, { label: "attempts", stroke: "#1f5fbf", width: 2 }, { label: "failures", stroke: "#b3261e", width: 2 }],
          axes: [{}, { label: "per minute" }],
        }, [s.times, s.attempts, s.failures], el);
      } else if (el.dataset.chart === "histogram") {
        var h = data.histogram;
        var xs = h.counts.map(function (_, i) { return i; });
        var labels = h.bounds_ms.map(function (b) { return "≤" + b; }).concat([">" + h.bounds_ms[h.bounds_ms.length - 1]]);
        new uPlot({
          width: width, height: 220,
          scales: { x: { time: false } },
          series: [{ label: "latency (ms)", value: function (u, v) { return v == null ? "" : labels[v]; } },
                   { label: "attempts", stroke: "#1f5fbf", fill: "rgba(31,95,191,0.35)", paths: uPlot.paths.bars({ size: [0.8] }), points: { show: false } }],
          axes: [{ values: function (u, vals) { return vals.map(function (v) { return labels[v] || ""; }); } }, { label: "attempts" }],
        }, [xs, h.counts], el);
      }
    });
  }

  function tzForms(root) {
    root.querySelectorAll("form[data-tz-form]").forEach(function (f) {
      if (f.dataset.tz) return;
      f.dataset.tz = "1";
      f.addEventListener("submit", function () {
        ["since", "until"].forEach(function (n) {
          var v = f.elements[n] && f.elements[n].value, tz = f.elements[n + "_tz"];
          // Minutes to add to the local time to get UTC.
          if (v && tz) tz.value = String(new Date(v).getTimezoneOffset());
        });
      });
    });
  }

  function init(root) { localTimes(root); charts(root); tzForms(root); }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target.ownerDocument ? e.target.ownerDocument : document); });
  // The slider's number follows the thumb while it moves.
  document.addEventListener("input", function (e) {
    if (e.target.id === "at-version") {
      var out = document.getElementById("at-version-out");
      if (out) out.textContent = e.target.value;
    }
  });
})();
