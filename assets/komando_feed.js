/* The live feed, asked for and applied by the page itself (see callbacks/live_feed.py).

   Every `data-refresh-ms` the page POSTs the versions it has to the feed's Dash callback, as
   the Dash renderer would for a dcc.Interval (the same request: bench/wall and the integration
   tests send it too), and writes the answer into the page: markers, KPI tiles, scorecard,
   camera badges and the "data as of" line. Each refresh brings only the sections that
   changed, or 204 when none did.

   Why not a dcc.Interval, stores and a callback per panel (issue 5): every Dash store update
   (each property set, each callback triggered, even one that prevents its update, and its
   requested, loading and executed steps) makes every connected component on the page run its
   selector. A trace of the demo wall (bench/wall_memory/trace.py) showed ~175 store updates a
   second over 343 components as one 80–130 ms task a second, nearly all in react-redux
   notifying subscribers; with 500 sensors and 50 tiles the one remaining Dash round of the
   interval and its callback was still a 60–80 ms task. A refresh now touches no store. Only
   the rare sections that other Dash callbacks follow (the alert list's version, the kecamatan
   shading) go through the store, with `set_props`, and only when they come.

   The elements written here are written by nothing else after the page is drawn, so React
   never sets them back; a text is replaced in its own text node, which React keeps. The ids
   are those of layouts/ids.py (tests/unit/test_feed_js.py checks they match). */
(function () {
  "use strict";
  var IDS = {
    LIVE_FEED: "live-feed-page",
    FEED: "live-feed",
    FEED_VERSIONS: "live-feed-versions",
    WALL_TICK: "wall-tick",
    FRESHNESS: "data-freshness",
    SCORECARD: "kpi-scorecard",
    KPI_TILE: "kpi-tile",
    KPI_VALUE: "kpi-value",
    KPI_STATUS: "kpi-status",
    KPI_TREND: "kpi-trend",
    CAMERA_BADGE: "camera-badge",
    CAMERA_INFO: "camera-info",
    FEED_REGIONS: "live-feed-regions",
    ALERT_SIGNAL: "alert-signal",
  };

  /* How Dash writes a pattern-matching (dict) id into the page: keys sorted, JSON values. */
  function domId(id) {
    return "{" + Object.keys(id).sort().map(function (k) {
      return JSON.stringify(k) + ":" + JSON.stringify(id[k]);
    }).join(",") + "}";
  }

  function byDictId(type, key, value) {
    var id = {type: type};
    id[key] = value;
    return document.getElementById(domId(id));
  }

  function setText(el, text) {
    if (!el) return;
    text = String(text);
    var node = el.firstChild;
    if (node && node === el.lastChild && node.nodeType === 3) {
      if (node.nodeValue !== text) node.nodeValue = text;
    } else if (el.textContent !== text) {
      el.textContent = text;
    }
  }

  function setClass(el, className) {
    if (el && el.className !== className) el.className = className;
  }

  function setTitle(el, title) {
    if (el && el.getAttribute("title") !== title) el.setAttribute("title", title);
  }

  /* {kpi: [value, tile class, status line, status title, trend, trend class]} */
  function kpis(tiles) {
    Object.keys(tiles).forEach(function (kpi) {
      var item = tiles[kpi];
      setText(byDictId(IDS.KPI_VALUE, "kpi", kpi), item[0]);
      setClass(byDictId(IDS.KPI_TILE, "kpi", kpi), item[1]);
      var status = byDictId(IDS.KPI_STATUS, "kpi", kpi);
      setText(status, item[2]);
      setTitle(status, item[3]);
      var trend = byDictId(IDS.KPI_TREND, "kpi", kpi);
      setText(trend, item[4]);
      setClass(trend, item[5]);
    });
  }

  /* [dimension, label, score, good, warn, bad, nodata] per dimension, onto the chips the
     layout drew (layouts/kpi_tiles.scorecard, one per dimension, data-dimension). The count
     pills are the page's own: their box is empty in the layout. */
  function scorecard(rows) {
    var card = document.getElementById(IDS.SCORECARD);
    if (!card) return;
    rows.forEach(function (row) {
      var chip = card.querySelector('[data-dimension="' + CSS.escape(row[0]) + '"]');
      if (!chip) return;
      var worst = row[5] ? "bad" : row[4] ? "warn" : row[3] ? "good" : "nodata";
      setClass(chip, "score-chip worst-" + worst);
      setTitle(chip, row[1]);
      setText(chip.querySelector(".score-label"), row[1]);
      setText(chip.querySelector(".score-value"), row[2]);
      var box = chip.querySelector(".score-counts");
      var key = [row[3], row[4], row[5], row[6]].join(",");
      if (!box || box.dataset.counts === key) return;
      box.dataset.counts = key;
      box.replaceChildren.apply(box, [["good", row[3]], ["warn", row[4]], ["bad", row[5]],
                                      ["nodata", row[6]]]
        .filter(function (c) { return c[1] > 0; })
        .map(function (c) {
          var pill = document.createElement("div");
          pill.className = "score-count count-" + c[0];
          pill.textContent = String(c[1]);
          return pill;
        }));
    });
  }

  /* {camera: [badge text, badge class, info line]} */
  function cameras(items) {
    Object.keys(items).forEach(function (camera) {
      var item = items[camera];
      var badge = byDictId(IDS.CAMERA_BADGE, "camera", camera);
      setText(badge, item[0]);
      setClass(badge, item[1]);
      setText(byDictId(IDS.CAMERA_INFO, "camera", camera), item[2]);
    });
  }

  /* What the page shows of the itemised sections, merged from every answer: a panel drawn
     anew (a CCTV layout or page turn) starts from its layout's placeholders, and the feed
     sends a section only when it changed, so each refresh fills whatever lacks it. Writing
     what is already shown costs a comparison, not a DOM write. */
  function shown() {
    return {tiles: {}, scorecard: null, cameras: {}, freshness: null, regions: null};
  }

  function draw(latest) {
    kpis(latest.tiles);
    if (latest.scorecard) scorecard(latest.scorecard);
    cameras(latest.cameras);
    if (latest.freshness) {
      var line = document.getElementById(IDS.FRESHNESS);
      setText(line, latest.freshness[0]);
      setClass(line, latest.freshness[1]);
    }
  }

  /* The kecamatan. A new colour, shading KPI or focus goes through Dash (the shading and focus
     box callbacks follow FEED_REGIONS), which redraws the layer: every polygon and label
     re-added, 150 ms traced on the 500-sensor wall. The numbers alone, which the feed brings
     every 30 s, are written into the labels in place (komando_map.js: setDistrictValue). */
  function regions(section, latest) {
    var shape = JSON.stringify([section.kpi, section.fills, section.focus]);
    var map = window.komando.map;
    if (latest.regions === shape) {
      var inPlace = Object.keys(section.values || {}).every(function (kode) {
        return map.setDistrictValue(kode, section.values[kode]);
      });
      if (inPlace) return;
    }
    latest.regions = shape;
    window.dash_clientside.set_props(IDS.FEED_REGIONS, {data: section});
  }

  function apply(feed, latest) {
    latest = latest || (current ? current.latest : shown());
    if (feed && feed.reload) reloadSoon();
    if (feed && feed.sensors) window.komando.map.updateSensors(feed.sensors);
    if (feed && feed.kpis) {
      Object.assign(latest.tiles, feed.kpis.tiles);
      latest.scorecard = feed.kpis.scorecard;
    }
    if (feed && feed.cameras) Object.assign(latest.cameras, feed.cameras);
    if (feed && feed.freshness) latest.freshness = feed.freshness;
    draw(latest);
    if (feed && feed.regions) regions(feed.regions, latest);
    // Followed by other Dash callbacks: through the store, and only when it came.
    if (feed && feed.alerts) window.dash_clientside.set_props(IDS.ALERT_SIGNAL, {data: feed.alerts});
  }

  /* The map's view ({shade, focus}) as the callback's pattern-matched state: [] on a page
     without a map. Kept up to date by the `view` callback below. */
  var views = [];

  /* The request dash-renderer sends for the feed's callback (callbacks/live_feed.register). */
  function request(known, tick) {
    var outputs = [{id: IDS.FEED, property: "data"}, {id: IDS.FEED_VERSIONS, property: "data"}];
    return {
      output: ".." + outputs.map(function (o) { return o.id + "." + o.property; }).join("...") +
        "..",
      outputs: outputs,
      inputs: [{id: IDS.WALL_TICK, property: "n_intervals", value: tick}],
      changedPropIds: [IDS.WALL_TICK + ".n_intervals"],
      state: [{id: IDS.FEED_VERSIONS, property: "data", value: known}, views],
    };
  }

  function endpoint() {
    var config = document.getElementById("_dash-config");
    var prefix = "/";
    try { prefix = JSON.parse(config.textContent).requests_pathname_prefix || "/"; } catch (e) {}
    return prefix + "_dash-update-component";
  }

  function csrfToken() {
    var found = document.cookie.split(";").map(function (c) { return c.trim(); })
      .filter(function (c) { return c.indexOf("_csrf_token=") === 0; })[0];
    return found ? found.slice("_csrf_token=".length) : "";
  }

  /* The session ended (signed out elsewhere, an account disabled, a display link revoked), or
     an admin added or changed a camera or school: a reload lets the server say what now (the
     sign-in page, the new layout), rather than a wall that silently stops or goes on without
     it. Once a minute at most, so a server that answers 401 by mistake cannot make a wall
     reload in a loop. */
  var reloadAt = 0;
  function reloadSoon() {
    var now = Date.now();
    if (now < reloadAt) return;
    reloadAt = now + 60000;
    window.setTimeout(function () { window.location.reload(); }, 5000);
  }

  /* One loop for the page's feed element: a page drawn anew (the router, another language)
     has a new element, and starts again from the versions it carries. A refresh is asked for
     once the previous one has answered, `data-refresh-ms` after the previous one was asked. */
  var current = null;

  function step() {
    var element = document.getElementById(IDS.LIVE_FEED);
    if (!element) return window.setTimeout(step, 250);
    if (!current || current.element !== element) {
      current = {
        element: element,
        known: JSON.parse(element.dataset.versions || "{}"),
        every: parseInt(element.dataset.refreshMs || "1000", 10) || 1000,
        tick: 0,
        latest: shown(),
      };
    }
    var feed = current;
    var started = performance.now();
    feed.tick += 1;
    window.fetch(endpoint(), {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        // What Dash's renderer sends on its own callbacks: the gate refuses a callback
        // without this session's CSRF token (server/access_gate.py).
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(request(feed.known, feed.tick)),
      credentials: "same-origin",
    })
      .then(function (response) {
        if (response.status === 401) reloadSoon();
        return response.status === 200 ? response.json() : null;
      })
      .then(function (answer) {
        var sections = (answer && answer.response) || {};
        if (feed !== current) return;  // the page changed while this was on its way
        if (sections[IDS.FEED_VERSIONS]) feed.known = sections[IDS.FEED_VERSIONS].data;
        apply(sections[IDS.FEED] ? sections[IDS.FEED].data : null, feed.latest);
      })
      .catch(function (error) {
        // The server unreachable: try again at the next refresh, as dcc.Interval did.
        if (!(error instanceof TypeError)) window.console.error(error);
      })
      .then(function () {
        window.setTimeout(step, Math.max(0, feed.every - (performance.now() - started)));
      });
  }
  window.setTimeout(step, 0);

  window.komandoFeed = {apply: apply, domId: domId};  // for the tests

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    komando_feed: {
      /* The map's view, for the next refresh; writes nothing. */
      view: function () {
        var inputs = window.dash_clientside.callback_context.inputs_list[0] || [];
        views = inputs.map(function (input) {
          return {id: input.id, property: input.property, value: input.value};
        });
        return window.dash_clientside.no_update;
      },

      /* The kecamatan shaded by the chosen KPI's status colour (the hideout keeps the focus). */
      shading: function (regions, hideout) {
        if (!regions) throw window.dash_clientside.PreventUpdate;
        return Object.assign({}, hideout || {}, {
          fills: regions.fills, values: regions.values, kpi: regions.name,
        });
      },

      /* The zoomed-in kecamatan's own KPIs, in a box on the map; hidden at city level. */
      focusBox: function (regions, crumb) {
        if (!regions) throw window.dash_clientside.PreventUpdate;
        var focus = regions.focus;
        if (!focus) return [[], "map-focus-box"];
        function el(type, className, children, style) {
          return {namespace: "dash_html_components", type: type,
                  props: {className: className, children: children, style: style}};
        }
        var rows = (focus.rows || []).map(function (row) {
          return el("Div", "focus-row", [
            el("Span", "focus-dot", "●", {color: row[2]}),
            el("Span", "focus-name", row[0]),
            el("Span", "focus-value", row[1]),
          ]);
        });
        if (!rows.length) rows = [el("Div", "focus-empty", "–")];
        var title = String(crumb || "").replace(/^›\s*/, "");
        return [[el("Div", "focus-title", title)].concat(rows), "map-focus-box shown"];
      },

      shadeChoice: function (kpi, view) {
        if (!kpi || (view && view.shade === kpi)) throw window.dash_clientside.PreventUpdate;
        return Object.assign({}, view || {}, {shade: kpi});
      },
    },
  });
})();
