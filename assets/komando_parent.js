/* The parent portal's camera tiles (/parent, server/parent_pages.py), for a phone on a weak
   mobile link:
   - each tile fetches one picture at a time (`/video/<id>.jpg?after=<seq>`: the server answers
     with a newer frame than the one shown, or waits for one), never more than one request in
     flight per tile, and waits max(1 s, 2 x the last fetch's time) before the next: a slow
     link gets fewer pictures, never a queue of old ones;
   - when full-size pictures keep coming slowly, the tile switches to the 192-px thumbnail
     (`/video/<id>/thumb.jpg`, a few KB) and tries full size again a minute later; the badge
     says LAMBAT and the picture's age is shown;
   - nothing is fetched while the page is hidden (phone locked, another app) or for a tile
     scrolled out of view;
   - outside viewing hours the server answers 403; the tile shows the hours instead, and
     /parent/status.json, asked every minute (sooner when the hours are about to open), starts
     it again without a reload;
   - tap a tile to enlarge it (the other tiles pause meanwhile, to leave it the bandwidth).
   Object URLs are revoked once the next picture shows, so the page can stay open all day.
   A no-op unless the portal's root is on the page: Dash loads every assets/*.js file too. */
(function () {
  "use strict";
  var MIN_GAP_MS = 1000;
  var ZOOM_MIN_GAP_MS = 500;
  var SLOW_MS = 1500; // pictures slower than this to arrive (on average): the link is weak
  var OLD_FRAME_MS = 5000; // a picture older than this is not "live"
  var FULL_RETRY_MS = 60000;
  var TIMEOUT_MS = 20000;
  var OFF_STATES = {
    offline: "OFFLINE",
    connecting: "MENYAMBUNG",
    unavailable: "TIDAK TERSEDIA",
    disabled: "NONAKTIF",
  };

  function ageText(ms) {
    var s = Math.round(ms / 1000);
    return s < 60 ? s + " dtk lalu" : Math.floor(s / 60) + " mnt lalu";
  }

  function startSmall() {
    // The browser's own guess of the link, where it offers one (Chrome on Android does).
    var c = navigator.connection;
    return !!(c && (c.saveData || /(^|-)2g$/.test(c.effectiveType || "")));
  }

  function Tile(portal, camera, root, zoom) {
    this.portal = portal;
    this.camera = camera;
    this.root = root; // carries data-open and the test-visible state
    this.zoom = zoom;
    this.img = root.querySelector(zoom ? ".pp-zoom-img" : ".pp-img");
    this.badge = root.querySelector(".pp-badge");
    this.ageEl = root.querySelector(".pp-age");
    this.open = zoom || root.dataset.open === "1";
    this.onScreen = true;
    this.busy = false;
    this.timer = 0;
    this.delay = 0;
    this.seq = null;
    this.shownSeq = null;
    this.url = null;
    this.stale = []; // object URLs of pictures no longer shown, revoked once the next loads
    this.small = !zoom && startSmall();
    this.smallSince = 0;
    this.samples = 0;
    this.degraded = false; // small pictures because the link is slow (not by the browser's wish)
    this.netMs = 0; // the last picture's time to arrive
    this.netAvg = 0; // smoothed, so one slow picture does not flip the badge
    this.frameAt = null;
    this.state = "";
    this.errors = 0;
    this.requests = 0;
  }

  Tile.prototype.shouldRun = function () {
    var p = this.portal;
    if (!p.visible || !this.open || !this.camera) return false;
    if (!this.zoom) return !p.zoomed && this.onScreen;
    // The enlarged view waits for its tile's last request: one request per camera at a time.
    var tile = p.tiles[this.camera];
    return p.zoomed === this.camera && !(tile && tile.busy);
  };

  Tile.prototype.schedule = function (ms) {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(this.tick.bind(this), ms);
  };

  Tile.prototype.kick = function () {
    if (!this.busy) this.schedule(0);
  };

  Tile.prototype.tick = function () {
    // Stopped tiles are not rescheduled: kick() starts them when they may run again.
    if (this.busy || !this.shouldRun()) return;
    var self = this;
    var small = this.small;
    var id = encodeURIComponent(this.camera);
    var url = small
      ? "/video/" + id + "/thumb.jpg"
      : "/video/" + id + ".jpg" + (this.seq !== null ? "?after=" + this.seq : "");
    var controller = new AbortController();
    var timeout = window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    var started = performance.now();
    this.busy = true;
    this.requests += 1;
    this.portal.inFlight(1);
    fetch(url, {cache: "no-store", credentials: "same-origin", signal: controller.signal})
      .then(function (resp) {
        if (resp.status === 401) {
          window.location.assign("/login?next=%2Fparent");
          return null;
        }
        if (resp.status === 403) {
          // Outside viewing hours: the status answer brings the "opens again" wording.
          return resp.json().catch(function () { return {}; }).then(function () {
            self.setOpen(false, "");
            self.portal.checkStatus();
          });
        }
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.blob().then(function (blob) {
          self.show(blob, resp.headers, performance.now() - started, small);
        });
      })
      .catch(function () {
        self.errors += 1;
        self.state = "error";
        self.delay = Math.min(30000, 2000 * Math.pow(2, Math.min(self.errors, 4)));
        self.render();
      })
      .then(function () {
        window.clearTimeout(timeout);
        self.busy = false;
        self.portal.inFlight(-1);
        if (self.shouldRun()) self.schedule(self.delay);
        else if (!self.zoom && self.portal.zoomed === self.camera) self.portal.zoomTile.kick();
      });
  };

  Tile.prototype.show = function (blob, headers, elapsed, small) {
    if (!this.open || !this.camera) return; // closed or zoom shut while it loaded
    var seq = headers.get("X-Frame-Seq");
    // Same frame as before: the server waited for a newer one, so the time says nothing
    // about the link.
    if (small || seq !== this.seq) {
      this.netMs = elapsed;
      this.netAvg = this.samples ? 0.6 * this.netAvg + 0.4 * elapsed : elapsed;
      this.samples += 1;
    }
    if (!small) this.seq = seq; // a thumbnail's sequence is its full frame's: not for ?after=
    this.shownSeq = seq;
    this.state = headers.get("X-Camera-State") || "live";
    this.errors = 0;
    var age = parseInt(headers.get("X-Frame-Age-Ms") || "", 10);
    this.frameAt = isNaN(age) ? null : performance.now() - age;
    var stale = this.stale;
    if (this.url) stale.push(this.url);
    this.url = URL.createObjectURL(blob);
    this.img.onload = this.img.onerror = function () {
      while (stale.length) URL.revokeObjectURL(stale.shift());
    };
    this.img.src = this.url;
    this.adapt();
    var gap = this.zoom ? ZOOM_MIN_GAP_MS : MIN_GAP_MS;
    this.delay = Math.max(gap, 2 * this.netMs);
    if (OFF_STATES[this.state]) this.delay = Math.max(this.delay, 5000);
    this.render();
  };

  Tile.prototype.adapt = function () {
    if (this.zoom) return; // the enlarged view is always full size
    var now = performance.now();
    if (!this.small && this.samples >= 2 && this.netAvg > SLOW_MS) {
      this.small = this.degraded = true;
      this.smallSince = now;
      this.samples = 0; // a thumbnail's time is not a full picture's
    } else if (this.small && now - this.smallSince > FULL_RETRY_MS && this.netAvg < 400) {
      this.small = this.degraded = false;
      this.samples = 0;
    }
  };

  Tile.prototype.forget = function () {
    if (this.url) this.stale.push(this.url);
    while (this.stale.length) URL.revokeObjectURL(this.stale.shift());
    this.url = null;
    this.img.removeAttribute("src");
    this.frameAt = null;
    this.state = "";
  };

  Tile.prototype.setOpen = function (open, message) {
    var msg = this.root.querySelector(".pp-closed-msg");
    if (msg && message !== undefined) msg.textContent = message;
    if (open === this.open) return;
    this.open = open;
    this.root.dataset.open = open ? "1" : "0";
    if (!open) this.forget();
    this.render();
    if (open) this.kick();
  };

  Tile.prototype.render = function () {
    var text, kind, age = "";
    var slow = this.degraded || (this.samples > 0 && this.netAvg > SLOW_MS);
    if (!this.open) {
      text = "TUTUP";
      kind = "closed";
    } else if (this.state === "error") {
      text = "TERPUTUS";
      kind = "off";
    } else if (OFF_STATES[this.state]) {
      text = OFF_STATES[this.state];
      kind = "off";
    } else if (this.frameAt === null) {
      text = "Memuat…";
      kind = "wait";
    } else {
      var ms = performance.now() - this.frameAt;
      slow = slow || ms > OLD_FRAME_MS || this.state === "stalled";
      text = slow ? "LAMBAT" : "LANGSUNG";
      kind = slow ? "slow" : "live";
      if (ms >= 3000) age = ageText(ms);
    }
    if (this.small && this.open) age = age ? age + " · hemat data" : "hemat data";
    this.badge.textContent = text;
    this.badge.dataset.kind = kind;
    if (this.ageEl) this.ageEl.textContent = age;
    // For tests and for anyone reading the page's DOM: what the tile is doing.
    var d = this.root.dataset;
    d.state = this.state;
    d.seq = this.shownSeq === null ? "" : this.shownSeq;
    d.mode = this.small ? "small" : "full";
    d.slow = slow ? "1" : "0";
    d.requests = String(this.requests);
  };

  function Portal(root) {
    var self = this;
    this.root = root;
    this.visible = document.visibilityState !== "hidden";
    this.zoomed = "";
    this.flying = 0;
    this.mostInFlight = 0;
    this.statusUrl = root.dataset.statusUrl;
    this.statusTimer = 0;
    this.statusBusy = false;
    this.tiles = {};
    root.querySelectorAll(".pp-tile[data-camera]").forEach(function (el) {
      var tile = new Tile(self, el.dataset.camera, el, false);
      self.tiles[tile.camera] = tile;
      el.querySelector(".pp-view").addEventListener("click", function () {
        if (tile.open) self.openZoom(tile);
      });
      tile.render();
    });
    this.zoomEl = root.querySelector(".pp-zoom");
    this.zoomTile = new Tile(this, "", this.zoomEl, true);
    this.zoomEl.querySelector(".pp-zoom-close").addEventListener("click", function () {
      self.closeZoom(true);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && self.zoomed) self.closeZoom(true);
    });
    // The phone's back button closes the enlarged view rather than leaving the page.
    window.addEventListener("popstate", function () {
      if (self.zoomed) self.closeZoom(false);
    });
    document.addEventListener("visibilitychange", function () {
      self.visible = document.visibilityState !== "hidden";
      if (self.visible) {
        self.checkStatus();
        self.kickAll();
      }
    });
    if ("IntersectionObserver" in window) {
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          var tile = self.tiles[entry.target.dataset.camera];
          tile.onScreen = entry.isIntersecting;
          if (tile.onScreen) tile.kick();
        });
      }, {rootMargin: "100px"});
      root.querySelectorAll(".pp-tile[data-camera]").forEach(function (el) { seen.observe(el); });
    }
    window.setInterval(function () {
      if (!self.visible) return;
      Object.keys(self.tiles).forEach(function (c) { self.tiles[c].render(); });
      if (self.zoomed) self.zoomTile.render();
    }, 1000);
    this.scheduleStatus(parseInt(root.dataset.nextCheckS || "60", 10));
    this.kickAll();
  }

  Portal.prototype.inFlight = function (delta) {
    this.flying += delta;
    this.mostInFlight = Math.max(this.mostInFlight, this.flying);
  };

  Portal.prototype.kickAll = function () {
    var tiles = this.tiles;
    Object.keys(tiles).forEach(function (c) { tiles[c].kick(); });
    if (this.zoomed) this.zoomTile.kick();
  };

  Portal.prototype.openZoom = function (tile) {
    var z = this.zoomTile;
    this.zoomed = tile.camera;
    z.camera = tile.camera;
    z.seq = null;
    z.netMs = z.netAvg = z.samples = 0;
    z.open = true;
    this.zoomEl.querySelector(".pp-zoom-name").textContent =
      tile.root.querySelector(".pp-name").textContent;
    // The tile's picture until the full-size one arrives (the tile is paused meanwhile, so
    // its object URL stays valid).
    if (tile.url) z.img.src = tile.url;
    z.frameAt = tile.frameAt;
    z.state = tile.state;
    this.zoomEl.hidden = false;
    document.body.classList.add("pp-zoomed");
    history.pushState({ppZoom: tile.camera}, "");
    z.render();
    z.kick();
  };

  Portal.prototype.closeZoom = function (viaButton) {
    if (!this.zoomed) return;
    this.zoomed = "";
    this.zoomEl.hidden = true;
    document.body.classList.remove("pp-zoomed");
    var z = this.zoomTile;
    // The borrowed tile picture is the tile's to revoke, not the enlarged view's.
    if (z.url === null) z.img.removeAttribute("src");
    else z.forget();
    z.camera = "";
    if (viaButton && history.state && history.state.ppZoom) history.back();
    this.kickAll();
  };

  Portal.prototype.scheduleStatus = function (seconds) {
    window.clearTimeout(this.statusTimer);
    this.statusTimer = window.setTimeout(this.checkStatus.bind(this), seconds * 1000);
  };

  Portal.prototype.checkStatus = function () {
    if (this.statusBusy) return;
    if (!this.visible) {
      this.scheduleStatus(60); // asked again the moment the page is shown
      return;
    }
    var self = this;
    this.statusBusy = true;
    fetch(this.statusUrl, {cache: "no-store", credentials: "same-origin"})
      .then(function (resp) {
        if (resp.status === 401) {
          window.location.assign("/login?next=%2Fparent");
          return null;
        }
        return resp.ok ? resp.json() : null;
      })
      .then(function (status) {
        if (status) self.apply(status);
        return status;
      })
      .catch(function () { return null; })
      .then(function (status) {
        self.statusBusy = false;
        self.scheduleStatus((status && status.next_check_s) || 60);
      });
  };

  Portal.prototype.apply = function (status) {
    var self = this;
    Object.keys(status.cameras || {}).forEach(function (camera) {
      var tile = self.tiles[camera];
      var s = status.cameras[camera];
      if (!tile) return;
      tile.setOpen(!!s.open, s.message || "");
      if (!s.open && self.zoomed === camera) self.closeZoom(true);
    });
    this.root.querySelectorAll(".pp-school").forEach(function (school) {
      var note = school.querySelector(".pp-school-closed");
      if (note) note.hidden = !!school.querySelector('.pp-tile[data-open="1"]');
    });
  };

  function start() {
    var root = document.getElementById("parent-portal");
    if (root && !root._komandoParent) root._komandoParent = new Portal(root);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
