/* shopmind dashboard: status + training + versions, hand-off tickets with their transcripts,
   evaluation reports with SVG bar charts, data quality, search analytics, forecast chart. Needs an ADMIN key (sessionStorage). */
"use strict";
(function () {
  const { t, api, el, clear } = SM;
  const $ = (id) => document.getElementById(id);
  const key = () => SM.adminKey();
  let pollTimer = null;

  function needKey() {
    const missing = !key();
    $("keybar").hidden = !missing;
    return missing;
  }
  $("key-save").addEventListener("click", () => { SM.setAdminKey($("key-input").value.trim()); loadAll(); });
  $("forget").addEventListener("click", () => { SM.setAdminKey(""); loadAll(); });
  $("lang").addEventListener("click", () => { SM.setLang(SM.getLang() === "en" ? "zh" : "en"); loadAll(); });

  function errorBox(err) {
    if (err && err.status === 401) { SM.setAdminKey(""); needKey(); }
    return el("p", { class: "error", text: err.status === 503 ? t("not_available") : err.message });
  }

  function table(headers, rows) {
    return el("table", { class: "grid-table" },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", { text: c === null || c === undefined ? "" : String(c) })))))));
  }

  /** Any JSON value as nested tables / lists (data-quality reports have free-form structure). */
  function render(value, depth = 0) {
    if (value === null || value === undefined) return el("span", { class: "muted", text: "—" });
    if (Array.isArray(value)) {
      if (!value.length) return el("span", { class: "muted", text: "[]" });
      if (value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
        const cols = [...new Set(value.flatMap((v) => Object.keys(v)))].slice(0, 10);
        return table(cols, value.slice(0, 50).map((v) => cols.map((c) => (typeof v[c] === "object" && v[c] !== null ? JSON.stringify(v[c]) : v[c]))));
      }
      return el("span", { text: value.slice(0, 30).join(", ") });
    }
    if (typeof value === "object") {
      const dl = el("dl", { class: "kv depth-" + depth });
      for (const [k, v] of Object.entries(value)) { dl.appendChild(el("dt", { text: k })); dl.appendChild(el("dd", {}, render(v, depth + 1))); }
      return dl;
    }
    if (typeof value === "number") return el("span", { text: Number.isInteger(value) ? String(value) : value.toFixed(4) });
    return el("span", { text: String(value) });
  }

  // ---------------------------------------------------------------- status, training, versions
  async function loadStatus() {
    const body = clear($("status-body"));
    try {
      const s = await api("/admin/status", { key: key() });
      body.appendChild(table([t("serving_run"), t("services"), t("training")], [[
        s.run_id || "—",
        el("span", {}, Object.entries(s.services || {}).map(([n, v]) => el("span", { class: "pill " + (v === "ok" ? "ok" : "off"), title: v, text: n }))),
        `${s.training.state}${s.training.error ? ": " + s.training.error : ""}`,
      ]]));
      if (s.counts) body.appendChild(render(s.counts));
      const aside = Object.entries(s.set_aside || {}).filter(([, v]) => v && v.count);
      if (aside.length) {
        body.appendChild(el("h4", { class: "error", text: t("set_aside") }));
        body.appendChild(render(Object.fromEntries(aside)));
      }
      showTraining(s.training);
    } catch (err) { body.appendChild(errorBox(err)); }
    const vbox = clear($("versions"));
    try {
      const v = await api("/admin/models", { key: key() });
      vbox.appendChild(table([t("run"), t("state"), t("created"), t("components"), t("error"), ""],
        (v.runs || []).map((r) => [
          r.id + (r.serving ? ` (${t("serving")})` : r.current ? ` (${t("current")})` : ""),
          r.status || "", r.created_at || r.finished_at || "",
          Object.keys(r.components || {}).join(", "), (r.error || "").slice(0, 80),
          r.status === "ok" && !r.serving ? el("button", { type: "button", class: "small", text: t("activate"), onclick: () => activate(r.id) }) : "",
        ])));
    } catch (err) { vbox.appendChild(errorBox(err)); }
  }

  function showTraining(tr) {
    const s = tr.state === "running" ? `${t("training")}… ${(tr.progress || []).slice(-1)[0] || ""}` :
      tr.state === "failed" ? `${t("error")}: ${tr.error}` :
      tr.state === "succeeded" ? `✓ ${tr.run_id} (${tr.seconds}s)` : "";
    $("training-state").textContent = s;
    $("train").disabled = tr.state === "running";
    if (tr.state === "running" && !pollTimer) pollTimer = setInterval(pollTraining, 1500);
  }

  async function pollTraining() {
    try {
      const tr = await api("/admin/training", { key: key() });
      showTraining(tr);
      if (tr.state !== "running") { clearInterval(pollTimer); pollTimer = null; loadStatus(); }
    } catch (err) { clearInterval(pollTimer); pollTimer = null; }
  }

  $("train").addEventListener("click", async () => {
    try { showTraining(await api("/admin/train", { key: key(), method: "POST" })); }
    catch (err) { $("training-state").textContent = err.message; }
  });
  $("rollback").addEventListener("click", async () => {
    try { await api("/admin/rollback", { key: key(), method: "POST" }); } catch (err) { $("training-state").textContent = err.message; }
    loadStatus();
  });
  async function activate(id) {
    try { await api("/admin/models/" + encodeURIComponent(id) + "/activate", { key: key(), method: "POST" }); }
    catch (err) { $("training-state").textContent = err.message; }
    loadStatus();
  }

  // ---------------------------------------------------------------- evaluation reports
  async function loadReports() {
    const box = clear($("reports"));
    let data;
    try { data = await api("/admin/reports", { key: key() }); } catch (err) { box.appendChild(errorBox(err)); return; }
    // the evaluation screen above shows the shop's own evaluation runs (dashboard_eval.js)
    const reports = (data.reports || []).filter((r) => r.rows && r.rows.length && !r.name.startsWith("shop-evaluation/"));
    if (!reports.length) { box.appendChild(el("p", { class: "muted", text: t("no_reports") })); return; }
    for (const rep of reports) {
      const sec = el("div", { class: "report", dataset: { report: rep.name } });
      sec.appendChild(el("h3", { text: `${rep.dataset || rep.name}${rep.protocol ? " — " + rep.protocol : ""}` }));
      const metrics = [...new Set(rep.rows.flatMap((r) => Object.keys(r.metrics || {})))];
      sec.appendChild(table([t("name"), ...metrics], rep.rows.map((r) => [r.name, ...metrics.map((m) => {
        const v = (r.metrics || {})[m];
        return typeof v === "number" ? (Math.abs(v) < 10 ? v.toFixed(4) : v.toFixed(1)) : v;
      })])));
      const charts = el("div", { class: "charts" });
      metrics.slice(0, 6).forEach((m) => {
        const bars = rep.rows.filter((r) => typeof (r.metrics || {})[m] === "number").map((r) => ({ label: r.name, value: r.metrics[m] }));
        if (bars.length) {
          const best = Math.max(...bars.map((b) => b.value));
          bars.forEach((b) => { b.highlight = b.value === best; });
          charts.appendChild(SM.barChart(bars, { title: m }));
        }
      });
      sec.appendChild(charts);
      box.appendChild(sec);
    }
  }

  // ---------------------------------------------------------------- data quality, analytics
  // The report is cached per data version (GET /admin/quality; ?refresh=true recomputes it).
  const SEVERITY_PILL = { error: "off", warning: "warn", info: "info" };
  const qLabel = (prefix, name) => { const k = prefix + name; const s = t(k); return s === k ? name : s; };
  const findingText = (f) => { const k = "qf_" + f.code; const s = t(k); return s === k ? f.message : s; };
  const intFormat = (v) => Math.round(v).toLocaleString(SM.getLang() === "zh" ? "zh-CN" : "en-GB");

  async function loadQuality(refresh = false) {
    const box = clear($("quality-body"));
    box.appendChild(el("p", { class: "muted", text: t(refresh ? "q_recomputing" : "loading") }));
    let q;
    try { q = await api("/admin/quality", { key: key(), params: refresh ? { refresh: "true" } : undefined }); }
    catch (err) { clear(box).appendChild(errorBox(err)); return; }
    clear(box);
    const summary = q.summary || {};
    box.appendChild(el("p", { class: "quality-meta" },
      fill(t("q_computed"), { when: when(q.computed_at || q.generated_at) }) + " · " + t(q.cached ? "q_cached" : "q_recomputed") + " ",
      el("button", { type: "button", class: "small", id: "quality-refresh", text: t("q_recompute"), onclick: () => loadQuality(true) })));
    box.appendChild(table([t("q_severity"), t("q_count")], ["error", "warning", "info"].map((s) =>
      [el("span", { class: "pill " + SEVERITY_PILL[s], text: t("sev_" + s) }), summary[s] || 0])));
    const findings = q.findings || [];
    if (!findings.length) box.appendChild(el("p", { class: "quality-ok", text: t("q_no_findings") }));
    else {
      box.appendChild(el("h3", { text: t("q_findings") }));
      box.appendChild(table([t("q_severity"), t("q_finding"), t("q_count"), t("q_examples")], findings.map((f) => [
        el("span", { class: "pill " + (SEVERITY_PILL[f.severity] || "info"), dataset: { severity: f.severity }, text: t("sev_" + f.severity) }),
        findingText(f), intFormat(f.count), (f.examples || []).slice(0, 5).join(", "),
      ])));
    }
    const charts = el("div", { class: "charts" });
    if (findings.length) {
      charts.appendChild(SM.barChart(findings.slice(0, 15).map((f) => ({ label: findingText(f), value: f.count, highlight: f.severity === "error" })),
        { title: t("q_findings_chart"), format: intFormat }));
    }
    const counts = Object.entries(q.counts || {}).filter(([, n]) => n > 0);
    if (counts.length) charts.appendChild(SM.barChart(counts.map(([n, v]) => ({ label: qLabel("qt_", n), value: v })), { title: t("q_rows"), format: intFormat }));
    const missing = Object.entries(q.missing || {}).flatMap(([kind, fields]) => Object.entries(fields)
      .filter(([, m]) => m && m.share > 0).map(([field, m]) => ({ label: `${qLabel("qt_", kind)} · ${qLabel("qm_", field)}`, value: 100 * m.share })));
    if (missing.length) charts.appendChild(SM.barChart(missing.slice(0, 15), { title: t("q_missing"), format: (v) => v.toFixed(1) + " %" }));
    box.appendChild(charts);
  }

  async function loadAnalytics() {
    const box = clear($("analytics-body"));
    let a;
    try { a = await api("/admin/search-analytics", { key: key() }); } catch (err) { box.appendChild(errorBox(err)); return; }
    const norm = (list) => (list || []).map((x) => (Array.isArray(x) ? { query: x[0], count: x[1] } : x));
    const top = norm(a.top_queries), zero = norm(a.zero_result_queries);
    const pct = (v) => (100 * v).toFixed(1) + " %";
    const facts = [];
    if (a.searches !== undefined) facts.push([t("searches"), a.searches]);
    if (a.clicks !== undefined) facts.push([t("an_clicks"), a.clicks]);
    const ctr = a.click_rate;
    if (ctr !== undefined && ctr !== null) facts.push([t("ctr"), pct(ctr)]);
    if (typeof a.zero_result_rate === "number") facts.push([t("an_zero_rate"), pct(a.zero_result_rate)]);
    if (typeof a.mean_click_position === "number") facts.push([t("an_mean_position"), a.mean_click_position.toFixed(1)]);
    if (facts.length) box.appendChild(table([t("metric"), ""], facts));
    if (top.length) box.appendChild(SM.barChart(top.slice(0, 15).map((q) => ({ label: q.query, value: q.count })), { title: t("top_queries"), format: (v) => String(v) }));
    const byPosition = Object.entries(a.ctr_by_position || {});
    if (byPosition.length) {
      box.appendChild(SM.barChart(byPosition.map(([p, v]) => ({ label: fill(t("an_position"), { p }), value: v })), { title: t("an_ctr_by_position"), format: pct }));
    }
    if (zero.length) { box.appendChild(el("h3", { text: t("zero_results") })); box.appendChild(table([t("an_query"), t("an_searches")], zero.slice(0, 20).map((q) => [q.query, q.count]))); }
    const shown = ["searches", "clicks", "top_queries", "zero_result_queries", "click_rate", "zero_result_rate", "mean_click_position", "ctr_by_position"];
    const rest = Object.fromEntries(Object.entries(a).filter(([k]) => !shown.includes(k)));
    if (Object.keys(rest).length) box.appendChild(render(rest));
  }

  // ---------------------------------------------------------------- forecast chart + inventory
  const ms = (d) => new Date(d).getTime();
  const num = (...vals) => vals.find((v) => v !== undefined && v !== null);

  /** ForecastService.forecast: {history: [{ds, y}], forecast: [{ds, mean, lo_80, hi_80, lo_95, hi_95}], reorder_point}. */
  async function loadForecast(itemId) {
    const box = clear($("forecast-slot"));
    $("forecast-item").value = itemId;
    let f;
    try { f = await api("/forecast/" + encodeURIComponent(itemId), { key: key() }); } catch (err) { box.appendChild(errorBox(err)); return; }
    const hist = (f.history || []).map((r) => [ms(r.ds || r.date), Number(num(r.y, r.units, r.value))]);
    const rows = f.forecast || [];
    const fc = rows.map((r) => [ms(r.ds || r.date), Number(num(r.mean, r.value, r.yhat))]);
    const band = rows.filter((r) => num(r.lo_95, r.lo_80) !== undefined)
      .map((r) => [ms(r.ds || r.date), Number(num(r.lo_95, r.lo_80)), Number(num(r.hi_95, r.hi_80))]);
    if (!hist.length && !fc.length) { box.appendChild(render(f)); return; }
    box.appendChild(SM.lineChart({
      title: `${itemId} — ${t("forecast")}: ${f.model || ""}${f.demand_class ? " (" + f.demand_class + ")" : ""}`,
      series: [{ name: "history", points: hist.slice(-120), cls: "hist" }, { name: "forecast", points: fc, cls: "fc" }],
      band,
    }));
    box.appendChild(el("p", { class: "legend" }, el("span", { class: "lg hist", text: t("history") }), el("span", { class: "lg fc", text: t("forecast") }),
      band.length ? el("span", { class: "lg band", text: t("interval") + " 95 %" }) : null));
    // Projected stock (stock − cumulative forecast) against the reorder point: where they cross is when to order.
    const inv = f.inventory || {};
    const rp = num(f.reorder_point, inv.reorder_point);
    if (typeof rp === "number" && typeof inv.stock === "number" && fc.length) {
      let level = inv.stock;
      const projected = [[fc[0][0] - 86400000, level]].concat(fc.map((p) => { level = Math.max(0, level - p[1]); return [p[0], level]; }));
      box.appendChild(SM.lineChart({
        title: `${t("stock")} → ${t("reorder_point")}`, height: 200,
        series: [{ name: "stock", points: projected, cls: "fc" }], hlines: [{ y: rp, label: t("reorder_point") }],
      }));
    }
    const facts = [["status", inv.status], ["stock", inv.stock], ["reorder_point", rp], ["safety_stock", inv.safety_stock],
      ["days_of_cover", inv.days_of_cover], ["order_quantity", inv.suggested_order]].filter((r) => r[1] !== undefined && r[1] !== null);
    if (facts.length) box.appendChild(table([t("metric"), ""], facts.map(([k, v]) => [t(k), typeof v === "number" ? v.toFixed(1) : v])));
  }
  $("forecast-form").addEventListener("submit", (ev) => { ev.preventDefault(); const id = $("forecast-item").value.trim(); if (id) loadForecast(id); });

  async function loadInventory() {
    const box = clear($("inventory-body"));
    let data;
    try { data = await api("/inventory", { key: key(), params: { limit: 15 } }); } catch (err) { box.appendChild(errorBox(err)); return; }
    const rows = data.items || [];
    const cols = ["item_id", "status", "stock", "days_of_cover", "reorder_point", "suggested_order"].filter((c) => rows.some((r) => r[c] !== undefined));
    box.appendChild(table(cols.map((c) => t(c)), rows.map((r) => cols.map((c) => {
      if (c === "item_id") return el("a", { href: "#forecast", text: r.item_id, onclick: () => loadForecast(r.item_id) });
      const v = r[c];
      return typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : v;
    }))));
    if (rows.length && !$("forecast-item").value) loadForecast(rows[0].item_id);
  }

  // ---------------------------------------------------------------- hand-off tickets (GET/PATCH /tickets)
  const TICKET_PAGE = 20;
  // The status changes a ticket offers: the life cycle of shopmind.store.base.TICKET_TRANSITIONS.
  const NEXT_STATUS = { open: ["in_progress", "resolved", "closed"], in_progress: ["resolved", "closed", "open"], resolved: ["closed", "open"], closed: ["open"] };
  // The assistant stores its hand-off reasons in English; known ones are shown translated.
  const REASONS = { "customer asked for a person": "tk_reason_asked", "assistant could not answer twice": "tk_reason_twice", "customer accepted the offer of a person": "tk_reason_offer" };
  let ticketOffset = 0, openTicket = null, openConversation = null;
  let detailSeq = 0;  // a reply that arrives after a newer view was asked for is dropped
  const fill = SM.fill;
  function when(value) {
    if (!value) return "";
    const d = new Date(String(value).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1"));
    return isNaN(d) ? String(value) : d.toLocaleString(SM.getLang() === "zh" ? "zh-CN" : "en-GB");
  }
  const statusPill = (s) => el("span", { class: "pill " + (s === "open" ? "off" : "ok"), dataset: { status: s }, text: t("tk_" + s) });
  const reasonText = (r) => (REASONS[r] ? t(REASONS[r]) : r);

  async function loadTickets() {
    const box = clear($("tickets-list"));
    let page;
    try { page = await api("/tickets", { key: key(), params: { status: $("tickets-status").value, limit: TICKET_PAGE, offset: ticketOffset } }); }
    catch (err) { box.appendChild(errorBox(err)); return; }
    if (!page.tickets.length && ticketOffset > 0) { ticketOffset = 0; loadTickets(); return; }  // the last page emptied meanwhile
    $("tickets-count").textContent = fill(t("tk_count"), { n: page.total });
    $("tickets-page").textContent = fill(t("tk_page"), { page: Math.floor(ticketOffset / TICKET_PAGE) + 1, pages: Math.max(1, Math.ceil(page.total / TICKET_PAGE)) });
    $("tickets-prev").disabled = ticketOffset === 0;
    $("tickets-next").disabled = ticketOffset + TICKET_PAGE >= page.total;
    if (!page.tickets.length) { box.appendChild(el("p", { class: "muted", text: t("tk_none") })); return; }
    box.appendChild(table([t("tk_ticket"), t("created"), t("status"), t("tk_customer"), t("tk_reason"), t("tk_turns"), t("tk_assignee")],
      page.tickets.map((tk) => [
        el("a", { href: "#tickets", class: "ticket-link", dataset: { ticket: tk.id }, text: tk.id, onclick: (ev) => { ev.preventDefault(); showTicket(tk.id); } }),
        when(tk.created_at), statusPill(tk.status), tk.user_id || t("tk_anonymous"), reasonText(tk.reason), tk.turns, tk.assignee || "",
      ])));
  }

  /** Transcript turns as chat bubbles (customer right, assistant left), an "omitted" turn as a note. */
  function turnsBox(turns) {
    const log = el("div", { class: "chat-log transcript", style: "height:auto;max-height:480px" });
    for (const turn of turns) {
      if (turn.role === "omitted") { log.appendChild(el("p", { class: "muted", text: fill(t("tk_omitted"), { n: turn.count || 0 }) })); continue; }
      const customer = turn.role === "user";
      log.appendChild(el("div", { class: "msg " + (customer ? "me" : "bot"), dataset: { role: turn.role } },
        el("div", { class: "sources", text: t(customer ? "tk_user" : "tk_assistant") + (turn.at ? " · " + when(turn.at) : "") }),
        turn.text));
    }
    return log;
  }

  async function showTicket(id) {
    const box = $("ticket-detail");
    const seq = ++detailSeq;
    let tk;
    try { tk = await api("/tickets/" + encodeURIComponent(id), { key: key() }); }
    catch (err) { if (seq === detailSeq) { clear(box).appendChild(errorBox(err)); box.hidden = false; } return; }
    if (seq !== detailSeq) return;
    clear(box);
    openTicket = tk.id;
    openConversation = null;
    $("tickets-view").hidden = true;
    box.hidden = false;
    box.appendChild(el("p", {}, el("button", { type: "button", class: "link", id: "ticket-back", text: "← " + t("tk_back"), onclick: closeTicket })));
    box.appendChild(el("h3", { id: "ticket-title" }, `${t("tk_ticket")} ${tk.id} `, statusPill(tk.status)));
    const facts = [["tk_reason", reasonText(tk.reason)], ["tk_customer", tk.user_id || t("tk_anonymous")], ["tk_conversation", tk.conversation_id],
      ["created", when(tk.created_at)], ["tk_updated", when(tk.updated_at)], ["tk_assignee", tk.assignee], ["tk_note", tk.note]];
    box.appendChild(el("dl", { class: "kv" }, facts.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: t(k) }), el("dd", { text: v })])));
    box.appendChild(el("div", { class: "actions", id: "ticket-actions" }, (NEXT_STATUS[tk.status] || []).map((s) =>
      el("button", { type: "button", class: "small", dataset: { to: s }, text: t("tk_to_" + s), onclick: () => changeTicket(tk.id, { status: s }) }))));
    const assignee = el("input", { id: "ticket-assignee", size: 16, maxlength: 128, value: tk.assignee || "" });
    const note = el("input", { id: "ticket-note", size: 40, maxlength: 2000 });
    box.appendChild(el("form", { class: "inline", id: "ticket-form", onsubmit: (ev) => { ev.preventDefault(); changeTicket(tk.id, { assignee: assignee.value.trim(), note: note.value.trim() || undefined }); } },
      el("label", {}, t("tk_assignee") + " ", assignee), el("label", {}, t("tk_note") + " ", note),
      el("button", { type: "submit", class: "small", text: t("tk_save") }), el("span", { id: "ticket-message", class: "muted" })));
    box.appendChild(el("h4", { text: t("tk_transcript") }));
    box.appendChild(turnsBox(tk.transcript));
    if (tk.later.length) { box.appendChild(el("h4", { text: t("tk_later") })); box.appendChild(turnsBox(tk.later)); }
    if (tk.history.length) {
      box.appendChild(el("h4", { text: t("tk_changes") }));
      box.appendChild(table([t("tk_updated"), t("tk_from"), t("tk_to"), t("tk_assignee"), t("tk_note"), t("tk_changed_by")],
        tk.history.map((h) => [when(h.at), t("tk_" + h.previous_status), t("tk_" + h.status), h.assignee || "", h.note || "", h.changed_by || ""])));
    }
  }

  async function loadConversations() {
    const box = clear($("conversations-list"));
    let page;
    try { page = await api("/conversations", { key: key(), params: { limit: 15 } }); } catch (err) { box.appendChild(errorBox(err)); return; }
    if (!page.conversations.length) { box.appendChild(el("p", { class: "muted", text: t("tk_no_conversations") })); return; }
    box.appendChild(table([t("tk_last"), t("tk_customer"), t("tk_turns"), t("tk_first"), t("tickets")], page.conversations.map((c) => [
      el("a", { href: "#tickets", class: "conversation-link", dataset: { conversation: c.conversation_id }, text: when(c.last_at), onclick: (ev) => { ev.preventDefault(); showConversation(c.conversation_id, c.ticket_ids); } }),
      c.user_id || t("tk_anonymous"), c.turns, c.first_text.slice(0, 80),
      el("span", {}, c.ticket_ids.map((id) => el("a", { href: "#tickets", class: "ticket-link", dataset: { ticket: id }, text: id + " ", onclick: (ev) => { ev.preventDefault(); showTicket(id); } }))),
    ])));
  }

  async function showConversation(id, ticketIds) {
    const box = $("ticket-detail");
    const seq = ++detailSeq;
    let conv;
    try { conv = await api("/conversations/" + encodeURIComponent(id), { key: key() }); }
    catch (err) { if (seq === detailSeq) { clear(box).appendChild(errorBox(err)); box.hidden = false; } return; }
    if (seq !== detailSeq) return;
    clear(box);
    openTicket = null;
    openConversation = [id, ticketIds];
    $("tickets-view").hidden = true;
    box.hidden = false;
    box.appendChild(el("p", {}, el("button", { type: "button", class: "link", id: "ticket-back", text: "← " + t("tk_back"), onclick: closeTicket })));
    box.appendChild(el("h3", { id: "conversation-title", text: `${t("tk_conversation")} ${conv.conversation_id}` }));
    if (ticketIds && ticketIds.length) {
      box.appendChild(el("p", {}, t("tickets") + ": ", ticketIds.map((tid) => el("a", { href: "#tickets", class: "ticket-link", dataset: { ticket: tid }, text: tid + " ", onclick: (ev) => { ev.preventDefault(); showTicket(tid); } }))));
    }
    box.appendChild(turnsBox(conv.turns));
  }

  async function changeTicket(id, change) {
    try { await api("/tickets/" + encodeURIComponent(id), { key: key(), method: "PATCH", body: change }); }
    catch (err) { const m = $("ticket-message"); if (m) { m.className = "error"; m.textContent = err.message; } return; }
    await showTicket(id);
    const m = $("ticket-message");
    if (m) m.textContent = t("tk_saved");
  }

  function closeTicket() {
    detailSeq++;
    openTicket = null;
    openConversation = null;
    clear($("ticket-detail")).hidden = true;
    $("tickets-view").hidden = false;
    loadTickets();
    loadConversations();
  }
  $("tickets-status").addEventListener("change", () => { ticketOffset = 0; loadTickets(); });
  $("tickets-prev").addEventListener("click", () => { ticketOffset = Math.max(0, ticketOffset - TICKET_PAGE); loadTickets(); });
  $("tickets-next").addEventListener("click", () => { ticketOffset += TICKET_PAGE; loadTickets(); });

  // ---------------------------------------------------------------- recommendation preview (admin)
  let previewSeq = 0;
  async function loadPreview(userId) {
    const seq = ++previewSeq;
    const hist = clear($("preview-history")), recs = clear($("preview-recs"));
    const [h, r] = await Promise.allSettled([
      api("/admin/users/" + encodeURIComponent(userId) + "/history", { key: key(), params: { limit: 20 } }),
      api("/recommendations/users/" + encodeURIComponent(userId), { key: key(), params: { k: 10, details: true } }),
    ]);
    if (seq !== previewSeq) return;  // a newer customer was asked for meanwhile
    if (h.status === "rejected") hist.appendChild(errorBox(h.reason));
    else if (!h.value.events.length) hist.appendChild(el("p", { class: "muted", text: t("pv_no_history") }));
    else hist.appendChild(table([t("pv_when"), t("pv_event"), t("pv_item"), t("price")], h.value.events.map((e) => [
      when(e.timestamp), t("ev_" + e.type), e.item ? e.item.title : (e.item_id || e.query || ""),
      e.item && typeof e.item.price === "number" ? SM.money(e.item.price, e.item.currency) : "",
    ])));
    if (r.status === "rejected") recs.appendChild(errorBox(r.reason));
    else if (!r.value.items.length) recs.appendChild(el("p", { class: "muted", text: t("nothing_yet") }));
    else recs.appendChild(table(["#", t("pv_item"), t("price"), t("reason")], r.value.items.map((rec, i) => [
      i + 1, rec.item ? rec.item.title : rec.item_id,
      rec.item && typeof rec.item.price === "number" ? SM.money(rec.item.price, rec.item.currency) : "", SM.reasonText(rec),
    ])));
  }
  $("preview-form").addEventListener("submit", (ev) => { ev.preventDefault(); const id = $("preview-user").value.trim(); if (id) loadPreview(id); });

  function loadAll() {
    SM.applyI18n();
    if (needKey()) return;
    loadStatus(); loadTickets(); loadConversations(); loadReports(); loadQuality(); loadAnalytics(); loadInventory();
    if (window.SMEvaluation) window.SMEvaluation.load();
    if (window.SMSearchSettings) window.SMSearchSettings.load();  // dashboard_search.js
    if (openTicket) showTicket(openTicket);
    else if (openConversation) showConversation(...openConversation);
  }
  loadAll();
})();
