// Ridgeline Supply: the demo shop's behavior. Plain browser JavaScript, no
// framework. Three elements are broken on purpose so that Sightline has
// something to find: "Apply coupon" does nothing (rage clicks), "Size guide"
// goes nowhere (dead clicks) and "Add to wishlist" throws (error clicks).
(function () {
  'use strict';

  var CART_KEY = 'ridgeline-cart';
  var USER_KEY = 'ridgeline-user';

  // The Sightline snippet may be missing (the page works without it) or
  // still loading: calls are skipped rather than queued.
  function sl(method) {
    var s = window.sightline;
    var args = Array.prototype.slice.call(arguments, 1);
    try {
      if (s && typeof s[method] === 'function') s[method].apply(s, args);
    } catch (e) {
      // Analytics must never break the shop.
    }
  }

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function load(key, fallback) {
    try {
      var v = JSON.parse(localStorage.getItem(key));
      return v === null ? fallback : v;
    } catch (e) {
      return fallback;
    }
  }
  function save(key, v) {
    try { localStorage.setItem(key, JSON.stringify(v)); } catch (e) { /* private mode */ }
  }

  function money(n) { return '$' + n.toFixed(2); }
  function priceOf(text) { return parseFloat(String(text).replace(/[^0-9.]/g, '')) || 0; }

  function cart() { return load(CART_KEY, []); }
  function cartCount(items) {
    return items.reduce(function (n, it) { return n + it.qty; }, 0);
  }
  function updateCartLink() {
    var link = $('a.cart-link');
    // A custom property rather than a data-* attribute, which analytics
    // would capture in every click's element chain.
    if (link) link.style.setProperty('--count', '"' + cartCount(cart()) + '"');
  }

  function toast(text) {
    var t = document.createElement('div');
    t.className = 'toast';
    t.setAttribute('role', 'status');
    t.textContent = text;
    document.body.appendChild(t);
    setTimeout(function () { t.remove(); }, 2500);
  }

  // ---- product pages ----
  function productPage(main) {
    var slug = location.pathname.split('/').pop();
    var name = $('div.product-info > h1', main).textContent;
    var price = priceOf($('p.price', main).textContent);
    var category = (location.search.match(/category=(\w+)/) || [])[1] ||
      ($('nav.breadcrumbs a:nth-child(2)', main).textContent || '').toLowerCase();
    var qty = $('#qty', main);

    $('button.qty-minus', main).addEventListener('click', function () {
      qty.value = String(Math.max(1, (parseInt(qty.value, 10) || 1) - 1));
    });
    $('button.qty-plus', main).addEventListener('click', function () {
      qty.value = String((parseInt(qty.value, 10) || 1) + 1);
    });

    $('#add-to-cart', main).addEventListener('click', function () {
      var n = Math.max(1, parseInt(qty.value, 10) || 1);
      var items = cart();
      var found = items.filter(function (it) { return it.slug === slug; })[0];
      if (found) found.qty += n; else items.push({ slug: slug, name: name, category: category, price: price, qty: n });
      save(CART_KEY, items);
      updateCartLink();
      toast(name + ' added to your cart');
      sl('track', 'add_to_cart', { product_id: slug, product: name, category: category, price: price, currency: 'USD', quantity: n });
    });

    // Broken on purpose: the size guide modal was never built.
    $('a.size-guide', main).addEventListener('click', function (e) {
      e.preventDefault();
    });

    // Broken on purpose: window.wishlist does not exist, so this throws an
    // uncaught TypeError on every click.
    $('button.wishlist', main).addEventListener('click', function () {
      window.wishlist.add(slug);
    });

    var panel = $('#panel', main);
    var description = $('p.description', main).textContent;
    var content = {
      details: description,
      reviews: '4.6 out of 5 from 128 reviews. "Held up to a week of rain in the Highlands."',
      shipping: 'Free standard shipping over $100. Free returns within 30 days, and free repairs for life.'
    };
    $all('button.tab', main).forEach(function (tab) {
      tab.addEventListener('click', function () {
        $all('button.tab', main).forEach(function (t) {
          t.classList.toggle('active', t === tab);
          t.setAttribute('aria-selected', String(t === tab));
        });
        panel.innerHTML = '';
        var p = document.createElement('p');
        p.textContent = content[tab.getAttribute('data-tab')];
        panel.appendChild(p);
      });
    });

    var image = $('img.product-image', main);
    $all('button.thumb', main).forEach(function (b, i) {
      b.addEventListener('click', function () {
        image.style.filter = i === 0 ? '' : 'hue-rotate(' + (i * 40) + 'deg)';
        $all('button.thumb', main).forEach(function (x) { x.classList.toggle('active', x === b); });
      });
    });
  }

  // ---- search and category filters (client-side route) ----
  function searchPage(main) {
    var list = $('ul.results', main);
    var items = $all('li.product', list);
    var empty = $('p.no-results', main);
    var title = $('h1', main);
    var sort = $('#sort', main);
    // Kept out of the DOM: a data-* attribute would show up in every
    // click's element chain.
    var rank = new Map();
    items.forEach(function (li, i) { rank.set(li, i); });

    function apply() {
      var params = new URLSearchParams(location.search);
      var q = (params.get('q') || '').trim().toLowerCase();
      var category = params.get('category') || 'all';
      $('#q').value = params.get('q') || '';
      var shown = 0;
      items.forEach(function (li) {
        var name = $('.name', li).textContent.toLowerCase();
        var words = q.split(/\s+/).filter(Boolean);
        var matchQ = words.length === 0 || words.some(function (w) {
          return name.indexOf(w.replace(/s$/, '')) >= 0 || li.getAttribute('data-category') === w;
        });
        var matchC = category === 'all' || li.getAttribute('data-category') === category;
        li.hidden = !(matchQ && matchC);
        if (!li.hidden) shown++;
      });
      empty.hidden = shown > 0;
      title.textContent = q ? 'Results for “' + params.get('q') + '”' : 'Shop';
      $all('button.filter', main).forEach(function (b) {
        b.classList.toggle('active', b.getAttribute('data-category') === category);
      });
      return { query: params.get('q') || '', results: shown };
    }

    $all('button.filter', main).forEach(function (b) {
      b.addEventListener('click', function () {
        var c = b.getAttribute('data-category');
        history.pushState({ category: c }, '', c === 'all' ? 'search' : 'search?category=' + c);
        apply();
      });
    });
    window.addEventListener('popstate', apply);

    sort.addEventListener('change', function () {
      var key = sort.value;
      items.slice().sort(function (a, b) {
        if (key === 'popular') return rank.get(a) - rank.get(b);
        var d = priceOf($('.price', a).textContent) - priceOf($('.price', b).textContent);
        return key === 'price-asc' ? d : -d;
      }).forEach(function (li) { list.appendChild(li); });
    });

    var first = apply();
    if (first.query) sl('track', 'search', first);
  }

  // ---- cart ----
  function cartPage(main) {
    var list = $('ul.cart-items', main);
    var empty = $('p.cart-empty', main);
    var total = $('#cart-total', main);

    var rendered = false;
    function render() {
      var items = cart();
      if (items.length === 0 && !rendered) {
        // First visit with an empty cart: keep the sample item so that the
        // coupon and checkout can be tried right away.
        var li = $('li.cart-item', list);
        if (li) {
          items = [{ slug: 'alpine-shell-jacket', name: $('.item-name', li).textContent, category: 'jackets', price: priceOf($('.item-price', li).textContent), qty: 1 }];
          save(CART_KEY, items);
        }
      }
      rendered = true;
      list.innerHTML = '';
      items.forEach(function (it, i) {
        var li = document.createElement('li');
        li.className = 'cart-item';
        var img = document.createElement('img');
        img.src = 'assets/img/' + (it.category || 'packs') + '.svg';
        img.alt = '';
        img.width = img.height = 64;
        var name = document.createElement('span');
        name.className = 'item-name';
        name.textContent = it.name + (it.qty > 1 ? ' × ' + it.qty : '');
        var price = document.createElement('span');
        price.className = 'item-price';
        price.textContent = money(it.price * it.qty);
        var remove = document.createElement('button');
        remove.className = 'remove-item';
        remove.type = 'button';
        remove.textContent = 'Remove';
        remove.addEventListener('click', function () {
          var now = cart();
          now.splice(i, 1);
          save(CART_KEY, now);
          render();
        });
        li.append(img, name, price, remove);
        list.appendChild(li);
      });
      var sum = items.reduce(function (s, it) { return s + it.price * it.qty; }, 0);
      total.textContent = money(sum);
      empty.hidden = items.length > 0;
      updateCartLink();
    }
    render();

    // Broken on purpose since release 2.4.0: the handler lost its body, so
    // the button does nothing at all and people click it again and again.
    $('#apply-coupon', main).addEventListener('click', function () {});

    $('#checkout-button', main).addEventListener('click', function () {
      var items = cart();
      sl('track', 'checkout_started', {
        cart_value: items.reduce(function (s, it) { return s + it.price * it.qty; }, 0),
        items: cartCount(items),
        currency: 'USD'
      });
    });
  }

  // ---- checkout, with the confirmation as a client-side route ----
  function checkoutPage(main) {
    var form = $('#checkout-form', main);
    if (!form) return;
    var items = cart();
    var sum = items.reduce(function (s, it) { return s + it.price * it.qty; }, 0);
    var shipping = sum > 0 && sum < 100 ? 8.95 : 0;
    $('#checkout-items', main).textContent = String(cartCount(items));
    $('#checkout-total', main).textContent = money(sum + shipping);

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      // Card fields are never read: the demo only pretends to pay.
      var order = 'R' + String(Math.floor(100000 + Math.random() * 900000));
      sl('track', 'purchase', { revenue: Math.round((sum + shipping) * 100) / 100, currency: 'USD', order_id: order, items: cartCount(items) });
      save(CART_KEY, []);
      updateCartLink();
      history.pushState({ thanks: true }, '', 'checkout/thank-you');
      showThanks(main);
    });
    window.addEventListener('popstate', function () { location.reload(); });
  }

  function showThanks(main) {
    var tpl = document.createElement('template');
    tpl.innerHTML = '<section class="confirmation"><h1>Thank you!</h1><p>Your order is confirmed. As this is a demo shop, nothing will be shipped.</p>' +
      '<a class="create-account" href="signup">Create an account</a><a class="continue-shopping" href="search">Continue shopping</a></section>';
    main.replaceChildren(tpl.content);
    document.title = 'Thank you — Ridgeline Supply';
    window.scrollTo(0, 0);
  }

  // ---- accounts ----
  function newUserID() {
    var hex = '';
    for (var i = 0; i < 10; i++) hex += Math.floor(Math.random() * 16).toString(16);
    return 'user_' + hex;
  }

  // Only the e-mail's domain becomes a trait, never the address.
  function domainOf(email) {
    var at = email.lastIndexOf('@');
    return at >= 0 ? email.slice(at + 1).toLowerCase() : '';
  }

  function signupPage(main) {
    var plan = (location.search.match(/plan=(\w+)/) || [])[1] || 'free';
    if (plan !== 'free') $('h1', main).textContent = 'Create your account: ' + plan.charAt(0).toUpperCase() + plan.slice(1) + ' plan';
    $('#signup-form', main).addEventListener('submit', function (e) {
      e.preventDefault();
      var user = { id: newUserID(), plan: plan, domain: domainOf($('#signup-email', main).value) };
      save(USER_KEY, user);
      sl('identify', user.id, { plan: user.plan, email_domain: user.domain });
      sl('track', 'signup', { plan: plan, method: 'email', source: document.referrer.indexOf('pricing') >= 0 ? 'pricing' : 'direct' });
      location.href = 'account';
    });
  }

  function accountPage(main) {
    var form = $('#login-form', main);
    var orders = $('section.orders', main);
    function show() {
      var user = load(USER_KEY, null);
      form.hidden = !!user;
      orders.hidden = !user;
    }
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var user = load(USER_KEY, null) || { id: newUserID(), plan: 'free', domain: domainOf($('#login-email', main).value) };
      save(USER_KEY, user);
      sl('identify', user.id, { plan: user.plan, email_domain: user.domain });
      show();
    });
    $('#logout', main).addEventListener('click', function () {
      try { localStorage.removeItem(USER_KEY); } catch (err) { /* private mode */ }
      sl('reset');
      show();
    });
    show();
  }

  // ---- small things ----
  function pricingPage(main) {
    $all('button.billing', main).forEach(function (b) {
      b.addEventListener('click', function () {
        var period = b.getAttribute('data-billing');
        $all('button.billing', main).forEach(function (x) { x.classList.toggle('active', x === b); });
        $all('p.plan-price', main).forEach(function (p) { p.textContent = p.getAttribute('data-' + period); });
      });
    });
  }

  function postPage(main) {
    $('button.share', main).addEventListener('click', function () {
      var url = location.href;
      if (navigator.clipboard) navigator.clipboard.writeText(url).catch(function () {});
      toast('Link copied');
    });
  }

  function newsletter() {
    var form = $('#newsletter-form');
    if (!form) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var p = document.createElement('p');
      p.className = 'subscribed';
      p.textContent = 'Thanks! The next trail notes are on their way.';
      form.replaceWith(p);
    });
  }

  function start() {
    updateCartLink();
    newsletter();
    var main = $('main');
    if (!main) return;
    var pages = { product: productPage, search: searchPage, cart: cartPage, checkout: checkoutPage, signup: signupPage, account: accountPage, pricing: pricingPage, post: postPage };
    var f = pages[main.id];
    if (f) f(main);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
