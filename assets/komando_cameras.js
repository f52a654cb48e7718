/* Camera tiles. Every grid (`[data-stream-cameras]`) reads ONE multiplexed stream,
   /video/wall.stream?cameras=a,b,…, whose parts are JPEGs labelled `X-Camera`: a 16-tile wall
   holds a single connection, leaving the browser's other connections to the page's callbacks.
   The server sends only a camera's newest frame, so a slow link gets fewer frames, never old ones;
   when the frame rate stays low the grid asks for a lower rate by itself and says so on the tiles
   ("LAMBAT"), and tries the full rate again a minute later.
   Object URLs are revoked once the next frame shows, so a wall can run for days. */
(function () {
  "use strict";
  var CRLFCRLF = [13, 10, 13, 10];
  var decoder = new TextDecoder();

  function indexOf(buffer, pattern, from) {
    outer: for (var i = from; i <= buffer.length - pattern.length; i++) {
      for (var j = 0; j < pattern.length; j++) {
        if (buffer[i + j] !== pattern[j]) continue outer;
      }
      return i;
    }
    return -1;
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function parseHeaders(text) {
    var headers = {};
    text.split("\r\n").forEach(function (line) {
      var at = line.indexOf(":");
      if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    });
    return headers;
  }

  function Grid(grid) {
    this.grid = grid;
    this.cameras = grid.dataset.streamCameras;
    this.targetFps = Math.max(0.2, parseFloat(grid.dataset.fps || "5"));
    this.fps = this.targetFps;
    this.urls = {};
    this.arrivals = {};
    this.unrevoked = {};  // camera -> object URLs of pictures no longer shown
    this.frameAt = {};  // camera -> performance.now() of the moment its newest frame was taken
    this.failures = 0;
    this.slowSince = 0;
    this.loweredAt = 0;
    this.controller = null;
    this.connect();
    this.timer = window.setInterval(this.check.bind(this), 1000);
  }

  Grid.prototype.image = function (camera) {
    return this.grid.querySelector('img[data-camera="' + CSS.escape(camera) + '"]');
  };

  Grid.prototype.show = function (headers, body) {
    var camera = headers["x-camera"];
    var img = camera && this.image(camera);
    if (!img) return;
    var url = URL.createObjectURL(new Blob([body], {type: headers["content-type"] || "image/jpeg"}));
    // Every older picture's URL is revoked once a newer one shows: when frames come faster
    // than they load, an onload is replaced before it runs, and its URL must not be lost.
    var older = this.unrevoked[camera] || (this.unrevoked[camera] = []);
    if (this.urls[camera]) older.push(this.urls[camera]);
    img.onload = function () { while (older.length) URL.revokeObjectURL(older.shift()); };
    img.src = url;
    this.urls[camera] = url;
    img.dataset.state = headers["x-camera-state"] || "live";
    img.dataset.seq = headers["x-frame-seq"] || "";
    var ageMs = parseInt(headers["x-frame-age-ms"] || "", 10);
    if (isNaN(ageMs)) delete this.frameAt[camera];  // a placeholder: its badge says why
    else this.frameAt[camera] = performance.now() - ageMs;
    this.showAge(camera);
    var times = this.arrivals[camera] || (this.arrivals[camera] = []);
    times.push(performance.now());
    if (times.length > 50) times.shift();
  };

  /* A loop, not a chain of .then(pump): a promise that resolves to the next read's promise
     keeps every earlier one alive for as long as the stream lasts (days, on a wall). */
  Grid.prototype.read = async function (reader) {
    var buffer = new Uint8Array(0);
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) return;
      buffer = concat(buffer, chunk.value);
      for (;;) {
        var headerEnd = indexOf(buffer, CRLFCRLF, 0);
        if (headerEnd < 0) break;
        var headers = parseHeaders(decoder.decode(buffer.subarray(0, headerEnd)));
        var length = parseInt(headers["content-length"] || "-1", 10);
        var start = headerEnd + 4;
        if (length < 0) throw new Error("part without Content-Length");
        if (buffer.length < start + length + 2) break;
        this.show(headers, buffer.slice(start, start + length));
        buffer = buffer.slice(start + length + 2);
      }
      this.failures = 0;
    }
  };

  Grid.prototype.connect = function () {
    var self = this;
    if (!this.grid.isConnected) return this.stop();
    this.controller = new AbortController();
    var url = "/video/wall.stream?cameras=" + encodeURIComponent(this.cameras) +
      "&fps=" + this.fps.toFixed(1);
    fetch(url, {cache: "no-store", signal: this.controller.signal})
      .then(function (response) {
        if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
        return self.read(response.body.getReader());
      })
      .catch(function () { /* reconnect below */ })
      .then(function () {
        if (!self.grid.isConnected || self.stopped) return;
        self.failures += 1;
        self.grid.querySelectorAll("img[data-camera]").forEach(function (img) {
          if (self.failures > 2) img.dataset.state = "unreachable";
        });
        window.setTimeout(self.connect.bind(self), Math.min(10000, 500 * self.failures));
      });
  };

  Grid.prototype.measuredFps = function (camera) {
    var times = (this.arrivals[camera] || []).filter(function (t) {
      return performance.now() - t < 5000;
    });
    return times.length / 5;
  };

  /* "3 dtk": how old the picture on the tile is, growing while no new frame comes. */
  Grid.prototype.showAge = function (camera) {
    var tile = this.grid.querySelector('[data-age-for="' + CSS.escape(camera) + '"]');
    if (!tile) return;
    var at = this.frameAt[camera];
    var unit = (tile.closest("[lang]") || {}).lang === "en" ? " s" : " dtk";
    var text = at === undefined ? "" : Math.max(0, Math.round((performance.now() - at) / 1000)) + unit;
    if (tile.textContent !== text) tile.textContent = text;
  };

  Grid.prototype.check = function () {
    if (!this.grid.isConnected) return this.stop();
    var self = this;
    Object.keys(this.frameAt).forEach(this.showAge, this);
    var slow = 0;
    var live = 0;
    this.grid.querySelectorAll("img[data-camera]").forEach(function (img) {
      if (img.dataset.state !== "live") {
        delete img.dataset.degraded;
        return;
      }
      live += 1;
      var fps = self.measuredFps(img.dataset.camera);
      img.dataset.fps = fps.toFixed(1);
      if (fps < 0.6 * self.fps) {
        slow += 1;
        img.dataset.degraded = "1";
      } else if (self.fps === self.targetFps) {
        delete img.dataset.degraded;
      }
    });
    var now = performance.now();
    if (live && slow > live / 2) {
      this.slowSince = this.slowSince || now;
    } else {
      this.slowSince = 0;
    }
    if (this.slowSince && now - this.slowSince > 5000 && this.fps > 1) {
      this.setFps(Math.max(1, this.fps / 2));  // a slow link: ask for fewer frames
      this.loweredAt = now;
      this.slowSince = 0;
    } else if (this.fps < this.targetFps && now - this.loweredAt > 60000) {
      this.setFps(this.targetFps);  // try the full rate again
    }
    this.grid.dataset.rate = this.fps < this.targetFps ? "reduced" : "full";
  };

  Grid.prototype.setFps = function (fps) {
    this.fps = fps;
    this.arrivals = {};
    if (this.controller) this.controller.abort();  // reconnects at the new rate
  };

  Grid.prototype.stop = function () {
    this.stopped = true;
    window.clearInterval(this.timer);
    if (this.controller) this.controller.abort();
    Object.keys(this.urls).forEach(function (camera) { URL.revokeObjectURL(this.urls[camera]); },
                                   this);
    this.grid._komandoGrid = null;
  };

  function scan() {
    document.querySelectorAll("[data-stream-cameras]").forEach(function (grid) {
      var current = grid._komandoGrid;
      if (current && current.cameras !== grid.dataset.streamCameras) current.stop();
      if (!grid._komandoGrid) grid._komandoGrid = new Grid(grid);
    });
  }

  // Click a tile to enlarge it; click again or press Escape to put it back.
  document.addEventListener("click", function (event) {
    var tile = event.target.closest && event.target.closest(".camera-tile");
    if (!tile) return;
    document.querySelectorAll(".camera-tile.enlarged").forEach(function (other) {
      if (other !== tile) other.classList.remove("enlarged");
    });
    tile.classList.toggle("enlarged");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".camera-tile.enlarged").forEach(function (tile) {
      tile.classList.remove("enlarged");
    });
  });

  new MutationObserver(scan).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["data-stream-cameras"],
  });
  document.addEventListener("DOMContentLoaded", scan);
})();
