/* 审计追溯: search GET /api/v1/audit with the form's filters (kept in the URL so a search can
 * be shared), page through the results, check the chain (GET /api/v1/audit/verify) and export
 * the same search as CSV (/api/v1/audit.csv with the same query). */
(function () {
  "use strict";
  var h = JG.h;
  var FIELDS = ["business_key", "actor", "process_key", "kind", "from", "to"];
  var PAGE_SIZE = 50;
  var form = document.getElementById("filters");
  var list = document.getElementById("audit-list");
  var pager = document.getElementById("pager");
  var csvLink = document.getElementById("csv-link");
  var verifyBox = document.getElementById("verify-result");
  var page = 1;

  function filters() {
    var out = {};
    FIELDS.forEach(function (name) {
      var v = (form.elements[name].value || "").trim();
      if (v) out[name] = v;
    });
    return out;
  }

  function fromUrl() {
    var params = new URLSearchParams(location.search);
    FIELDS.forEach(function (name) {
      if (params.get(name)) form.elements[name].value = params.get(name);
    });
    page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  }

  function toUrl() {
    var params = new URLSearchParams(filters());
    if (page > 1) params.set("page", page);
    var q = params.toString();
    history.replaceState(null, "", "/audit" + (q ? "?" + q : ""));
    var csv = new URLSearchParams(filters()).toString();
    csvLink.href = "/api/v1/audit.csv" + (csv ? "?" + csv : "");
  }

  function option(select, value, label) {
    select.appendChild(h("option", { value: value }, label));
  }

  async function fillChoices() {
    var kinds = document.getElementById("kind-list");
    Object.keys(JG.labels.kinds).sort().forEach(function (k) { option(kinds, k, JG.labels.kinds[k]); });
    option(kinds, "task.", "全部任务事件");
    option(kinds, "instance.", "全部流程事件");
    try {
      var defs = await JG.api("definitions", { query: { page_size: 100 }, quiet: true });
      defs.forEach(function (d) { option(form.elements.process_key, d.key, (d.name || d.key) + " (" + d.key + ")"); });
      var projects = await JG.api("projects", { query: { page_size: 100 }, quiet: true });
      var dl = document.getElementById("project-list");
      projects.forEach(function (p) { dl.appendChild(h("option", { value: p.code }, p.name)); });
    } catch (e) { /* the choices are a convenience: typing still works */ }
    var params = new URLSearchParams(location.search);
    ["process_key"].forEach(function (name) {
      var v = params.get(name);
      if (v && !form.elements[name].querySelector('option[value="' + CSS.escape(v) + '"]')) {
        option(form.elements[name], v, v);
      }
      if (v) form.elements[name].value = v;
    });
  }

  function detailRow(e, cols) {
    var text = JSON.stringify(e.details || {}, null, 2);
    return h("tr", { class: "detail-row" }, h("td", { colspan: cols },
      h("dl", { class: "kv" },
        h("dt", {}, "事件详情"), h("dd", {}, h("pre", {}, text)),
        h("dt", {}, "前序哈希"), h("dd", { class: "hash" }, e.prev_hash),
        h("dt", {}, "本条哈希"), h("dd", { class: "hash" }, e.hash),
        e.task_id ? [h("dt", {}, "任务"), h("dd", {}, e.task_id)] : null)));
  }

  function render(items) {
    list.innerHTML = "";
    if (!items.length) {
      list.appendChild(h("div", { class: "empty" }, "没有符合条件的审计记录。"));
      return;
    }
    var head = ["序号", "时间", "操作人", "事件", "流程", "项目", "内容", "哈希", ""];
    var tbody = h("tbody", {});
    items.forEach(function (e) {
      var toggle = h("button", { type: "button", class: "btn btn-small btn-link", "aria-expanded": "false" }, "详情");
      var row = h("tr", { "data-seq": e.seq, "data-kind": e.kind },
        h("td", { class: "num" }, e.seq),
        h("td", { class: "nowrap" }, JG.fmtTime(e.at)),
        h("td", { title: e.actor }, e.actor_name || e.actor),
        h("td", {}, h("span", { class: "badge info", title: e.kind }, JG.labels.kinds[e.kind] || e.kind)),
        h("td", {}, e.process_key ? JG.processName(e.process_key) : h("span", { class: "muted" }, "—")),
        h("td", { class: "nowrap" }, e.business_key || h("span", { class: "muted" }, "—")),
        h("td", { class: "summary" }, JG.describeEvent ? JG.describeEvent(e) : e.kind,
          e.instance_id ? [" ", h("a", { href: "/instances/" + encodeURIComponent(e.instance_id), class: "small" }, "查看实例")] : null),
        h("td", { class: "hash", title: e.hash }, String(e.hash || "").slice(0, 10)),
        h("td", {}, toggle));
      var detail = null;
      toggle.addEventListener("click", function () {
        if (detail) { detail.remove(); detail = null; toggle.setAttribute("aria-expanded", "false"); return; }
        detail = detailRow(e, head.length);
        row.after(detail);
        toggle.setAttribute("aria-expanded", "true");
      });
      tbody.appendChild(row);
    });
    list.appendChild(h("table", { class: "table audit-table", id: "audit-table" },
      h("thead", {}, h("tr", {}, head.map(function (t) { return h("th", {}, t); }))), tbody));
  }

  function renderPager(p) {
    pager.innerHTML = "";
    var total = p.total || 0, pages = p.total_pages || 1;
    document.getElementById("total").textContent = "共 " + total + " 条";
    if (pages <= 1) return;
    pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page <= 1,
      onclick: function () { page -= 1; load(); } }, "上一页"));
    pager.appendChild(h("span", { class: "muted small" }, "第 " + page + " / " + pages + " 页"));
    pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page >= pages,
      onclick: function () { page += 1; load(); } }, "下一页"));
  }

  async function load() {
    toUrl();
    list.innerHTML = "";
    list.appendChild(h("p", { class: "loading" }, "正在检索"));
    var query = Object.assign({ page: page, page_size: PAGE_SIZE }, filters());
    try {
      var res = await JG.apiPage("audit", { query: query, form: form });
      render(res.items);
      renderPager(res.pagination);
      list.setAttribute("data-query", new URLSearchParams(query).toString());
    } catch (err) {
      if (err.status === 403 || err.status === 404) JG.refuse(list, err);
      else list.innerHTML = "";
      if (err.status === 422) list.appendChild(h("div", { class: "empty" }, "检索条件有误, 请检查后重试。"));
    }
  }

  async function verify() {
    var btn = document.getElementById("verify-btn");
    btn.disabled = true;
    verifyBox.innerHTML = "";
    verifyBox.appendChild(h("p", { class: "loading" }, "正在逐条校验审计链"));
    try {
      var r = await JG.api("audit/verify", { quiet: true });
      verifyBox.innerHTML = "";
      verifyBox.appendChild(h("div", {
        class: "alert " + (r.ok ? "alert-ok" : "alert-error"), role: "status", id: "verify-message",
        "data-ok": r.ok ? "true" : "false", "data-first-bad-seq": r.first_bad_seq === null ? "" : r.first_bad_seq },
        h("strong", {}, r.ok ? "✔ 校验通过 " : "✘ 校验未通过 "), r.message,
        r.ok ? null : [" · 已连续校验通过 " + r.count + " 条; 第 ", h("b", {}, r.first_bad_seq),
                       " 条及之后的记录不可信, 请立即上报。"],
        h("span", { class: "muted small" }, " (" + JG.fmtTime(new Date().toISOString()) + ")")));
    } catch (err) {
      verifyBox.innerHTML = "";
      verifyBox.appendChild(h("div", { class: "alert alert-error", role: "alert" }, "校验失败: " + err.message));
    } finally {
      btn.disabled = false;
    }
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); page = 1; load(); });
  document.getElementById("verify-btn").addEventListener("click", verify);
  fromUrl();
  fillChoices().then(load);
})();
