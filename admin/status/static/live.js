// Live refresh of the page's content: the element with data-live is
// reloaded from that URL (the same page, rendered without its frame) every
// data-interval seconds while the tab is visible. The page reads the same
// without it.
(function () {
  "use strict";
  var el = document.querySelector("[data-live]");
  if (!el || !window.fetch) {
    return;
  }
  var url = el.getAttribute("data-live");
  var every = (parseInt(el.getAttribute("data-interval"), 10) || 4) * 1000;
  var last = null;
  function again() {
    window.setTimeout(tick, every);
  }
  function tick() {
    if (document.hidden) {
      again();
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (r.status === 401) {
          // The session ended: stop, and say so.
          document.body.classList.add("expired");
          return null;
        }
        if (!r.ok) {
          again();
          return null;
        }
        return r.text().then(function (html) {
          if (html !== last) {
            el.innerHTML = html;
            last = html;
          }
          again();
        });
      })
      .catch(again);
  }
  again();
})();
