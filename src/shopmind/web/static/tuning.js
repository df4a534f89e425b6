/* shopmind dashboard panel: what the last training tried and chose for recommendations
   (GET /admin/recommend-choice, shopmind.recommend.tuning). Needs an ADMIN key; EN/中文 strings here. */
"use strict";
(function () {
  const { api, el, clear } = SM;
  const STRINGS = {
    en: {
      title: "Recommender choice", none: "The serving run was trained without an automatic choice.",
      chosen: "Served", over_pop: "vs popularity", over_default: "vs untuned default", holdout: "Hold-out",
      users: "users", budget: "Time used", candidate: "Candidate", status: "Status", fit: "Fit (s)",
      config: "Settings", ok: "scored", skipped: "skipped (time budget)", failed: "failed",
      weights: "Blend weights", metric: "nDCG@10 on the latest events",
    },
    zh: {
      title: "推荐模型自动选择", none: "当前模型版本训练时未进行自动选择。",
      chosen: "已上线", over_pop: "相对热门推荐", over_default: "相对未调参默认", holdout: "时间留出集",
      users: "位用户", budget: "耗时", candidate: "候选", status: "状态", fit: "训练（秒）",
      config: "参数", ok: "已评分", skipped: "跳过（超出时间预算）", failed: "失败",
      weights: "融合权重", metric: "最近事件上的 nDCG@10",
    },
  };
  const t = (k) => (STRINGS[SM.getLang()] || STRINGS.en)[k] || STRINGS.en[k] || k;
  const pct = (v) => (typeof v === "number" ? (v >= 0 ? "+" : "") + (100 * v).toFixed(1) + " %" : "—");
  const fmt = (v) => (typeof v === "number" ? v.toFixed(4) : "—");

  function table(headers, rows) {
    return el("table", { class: "grid-table" },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", { text: c === null || c === undefined ? "" : String(c) }))))));
  }

  async function load() {
    const box = document.getElementById("tuning-body");
    const head = document.getElementById("tuning-title");
    if (!box || !head) return;
    head.textContent = t("title");
    clear(box);
    if (!SM.adminKey()) return;
    let data;
    try { data = await api("/admin/recommend-choice", { key: SM.adminKey() }); } catch (err) {
      box.appendChild(el("p", { class: "error", text: err.message }));
      return;
    }
    const tun = data.tuning;
    if (!tun) { box.appendChild(el("p", { class: "muted", text: t("none") })); return; }
    const chosen = tun.chosen || {};
    const split = tun.split || {};
    box.appendChild(table([t("chosen"), t("metric"), t("over_pop"), t("over_default"), t("holdout"), t("budget")], [[
      `${chosen.name || chosen.algorithm || "—"}`,
      fmt(chosen["ndcg@10"]),
      pct(tun.gain_over_popularity),
      `${pct(tun.gain_over_default)} (${(tun.default || {}).name || "—"})`,
      `${split.users_scored ?? "—"} ${t("users")}`,
      `${(tun.elapsed_s ?? 0).toFixed(0)} / ${(tun.budget_s ?? 0).toFixed(0)} s`,
    ]]));
    if (chosen.weights) {
      box.appendChild(el("p", { class: "muted", text: `${t("weights")}: ` +
        Object.entries(chosen.weights).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(" · ") }));
    }
    const trials = tun.trials || [];
    const scored = trials.filter((x) => typeof x["ndcg@10"] === "number");
    if (scored.length) {
      const bars = scored.map((x) => ({ label: x.name, value: x["ndcg@10"], highlight: x.name === chosen.name }));
      box.appendChild(SM.barChart(bars, { title: t("metric") }));
    }
    box.appendChild(table([t("candidate"), t("status"), "nDCG@10", t("fit"), t("config")], trials.map((x) => [
      x.name, t(x.status), fmt(x["ndcg@10"]), x.status === "ok" ? Number(x.fit_s).toFixed(1) : "",
      JSON.stringify(x.weights || x.config || {}).slice(0, 120),
    ])));
  }

  document.addEventListener("DOMContentLoaded", load);
  // after the dashboard's own handlers (language switch, key entry) have run
  ["lang", "key-save", "forget"].forEach((id) => {
    const b = document.getElementById(id);
    if (b) b.addEventListener("click", () => setTimeout(load, 0));
  });
  if (document.readyState !== "loading") load();
})();
