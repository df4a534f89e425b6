/* shopmind storefront: search with autocomplete and facets, product page, "for you" shelf, chat. */
"use strict";
(function () {
  const { t, api, el, clear, safeHighlight, money } = SM;
  const $ = (id) => document.getElementById(id);
  let lastSearch = null; // {q, params, data}
  let conversationId = null;

  // ---------------------------------------------------------------- key + user
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

  const users = SM.CONFIG.demoUsers || [];
  users.forEach((u) => $("demo-users").appendChild(el("option", { value: u })));
  $("user").value = user();
  $("user").addEventListener("change", () => {
    localStorage.setItem("shopmind.user", $("user").value.trim());
    conversationId = null; // a new shopper starts a new conversation
    if (!location.hash || location.hash === "#/") route(); else location.hash = "#/";
  });

  $("lang").addEventListener("click", () => { SM.setLang(SM.getLang() === "en" ? "zh" : "en"); route(); });

  // ---------------------------------------------------------------- rendering helpers
  function errorBox(err) {
    const msg = err && err.status === 503 ? t("not_available") : (err && err.message) || String(err);
    return el("p", { class: "error", text: msg });
  }

  function card(rec) {
    const item = rec.item || {};
    const id = rec.item_id || item.id;
    return el("a", { class: "card", href: "#/item/" + encodeURIComponent(id), dataset: { itemId: id } },
      el("div", { class: "thumb", "aria-hidden": "true", text: (item.title || id).slice(0, 1).toUpperCase() }),
      el("div", { class: "card-title", text: item.title || id }),
      el("div", { class: "price", text: money(item.price, item.currency) }),
      rec.reason ? el("div", { class: "reason", title: t("reason") }, rec.reason) : null);
  }

  function shelf(node, data) {
    clear(node);
    const items = (data && data.items) || [];
    if (!items.length) { node.appendChild(el("p", { class: "muted", text: t("no_results") })); return; }
    items.forEach((r) => node.appendChild(card(r)));
  }

  function show(section) {
    ["home", "results-view", "product-view"].forEach((s) => { $(s).hidden = s !== section; });
  }

  // ---------------------------------------------------------------- home: for you / trending
  async function home() {
    show("home");
    const u = user();
    clear($("shelf")).appendChild(el("p", { class: "muted", text: t("loading") }));
    if (u && token()) {
      $("shelf-title").textContent = t("for_you") + " — " + u;
      try {
        shelf($("shelf"), await api("/recommendations/users/" + encodeURIComponent(u), { key: key(), token: token(), params: { k: 12, details: true } }));
        return;
      } catch (err) {
        if (err.status !== 404 && err.status !== 503) { clear($("shelf")).appendChild(errorBox(err)); return; }
      }
    }
    $("shelf-title").textContent = t("trending");
    try {
      shelf($("shelf"), await api("/recommendations/trending", { key: key(), params: { k: 12, details: true } }));
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

  async function runSearch(params) {
    show("results-view");
    const q = params.get("q") || "";
    $("q").value = q;
    const query = { q, k: 20 }; // personalised by the customer token, when signed in
    for (const f of ["category", "brand", "price", "in_stock", "sort"]) if (params.get(f)) query[f] = params.get(f);
    query.attr = [...params.keys()].filter((p) => p.startsWith("attr.")).map((p) => p.slice(5) + ":" + params.get(p));
    clear($("results")); clear($("facets"));
    $("results-summary").textContent = t("loading");
    let data;
    try { data = await api("/search", { key: key(), token: token(), params: query }); }
    catch (err) { $("results-summary").textContent = ""; $("results").appendChild(errorBox(err)); return; }
    lastSearch = { q, params, data };
    const rows = resultsOf(data);
    const total = data.total ?? data.n_results ?? rows.length;
    $("results-summary").textContent = rows.length ? `${total} ${t("results")}` : t("no_results");
    rows.forEach((r, i) => $("results").appendChild(resultRow(r, i + 1 + (data.offset || 0), data.search_id)));
    renderFacets(params, data);
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
    const cat = Array.isArray(r.category) ? r.category.join(" › ") : (r.category || "");
    return el("li", { class: "result", dataset: { itemId: id } },
      title,
      el("div", { class: "meta" },
        el("span", { class: "price", text: money(r.price, r.currency) }),
        r.brand ? el("span", { class: "brand", text: r.brand }) : null,
        cat ? el("span", { class: "cat", text: cat }) : null,
        r.stock === 0 || r.in_stock === false ? el("span", { class: "oos", text: t("out_of_stock") }) : null),
      snippetHtml ? el("p", { class: "snippet" }, safeHighlight(snippetHtml)) : null);
  }

  function renderFacets(params, data) {
    const box = clear($("facets"));
    box.appendChild(el("h3", { text: t("facets") }));
    for (const [field, pairs] of facetsOf(data)) {
      const selected = params.get(field);
      const list = el("ul", { class: "facet", dataset: { facet: field } });
      pairs.slice(0, 12).forEach(([value, count]) => {
        const next = new URLSearchParams(params);
        if (selected === String(value)) next.delete(field); else next.set(field, value);
        list.appendChild(el("li", {},
          el("a", { href: "#/search?" + next.toString(), class: selected === String(value) ? "on" : "", dataset: { value } },
            `${value} `, el("span", { class: "count", text: `(${count})` }))));
      });
      const label = field.startsWith("attr.") ? field.slice(5) : t(field);
      box.appendChild(el("h4", { text: label }));
      box.appendChild(list);
    }
    const anySel = [...params.keys()].some((k) => k !== "q");
    if (anySel) box.appendChild(el("a", { href: "#/search?q=" + encodeURIComponent(params.get("q") || ""), class: "clear", text: t("clear") }));
  }

  // autocomplete
  const suggestBox = $("suggest");
  let active = -1;
  const fetchSuggest = SM.debounce(async (prefix) => {
    if (!prefix || needKey()) { suggestBox.hidden = true; return; }
    let data;
    try { data = await api("/search/suggest", { key: key(), params: { q: prefix, k: 8 } }); } catch (e) { suggestBox.hidden = true; return; }
    const list = (data.suggestions || []).map((s) => (typeof s === "string" ? s : s.text || s.query || s.title || ""));
    clear(suggestBox); active = -1;
    list.filter(Boolean).forEach((s) => {
      const li = el("li", { role: "option", text: s });
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); $("q").value = s; suggestBox.hidden = true; submit(); });
      suggestBox.appendChild(li);
    });
    suggestBox.hidden = !list.length;
  }, 120);
  $("q").addEventListener("input", () => fetchSuggest($("q").value.trim()));
  $("q").addEventListener("keydown", (ev) => {
    const opts = [...suggestBox.children];
    if (suggestBox.hidden || !opts.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      active = (active + (ev.key === "ArrowDown" ? 1 : -1) + opts.length) % opts.length;
      opts.forEach((o, i) => o.classList.toggle("active", i === active));
      $("q").value = opts[active].textContent;
    } else if (ev.key === "Escape") suggestBox.hidden = true;
  });
  $("q").addEventListener("blur", () => setTimeout(() => { suggestBox.hidden = true; }, 150));
  function submit() {
    const q = $("q").value.trim();
    if (q) location.hash = "#/search?" + new URLSearchParams({ q }).toString();
  }
  $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); suggestBox.hidden = true; submit(); });

  // ---------------------------------------------------------------- product page
  async function product(id) {
    show("product-view");
    $("back").href = lastSearch ? "#/search?" + lastSearch.params.toString() : "#/";
    const box = clear($("product"));
    clear($("similar")); clear($("together"));
    let item;
    try { item = await api("/items/" + encodeURIComponent(id), { key: key() }); }
    catch (err) { box.appendChild(errorBox(err)); return; }
    box.appendChild(el("h2", { id: "product-title", text: item.title }));
    box.appendChild(el("p", { class: "meta" },
      el("span", { class: "price", text: money(item.price, item.currency) }),
      item.brand ? el("span", { class: "brand", text: item.brand }) : null,
      el("span", { class: "cat", text: (item.category || []).join(" › ") }),
      el("span", { class: item.stock === 0 ? "oos" : "ok", text: item.stock === 0 ? t("out_of_stock") : t("in_stock") })));
    if (item.description) box.appendChild(el("p", { class: "desc", text: item.description }));
    const attrs = Object.entries(item.attributes || {});
    if (attrs.length) box.appendChild(el("dl", { class: "attrs" }, attrs.slice(0, 12).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })])));
    const generated = el("p", { class: "generated muted" });
    box.appendChild(generated);
    api("/items/" + encodeURIComponent(id) + "/description", { key: key(), params: { language: SM.getLang() } })
      .then((d) => { generated.textContent = d.text || d.description || ""; }).catch(() => {});
    api("/recommendations/items/" + encodeURIComponent(id) + "/similar", { key: key(), params: { k: 8, details: true } })
      .then((d) => shelf($("similar"), d)).catch((err) => $("similar").appendChild(errorBox(err)));
    api("/recommendations/items/" + encodeURIComponent(id) + "/bought-together", { key: key(), params: { k: 6, details: true } })
      .then((d) => shelf($("together"), d)).catch((err) => $("together").appendChild(errorBox(err)));
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
      log.appendChild(el("div", { class: "msg bot", text },
        sources.length ? el("div", { class: "sources", text: "↳ " + [...new Set(sources)].join(" · ") }) : null,
        r.handoff_ticket_id ? el("div", { class: "sources", text: "ticket " + r.handoff_ticket_id }) : null));
    } catch (err) {
      log.appendChild(el("div", { class: "msg bot error", text: err.status === 503 ? t("chat_unavailable") : err.message }));
    }
    log.scrollTop = log.scrollHeight;
  });

  // ---------------------------------------------------------------- router
  function route() {
    SM.applyI18n();
    if (needKey()) { show("home"); clear($("shelf")); return; }
    const h = location.hash || "#/";
    if (h.startsWith("#/search?")) runSearch(new URLSearchParams(h.slice("#/search?".length)));
    else if (h.startsWith("#/item/")) product(decodeURIComponent(h.slice("#/item/".length)));
    else home();
  }
  window.addEventListener("hashchange", route);
  route();
})();
