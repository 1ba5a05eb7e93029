/* 流程实例: the list (GET /api/v1/instances) and starting one (POST /api/v1/instances). */
(function () {
  "use strict";
  var h = JG.h, PAGE_SIZE = 20;
  var params = new URLSearchParams(location.search);
  var filters = document.getElementById("filters");
  var startForm = document.getElementById("start-form");
  var list = document.getElementById("instance-list");
  var pager = document.getElementById("pager");
  var projects = {};
  var STATE_BADGE = { running: "info", completed: "ok", cancelled: "muted", error: "danger" };

  function options(select, items, value) {
    items.forEach(function (it) { select.appendChild(h("option", { value: it[0] }, it[1])); });
    if (value) select.value = value;
  }

  function row(i) {
    return h("tr", { "data-instance": i.id },
      h("td", { "data-label": "流程" }, h("a", { href: "/instances/" + encodeURIComponent(i.id) }, JG.processName(i.process_key))),
      h("td", { "data-label": "项目" }, i.business_key ? (projects[i.business_key] || i.business_key) : "—"),
      h("td", { "data-label": "状态" }, h("span", { class: "badge " + (STATE_BADGE[i.state] || "") }, JG.labels.states[i.state] || i.state)),
      h("td", { "data-label": "发起人" }, i.started_by_name || i.started_by || ""),
      h("td", { "data-label": "发起时间", class: "nowrap" }, JG.fmtTime(i.started_at)));
  }

  async function load() {
    list.innerHTML = '<p class="loading">正在加载</p>';
    try {
      var r = await JG.apiPage("instances", { query: {
        process_key: params.get("process_key"), state: params.get("state"),
        business_key: params.get("business_key"), page: params.get("page") || 1, page_size: PAGE_SIZE } });
      list.innerHTML = "";
      if (!r.items.length) {
        list.appendChild(h("div", { class: "empty" }, "没有符合条件的流程实例。"));
      } else {
        list.appendChild(h("table", { class: "table table-cards" },
          h("thead", {}, h("tr", {}, ["流程", "项目", "状态", "发起人", "发起时间"].map(function (c) {
            return h("th", { scope: "col" }, c); }))),
          h("tbody", {}, r.items.map(row))));
      }
      pager.innerHTML = "";
      var p = r.pagination, page = p.page || 1;
      if ((p.total || 0) > PAGE_SIZE) {
        var go = function (n) { params.set("page", n); history.replaceState(null, "", "?" + params); load(); };
        pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page <= 1,
                                        onclick: function () { go(page - 1); } }, "上一页"));
        pager.appendChild(h("span", { class: "muted" }, "第 " + page + " / " + p.total_pages + " 页, 共 " + p.total + " 条"));
        pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page >= p.total_pages,
                                        onclick: function () { go(page + 1); } }, "下一页"));
      }
    } catch (e) {
      JG.refuse(list, e);
    }
  }

  filters.addEventListener("submit", function (ev) {
    ev.preventDefault();
    params = new URLSearchParams();
    ["process_key", "state", "business_key"].forEach(function (k) {
      if (filters.elements[k].value) params.set(k, filters.elements[k].value);
    });
    history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
    load();
  });

  startForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var body = { process_key: startForm.elements.process_key.value,
                 business_key: startForm.elements.business_key.value || null, variables: {} };
    try {
      var inst = await JG.api("instances", { method: "POST", body: body, form: startForm });
      var mine = (inst.tasks || []).filter(function (t) {
        return JG.user && (t.role === JG.user.role || JG.user.role === "admin"); });
      JG.toast("流程已发起", "ok");
      location.href = mine.length ? "/tasks/" + encodeURIComponent(mine[0].id)
                                  : "/instances/" + encodeURIComponent(inst.id);
    } catch (e) { /* field errors and toast shown */ }
  });

  Promise.all([
    JG.api("definitions", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; }),
    JG.api("projects", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; })
  ]).then(function (r) {
    var defs = (r[0] || []).map(function (d) { return [d.key, d.name || JG.processName(d.key)]; });
    var projs = (r[1] || []).map(function (p) { projects[p.code] = p.name; return [p.code, p.name + " (" + p.code + ")"]; });
    options(filters.elements.process_key, defs, params.get("process_key"));
    options(filters.elements.business_key, projs, params.get("business_key"));
    filters.elements.state.value = params.get("state") || "";
    options(startForm.elements.process_key, defs);
    options(startForm.elements.business_key, projs);
    load();
  });
})();
