/* Stride heatmap clicks, loaded by stride.js only where a heatmap records: clicks, dead and rage clicks, and where
   the call to action sits. Never reads what is typed. */
(function (w, d, L) {
  var S = w.stride, R = d.documentElement, P = [], m = 0, b, ts, at, seen, push = history.pushState;
  function cur() { return S.h.p.filter(function (p) { return RegExp(p.r).test(L.pathname); })[0]; }
  function cl(v, x) { return Math.min(x, Math.max(0, Math.round(v))); }
  function send(f, k) { f.k = k; S.s('$click', f); }
  function sel(e) {
    for (var p = [], a, i, n; !a; e = e.parentElement) {
      if (/^[A-Za-z][\w-]*$/.test(e.id)) a = '#' + e.id;
      else if (e.contains(d.body)) a = e.localName;
      else {
        for (i = 1, n = e; n = n.previousElementSibling;) n.localName == e.localName && i++;
        p.unshift(e.localName + ':nth-of-type(' + i + ')');
      }
    }
    n = p.slice(-5).join(' > ');
    return (a + (n && (p[5] ? ' ' : ' > ') + n)).slice(0, 200);
  }
  function flush() { while (P.length) P[0](1); }
  new MutationObserver(function () { m++; }).observe(R, { childList: 1, subtree: 1, attributes: 1, characterData: 1 });
  d.addEventListener('click', function (e) {
    var el = e.target, X = e.pageX, Y = e.pageY, u = L.href, y = w.scrollY, m0 = m, f, t;
    if (!e.detail || ts == (ts = e.timeStamp) || !cur()) return;
    f = { x: cl(X / R.scrollWidth * 1000, 1000), y: cl(Y, 1 / 0), ph: R.scrollHeight, vw: w.innerWidth, s: sel(el), t: el.localName,
      l: el.closest('input,textarea,select,[contenteditable]') || el.querySelector('textarea,select,[contenteditable]') ? '' :
        (el.getAttribute('aria-label') || el.getAttribute('alt') || el.getAttribute('title') || el.textContent)
          .replace(/\s+/g, ' ').trim().slice(0, 40).trim(),
      a: el.closest('a[href],button,input,select,textarea,label,summary,[role=button],[role=link],[onclick],[tabindex],[data-stride-event]') ? 1 : 0 };
    // Dead if nothing changed in 1 s (DOM, address, scroll); sent at once as a click if the page is left first.
    function g(x) {
      clearTimeout(t); P.splice(P.indexOf(g), 1);
      send(f, x || m != m0 || L.href != u || Math.abs(w.scrollY - y) > 5 ? 'click' : 'dead');
    }
    if (f.a) send(f, 'click');
    else { P.push(g); t = setTimeout(g, 1000); }
    if (b && ts - b.t < 1000 && Math.hypot(X - b.x, Y - b.y) <= 30) ++b.n == 3 && send(f, 'rage');
    else b = { t: ts, x: X, y: Y, n: 1 };
  }, true);
  w.addEventListener('pagehide', flush);
  history.pushState = function () { flush(); push.apply(this, arguments); };
  setInterval(function () {
    if (at != L.pathname) seen = 0, at = L.pathname;
    try { var c = cur().c, r = !seen && c && d.querySelector(c).getBoundingClientRect(); } catch (x) {}
    if (r && r.height) { seen = 1; S.s('$cta', { y: cl((r.top + w.scrollY) / R.scrollHeight * 100, 100), vw: w.innerWidth }); }
  }, 1000);
})(window, document, location);
