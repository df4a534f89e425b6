/* shopmind dashboard: the next scheduled retraining (training.schedule) and a progress bar per training
   component (GET /admin/training: schedule, component_progress). Polls every second while a training
   runs, every 30 s otherwise. Needs an ADMIN key; strings (tr_*) in common.js. */
"use strict";
(function () {
  const { t, api, el, clear } = SM;
  const $ = (id) => document.getElementById(id);
  const RUNNING_MS = 1000;
  const IDLE_MS = 30000;
  let timer = null;
  let last = null;

  const fill = (key, values) => Object.entries(values).reduce((s, [k, v]) => s.split(`{${k}}`).join(v), t(key));
  const unitKey = (unit) => "tr_u_" + String(unit || "").replace(/\W+/g, "_");
  const translated = (key, fallback) => (t(key) === key ? fallback : t(key));

  function when(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString(SM.getLang() === "zh" ? "zh-CN" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.max(0, Math.round(seconds));
    return s < 60 ? fill("tr_sec", { n: s }) : fill("tr_min", { m: Math.floor(s / 60), s: s % 60 });
  }

  function renderSchedule(schedule) {
    const box = clear($("next-training"));
    if (!schedule) { box.appendChild(el("span", { text: t("tr_not_scheduled") })); return; }
    box.appendChild(el("strong", { text: fill("tr_next", { when: when(schedule.next_run_at) }) }));
    box.dataset.next = schedule.next_run_at || "";
    box.appendChild(el("span", { text: " · " + fill("tr_schedule", { cron: schedule.cron, tz: schedule.timezone }) }));
    const prev = schedule.last;
    if (prev && prev.due) {
      const state = translated("tr_s_" + prev.state, prev.state);
      const text = fill("tr_last", { due: when(prev.due), state }) + (prev.catch_up ? " " + t("tr_catch_up") : "");
      box.appendChild(el("div", { class: prev.state === "failed" ? "error" : "muted", text: text + (prev.error ? ": " + prev.error : ""), dataset: { lastState: prev.state } }));
    }
  }

  function renderProgress(tr) {
    const box = clear($("training-progress"));
    const steps = tr.component_progress || [];
    if (!steps.length) return;
    box.appendChild(el("h4", { text: tr.state === "running" ? t("tr_progress") : t("tr_last_progress") }));
    const rows = steps.map((c) => {
      const bar = el("progress", { max: String(c.total || 1), value: String(c.total ? c.done : (c.state === "succeeded" ? 1 : 0)) });
      if (c.total === null && c.state === "running") bar.removeAttribute("value"); // indeterminate
      const counts = c.total !== null && c.total !== undefined
        ? `${c.done}/${c.total} ${translated(unitKey(c.unit), c.unit)}` : "";
      const eta = c.state === "running" && c.eta_s !== null && c.eta_s !== undefined ? duration(c.eta_s) : "";
      return el("tr", { dataset: { component: c.name, state: c.state, done: String(c.done), total: String(c.total) } },
        el("td", { text: translated("tr_c_" + c.name, c.name) }),
        el("td", {}, bar),
        el("td", { class: "counts", text: counts }),
        el("td", { text: translated("tr_s_" + c.state, c.state) }),
        el("td", { text: c.seconds !== null && c.seconds !== undefined ? duration(c.seconds) : "" }),
        el("td", { class: "eta", text: eta }),
        // the component's own step text is English (a log line): shown in the English interface only
        el("td", { class: "muted", text: c.state === "running" && SM.getLang() === "en" ? (c.message || "") : "" }));
    });
    box.appendChild(el("table", { class: "grid-table" },
      el("thead", {}, el("tr", {}, [t("tr_component"), t("tr_progress_col"), "", t("state"), t("tr_elapsed"), t("tr_eta"), ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)));
  }

  function render(tr) {
    last = tr;
    renderSchedule(tr.schedule);
    renderProgress(tr);
  }

  async function poll() {
    clearTimeout(timer);
    timer = null;
    if (!SM.adminKey() || !$("next-training")) return;
    let wait = IDLE_MS;
    try {
      const tr = await api("/admin/training", { key: SM.adminKey() });
      render(tr);
      if (tr.state === "running") wait = RUNNING_MS;
    } catch (err) {
      clear($("training-progress"));
      if (err.status === 401) return; // dashboard.js asks for the key again
    }
    timer = setTimeout(poll, wait);
  }
  const soon = () => { clearTimeout(timer); timer = setTimeout(poll, 300); };

  $("train").addEventListener("click", soon);
  $("key-save").addEventListener("click", soon);
  $("lang").addEventListener("click", () => { if (last) render(last); });
  poll();
})();
