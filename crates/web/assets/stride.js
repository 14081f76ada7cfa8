/* Stride website tracker: cookieless, first-party, never reads form values. Plausible-compatible wire format. */
(function (w, d) {
  var s = d.currentScript, dom = s && s.getAttribute('data-domain') || location.hostname.replace(/^www\./, '');
  var api = s && s.getAttribute('data-api') || new URL(s.src).origin + '/api/event';
  var keep = (s && s.getAttribute('data-params') || '').split(',');
  var q = w.stride && w.stride.q || [], hl, last, lu, shown = 0, depth = 0, forms = [];
  // Only campaign tags and the site's chosen parameters leave the page: a form sent by GET puts what
  // the visitor typed into the address, and that must never be transmitted.
  function url() {
    var u = new URL(location.href), p = [];
    u.searchParams.forEach(function (v, k) {
      if (/^(utm_\w+|gclid|gbraid|wbraid|msclkid|fbclid)$/.test(k) || keep.indexOf(k) > -1) p.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return u.origin + u.pathname + (p.length ? '?' + p.join('&') : '') + (u.hash.indexOf('#/') ? '' : u.hash);
  }
  function send(n, o) {
    o = o || {};
    if (/^file:/.test(location.protocol) || w.localStorage && localStorage.stride_ignore == 'true') return;
    var b = { n: n, u: url(), d: dom, r: d.referrer || null };
    for (var k in o) b[k] = o[k];
    b = JSON.stringify(b);
    if (navigator.sendBeacon) navigator.sendBeacon(api, new Blob([b], { type: 'text/plain' }));
    else fetch(api, { method: 'POST', body: b, keepalive: true });
  }
  function track(n, p) { send(n, p && p.props ? { p: p.props } : p ? { p: p } : {}); }
  function engage() {
    var t = shown ? Date.now() - shown : 0;
    if (last && t > 1000) send('engagement', { u: lu, sd: depth, e: t, i: false });
    shown = 0;
  }
  function scroll() {
    var h = d.documentElement, v = Math.round((w.scrollY + w.innerHeight) / Math.max(h.scrollHeight, 1) * 100);
    if (v > depth) depth = Math.min(v, 100);
  }
  function page() {
    var u = location.pathname + (location.hash.indexOf('#/') ? '' : location.hash);
    if (u == last) return;
    engage();
    last = u; lu = url(); depth = 0; shown = Date.now(); scroll();
    send('pageview');
    heat();
  }
  // Heatmaps: the click script is loaded only on a page where one is recording.
  function heat() {
    try {
      if (!hl && w.stride.h.p.some(function (e) { return new RegExp(e.r).test(location.pathname); })) {
        hl = d.createElement('script');
        hl.src = new URL(s.src).origin + '/js/stride-clicks.js';
        d.head.appendChild(hl);
      }
    } catch (x) {}
  }
  var push = history.pushState;
  history.pushState = function () { push.apply(this, arguments); page(); };
  w.addEventListener('popstate', page);
  w.addEventListener('hashchange', page);
  w.addEventListener('scroll', scroll, { passive: true });
  d.addEventListener('visibilitychange', function () { d.hidden ? engage() : shown = Date.now(); });
  d.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href],[data-stride-event]');
    if (!a) return;
    var ev = a.getAttribute('data-stride-event'), h = a.href || '', p = {};
    if (ev) {
      for (var i = 0; i < a.attributes.length; i++) {
        var m = a.attributes[i].name.match(/^data-stride-prop-(.+)/);
        if (m) p[m[1]] = a.attributes[i].value;
      }
      return track(ev, p);
    }
    if (/^tel:/.test(h)) track('Phone Call');
    else if (/^mailto:/.test(h)) track('Email Click');
    else if (/\.(pdf|docx?|xlsx?|pptx?|zip|csv|txt|rtf)(\?|$)/i.test(h)) track('File Download', { url: a.pathname });
    else if (a.host && a.host != location.host) track('Outbound Link: Click', { url: h.split('?')[0] });
  }, true);
  function formName(f) { return f.id || f.getAttribute('name') || f.getAttribute('action') || 'form'; }
  d.addEventListener('focusin', function (e) {
    var f = e.target.form;
    if (f && forms.indexOf(f) < 0) { forms.push(f); track('Form Start', { form: formName(f) }); }
  });
  d.addEventListener('submit', function (e) { track('Form Submit', { form: formName(e.target) }); }, true);
  w.stride = function (n, o) { track(n, o); };
  w.stride.s = send;
  page();
  for (var i = 0; i < q.length; i++) track.apply(null, q[i]);
  fetch(api.replace(/event$/, 'heatmaps?d=' + encodeURIComponent(dom))).then(function (r) { return r.json(); })
    .then(function (c) { w.stride.h = c; heat(); }).catch(heat);
})(window, document);
