/* The wall clock: the browser writes it straight into the page once a second. Not a Dash
   interval and callback: each of those is a store update that re-renders every connected
   component, and the clock needs none of that. */
(function () {
  "use strict";
  function clock() {
    var clockBox = document.querySelector(".clock");
    var time = document.getElementById("clock-time");
    if (!clockBox || !time) return;
    var zone = clockBox.dataset.timezone || "Asia/Jakarta";
    var now = new Date();
    var timeText = new Intl.DateTimeFormat("id-ID", {
      timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).format(now);
    // The date in the page's language; the time the Indonesian way (08.45.12) in both.
    var english = (document.querySelector(".wall") || {}).lang === "en";
    var dateText = new Intl.DateTimeFormat(english ? "en-GB" : "id-ID", {
      timeZone: zone, weekday: "long", day: "numeric", month: "long", year: "numeric",
    }).format(now);
    if (time.textContent !== timeText) time.textContent = timeText;
    var date = document.getElementById("clock-date");
    if (date && date.textContent !== dateText) date.textContent = dateText;
  }
  window.setInterval(clock, 1000);
  window.setTimeout(clock, 50);
})();
