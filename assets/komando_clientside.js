/* Clientside callbacks: work the browser can do alone costs the server nothing. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  komando: {
    clock: function () {
      var clock = document.querySelector(".clock");
      var zone = (clock && clock.dataset.timezone) || "Asia/Jakarta";
      var now = new Date();
      var time = new Intl.DateTimeFormat("id-ID", {
        timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      }).format(now);
      // The date in the page's language; the time the Indonesian way (08.45.12) in both.
      var english = (document.querySelector(".wall") || {}).lang === "en";
      var date = new Intl.DateTimeFormat(english ? "en-GB" : "id-ID", {
        timeZone: zone, weekday: "long", day: "numeric", month: "long", year: "numeric",
      }).format(now);
      return [time, date];
    },
  },
});
