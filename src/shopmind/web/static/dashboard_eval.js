/* shopmind dashboard: the evaluation screen — runs POST /admin/evaluate (the serving models scored on the
   shop's own data against popularity / BM25 baselines), shows its progress while it runs (GET /admin/evaluate),
   then a bar chart per task (each metric, serving model beside its baseline) and a table. Needs an ADMIN key. */
"use strict";
(function () {
  const { t, api, el, clear, fill } = SM;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 800;
  let timer = null;
  let seq = 0;  // a reply older than the latest request is dropped

  const label = (prefix, name) => { const k = prefix + name; const s = t(k); return s === k ? name : s; };
  /** "ndcg@10" → "nDCG@10", "precision@10" → "准确率@10" (the cut-off kept as written). */
  function metricLabel(key) {
    const [base, at] = key.split("@");
    return label("ev_m_", base) + (at ? "@" + at : "");
  }
  /** A recommender ("ev_a_") or search mode ("ev_s_") name in the page's language. */
  const modelLabel = (task, name) => label(task === "search" ? "ev_s_" : "ev_a_", name);
  const num = (v) => (typeof v === "number" ? (Math.abs(v) < 10 ? v.toFixed(4) : v.toFixed(1)) : "—");
  const intFormat = (v) => Number(v).toLocaleString(SM.getLang() === "zh" ? "zh-CN" : "en-GB");
  function when(value) {
    const d = new Date(value);
    return isNaN(d) ? String(value || "") : d.toLocaleString(SM.getLang() === "zh" ? "zh-CN" : "en-GB");
  }

  function table(headers, rows) {
    return el("table", { class: "grid-table" },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", { dataset: r.data || {} }, r.cells.map((c) => el("td", { text: c === null || c === undefined ? "" : String(c) }))))));
  }

  function stepText(state) {
    const params = Object.fromEntries(Object.entries(state.params || {}).map(([k, v]) =>
      [k, k === "model" ? modelLabel("recommend", String(v)) : k === "mode" ? modelLabel("search", String(v)) : typeof v === "number" ? intFormat(v) : v]));
    return fill(t("ev_step_" + (state.step || "start")), params);
  }

  /** One task's report: facts, a bar chart (every metric, serving beside baseline) and the full table. */
  function taskBox(task, rep) {
    const box = el("div", { class: "report eval-task", dataset: { task } });
    box.appendChild(el("h3", { text: t("ev_" + task) }));
    if (!rep) return box;
    if (rep.skipped) {
      const k = "ev_skip_" + rep.skipped;
      box.appendChild(el("p", { class: "muted eval-skipped", dataset: { skipped: rep.skipped }, text: t(k) === k ? rep.error : t(k) }));
      return box;
    }
    const rows = rep.rows || [];
    const serving = rows.find((r) => r.role === "serving"), baseline = rows.find((r) => r.role === "baseline");
    if (task === "recommend" && rep.split) {
      const s = rep.split;
      box.appendChild(el("p", { class: "eval-facts", text: fill(t("ev_split"), { cut: when(s.cut), train: intFormat(s.train_events), test: intFormat(s.test_events), scored: intFormat(s.users_scored), held: intFormat(s.users_held_out) }) }));
      box.appendChild(el("p", { class: "muted", text: t("ev_config_note") }));
    }
    if (task === "search" && rep.source) {
      const src = rep.source, n = intFormat(src.n_queries || rep.n_queries || 0);
      let text;
      if (src.source === "search_log") text = fill(t("ev_src_search_log"), { n });
      else if (src.log_unused_code) text = fill(t("ev_src_catalogue"), { n, why: fill(t("ev_why_" + src.log_unused_code), { n: src.log_judged_queries || 0, min: src.log_min_queries || "" }) });
      else text = fill(t("ev_src_catalogue_nolog"), { n });
      box.appendChild(el("p", { class: "eval-source", dataset: { source: src.source }, text }));
    }
    if (serving && baseline) {
      box.appendChild(el("p", { class: "eval-lift", text: typeof rep.ndcg_vs_baseline === "number" ? fill(t("ev_lift"), { x: rep.ndcg_vs_baseline.toFixed(2) }) : t("ev_lift_none") }));
      const metrics = Object.keys(serving.metrics || {});
      const bars = metrics.flatMap((m) => [
        { label: `${metricLabel(m)} · ${t("ev_role_serving")}`, value: serving.metrics[m] || 0, highlight: true },
        { label: `${metricLabel(m)} · ${t("ev_role_baseline")}`, value: (baseline.metrics || {})[m] || 0 },
      ]);
      box.appendChild(el("div", { class: "charts" }, SM.barChart(bars, { title: fill(t("ev_chart"), { task: t("ev_" + task) }), width: 560 })));
      box.appendChild(el("p", { class: "legend", text: fill(t("ev_legend"), { model: modelLabel(task, serving.name), baseline: modelLabel(task, baseline.name) }) }));
    }
    const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics || {})))];
    const extra = task === "recommend" ? [t("ev_users"), t("ev_fit_s")] : [t("ev_queries"), t("seconds")];
    box.appendChild(table([t("ev_model"), t("ev_role"), ...metrics.map(metricLabel), ...extra], rows.map((r) => ({
      data: { role: r.role, model: r.name },
      cells: [modelLabel(task, r.name), t("ev_role_" + r.role), ...metrics.map((m) => num((r.metrics || {})[m])),
        ...(task === "recommend" ? [intFormat(r.users || 0), r.role === "component" ? "" : num(r.fit_s)] : [intFormat(r.queries || 0), num(r.seconds)])],
    }))));
    return box;
  }

  function render(state) {
    const running = state.state === "running";
    $("eval-run").disabled = running;
    const bar = $("eval-progress");
    bar.hidden = !running;
    if (running) bar.value = state.fraction || 0;
    const msg = $("eval-state");
    msg.className = state.state === "failed" ? "error" : "muted";
    msg.dataset.state = state.state;
    msg.textContent = running ? `${t("ev_running")} ${stepText(state)} (${Math.round(100 * (state.fraction || 0))} %)` :
      state.state === "failed" ? `${t("ev_failed")}: ${state.error || ""}` : "";
    const out = clear($("eval-result"));
    const res = state.result;
    if (!res) { if (!running) out.appendChild(el("p", { class: "muted", text: t("ev_none") })); return; }
    out.dataset.run = res.id;
    if (res.finished_at || res.seconds !== undefined) {
      out.appendChild(el("p", { class: "muted eval-meta", text: fill(t("ev_done"), { when: when(res.finished_at || ""), seconds: res.seconds === undefined ? "—" : Number(res.seconds).toFixed(1), run: res.serving_run || "—" }) }));
    }
    out.appendChild(taskBox("recommend", res.recommend));
    out.appendChild(taskBox("search", res.search));
  }

  function schedule(state) {
    clearTimeout(timer);
    timer = state.state === "running" ? setTimeout(load, POLL_MS) : null;
  }

  async function load() {
    if (!SM.adminKey()) return;
    const mine = ++seq;
    let state;
    try { state = await api("/admin/evaluate", { key: SM.adminKey() }); }
    catch (err) {
      if (mine !== seq) return;
      clearTimeout(timer);
      const msg = $("eval-state");
      msg.className = "error";
      msg.textContent = err.status === 503 ? t("not_available") : err.message;
      return;
    }
    if (mine !== seq) return;
    render(state);
    schedule(state);
  }

  $("eval-run").addEventListener("click", async () => {
    $("eval-run").disabled = true;
    try { await api("/admin/evaluate", { key: SM.adminKey(), method: "POST" }); }
    catch (err) {
      if (err.status !== 409) { const msg = $("eval-state"); msg.className = "error"; msg.textContent = err.message; $("eval-run").disabled = false; return; }
      $("eval-state").textContent = t("ev_already_running");
    }
    load();
  });

  // dashboard.js's loadAll (language switch, key entered) calls this again
  window.SMEvaluation = { load };
  load();
})();
