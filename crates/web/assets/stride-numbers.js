/* Stride call tracking: shows the tracking number that matches this visit in place of the clinic's
   main line (text and tel: links), so the call is attributed to the visit's source. No cookie. */
(function (d) {
  var s = d.currentScript, dom = s.getAttribute('data-domain') || location.hostname.replace(/^www\./, '');
  var u = new URL(location.href), p = [];
  // Like the tracker: only campaign tags leave the page.
  u.searchParams.forEach(function (v, k) {
    if (/^(utm_\w+|gclid|gbraid|wbraid|msclkid|fbclid)$/.test(k)) p.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
  });
  var page = u.origin + u.pathname + (p.length ? '?' + p.join('&') : '');
  function digits(t) { return t.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, ''); }
  function swap(n) {
    if (!n || !n.find) return;
    var re = /(\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}/g, w = d.createTreeWalker(d.body, 4), t;
    while ((t = w.nextNode())) {
      var v = t.nodeValue, x = v.replace(re, function (m) { return n.find.indexOf(digits(m)) > -1 ? n.display : m; });
      if (x !== v) t.nodeValue = x;
    }
    d.querySelectorAll('a[href^="tel:"]').forEach(function (a) {
      if (n.find.indexOf(digits(a.getAttribute('href'))) > -1) a.setAttribute('href', 'tel:' + n.tel);
    });
  }
  function go() {
    fetch(new URL(s.src).origin + '/api/numbers?d=' + encodeURIComponent(dom) + '&u=' + encodeURIComponent(page) +
      '&r=' + encodeURIComponent(d.referrer)).then(function (r) { return r.json(); }).then(swap).catch(function () {});
  }
  if (d.readyState == 'loading') d.addEventListener('DOMContentLoaded', go); else go();
})(document);
