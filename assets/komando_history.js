/* Keep Dash's undo history short, so that a wall can run for days.

   Dash's renderer records every change of a callback input that did not come from a callback
   (a dcc.Interval's tick among them) in its undo history, state.history.past, and never trims
   it: a wall whose refresh and clock were Dash intervals grew by ~6 MB an hour
   (bench/wall_memory). Neither is a Dash interval any more (komando_feed.js,
   komando_clientside.js), but a playlist's tick or a viewer's clicks still add to it.
   Komando has no undo, so the history is cut back to its last entries once a minute. Dash
   offers no setting for this; it exposes its store as window.store. */
(function () {
  "use strict";
  var KEEP = 20;
  function trimHistory() {
    var store = window.store;
    var history = store && store.getState && store.getState().history;
    if (history && history.past && history.past.length > KEEP) {
      // In place: the history reducer copies `past` before it adds to it, never reuses it.
      history.past.splice(0, history.past.length - KEEP);
    }
    return history && history.past ? history.past.length : 0;
  }
  window.komandoTrimHistory = trimHistory;  // for the tests
  window.setInterval(trimHistory, 60000);
})();
