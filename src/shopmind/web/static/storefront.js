/* shopmind storefront: paginated search with deep links, autocomplete and facets, a no-results page,
   product page, "for you" shelf, chat. Every view is a URL (#/search?q=…&page=2), so reload,
   back/forward and shared links restore it. */
"use strict";
(function () {
  const { t, api, el, clear, safeHighlight, money } = SM;
  const $ = (id) => document.getElementById(id);
  const CONFIG = SM.CONFIG;
  let lastSearch = null; // {q, params, data}
  let conversationId = null;

  const PAGE_SIZE = 20; // results per page unless the link says k=…
  const MAX_PAGE_SIZE = 100; // the API's limit on k
  const MAX_OFFSET = 10000; // the API's limit on offset
  const FILTERS = ["category", "brand", "price", "in_stock"];
  const SORTS = ["relevance", "price_asc", "price_desc", "newest", "popularity", "rating"];

  // ---------------------------------------------------------------- shop name, key + user
  function shopName() { return CONFIG.shopName || t("shop"); }
  function shopCurrency(c) { return c || CONFIG.currency || "USD"; }
  function price(p, c) { return money(p, shopCurrency(c)); }

  function key() { return SM.readKey(); }
  function user() { return localStorage.getItem("shopmind.user") || ""; }
  // personal results need the shopper's customer token; without one the page is anonymous
  function token() { return SM.customerToken(user()); }

  function needKey() {
    if (key()) { $("keybar").hidden = true; return false; }
    $("keybar").hidden = false;
    return true;
  }
  $("key-save").addEventListener("click", () => { SM.setReadKey($("key-input").value.trim()); route(); });

  const users = CONFIG.demoUsers || [];
  users.forEach((u) => $("demo-users").appendChild(el("option", { value: u })));
  $("user").value = user();
  $("user").addEventListener("change", () => {
    localStorage.setItem("shopmind.user", $("user").value.trim());
    conversationId = null; // a new shopper starts a new conversation
    if (!location.hash || location.hash === "#/") route(); else location.hash = "#/";
  });

  $("lang").addEventListener("click", () => { SM.setLang(SM.getLang() === "en" ? "zh" : "en"); route(); });

  // ---------------------------------------------------------------- human-readable values
  const { fill, categoryName, reasonText } = SM;

  /** Attribute name for people: a known translation (attr_<name>), else "noise_cancelling" → "Noise cancelling". */
  function humanKey(name) {
    const known = t("attr_" + name);
    if (known !== "attr_" + name) return known;
    const words = String(name).replace(/[_\-.]+/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) : String(name);
  }

  /** Attribute value for people: booleans as Yes/No (是/否), lists joined; numbers and units as given. */
  function humanValue(v) {
    if (v === true || v === "true" || v === "True") return t("yes");
    if (v === false || v === "false" || v === "False") return t("no");
    if (Array.isArray(v)) return v.map(humanValue).join(", ");
    if (v !== null && typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  /** A price facet bucket "10..25" → "$10–$25", "0..10" → "Under $10", "2500.." → "$2,500 and up". */
  function priceRange(bucket) {
    const m = /^(\d*(?:\.\d+)?)\.\.(\d*(?:\.\d+)?)$/.exec(String(bucket));
    if (!m) return String(bucket);
    const f = (x) => {
      try {
        return new Intl.NumberFormat(SM.getLang() === "zh" ? "zh-CN" : "en-US",
          { style: "currency", currency: shopCurrency(), maximumFractionDigits: 0, minimumFractionDigits: 0 }).format(Number(x));
      } catch (e) { return String(x); }
    };
    const lo = m[1] === "" ? 0 : Number(m[1]);
    if (m[2] === "") return fill(t("price_from"), { lo: f(lo) });
    if (lo === 0) return fill(t("price_under"), { hi: f(m[2]) });
    return `${f(lo)}–${f(m[2])}`;
  }

  function categoryPath(path) {
    return (Array.isArray(path) ? path : String(path || "").split(" > ")).filter(Boolean).map(categoryName).join(" › ");
  }

  function facetLabel(field) { return field.startsWith("attr.") ? humanKey(field.slice(5)) : t(field); }
  function facetValue(field, value) {
    if (field === "price") return priceRange(value);
    if (field === "category") return categoryPath(value);
    if (field === "in_stock") return humanValue(value);
    return humanValue(value);
  }

  // ---------------------------------------------------------------- rendering helpers
  function errorBox(err) {
    const msg = err && err.status === 503 ? t("not_available") : (err && err.message) || String(err);
    return el("p", { class: "error", text: msg });
  }

  function card(rec) {
    const item = rec.item || {};
    const id = rec.item_id || item.id;
    const thumb = item.image_url
      ? el("img", { class: "thumb", src: item.image_url, alt: "", loading: "lazy" })
      : el("div", { class: "thumb", "aria-hidden": "true", text: (item.title || id).slice(0, 1).toUpperCase() });
    const reason = reasonText(rec);
    return el("a", { class: "card", href: "#/item/" + encodeURIComponent(id), dataset: { itemId: id } },
      thumb,
      el("div", { class: "card-title", text: item.title || id }),
      el("div", { class: "price", text: price(item.price, item.currency) }),
      reason ? el("div", { class: "reason", title: t("reason") }, reason) : null);
  }

  /** Fills a shelf; a shelf's section is shown only when it has items. Returns the number shown. */
  function shelf(node, data, section) {
    clear(node);
    const items = (data && data.items) || [];
    items.forEach((r) => node.appendChild(card(r)));
    if (section) section.hidden = !items.length;
    return items.length;
  }

  function show(section) {
    ["home", "results-view", "product-view"].forEach((s) => { $(s).hidden = s !== section; });
  }

  // ---------------------------------------------------------------- home: for you / popular
  async function home() {
    show("home");
    const u = user();
    clear($("shelf")).appendChild(el("p", { class: "muted", text: t("loading") }));
    if (u && token()) {
      $("shelf-title").textContent = t("for_you") + " — " + u;
      try {
        if (shelf($("shelf"), await api("/recommendations/users/" + encodeURIComponent(u), { key: key(), token: token(), params: { k: 12, details: true } }))) return;
      } catch (err) {
        if (err.status !== 404 && err.status !== 503) { clear($("shelf")).appendChild(errorBox(err)); return; }
      }
    }
    $("shelf-title").textContent = t("popular_now");
    try {
      if (!shelf($("shelf"), await api("/recommendations/trending", { key: key(), params: { k: 12, details: true } }))) {
        $("shelf").appendChild(el("p", { class: "muted", text: t("nothing_yet") }));
      }
      if (u && !token()) $("shelf").appendChild(el("p", { class: "muted", text: t("sign_in_for_you") }));
    } catch (err) { clear($("shelf")).appendChild(errorBox(err)); }
  }

  // ---------------------------------------------------------------- search
  function resultsOf(data) { return data.results || data.items || data.hits || []; }

  /** Facets arrive as {field: {value: count}} or {field: [{value, count}]}; normalise to [[field, [[value, count]]]]. */
  function facetsOf(data) {
    const f = Object.assign({}, data.facets || {});
    // nested attribute facets {attributes: {color: {red: 3}}} become their own facets "attr.color"
    if (f.attributes && typeof f.attributes === "object" && !Array.isArray(f.attributes)) {
      for (const [k, v] of Object.entries(f.attributes)) f["attr." + k] = v;
      delete f.attributes;
    }
    return Object.entries(f).map(([field, vals]) => {
      let pairs = Array.isArray(vals) ? vals.map((v) => [v.value ?? v.key ?? v.name, v.count ?? v.n ?? 0]) : Object.entries(vals);
      pairs = pairs.filter((p) => p[0] !== undefined && p[0] !== null && p[0] !== "");
      return [field, pairs];
    }).filter(([, pairs]) => pairs.length);
  }

  function intParam(params, name, dflt, lo, hi) {
    const v = parseInt(params.get(name) || "", 10);
    return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt;
  }
  function pageSize(params) { return intParam(params, "k", PAGE_SIZE, 1, MAX_PAGE_SIZE); }
  function pageOf(params) { return intParam(params, "page", 1, 1, Math.floor(MAX_OFFSET / pageSize(params)) + 1); }
  function searchLink(params, changes) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) { if (v === null || v === undefined || v === "") next.delete(k); else next.set(k, v); }
    if (next.get("page") === "1") next.delete("page");
    return "#/search?" + next.toString();
  }
  function hasFilters(params) { return [...params.keys()].some((k) => FILTERS.includes(k) || k.startsWith("attr.")); }

  let searchSeq = 0; // a slower earlier search must not overwrite a later one

  async function runSearch(params) {
    show("results-view");
    const q = params.get("q") || "";
    $("q").value = q;
    const k = pageSize(params);
    const page = pageOf(params);
    const query = { q, k, offset: (page - 1) * k }; // personalised by the customer token, when signed in
    for (const f of [...FILTERS, "sort"]) if (params.get(f)) query[f] = params.get(f);
    query.attr = [...params.keys()].filter((p) => p.startsWith("attr.")).map((p) => p.slice(5) + ":" + params.get(p));
    clear($("results")); clear($("facets")); clear($("pager")); clear($("notice")); clear($("no-results"));
    $("no-results").hidden = true;
    $("results-summary").textContent = t("loading");
    renderSort(params);
    const seq = ++searchSeq;
    let data;
    try { data = await api("/search", { key: key(), token: token(), params: query }); }
    catch (err) { if (seq === searchSeq) { $("results-summary").textContent = ""; $("results").appendChild(errorBox(err)); } return; }
    if (seq !== searchSeq) return;
    lastSearch = { q, params, data };
    const rows = resultsOf(data);
    const total = data.total ?? data.n_results ?? rows.length;
    const offset = data.offset || 0;
    if (rows.length) {
      $("results-summary").textContent = fill(t("results_range"), { from: offset + 1, to: offset + rows.length, total });
    } else $("results-summary").textContent = total ? fill(t("page_past_end"), { total }) : "";
    if (data.corrected_query && data.corrected_query !== q) {
      const link = el("a", { href: searchLink(params, { q: data.corrected_query, page: null }), id: "did-you-mean", text: data.corrected_query });
      $("notice").appendChild(el("p", {}, rows.length ? t("showing_for") + " " : t("did_you_mean") + " ", link));
    } else if (rows.length && data.fallback) {
      $("notice").appendChild(el("p", { class: "muted", text: t("related_results") }));
    }
    rows.forEach((r, i) => $("results").appendChild(resultRow(r, i + 1 + offset, data.search_id)));
    renderFacets(params, data);
    renderPager(params, total, k, page);
    if (!total) noResults(params, data);
  }

  function renderSort(params) {
    const sel = $("sort");
    clear(sel);
    const current = params.get("sort") || "relevance";
    SORTS.forEach((s) => sel.appendChild(el("option", { value: s, selected: s === current, text: t("sort_" + s) })));
    sel.onchange = () => { location.hash = searchLink(params, { sort: sel.value === "relevance" ? null : sel.value, page: null }); };
  }

  function renderPager(params, total, k, page) {
    const box = clear($("pager"));
    box.setAttribute("aria-label", t("pages"));
    const pages = Math.min(Math.ceil(total / k), Math.floor(MAX_OFFSET / k) + 1);
    if (pages <= 1) return;
    const link = (p, text, cls) => el("a", { href: searchLink(params, { page: p }), class: cls || "", dataset: { page: p }, text });
    if (page > 1) box.appendChild(link(page - 1, "‹ " + t("prev"), "prev"));
    // first, last and two either side of the current page; gaps as "…"
    let last = 0;
    for (let p = 1; p <= pages; p++) {
      if (p !== 1 && p !== pages && Math.abs(p - page) > 2) continue;
      if (p - last > 1) box.appendChild(el("span", { class: "gap", text: "…" }));
      box.appendChild(p === page ? el("span", { class: "current", "aria-current": "page", text: String(p) }) : link(p, String(p)));
      last = p;
    }
    if (page < pages) box.appendChild(link(page + 1, t("next") + " ›", "next"));
  }

  /** No results: did-you-mean (above), looser searches, and what other shoppers buy. */
  async function noResults(params, data) {
    const box = clear($("no-results"));
    box.hidden = false;
    const q = params.get("q") || "";
    box.appendChild(el("h2", { text: fill(t("no_results_for"), { q }) }));
    const tries = el("ul", { class: "relaxed" });
    if (hasFilters(params)) {
      tries.appendChild(el("li", {}, el("a", { href: "#/search?" + new URLSearchParams({ q }).toString(), class: "drop-filters", text: fill(t("search_without_filters"), { q }) })));
    }
    const words = q.split(/\s+/).filter(Boolean);
    if (words.length > 1) {
      // each query with one word left out, most words first
      const seen = new Set();
      words.forEach((_, i) => {
        const shorter = words.filter((__, j) => j !== i).join(" ");
        if (seen.has(shorter) || seen.size >= 3) return;
        seen.add(shorter);
        tries.appendChild(el("li", {}, el("a", { href: searchLink(params, { q: shorter, page: null }), class: "fewer-words", text: fill(t("search_for"), { q: shorter }) })));
      });
    }
    if (tries.children.length) box.appendChild(el("div", {}, el("p", { text: t("try_instead") }), tries));
    box.appendChild(el("p", { class: "muted", text: t("no_results_tips") }));
    const section = el("section", { id: "popular-section", hidden: true },
      el("h3", { text: t("popular_now") }), el("div", { id: "popular", class: "shelf" }));
    box.appendChild(section);
    try {
      const d = await api("/recommendations/trending", { key: key(), params: { k: 8, details: true } });
      if (lastSearch && lastSearch.data === data) shelf($("popular"), d, section);
    } catch (err) { /* the no-results page stays useful without popular items */ }
  }

  function resultRow(r, position, searchId) {
    const id = r.item_id || r.id;
    const hl = r.highlight || r.highlights || {};
    const titleHtml = (typeof hl === "string" ? hl : hl.title) || r.title_html || null;
    const title = el("a", { class: "result-title", href: "#/item/" + encodeURIComponent(id) });
    if (titleHtml) title.appendChild(safeHighlight(titleHtml)); else title.textContent = r.title || id;
    title.addEventListener("click", () => {
      if (searchId) api("/search/clicks", { key: key(), method: "POST", body: { search_id: searchId, item_id: id, position } }).catch(() => {});
    });
    const snippetHtml = (typeof hl === "object" && (hl.description || hl.snippet)) || r.snippet || null;
    const cat = categoryPath(r.category);
    return el("li", { class: "result", dataset: { itemId: id } },
      title,
      el("div", { class: "meta" },
        el("span", { class: "price", text: price(r.price, r.currency) }),
        r.brand ? el("span", { class: "brand", text: r.brand }) : null,
        cat ? el("span", { class: "cat", text: cat }) : null,
        r.stock === 0 || r.in_stock === false ? el("span", { class: "oos", text: t("out_of_stock") }) : null),
      snippetHtml ? el("p", { class: "snippet" }, safeHighlight(snippetHtml)) : null);
  }

  function renderFacets(params, data) {
    const box = clear($("facets"));
    const facets = facetsOf(data);
    const anySel = hasFilters(params);
    if (!facets.length && !anySel) return;
    box.appendChild(el("h3", { text: t("facets") }));
    for (const [field, pairs] of facets) {
      const selected = params.get(field);
      const list = el("ul", { class: "facet", dataset: { facet: field } });
      pairs.slice(0, 12).forEach(([value, count]) => {
        const on = selected === String(value);
        list.appendChild(el("li", {},
          el("a", { href: searchLink(params, { [field]: on ? null : value, page: null }), class: on ? "on" : "", dataset: { value } },
            `${facetValue(field, value)} `, el("span", { class: "count", text: `(${count})` }))));
      });
      box.appendChild(el("h4", { text: facetLabel(field) }));
      box.appendChild(list);
    }
    if (anySel) {
      const keep = new URLSearchParams({ q: params.get("q") || "" });
      if (params.get("sort")) keep.set("sort", params.get("sort"));
      box.appendChild(el("a", { href: "#/search?" + keep.toString(), class: "clear", text: t("clear") }));
    }
  }

  // ---------------------------------------------------------------- autocomplete
  // The list closes on submit, Escape, blur, outside clicks and every navigation; a response that
  // arrives after any of those is dropped (suggestGen), so it never reopens over results and facets.
  const suggestBox = $("suggest");
  let active = -1;
  let suggestGen = 0;
  let suggestTimer = null;
  function closeSuggest() {
    suggestGen++; // drops the response of any request in flight
    clearTimeout(suggestTimer);
    suggestBox.hidden = true;
    clear(suggestBox);
    active = -1;
    $("q").setAttribute("aria-expanded", "false");
  }
  async function fetchSuggest(prefix, gen) {
    if (!prefix || needKey()) { closeSuggest(); return; }
    let data;
    try { data = await api("/search/suggest", { key: key(), params: { q: prefix, k: 8 } }); } catch (e) { if (gen === suggestGen) closeSuggest(); return; }
    if (gen !== suggestGen || document.activeElement !== $("q") || $("q").value.trim() !== prefix) return;
    const list = (data.suggestions || []).map((s) => (typeof s === "string" ? s : s.text || s.query || s.title || "")).filter(Boolean);
    clear(suggestBox); active = -1;
    list.forEach((s) => {
      const li = el("li", { role: "option", text: s });
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); $("q").value = s; submit(); });
      suggestBox.appendChild(li);
    });
    suggestBox.hidden = !list.length;
    $("q").setAttribute("aria-expanded", String(!!list.length));
  }
  $("q").addEventListener("input", () => {
    const prefix = $("q").value.trim();
    clearTimeout(suggestTimer);
    const gen = ++suggestGen;
    suggestTimer = setTimeout(() => fetchSuggest(prefix, gen), 120);
  });
  $("q").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { closeSuggest(); return; }
    const opts = [...suggestBox.children];
    if (suggestBox.hidden || !opts.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      active = (active + (ev.key === "ArrowDown" ? 1 : -1) + opts.length) % opts.length;
      opts.forEach((o, i) => o.classList.toggle("active", i === active));
      $("q").value = opts[active].textContent;
    }
  });
  // a click on a suggestion keeps the focus (its mousedown is prevented), so blur means "left the box"
  $("q").addEventListener("blur", closeSuggest);
  document.addEventListener("mousedown", (ev) => { if (!$("search-form").contains(ev.target)) closeSuggest(); });
  function submit() {
    closeSuggest();
    const q = $("q").value.trim();
    if (!q) return;
    // a new query keeps the sort and page size, not the filters or the page
    const next = new URLSearchParams({ q });
    const cur = lastSearch ? lastSearch.params : new URLSearchParams();
    for (const p of ["sort", "k"]) if (cur.get(p)) next.set(p, cur.get(p));
    const target = "#/search?" + next.toString();
    if (location.hash === target) route(); else location.hash = target;
  }
  $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });

  // ---------------------------------------------------------------- product page
  async function product(id) {
    show("product-view");
    $("back").href = lastSearch ? "#/search?" + lastSearch.params.toString() : "#/";
    $("back").textContent = lastSearch ? t("back") : t("home");
    const box = clear($("product"));
    shelf($("similar"), null, $("similar-section"));
    shelf($("together"), null, $("together-section"));
    let item;
    try { item = await api("/items/" + encodeURIComponent(id), { key: key() }); }
    catch (err) { box.appendChild(errorBox(err)); return; }
    box.appendChild(el("h2", { id: "product-title", text: item.title }));
    box.appendChild(el("p", { class: "meta" },
      el("span", { class: "price", text: price(item.price, item.currency) }),
      item.brand ? el("span", { class: "brand", text: item.brand }) : null,
      el("span", { class: "cat", text: categoryPath(item.category) }),
      el("span", { class: item.stock === 0 ? "oos" : "ok", text: item.stock === 0 ? t("out_of_stock") : t("in_stock") })));
    if (item.description) box.appendChild(el("p", { class: "desc", text: item.description }));
    const attrs = Object.entries(item.attributes || {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
    if (attrs.length) {
      box.appendChild(el("dl", { class: "attrs" },
        attrs.slice(0, 12).flatMap(([k, v]) => [el("dt", { text: humanKey(k), title: k }), el("dd", { text: humanValue(v) })])));
    }
    const generated = el("p", { class: "generated muted" });
    box.appendChild(generated);
    api("/items/" + encodeURIComponent(id) + "/description", { key: key(), params: { language: SM.getLang() } })
      .then((d) => { generated.textContent = d.text || d.description || ""; }).catch(() => {});
    // each shelf's section stays hidden unless it has items (no "No results" sections)
    api("/recommendations/items/" + encodeURIComponent(id) + "/similar", { key: key(), params: { k: 8, details: true } })
      .then((d) => shelf($("similar"), d, $("similar-section"))).catch(() => {});
    api("/recommendations/items/" + encodeURIComponent(id) + "/bought-together", { key: key(), params: { k: 6, details: true } })
      .then((d) => shelf($("together"), d, $("together-section"))).catch(() => {});
  }

  // ---------------------------------------------------------------- chat widget
  $("chat-toggle").addEventListener("click", () => { $("chat-panel").hidden = !$("chat-panel").hidden; if (!$("chat-panel").hidden) $("chat-input").focus(); });
  $("chat-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = $("chat-input").value.trim();
    if (!msg) return;
    $("chat-input").value = "";
    const log = $("chat-log");
    log.appendChild(el("div", { class: "msg me", text: msg }));
    try {
      const r = await api("/chat", { key: key(), token: token(), method: "POST", body: { message: msg, conversation_id: conversationId || undefined } });
      conversationId = r.conversation_id || conversationId;
      const text = r.reply || r.text || r.answer || r.message || JSON.stringify(r);
      const sources = (r.citations || []).map((c) => c.title || c.doc_id || c.id).filter(Boolean);
      // the products the answer lists, as links to their pages (alternatives marked as such)
      const products = (r.products || []).map((p) => el("a", {
        href: "#/item/" + encodeURIComponent(p.item_id), class: p.match ? "chat-product" : "chat-product alternative",
        dataset: { itemId: p.item_id }, text: p.title || p.item_id,
      }));
      log.appendChild(el("div", { class: "msg bot", text },
        products.length ? el("div", { class: "chat-products" }, ...products) : null,
        sources.length ? el("div", { class: "sources", text: "↳ " + [...new Set(sources)].join(" · ") }) : null,
        r.handoff_ticket_id ? el("div", { class: "sources", text: t("ticket") + " " + r.handoff_ticket_id }) : null));
    } catch (err) {
      log.appendChild(el("div", { class: "msg bot error", text: err.status === 503 ? t("chat_unavailable") : err.message }));
    }
    log.scrollTop = log.scrollHeight;
  });

  // ---------------------------------------------------------------- router
  function route() {
    closeSuggest();
    SM.applyI18n();
    $("brand").textContent = shopName();
    document.title = shopName();
    if (needKey()) { show("home"); clear($("shelf")); return; }
    const h = location.hash || "#/";
    if (h.startsWith("#/search?")) runSearch(new URLSearchParams(h.slice("#/search?".length)));
    else if (h.startsWith("#/item/")) product(decodeURIComponent(h.slice("#/item/".length)));
    else home();
  }
  window.addEventListener("hashchange", route);
  // the formatters, for the browser tests
  window.SMStorefront = { humanKey, humanValue, priceRange, reasonText };
  route();
})();
