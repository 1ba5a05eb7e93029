/* 办理任务: GET /api/v1/tasks/{id} (form, data, draft), draft and complete, the instance's
 * diagram and history beside it. */
(function () {
  "use strict";
  var h = JG.h;
  var root = document.getElementById("task-page");
  var taskId = root.dataset.task, instanceId = root.dataset.instance;
  var el = function (id) { return document.getElementById(id); };
  var task, handle;
  var maxUpload = parseInt(root.dataset.maxUpload, 10) || 0;

  // A page restored from the back/forward cache would show the form as it was before
  // submitting: load it again so it shows what the server says now.
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) location.reload(); });

  function meta(t) {
    var dl = el("task-meta");
    dl.innerHTML = "";
    var due = t.due_at ? [JG.fmtTime(t.due_at), t.overdue ? h("span", { class: "badge danger" }, " 已逾期") : null]
                       : [h("span", { class: "muted" }, "无期限")];
    [["项目", t.business_key || "—"], ["流程", JG.processName(t.process_key)],
     ["办理角色", JG.labels.roles[t.role] || t.lane || "—"], ["办理人", !t.assignee ? "未认领" : JG.user && t.assignee === JG.user.username ? JG.user.name + " (本人)" : "已由他人认领"],
     ["期限", due], ["状态", t.state === "open" ? "待办理" : t.state === "cancelled" ? "已撤销" : "已办理"]].forEach(function (kv) {
      dl.appendChild(h("dt", {}, kv[0]));
      dl.appendChild(h("dd", {}, kv[1]));
    });
    el("task-process").textContent = JG.processName(t.process_key) + (t.business_key ? " · " + t.business_key : "");
    el("task-title").textContent = t.name || t.element_id;
    document.title = (t.name || "办理任务") + " · 监管";
  }

  function claimButtons(t) {
    var box = el("task-actions");
    box.innerHTML = "";
    if (!t.can_act) return;
    var me = JG.user && JG.user.username;
    if (!t.assignee) {
      box.appendChild(h("button", { type: "button", class: "btn", id: "btn-claim",
        onclick: function () { claim("claim", "已认领该任务"); } }, "认领"));
    } else if (t.assignee === me || (JG.user && JG.user.role === "admin")) {
      box.appendChild(h("button", { type: "button", class: "btn", id: "btn-unclaim",
        onclick: function () { claim("unclaim", "已释放该任务"); } }, "释放"));
    }
  }

  async function claim(action, message) {
    try {
      await JG.api("tasks/" + encodeURIComponent(taskId) + "/" + action, { method: "POST" });
      JG.toast(message, "ok");
      task = await JG.api("tasks/" + encodeURIComponent(taskId));
      meta(task);
      claimButtons(task);
    } catch (e) { /* toast shown */ }
  }

  function buttons(t) {
    var box = el("form-buttons");
    box.innerHTML = "";
    if (!t.can_act) return;
    box.appendChild(h("button", { type: "button", class: "btn btn-primary", id: "btn-complete",
                                  onclick: complete }, "提交办理"));
    box.appendChild(h("button", { type: "button", class: "btn", id: "btn-draft", onclick: saveDraft }, "暂存"));
  }

  async function saveDraft() {
    var data = await handle.values({ partial: true });
    try {
      await JG.api("tasks/" + encodeURIComponent(taskId) + "/draft",
                   { method: "POST", body: { data: data }, quiet: true });
      el("form-state").innerHTML = "";
      el("form-state").appendChild(h("span", { class: "badge ok", id: "draft-saved" }, "已暂存 " + JG.fmtTime(new Date())));
      JG.toast("已暂存, 下次打开时继续填写", "ok");
    } catch (e) {
      if (e.status === 422) handle.serverErrors(e.errors);
      JG.toast(e.message, "error");
    }
  }

  async function complete() {
    var btn = el("btn-complete");
    btn.disabled = true;
    var data;
    try {
      data = await handle.values();
    } catch (e) {
      btn.disabled = false;
      return;      // an upload failed: its toast says why
    }
    if (data === null) {
      btn.disabled = false;
      JG.toast("请先更正表单中标出的问题", "error");
      handle.focusFirstError();
      return;
    }
    try {
      var inst = await JG.api("tasks/" + encodeURIComponent(taskId) + "/complete",
                              { method: "POST", body: { data: data }, quiet: true });
      done(inst);
    } catch (e) {
      btn.disabled = false;
      if (e.status === 422) handle.serverErrors(e.errors);
      if (e.status === 403) { JG.refuse(el("task-notice"), e); return; }
      JG.toast(e.message, "error");
    }
  }

  function done(inst) {
    task.state = "done";
    task.can_act = false;
    meta(task);
    el("form-buttons").innerHTML = "";
    el("task-actions").innerHTML = "";
    handle.form.setProperty("readOnly", true);
    el("uploads").querySelectorAll("input, button").forEach(function (n) { n.disabled = true; });
    var next = (inst.tasks || []).filter(function (t) {
      return JG.user && (t.role === JG.user.role || JG.user.role === "admin");
    });
    var notice = h("div", { class: "alert alert-ok", id: "task-done", role: "status" },
      "已办理完成。", " ",
      next.length ? h("a", { href: "/tasks/" + encodeURIComponent(next[0].id) }, "继续办理「" + next[0].name + "」") : null,
      " ", h("a", { href: "/inbox" }, "返回我的待办"), " ",
      h("a", { href: "/instances/" + encodeURIComponent(inst.id) }, "查看流程"));
    el("task-notice").innerHTML = "";
    el("task-notice").appendChild(notice);
    el("form-state").innerHTML = '<span class="badge ok">已办理</span>';
    notice.scrollIntoView({ block: "center" });
    side(inst);
  }

  async function side(inst) {
    var first = !inst;        // after submitting only the diagram and history change
    try {
      inst = inst || await JG.api("instances/" + encodeURIComponent(instanceId), { quiet: true });
      await JG.diagram(el("diagram"), inst, { current: task && task.state === "open" ? task.element_id : null });
    } catch (e) {
      el("diagram").innerHTML = "";
      el("diagram").appendChild(h("div", { class: "empty" }, "流程图无法显示: " + e.message));
    }
    var events;
    try {
      events = await JG.api("instances/" + encodeURIComponent(instanceId) + "/history", { quiet: true });
      JG.renderHistory(el("history"), events);
    } catch (e) {
      el("history").innerHTML = "";
      el("history").appendChild(h("div", { class: "empty" }, "办理记录无法显示: " + e.message));
    }
    if (events && first) {
      try {
        await JG.earlierSteps(el("earlier"), { taskId: taskId, events: events });
      } catch (e) {
        el("earlier").innerHTML = "";
        el("earlier").appendChild(h("div", { class: "empty" }, "前序步骤无法显示: " + e.message));
      }
    }
  }

  async function load() {
    try {
      task = await JG.api("tasks/" + encodeURIComponent(taskId), { quiet: true });
    } catch (e) {
      JG.refuse(root, e);
      return;
    }
    meta(task);
    claimButtons(task);
    if (task.state !== "open") {
      el("task-notice").appendChild(h("p", { class: "alert alert-info" }, "该任务已办理完毕, 以下为只读内容。"));
    } else if (!task.can_act) {
      el("task-notice").appendChild(h("p", { class: "alert alert-info" }, "您可以查看该任务, 但不能办理 (不属于您的角色或已由他人认领)。"));
    }
    if (task.draft) {
      el("form-state").appendChild(h("span", { class: "badge warn" }, "有暂存内容"));
    }
    if (!task.form) {
      el("form-box").innerHTML = "";
      el("form-box").appendChild(h("div", { class: "empty" }, "该步骤没有表单, 直接提交即可。"));
      handle = { values: async function () { return {}; }, serverErrors: function (e) { JG.showFieldErrors(el("uploads"), e); },
                 focusFirstError: function () {}, form: { setProperty: function () {} } };
    } else {
      handle = await JG.taskForm(el("form-box"), el("uploads"), {
        taskId: taskId, schema: task.form, readOnly: !task.can_act, maxUpload: maxUpload,
        data: Object.assign({}, task.data || {}, task.draft || {}) });
    }
    buttons(task);
    side();
  }

  load();
})();
