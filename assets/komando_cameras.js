/* Camera tiles: each <img data-camera> pulls its next frame only after the previous one arrived
   (pull-on-load). A tile therefore holds at most one short request at a time, never a long-lived
   stream, and a slow link simply lowers its frame rate instead of queueing frames.
   State from the server's headers is mirrored onto the tile (data-state, data-seq) for CSS and
   tests. Object URLs are revoked as soon as the next frame is shown, so a wall can run for days. */
(function () {
  var started = new WeakSet();

  function run(img) {
    if (started.has(img)) return;
    started.add(img);
    var camera = img.dataset.camera;
    var period = 1000 / Math.max(0.2, parseFloat(img.dataset.fps || "5"));
    var shownUrl = null;
    var failures = 0;

    function next(delay) {
      window.setTimeout(tick, Math.max(0, delay));
    }

    function tick() {
      if (!img.isConnected) {  // tile removed from the page: stop and free memory
        if (shownUrl) URL.revokeObjectURL(shownUrl);
        started.delete(img);
        return;
      }
      var t0 = performance.now();
      fetch("/video/" + encodeURIComponent(camera) + ".jpg", {cache: "no-store"})
        .then(function (response) {
          var state = response.headers.get("X-Camera-State") || (response.ok ? "live" : "error");
          var seq = response.headers.get("X-Frame-Seq");
          return response.blob().then(function (blob) {
            if (!response.ok) throw new Error("HTTP " + response.status);
            var url = URL.createObjectURL(blob);
            img.onload = function () {
              if (shownUrl && shownUrl !== url) URL.revokeObjectURL(shownUrl);
              shownUrl = url;
            };
            img.src = url;
            img.dataset.state = state;
            if (seq) img.dataset.seq = seq;
            failures = 0;
            // Not live: no new frames to expect soon, so ask less often.
            next((state === "live" ? period : 2000) - (performance.now() - t0));
          });
        })
        .catch(function () {
          failures += 1;
          img.dataset.state = "unreachable";
          next(Math.min(10000, 1000 * failures));
        });
    }
    tick();
  }

  function scan() {
    document.querySelectorAll("img[data-camera]").forEach(run);
  }

  new MutationObserver(scan).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", scan);
})();
