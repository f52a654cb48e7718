/* The live feed applied in the browser (see callbacks/live_feed.py). Each refresh brings only
   the sections that changed; a section that is absent leaves its panel exactly as it is. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  komando_feed: {
    /* {id: [colour, level, category, value, age]} applied to the markers in place (see
       komando_map.js); the layer's data prop is never replaced. The work is the side effect: no
       store is written (each store update costs a render of every connected component). */
    sensors: function (feed) {
      if (feed && feed.sensors) window.komando.map.updateSensors(feed.sensors);
      throw window.dash_clientside.PreventUpdate;
    },

    /* The alert list's version, when it moved: the alert panel's callbacks listen to it. */
    alerts: function (feed) {
      if (!feed || !feed.alerts) throw window.dash_clientside.PreventUpdate;
      return feed.alerts;
    },

    /* The kecamatan shaded by the chosen KPI's status colour (the hideout keeps the focus). */
    shading: function (feed, hideout) {
      if (!feed || !feed.regions) throw window.dash_clientside.PreventUpdate;
      return Object.assign({}, hideout || {}, {
        fills: feed.regions.fills, values: feed.regions.values, kpi: feed.regions.name,
      });
    },

    /* The zoomed-in kecamatan's own KPIs, in a box on the map; hidden at city level. */
    focusBox: function (feed, crumb) {
      if (!feed || !feed.regions) throw window.dash_clientside.PreventUpdate;
      var focus = feed.regions.focus;
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

    freshness: function (feed) {
      if (!feed || !feed.freshness) throw window.dash_clientside.PreventUpdate;
      return [feed.freshness[0], feed.freshness[1]];
    },

    /* Pattern-matched outputs: the tiles on the page, in the order Dash lists them. */
    kpis: function (feed) {
      if (!feed || !feed.kpis) throw window.dash_clientside.PreventUpdate;
      return this._fill(feed.kpis.tiles, "kpi", 6);
    },

    /* [dimension, label, score, good, warn, bad, nodata] per dimension -> chips. */
    scorecard: function (feed) {
      if (!feed || !feed.kpis) throw window.dash_clientside.PreventUpdate;
      function div(className, children, extra) {
        return {namespace: "dash_html_components", type: "Div",
                props: Object.assign({className: className, children: children}, extra || {})};
      }
      return feed.kpis.scorecard.map(function (row) {
        var worst = row[5] ? "bad" : row[4] ? "warn" : row[3] ? "good" : "nodata";
        var counts = [["good", row[3]], ["warn", row[4]], ["bad", row[5]], ["nodata", row[6]]]
          .filter(function (c) { return c[1] > 0; })
          .map(function (c) { return div("score-count count-" + c[0], String(c[1])); });
        return div("score-chip worst-" + worst, [
          div("score-label", row[1]),
          div("score-value", row[2]),
          div("score-counts", counts),
        ], {title: row[1]});
      });
    },

    cameras: function (feed) {
      if (!feed || !feed.cameras) throw window.dash_clientside.PreventUpdate;
      return this._fill(feed.cameras, "camera", 3);
    },

    /* Only the cells the page does not already show: every property Dash sets is an update of
       its store and a render, and 50 tiles × 6 properties a second add up. Compared with the
       page itself, so a grid drawn anew (the router, a CCTV page turn) is always filled. */
    _fill: function (items, key, width) {
      var outputs = window.dash_clientside.callback_context.outputs_list;
      var noUpdate = window.dash_clientside.no_update;
      function domId(id) {  // how Dash writes a pattern-matching id into the page
        return "{" + Object.keys(id).sort().map(function (k) {
          return JSON.stringify(k) + ":" + JSON.stringify(id[k]);
        }).join(",") + "}";
      }
      function showing(el, property) {
        if (property === "children") return el.textContent;
        if (property === "className") return el.className;
        return el.getAttribute(property);
      }
      var columns = [];
      for (var column = 0; column < width; column++) {
        columns.push(outputs[column].map(function (output) {
          var item = items[output.id[key]];
          if (!item) return noUpdate;
          var el = document.getElementById(domId(output.id));
          if (el && showing(el, output.property) === String(item[column])) return noUpdate;
          return item[column];
        }));
      }
      return columns;
    },
  },
});
