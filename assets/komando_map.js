/* Map styling functions, referenced from Python as {"variable": "komando.map.<name>"}.
   dash-leaflet calls them with the usual Leaflet arguments plus its context as the last one. */
window.komando = Object.assign({}, window.komando, {
  map: {
    /* hideout: {focus: kode of the kecamatan drilled into, or "", fills: {kode: colour}}. */
    districtStyle: function (feature, context) {
      var hideout = (context && context.hideout) || {};
      var kode = feature.properties.kode;
      var shaded = (hideout.fills || {})[kode];
      var fill = shaded || "#1b3a52";
      if (hideout.focus && hideout.focus !== kode) {
        return {color: "#3d5a70", weight: 1.5, opacity: 0.6, fillColor: "#0e1c28", fillOpacity: 0.6};
      }
      if (hideout.focus === kode) {
        return {color: "#9fdcff", weight: 4, opacity: 1, fillColor: fill, fillOpacity: 0.15};
      }
      return {color: "#6fc3ea", weight: 2.5, opacity: 0.95, fillColor: fill,
              fillOpacity: shaded ? 0.42 : 0.55};
    },
    villageStyle: function () {
      return {color: "#9fdcff", weight: 1.5, opacity: 0.9, dashArray: "4 4", fillColor: "#1b3a52",
              fillOpacity: 0.35};
    },
    villageLabel: function (feature, layer) {
      layer.bindTooltip(feature.properties.nama, {
        permanent: true, direction: "center", className: "village-label", opacity: 1,
      });
    },
    /* An alert where it happened: a ring in its severity's colour (pulsing while critical and
       not yet back to normal), the message on hover. */
    alertPoint: function (feature, latlng) {
      var p = feature.properties;
      var css = "alert-pin sev-" + p.severity + (p.cleared ? " is-cleared" : "");
      /* An incident a person reported: a diamond with its category's letter(s). */
      var pin = document.createElement("div");
      if (p.kind === "incident") {
        css = "incident-pin sev-" + p.severity + " cat-" + p.category;
        var glyph = document.createElement("span");
        glyph.textContent = p.glyph || "!";
        pin.appendChild(glyph);
      } else {
        pin.textContent = "!";
      }
      pin.className = css;
      var marker = L.marker(latlng, {
        icon: L.divIcon({className: "alert-icon", html: pin, iconSize: [40, 40],
                         iconAnchor: [20, 20]}),
        keyboard: false,
        zIndexOffset: 1000,
      });
      var box = document.createElement("div");
      var title = document.createElement("b");
      title.textContent = p.label;
      box.appendChild(title);
      var line = document.createElement("div");
      line.textContent = p.message;
      box.appendChild(line);
      marker.bindTooltip(box, {direction: "top", offset: [0, -18], className: "sensor-tooltip"});
      return marker;
    },
    schoolPoint: function (feature, latlng) {
      return L.marker(latlng, {
        icon: L.divIcon({className: "school-icon", html: '<div class="school-pin">S</div>',
                         iconSize: [24, 24], iconAnchor: [12, 12]}),
        title: feature.properties.name,
        keyboard: false,
      });
    },
    /* The name, and the shading KPI's value under it once the live feed has brought one. */
    districtLabel: function (feature, layer, context) {
      var hideout = (context && context.hideout) || {};
      var value = (hideout.values || {})[feature.properties.kode];
      var box = document.createElement("div");
      box.textContent = feature.properties.nama;
      if (value && value !== "–") {
        var line = document.createElement("div");
        line.className = "district-value";
        line.textContent = value;
        box.appendChild(line);
      }
      layer.bindTooltip(box, {
        permanent: true, direction: "center", className: "district-label", opacity: 1,
      });
      window.komando.map.districtLabels[feature.properties.kode] = layer;
    },
    /* The value under a kecamatan's name, set in place: the live feed brings new numbers every
       30 s, and redrawing the layer for them (a new hideout) re-adds every polygon and label,
       a long task on a big city (issue 5; komando_feed.js: regions). */
    districtLabels: {},
    setDistrictValue: function (kode, value) {
      var layer = window.komando.map.districtLabels[kode];
      var tooltip = layer && layer.getTooltip();
      var box = tooltip && tooltip.getContent();
      if (!box || !box.querySelector) return false;
      var line = box.querySelector(".district-value");
      if (!value || value === "–") {
        if (line) { line.remove(); tooltip.update(); }
        return true;
      }
      if (!line) {
        line = document.createElement("div");
        line.className = "district-value";
        box.appendChild(line);
      }
      if (line.textContent !== value) { line.textContent = value; tooltip.update(); }
      return true;
    },
    /* Sensor markers are updated in place by the live feed (komando_feed.js: sensors): the
       layer's data is never replaced, so hundreds of markers are not re-created every second;
       a marker changes its icon only when its colour does, and its tooltip is built when it
       opens. `sensors` holds each marker's latest state, `sensorMarkers` the markers. */
    sensors: {},
    sensorMarkers: {},
    sensorIcon: function (glyph, color) {
      var html = '<div class="sensor-pin" style="background:' + color + '">' + glyph + "</div>";
      return L.divIcon({className: "sensor-icon", html: html, iconSize: [30, 30], iconAnchor: [15, 15]});
    },
    sensorPoint: function (feature, latlng) {
      var map = window.komando.map;
      var p = feature.properties;
      var state = map.sensors[p.id] || (map.sensors[p.id] = {
        name: p.name, glyph: p.glyph, color: p.color, category: p.category, value: p.value,
        age: p.age,
      });
      var marker = L.marker(latlng, {icon: map.sensorIcon(state.glyph, state.color), keyboard: false});
      marker.komandoColor = state.color;
      map.sensorMarkers[p.id] = marker;  // a layer re-added (switched off and on) replaces it
      return marker;
    },
    sensorTooltip: function (feature, layer) {
      var state = window.komando.map.sensors[feature.properties.id];
      layer.bindTooltip(function () {
        var box = document.createElement("div");
        var title = document.createElement("b");
        title.textContent = state.name;
        box.appendChild(title);
        [state.value + " · " + state.category, state.age].forEach(function (line) {
          var row = document.createElement("div");
          row.textContent = line;
          box.appendChild(row);
        });
        return box;
      }, {direction: "top", offset: [0, -14], className: "sensor-tooltip"});
    },
    /* The feed's {id: [colour, level, category, value, age]} applied to the markers. */
    updateSensors: function (items) {
      var map = window.komando.map;
      Object.keys(items).forEach(function (id) {
        var state = map.sensors[id];
        if (!state) return;
        var item = items[id];
        state.color = item[0]; state.category = item[2]; state.value = item[3]; state.age = item[4];
        var marker = map.sensorMarkers[id];
        if (marker && marker.komandoColor !== state.color) {
          marker.setIcon(map.sensorIcon(state.glyph, state.color));
          marker.komandoColor = state.color;
        }
        if (marker && marker.isTooltipOpen()) marker.setTooltipContent(marker.getTooltip()._content);
      });
    },
    cameraPoint: function (feature, latlng) {
      var marker = L.marker(latlng, {
        icon: L.divIcon({className: "camera-icon", html: '<div class="camera-pin">▣</div>',
                         iconSize: [26, 26], iconAnchor: [13, 13]}),
        title: feature.properties.name,
        keyboard: false,
      });
      // Click: a live thumbnail, refreshed each second while the pop-up is open.
      var box = document.createElement("div");
      var title = document.createElement("b");
      title.textContent = feature.properties.name;
      var img = document.createElement("img");
      img.className = "camera-popup-image";
      img.alt = feature.properties.name;
      box.appendChild(title);
      box.appendChild(img);
      var timer = null;
      var thumb = "/video/" + encodeURIComponent(feature.properties.id) + "/thumb.jpg";
      marker.bindPopup(box, {className: "camera-popup", minWidth: 200});
      marker.on("popupopen", function () {
        img.src = thumb + "?t=" + Date.now();
        timer = window.setInterval(function () { img.src = thumb + "?t=" + Date.now(); }, 1000);
      });
      marker.on("popupclose", function () { window.clearInterval(timer); });
      return marker;
    },
  },
});
