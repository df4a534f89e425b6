/* shopmind dashboard: search settings — synonyms (GET/PUT /admin/search/synonyms), pinned and hidden results
   per query (GET/PUT /admin/search/rules) and BM25 field weights (GET/PUT/DELETE /admin/search/fields). Every
   editor stays disabled until its saved values are in it, so nothing typed earlier is overwritten by a late
   reply and then saved. Needs an ADMIN key; strings (ss_*) in common.js. */
"use strict";
(function () {
  const { t, api, el, clear } = SM;
  const $ = (id) => document.getElementById(id);
  const key = () => SM.adminKey();
  const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const FIELDS = ["title", "brand", "category", "attributes", "description"];
  const POLL_MS = 1000;

  function say(id, text, { error = false, applied } = {}) {
    const msg = $(id);
    msg.className = error ? "error" : "muted";
    msg.textContent = text;
    if (applied) msg.dataset.applied = applied; else delete msg.dataset.applied;
  }
  function enable(ids, on) { ids.forEach((id) => { $(id).disabled = !on; }); }

  // ---------------------------------------------------------------- synonyms
  /** One line per group ("a, b, c") or one-way expansion ("a => b, c"). */
  function synonymsText(s) {
    return (s.groups || []).map((g) => g.join(", "))
      .concat(Object.entries(s.one_way || {}).map(([k, v]) => k + " => " + v.join(", "))).join("\n");
  }
  function parseSynonyms(text) {
    const groups = [], one_way = {};
    const split = (s) => s.split(/[,，]/).map((p) => p.trim()).filter(Boolean);
    for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
      const arrow = line.indexOf("=>");
      if (arrow >= 0) one_way[line.slice(0, arrow).trim()] = split(line.slice(arrow + 2));
      else groups.push(split(line));
    }
    return { groups, one_way };
  }
  const SYN = ["synonyms-text", "synonyms-save"];
  let synSeq = 0;
  async function loadSynonyms() {
    const mine = ++synSeq;
    enable(SYN, false);
    say("synonyms-message", "");
    try {
      const s = await api("/admin/search/synonyms", { key: key() });
      if (mine !== synSeq) return;
      $("synonyms-text").value = synonymsText(s);
      enable(SYN, true);
    } catch (err) { if (mine === synSeq) say("synonyms-message", err.message, { error: true }); }
  }
  $("synonyms-save").addEventListener("click", async () => {
    try {
      const s = await api("/admin/search/synonyms", { key: key(), method: "PUT", body: parseSynonyms($("synonyms-text").value) });
      $("synonyms-text").value = synonymsText(s);
      say("synonyms-message", fill(t(s.applied === "live" ? "ss_saved_live" : "ss_saved_later"),
        { n: s.groups.length + Object.keys(s.one_way).length }), { applied: s.applied });
    } catch (err) { say("synonyms-message", err.message, { error: true }); }
  });

  // ---------------------------------------------------------------- rules: query → pinned ids, hidden ids
  const splitIds = (s) => s.split(/[,，\s]+/).map((p) => p.trim()).filter(Boolean);
  /** Pins as "a, b, c@5": the n-th id goes to position n unless it says "@position". */
  function pinsText(pins) {
    return pins.slice().sort((a, b) => a.position - b.position)
      .map((p, i) => (p.position === i + 1 ? p.id : p.id + "@" + p.position)).join(", ");
  }
  function parsePins(text) {
    return splitIds(text).map((part, i) => {
      const m = part.match(/^(.+)@(\d+)$/);
      if (part.includes("@") && !m) throw new Error(fill(t("ss_bad_pin"), { v: part }));
      return m ? { id: m[1], position: Number(m[2]) } : { id: part, position: i + 1 };
    });
  }
  function ruleRow(rule) {
    const r = rule || { query: "", match: "exact", pin: [], hide: [], boost: [], bury: [] };
    const match = el("select", { class: "rule-match", "aria-label": t("ss_match") },
      el("option", { value: "exact", text: t("ss_exact") }), el("option", { value: "contains", text: t("ss_contains") }));
    match.value = r.match || "exact";
    const kept = (r.boost || []).length || (r.bury || []).length
      ? el("div", { class: "muted", text: fill(t("ss_more"), { boost: (r.boost || []).length, bury: (r.bury || []).length }) }) : null;
    const row = el("tr", { class: "rule-row" },
      el("td", {}, el("input", { class: "rule-query", value: r.query, maxlength: 200, size: 22, "aria-label": t("ss_query") })),
      el("td", {}, match),
      el("td", {}, el("input", { class: "rule-pin", value: pinsText(r.pin || []), size: 28, "aria-label": t("ss_pinned") }), kept),
      el("td", {}, el("input", { class: "rule-hide", value: (r.hide || []).join(", "), size: 28, "aria-label": t("ss_hidden") })),
      el("td", {}, el("button", { type: "button", class: "small rule-remove", text: t("ss_remove"), onclick: () => { row.remove(); emptyNote(); } })));
    row.kept = { boost: r.boost || [], bury: r.bury || [] };  // not edited here, saved back unchanged
    return row;
  }
  function emptyNote() {
    $("rules-empty").hidden = $("rules-body").children.length > 0;
  }
  function readRules() {
    return [...$("rules-body").children].map((row) => ({
      query: row.querySelector(".rule-query").value.trim(),
      match: row.querySelector(".rule-match").value,
      pin: parsePins(row.querySelector(".rule-pin").value),
      hide: splitIds(row.querySelector(".rule-hide").value),
      boost: row.kept.boost,
      bury: row.kept.bury,
    })).filter((r) => r.query || r.pin.length || r.hide.length);
  }
  function showRules(rules) {
    const body = clear($("rules-body"));
    rules.forEach((r) => body.appendChild(ruleRow(r)));
    emptyNote();
  }
  const RULES = ["rules-add", "rules-save"];
  let rulesSeq = 0;
  async function loadRules() {
    const mine = ++rulesSeq;
    enable(RULES, false);
    say("rules-message", "");
    try {
      const data = await api("/admin/search/rules", { key: key() });
      if (mine !== rulesSeq) return;
      showRules(data.rules);
      enable(RULES, true);
    } catch (err) { if (mine === rulesSeq) say("rules-message", err.message, { error: true }); }
  }
  $("rules-add").addEventListener("click", () => {
    const row = ruleRow(null);
    $("rules-body").appendChild(row);
    emptyNote();
    row.querySelector(".rule-query").focus();
  });
  $("rules-save").addEventListener("click", async () => {
    let rules;
    try { rules = readRules(); } catch (err) { say("rules-message", err.message, { error: true }); return; }
    try {
      const data = await api("/admin/search/rules", { key: key(), method: "PUT", body: { rules } });
      showRules(data.rules);
      say("rules-message", fill(t(data.applied === "live" ? "ss_rules_live" : "ss_rules_later"), { n: data.rules.length }),
        { applied: data.applied });
    } catch (err) { say("rules-message", err.message, { error: true }); }
  });

  // ---------------------------------------------------------------- field weights
  const FIELD_CONTROLS = FIELDS.map((f) => "field-" + f).concat(["fields-save", "fields-reset"]);
  let fieldsSeq = 0, pollTimer = null;
  const fieldNames = (names) => names.map((f) => t("ss_f_" + f)).join(SM.getLang() === "zh" ? "、" : ", ");

  function showFields(data) {
    FIELDS.forEach((f) => { $("field-" + f).value = String(data.weights[f] ?? 0); });
    $("fields-source").textContent = t(data.source === "saved" ? "ss_src_saved" : "ss_src_config");
  }
  /** The message for a save (applied) and the background indexing, polled while it runs. */
  function showFieldState(data, applied) {
    clearTimeout(pollTimer);
    const job = data.reindex;
    if (job && job.state === "running") {
      say("fields-message", fill(t("ss_fields_reindex"), { fields: fieldNames(job.fields), done: job.rows_done, total: job.rows_total }),
        { applied: "reindexing" });
      pollTimer = setTimeout(() => loadFields({ polling: true }), POLL_MS);
    } else if (job && job.state === "failed") {
      say("fields-message", fill(t("ss_fields_failed"), { fields: fieldNames(job.fields), error: job.error || "" }), { error: true });
    } else if (job && job.state === "done" && applied !== "live") {
      say("fields-message", fill(t("ss_fields_indexed"), { fields: fieldNames(job.fields), s: job.elapsed_s.toFixed(1) }), { applied: "live" });
    } else if (applied) {
      say("fields-message", t(applied === "live" ? "ss_fields_live" : "ss_fields_later"), { applied });
    }
  }
  async function loadFields({ polling = false } = {}) {
    const mine = ++fieldsSeq;
    if (!polling) { enable(FIELD_CONTROLS, false); say("fields-message", ""); }
    try {
      const data = await api("/admin/search/fields", { key: key() });
      if (mine !== fieldsSeq) return;
      if (!polling) { showFields(data); enable(FIELD_CONTROLS, true); }
      showFieldState(data, polling ? "polled" : null);
    } catch (err) { if (mine === fieldsSeq) say("fields-message", err.message, { error: true }); }
  }
  async function saveFields(method) {
    const weights = {};
    FIELDS.forEach((f) => { weights[f] = Number($("field-" + f).value || 0); });
    const mine = ++fieldsSeq;
    try {
      const data = await api("/admin/search/fields", method === "PUT"
        ? { key: key(), method, body: { weights } } : { key: key(), method });
      if (mine !== fieldsSeq) return;
      showFields(data);
      showFieldState(data, data.applied);
    } catch (err) { if (mine === fieldsSeq) say("fields-message", err.message, { error: true }); }
  }
  $("fields-save").addEventListener("click", () => saveFields("PUT"));
  $("fields-reset").addEventListener("click", () => saveFields("DELETE"));

  function load() {
    clearTimeout(pollTimer);
    if (!key()) return;
    loadSynonyms(); loadRules(); loadFields();
  }
  // dashboard.js's loadAll (language switch, key entered) calls this again
  window.SMSearchSettings = { load };
  load();
})();
