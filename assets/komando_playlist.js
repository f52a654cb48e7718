/* Kiosk mode and the playlist of views (see callbacks/playlist.py). */
(function () {
  "use strict";
  function params(search) {
    var query = new URLSearchParams(search || "");
    var views = (query.get("putar") || "").split(",").map(function (v) { return v.trim(); })
      .filter(function (v) { return v.charAt(0) === "/"; });
    var seconds = parseInt(query.get("detik") || "60", 10);
    if (!(seconds >= 10)) seconds = seconds > 0 ? 10 : 60;
    return {
      views: views,
      seconds: seconds,
      kiosk: query.get("kiosk") === "1" || views.length > 1,
    };
  }
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    komando_playlist: {
      setup: function (search) {
        var p = params(search);
        return [p.kiosk ? "shell kiosk" : "shell", p.seconds * 1000, p.views.length < 2];
      },
      next: function (_n, search, pathname) {
        var views = params(search).views;
        if (views.length < 2) throw window.dash_clientside.PreventUpdate;
        var at = views.indexOf(pathname || "/");
        return views[(at + 1) % views.length];
      },
    },
  });
})();
