/* 我的待办: GET /api/v1/tasks with the filters kept in the page URL (back button, bookmarks);
 * search, due range, sort by column, 已办 view, saved filters (GET/PUT /api/v1/tasks/filters),
 * and a poll of /api/v1/tasks/summary with If-None-Match (304 while nothing changed) that
 * refreshes the list when a task arrives and keeps the count in the title: "(3) 待办 - 监管". */
(function () {
  "use strict";
  var h = JG.h, PAGE_SIZE = 20, POLL_MS = 15000;
  var KEYS = ["view", "q", "process_key", "district", "business_key", "due_from", "due_to"];
  var params = new URLSearchParams(location.search);
  var filters = document.getElementById("filters");
  var list = document.getElementById("inbox-list");
  var pager = document.getElementById("pager");
  var projects = {}, saved = [], etag = null, lastSummary = null;
  var COLUMNS = [["name", "任务"], ["process", "流程"], ["project", "项目"], ["assignee", "办理人"],
                 ["due", "期限"]];

  function done() { return params.get("view") === "done"; }

  function query(extra) {
    var q = {};
    KEYS.forEach(function (k) { if (params.get(k)) q[k] = params.get(k); });
    if (params.get("overdue") === "true" && !done()) q.overdue = "true";
    if (params.get("mine") && !done()) q.assignee = "me";
    if (params.get("sort")) { q.sort = params.get("sort"); q.order = params.get("order") || "asc"; }
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
    var ps = filters.elements.business_key;
    projs.forEach(function (p) {
      projects[p.code] = p.name;
      ps.appendChild(h("option", { value: p.code }, p.name + " (" + p.code + ")"));
    });
    showParams();
  }

  function showParams() {
    KEYS.forEach(function (k) { filters.elements[k].value = params.get(k) || ""; });
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
      h("a", { class: "btn btn-small btn-primary", href: "/tasks/" + encodeURIComponent(t.id) }, done() ? "查看" : "办理"));
    if (done()) return box;
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

  async function act(t, action, message) {
    try {
      await JG.api("tasks/" + encodeURIComponent(t.id) + "/" + action, { method: "POST" });
      JG.toast(message + ": " + t.name, "ok");
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
      done() ? h("td", { "data-label": "办结时间" }, JG.fmtTime(t.ended_at)) : h("td", { "data-label": "期限" }, due(t)),
      h("td", { "data-label": "操作" }, actionButtons(t)));
  }

  function header() {
    var cols = COLUMNS.slice();
    if (done()) cols[4] = ["ended", "办结时间"];
    var cells = cols.map(function (c) {
      var sorted = params.get("sort") === c[0];
      var order = sorted ? (params.get("order") || "asc") : null;
      return h("th", { scope: "col", "aria-sort": order ? (order === "asc" ? "ascending" : "descending") : "none" },
        h("button", { type: "button", class: "sort", "data-sort": c[0], title: "按" + c[1] + "排序",
                      onclick: function () { sortBy(c[0]); } }, c[1]));
    });
    cells.push(h("th", { scope: "col" }, "操作"));
    return h("thead", {}, h("tr", {}, cells));
  }

  function sortBy(column) {
    var order = params.get("sort") === column && params.get("order") !== "desc" ? "desc" : "asc";
    params.set("sort", column);
    params.set("order", order);
    params.delete("page");
    keep();
    load().then(function () {
      var b = list.querySelector('button[data-sort="' + column + '"]');
      if (b) b.focus();
    });
  }

  function keep() {
    history.replaceState(null, "", params.toString() ? "?" + params.toString() : location.pathname);
  }

  function renderPager(p) {
    pager.innerHTML = "";
    var page = p.page || 1, pages = p.total_pages || 1;
    if ((p.total || 0) <= PAGE_SIZE) return;
    function go(n) { params.set("page", n); keep(); load(); }
    pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page <= 1,
                                    onclick: function () { go(page - 1); } }, "上一页"));
    pager.appendChild(h("span", { class: "muted" }, "第 " + page + " / " + pages + " 页, 共 " + p.total + " 条"));
    pager.appendChild(h("button", { type: "button", class: "btn btn-small", disabled: page >= pages,
                                    onclick: function () { go(page + 1); } }, "下一页"));
  }

  function showSummary(s) {
    ["total", "overdue", "mine"].forEach(function (k) {
      document.querySelector('[data-count="' + k + '"]').textContent = s[k];
    });
    document.title = (s.total ? "(" + s.total + ") " : "") + "待办 - 监管";
  }

  // Conditional GET by hand: a 304 means nothing changed since the last answer.
  async function poll() {
    try {
      var headers = { "Accept": "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      var res = await fetch("/api/v1/tasks/summary", { headers: headers, credentials: "same-origin",
                                                        cache: "no-store" });
      if (res.status === 304 || !res.ok) return;
      etag = res.headers.get("ETag");
      var s = await res.json();
      var changed = lastSummary && (s.total !== lastSummary.total || s.newest !== lastSummary.newest);
      lastSummary = s;
      showSummary(s);
      if (changed && !done()) {
        if (s.newest && s.total > 0) JG.toast("有新的待办任务", "ok");
        load(true);
      }
    } catch (e) { /* offline: the next poll tries again */ }
  }

  async function load(quietly) {
    if (!quietly) list.innerHTML = '<p class="loading">正在加载待办</p>';
    try {
      var r = await JG.apiPage("tasks", { query: query({ page: params.get("page") || 1, page_size: PAGE_SIZE }) });
      list.innerHTML = "";
      if (!r.items.length) {
        var filtered = KEYS.concat(["overdue", "mine"]).some(function (k) { return k !== "view" && params.get(k); });
        list.appendChild(h("div", { class: "empty" }, filtered ? "没有符合筛选条件的任务。" :
          (done() ? "还没有您办理完成的任务。" : "暂无待办, 所有任务都已办理。")));
      } else {
        list.appendChild(h("table", { class: "table table-cards", id: "inbox-table" },
          header(), h("tbody", {}, r.items.map(row))));
      }
      renderPager(r.pagination);
    } catch (e) {
      if (e.status === 403 || e.status === 404) { JG.refuse(list, e); return; }
      list.innerHTML = "";
      list.appendChild(h("p", { class: "alert alert-error" }, e.message));
    }
  }

  function fromForm() {
    var next = new URLSearchParams();
    KEYS.forEach(function (k) { if (filters.elements[k].value) next.set(k, filters.elements[k].value); });
    if (filters.elements.overdue.checked) next.set("overdue", "true");
    if (filters.elements.mine.checked) next.set("mine", "1");
    if (params.get("sort")) { next.set("sort", params.get("sort")); next.set("order", params.get("order") || "asc"); }
    return next;
  }

  filters.addEventListener("submit", function (ev) {
    ev.preventDefault();
    params = fromForm();
    keep();
    load();
  });
  filters.elements.view.addEventListener("change", function () {
    params = fromForm();
    params.delete("sort");
    params.delete("order");
    keep();
    load();
  });

  // -- saved filters ---------------------------------------------------------------------
  var savedSel = document.getElementById("f-saved");
  function showSaved() {
    savedSel.innerHTML = "";
    savedSel.appendChild(h("option", { value: "" }, saved.length ? "选择已保存的筛选" : "尚无已保存的筛选"));
    saved.forEach(function (f) { savedSel.appendChild(h("option", { value: f.name }, f.name)); });
  }
  async function putSaved(next, message) {
    try {
      var r = await JG.api("tasks/filters", { method: "PUT", body: { filters: next } });
      saved = r.filters;
      showSaved();
      JG.toast(message, "ok");
    } catch (e) { /* toast shown */ }
  }
  savedSel.addEventListener("change", function () {
    var f = saved.filter(function (x) { return x.name === savedSel.value; })[0];
    if (!f) return;
    params = new URLSearchParams(f.query);
    keep();
    showParams();
    load();
  });
  document.getElementById("btn-save-filter").addEventListener("click", function () {
    var nameBox = document.getElementById("f-saved-name");
    var name = nameBox.value.trim();
    if (!name) { JG.toast("请填写筛选名称", "error"); nameBox.focus(); return; }
    var q = {};
    fromForm().forEach(function (v, k) { q[k] = v; });
    var next = saved.filter(function (f) { return f.name !== name; }).concat([{ name: name, query: q }]);
    putSaved(next, "已保存筛选: " + name).then(function () { savedSel.value = name; nameBox.value = ""; });
  });
  document.getElementById("btn-delete-filter").addEventListener("click", function () {
    if (!savedSel.value) { JG.toast("请先选择要删除的筛选", "error"); return; }
    putSaved(saved.filter(function (f) { return f.name !== savedSel.value; }), "已删除筛选");
  });

  Promise.all([
    JG.api("definitions", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; }),
    JG.api("projects", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; }),
    JG.api("tasks/filters", { quiet: true }).catch(function () { return { filters: [] }; })
  ]).then(function (r) {
    saved = (r[2] && r[2].filters) || [];
    showSaved();
    fillFilters(r[0] || [], r[1] || []);
    load();
    poll();
    setInterval(function () { if (!document.hidden) poll(); }, POLL_MS);
  });
})();
