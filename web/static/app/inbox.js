/* 我的待办: GET /api/v1/tasks with the filters kept in the page URL (back button, bookmarks). */
(function () {
  "use strict";
  var h = JG.h, PAGE_SIZE = 20;
  var params = new URLSearchParams(location.search);
  var filters = document.getElementById("filters");
  var list = document.getElementById("inbox-list");
  var pager = document.getElementById("pager");
  var projects = {};

  function query(extra) {
    var q = { process_key: params.get("process_key"), business_key: params.get("business_key"),
              district: params.get("district"),
              overdue: params.get("overdue") === "true" ? "true" : null,
              assignee: params.get("mine") ? "me" : null };
    return Object.assign(q, extra || {});
  }

  function fillFilters(defs, projs) {
    var sel = filters.elements.process_key;
    defs.forEach(function (d) {
      sel.appendChild(h("option", { value: d.key }, d.name || JG.processName(d.key)));
    });
    var ds = filters.elements.district;
    projs.map(function (p) { return p.district; })
      .filter(function (d, i, all) { return d && all.indexOf(d) === i; })
      .forEach(function (d) { ds.appendChild(h("option", { value: d }, d)); });
    ds.value = params.get("district") || "";
    var ps = filters.elements.business_key;
    projs.forEach(function (p) {
      projects[p.code] = p.name;
      ps.appendChild(h("option", { value: p.code }, p.name + " (" + p.code + ")"));
    });
    sel.value = params.get("process_key") || "";
    ps.value = params.get("business_key") || "";
    filters.elements.overdue.checked = params.get("overdue") === "true";
    filters.elements.mine.checked = !!params.get("mine");
  }

  function due(t) {
    if (!t.due_at) return h("span", { class: "muted" }, "无期限");
    var span = h("span", { class: "nowrap" }, JG.fmtTime(t.due_at), " ");
    if (t.overdue) span.appendChild(h("span", { class: "badge danger" }, "已逾期"));
    return span;
  }

  function actionButtons(t) {
    var box = h("div", { class: "actions" },
      h("a", { class: "btn btn-small btn-primary", href: "/tasks/" + encodeURIComponent(t.id) }, "办理"));
    var mine = JG.user && t.assignee === JG.user.username;
    if (!t.assignee) {
      box.appendChild(h("button", { type: "button", class: "btn btn-small", "data-action": "claim",
                                    onclick: function () { act(t, "claim", "已认领"); } }, "认领"));
    } else if (mine || (JG.user && JG.user.role === "admin")) {
      box.appendChild(h("button", { type: "button", class: "btn btn-small", "data-action": "unclaim",
                                    onclick: function () { act(t, "unclaim", "已释放"); } }, "释放"));
    }
    return box;
  }

  async function act(t, action, done) {
    try {
      await JG.api("tasks/" + encodeURIComponent(t.id) + "/" + action, { method: "POST" });
      JG.toast(done + ": " + t.name, "ok");
      load();
    } catch (e) { /* toast shown by JG.api */ }
  }

  function row(t) {
    var project = t.business_key ? (projects[t.business_key] || t.business_key) : "—";
    return h("tr", { class: t.overdue ? "overdue" : "", "data-task": t.id, "data-instance": t.instance_id },
      h("td", { "data-label": "任务" }, h("a", { href: "/tasks/" + encodeURIComponent(t.id) }, t.name || t.element_id)),
      h("td", { "data-label": "流程" }, JG.processName(t.process_key)),
      h("td", { "data-label": "项目" }, project),
      h("td", { "data-label": "办理人" }, t.assignee ? t.assignee : h("span", { class: "badge muted" }, "未认领")),
      h("td", { "data-label": "期限" }, due(t)),
      h("td", { "data-label": "操作" }, actionButtons(t)));
  }

  function renderPager(p) {
    pager.innerHTML = "";
    var page = p.page || 1, pages = p.total_pages || 1;
    if ((p.total || 0) <= PAGE_SIZE) return;
    function go(n) {
      params.set("page", n);
      history.replaceState(null, "", "?" + params.toString());
      load();
    }
    pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page <= 1,
                                    onclick: function () { go(page - 1); } }, "上一页"));
    pager.appendChild(h("span", { class: "muted" }, "第 " + page + " / " + pages + " 页, 共 " + p.total + " 条"));
    pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page >= pages,
                                    onclick: function () { go(page + 1); } }, "下一页"));
  }

  async function counts() {
    var kinds = { total: {}, overdue: { overdue: "true" }, mine: { assignee: "me" } };
    Object.keys(kinds).forEach(async function (k) {
      try {
        var r = await JG.apiPage("tasks", { query: Object.assign({ page_size: 1 }, kinds[k]), quiet: true });
        document.querySelector('[data-count="' + k + '"]').textContent = r.pagination.total || 0;
      } catch (e) { /* the list shows the error */ }
    });
  }

  async function load() {
    list.innerHTML = '<p class="loading">正在加载待办</p>';
    try {
      var r = await JG.apiPage("tasks", { query: query({ page: params.get("page") || 1, page_size: PAGE_SIZE }) });
      list.innerHTML = "";
      if (!r.items.length) {
        var filtered = ["process_key", "business_key", "district", "overdue", "mine"].some(function (k) { return params.get(k); });
        list.appendChild(h("div", { class: "empty" }, filtered ? "没有符合筛选条件的待办。" : "暂无待办, 所有任务都已办理。"));
      } else {
        list.appendChild(h("table", { class: "table table-cards", id: "inbox-table" },
          h("thead", {}, h("tr", {}, ["任务", "流程", "项目", "办理人", "期限", "操作"].map(function (c) {
            return h("th", { scope: "col" }, c); }))),
          h("tbody", {}, r.items.map(row))));
      }
      renderPager(r.pagination);
    } catch (e) {
      if (e.status === 403 || e.status === 404) { JG.refuse(list, e); return; }
      list.innerHTML = "";
      list.appendChild(h("p", { class: "alert alert-error" }, e.message));
    }
    counts();
  }

  filters.addEventListener("submit", function (ev) {
    ev.preventDefault();
    params = new URLSearchParams();
    ["process_key", "business_key", "district"].forEach(function (k) {
      if (filters.elements[k].value) params.set(k, filters.elements[k].value);
    });
    if (filters.elements.overdue.checked) params.set("overdue", "true");
    if (filters.elements.mine.checked) params.set("mine", "1");
    history.replaceState(null, "", params.toString() ? "?" + params.toString() : location.pathname);
    load();
  });

  Promise.all([
    JG.api("definitions", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; }),
    JG.api("projects", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; })
  ]).then(function (r) { fillFilters(r[0] || [], r[1] || []); load(); });
})();
