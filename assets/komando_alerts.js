/* Alerts (issue 5): a chime for new critical alerts, the sound switch, and the "3 mnt lalu" ages,
   all in the browser. Browsers keep audio locked until the page gets a user gesture, so the
   chime is off until someone presses "aktifkan suara"; the choice is remembered, and after a
   reload the first click or key anywhere on the page unlocks audio again. */
(function () {
  var STORAGE_KEY = "komando-alert-sound";
  var audio = null;
  var seen = null; // uids of critical alerts already announced (null: nothing seen yet)

  function wanted() {
    try { return window.localStorage.getItem(STORAGE_KEY) === "on"; } catch (e) { return false; }
  }

  function remember(on) {
    try { window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    if (!audio) { audio = new Ctx(); }
    return audio;
  }

  function unlocked() {
    return audio !== null && audio.state === "running";
  }

  // Called only from a user gesture: creating or resuming the context is then allowed.
  function unlock() {
    var ctx = context();
    if (ctx && ctx.state !== "running") { ctx.resume().catch(function () {}); }
  }

  function chime() {
    if (!wanted() || !unlocked()) { return false; }
    var ctx = audio;
    var start = ctx.currentTime + 0.02;
    // Three falling tones, loud enough for a room, short enough not to drown speech.
    [880, 660, 880].forEach(function (freq, i) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var t = start + i * 0.28;
      osc.type = "sine";
      osc.frequency.setValueAtTime(freq, t);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.35, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.26);
    });
    return true;
  }

  function label(button, on) {
    if (!button) { return ["", "alert-sound"]; }
    var text = on ? button.dataset.on : button.dataset.off;
    return [text, on ? "alert-sound is-on" : "alert-sound"];
  }

  // After a reload the choice is remembered but audio is locked again: the first gesture
  // anywhere on the page unlocks it.
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () {
      if (wanted()) {
        unlock();
        var button = document.getElementById("alert-sound");
        if (button) {
          var shown = label(button, true);
          button.textContent = shown[0];
          button.className = shown[1];
        }
      }
    }, { capture: true });
  });

  var units = function (list) {
    try { return JSON.parse(list.dataset.units || "{}"); } catch (e) { return {}; }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    komandoAlerts: {
      chime: function (critical) {
        var ids = critical || [];
        var fresh = seen === null ? ids : ids.filter(function (id) { return seen.indexOf(id) < 0; });
        seen = ids.slice();
        var played = fresh.length > 0 ? chime() : false;
        if (played) { document.body.dataset.alertChimePlayed = String(Date.now()); }
        document.body.dataset.alertChimes = String(
          (+(document.body.dataset.alertChimes || 0)) + (fresh.length > 0 ? 1 : 0)
        );
        return { fresh: fresh, played: played, at: Date.now() };
      },
      toggleSound: function (clicks) {
        var button = document.getElementById("alert-sound");
        if (clicks) {
          var on = !(wanted() && unlocked());
          remember(on);
          if (on) { unlock(); }
          return label(button, on);
        }
        return label(button, wanted() && unlocked());
      },
    },
  });

  /* The ages, once a second, by the page itself: written straight into the list, so a tick
     costs no Dash store update (issue 5: each one makes every component on the page run its
     selector). */
  function ages() {
    var list = document.getElementById("alert-list");
    if (!list) { return; }
    var u = units(list);
    var now = Date.now() / 1000;
    list.querySelectorAll(".alert-age[data-ts]").forEach(function (el) {
      var age = Math.max(0, now - parseFloat(el.dataset.ts));
      var text;
      if (age < 60) { text = Math.floor(age) + " " + u.s; }
      else if (age < 3600) { text = Math.floor(age / 60) + " " + u.m; }
      else if (age < 86400) { text = Math.floor(age / 3600) + " " + u.h; }
      else { text = Math.floor(age / 86400) + " " + u.d; }
      var shown = el.dataset.hhmm + " · " + text;
      if (el.textContent !== shown) { el.textContent = shown; }
    });
  }
  window.komandoAlertAges = ages;  // for the tests
  window.setInterval(ages, 1000);
})();
