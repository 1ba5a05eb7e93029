/* 流程实例详情: GET /api/v1/instances/{id}: the diagram with the path taken and where it waits,
 * variables, documents, history; cancel and retry for the roles the API allows. */
(function () {
  "use strict";
  var h = JG.h;
  var root = document.getElementById("instance-page");
  var id = root.dataset.instance;
  var el = function (x) { return document.getElementById(x); };
  var STATE_BADGE = { running: "info", completed: "ok", cancelled: "muted", error: "danger" };
  // The API decides; these only hide buttons a role would be refused (web/instances.py).
  var CAN_CANCEL = ["admin", "inspector", "leader"], CAN_RETRY = ["admin", "designer", "inspector"];
  var role = JG.user ? JG.user.role : "";

  function empty(text) { return h("div", { class: "empty" }, text); }

  function head(inst) {
    el("inst-title").textContent = JG.processName(inst.process_key) + (inst.business_key ? " · " + inst.business_key : "");
    document.title = el("inst-title").textContent + " · 监管";
    var dl = el("inst-meta");
    dl.innerHTML = "";
    [["状态", h("span", { class: "badge " + (STATE_BADGE[inst.state] || ""), id: "inst-state" }, JG.labels.states[inst.state] || inst.state)],
     ["流程版本", "v" + inst.version], ["发起人", inst.started_by_name || inst.started_by || "—"], ["发起时间", JG.fmtTime(inst.started_at)],
     ["结束时间", inst.ended_at ? JG.fmtTime(inst.ended_at) : "—"], ["编号", h("code", {}, inst.id)]].forEach(function (kv) {
      dl.appendChild(h("dt", {}, kv[0]));
      dl.appendChild(h("dd", {}, kv[1]));
    });
    var actions = el("inst-actions");
    actions.innerHTML = "";
    if ((inst.state === "running" || inst.state === "error") && CAN_CANCEL.indexOf(role) >= 0) {
      var reason = h("textarea", { id: "cancel-reason", name: "reason", required: true, maxlength: "500", rows: "3" });
      var form = h("form", { class: "card-body stack", id: "cancel-form" },
        h("div", { class: "field", "data-field": "reason" }, h("label", { for: "cancel-reason" }, "撤销原因"), reason),
        h("button", { type: "submit", class: "btn btn-danger" }, "确认撤销"));
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        try {
          await JG.api("instances/" + encodeURIComponent(id) + "/cancel",
                       { method: "POST", body: { reason: reason.value }, form: form });
          JG.toast("流程已撤销", "ok");
          load();
        } catch (e) { /* shown at the field */ }
      });
      actions.appendChild(h("details", { class: "card" }, h("summary", { class: "btn btn-danger" }, "撤销流程"), form));
    }
  }

  function waiting(inst) {
    var box = el("waiting");
    box.innerHTML = "";
    var rows = (inst.tasks || []).map(function (t) {
      return h("tr", {}, h("td", { "data-label": "类型" }, h("span", { class: "badge warn" }, "待办")),
        h("td", { "data-label": "步骤" }, h("a", { href: "/tasks/" + encodeURIComponent(t.id) }, t.name || t.element_id)),
        h("td", { "data-label": "办理" }, (JG.labels.roles[t.role] || t.lane || "") + (t.assignee ? " · " + t.assignee : "")),
        h("td", { "data-label": "期限", class: "nowrap" }, t.due_at ? JG.fmtTime(t.due_at) : "—",
          t.overdue ? h("span", { class: "badge danger" }, "已逾期") : null));
    });
    var kinds = { message: ["消息", "info"], timer: ["定时", "info"], job: ["后台处理", "muted"] };
    (inst.waiting || []).forEach(function (w) {
      var k = kinds[w.type] || ["等待", "muted"];
      // in words: 等待设备告警; 整改期限到期 于 2026-12-10 23:59
      var what = w.type === "message" ? "等待" + JG.messageName(w.name || "")
               : w.type === "timer" ? JG.elementName(w.element_id, "定时") + (w.due_at ? " 于 " + JG.fmtTime(w.due_at) : "")
               : JG.elementName(w.element_id, "后台处理");
      rows.push(h("tr", {}, h("td", { "data-label": "类型" }, h("span", { class: "badge " + k[1] }, k[0])),
        h("td", { "data-label": "步骤" }, what),
        h("td", { "data-label": "办理" }, w.correlation ? correlation(w.correlation) : (w.attempts ? "已失败 " + w.attempts + " 次" : "")),
        h("td", { "data-label": "期限", class: "nowrap" }, w.due_at ? JG.fmtTime(w.due_at) : "—")));
    });
    if (!rows.length) {
      box.appendChild(empty(inst.state === "running" ? "没有等待中的步骤。" : "流程已" + (JG.labels.states[inst.state] || inst.state) + ", 不再等待。"));
      return;
    }
    box.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "table table-cards", id: "waiting-table" },
      h("thead", {}, h("tr", {}, ["类型", "步骤", "办理/关联", "到期"].map(function (c) { return h("th", { scope: "col" }, c); }))),
      h("tbody", {}, rows))));
  }

  var KEYS = { project_code: "项目", crane_id: "起重机械", device_id: "设备" };
  function correlation(c) {
    return Object.keys(c).map(function (k) { return (KEYS[k] || "关联") + " " + c[k]; }).join(", ");
  }

  function incidents(inst) {
    var box = el("incidents");
    box.innerHTML = "";
    var list = inst.incidents || [];
    if (!list.length) { box.appendChild(empty("没有故障。")); return; }
    box.appendChild(h("ul", { class: "stack", id: "incident-list" }, list.map(function (i) {
      return h("li", {}, h("span", { class: "badge danger" }, "故障"), " ", JG.elementName(i.element_id, ""), " ",
        h("span", { class: "muted small" }, JG.fmtTime(i.created_at)), h("div", { class: "small" }, i.message));
    })));
    if (inst.state === "error" && CAN_RETRY.indexOf(role) >= 0) {
      box.appendChild(h("p", { class: "muted small" }, "排除原因后可重试: 重新执行该实例所有失败的步骤。"));
      box.appendChild(h("button", { type: "button", class: "btn btn-primary", id: "btn-retry", onclick: async function () {
        try {
          await JG.api("instances/" + encodeURIComponent(id) + "/retry", { method: "POST" });
          JG.toast("已重试", "ok");
          load();
        } catch (e) { /* toast shown */ }
      } }, "重试故障步骤"));
    }
  }

  function show(v) {
    if (v === null || v === undefined) return h("span", { class: "muted" }, "空");
    if (typeof v === "object") {
      var s = JSON.stringify(v);
      return h("code", { class: "small" }, s.length > 300 ? s.slice(0, 300) + "…" : s);
    }
    return String(v);
  }

  function variables(inst) {
    var box = el("variables");
    if (!box) return;          // codes are for admins and designers (the template decides)
    box.innerHTML = "";
    var keys = Object.keys(inst.variables || {}).sort();
    if (!keys.length) { box.appendChild(empty("没有流程变量。")); return; }
    box.appendChild(h("table", { class: "table", id: "variables-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "变量"), h("th", { scope: "col" }, "值"))),
      h("tbody", {}, keys.map(function (k) { return h("tr", {}, h("td", {}, h("code", {}, k)), h("td", {}, show(inst.variables[k]))); }))));
  }

  async function documents() {
    var box = el("documents");
    try {
      var docs = await JG.api("instances/" + encodeURIComponent(id) + "/documents", { quiet: true });
      box.innerHTML = "";
      if (!docs.length) { box.appendChild(empty("尚未出具文书。")); return; }
      var status = { generated: ["已出具", "ok"], requested: ["生成中", "warn"], failed: ["生成失败", "danger"] };
      box.appendChild(h("table", { class: "table table-cards", id: "documents-table" },
        h("thead", {}, h("tr", {}, ["文号", "名称", "状态", "时间", ""].map(function (c) { return h("th", { scope: "col" }, c); }))),
        h("tbody", {}, docs.map(function (d) {
          var s = status[d.status] || [d.status, "muted"];
          return h("tr", {}, h("td", { "data-label": "文号", class: "nowrap" }, d.number),
            h("td", { "data-label": "名称" }, d.title), h("td", { "data-label": "状态" }, h("span", { class: "badge " + s[1] }, s[0])),
            h("td", { "data-label": "时间", class: "nowrap" }, JG.fmtTime(d.created_at)),
            h("td", { "data-label": "" }, d.status === "generated"
              ? h("a", { class: "btn btn-small", href: "/api/v1/documents/" + encodeURIComponent(d.id), target: "_blank", rel: "noopener" }, "下载 PDF") : ""));
        }))));
    } catch (e) {
      box.innerHTML = "";
      box.appendChild(empty("文书无法显示: " + e.message));
    }
  }

  async function load() {
    var inst;
    try {
      inst = await JG.api("instances/" + encodeURIComponent(id), { quiet: true });
    } catch (e) {
      JG.refuse(root, e);
      return;
    }
    head(inst);
    waiting(inst);
    incidents(inst);
    variables(inst);
    documents();
    JG.diagram(el("diagram"), inst).then(function () { waiting(inst); incidents(inst); }, function (e) {
      el("diagram").innerHTML = "";
      el("diagram").appendChild(empty("流程图无法显示: " + e.message));
    });
    var events;
    try {
      events = await JG.api("instances/" + encodeURIComponent(id) + "/history", { quiet: true });
      JG.renderHistory(el("history"), events);
    } catch (e) {
      el("history").innerHTML = "";
      el("history").appendChild(empty("历史记录无法显示: " + e.message));
    }
    if (events) {
      JG.earlierSteps(el("earlier"), { taskId: null, events: events }).catch(function (e) {
        el("earlier").innerHTML = "";
        el("earlier").appendChild(empty("已办步骤无法显示: " + e.message));
      });
    }
  }

  load();
})();
