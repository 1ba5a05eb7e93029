/* 发起流程: the process's start form (GET /api/v1/definitions/{key} -> start_form) rendered
 * by form-js, sent to POST /api/v1/instances; the instance's first task of mine opens next. */
(function () {
  "use strict";
  var h = JG.h;
  var root = document.getElementById("start-page");
  var key = root.dataset.key;
  var el = function (id) { return document.getElementById(id); };
  var handle, uploads = h("div");

  async function load() {
    var def, projects;
    try {
      var r = await Promise.all([
        JG.api("definitions/" + encodeURIComponent(key), { quiet: true }),
        JG.api("projects", { query: { page_size: 100 }, quiet: true }).catch(function () { return []; })
      ]);
      def = r[0]; projects = r[1] || [];
    } catch (e) {
      JG.refuse(el("start-form"), e);
      return;
    }
    if (!def.start_form) {
      el("start-form").innerHTML = "";
      el("start-form").appendChild(h("div", { class: "empty" }, "该流程没有启动表单, 不能在此发起。"));
      el("btn-start").disabled = true;
      return;
    }
    var data = { projects: projects.map(function (p) {
      return { value: p.code, label: p.name + " (" + p.code + ")" }; }) };
    if (projects.length === 1) data.project_code = projects[0].code;
    handle = await JG.taskForm(el("start-form"), uploads, { taskId: null, schema: def.start_form, data: data });
    el("btn-start").addEventListener("click", start);
  }

  async function start() {
    var btn = el("btn-start");
    btn.disabled = true;
    var values = await handle.values();
    if (values === null) {
      btn.disabled = false;
      JG.toast("请先更正表单中标出的问题", "error");
      handle.focusFirstError();
      return;
    }
    delete values.projects;
    try {
      var inst = await JG.api("instances", { method: "POST", quiet: true, body: {
        process_key: key, business_key: values.project_code || null, variables: values } });
      var mine = (inst.tasks || []).filter(function (t) {
        return JG.user && (t.role === JG.user.role || JG.user.role === "admin"); });
      JG.toast("流程已发起", "ok");
      location.href = mine.length ? "/tasks/" + encodeURIComponent(mine[0].id)
                                  : "/instances/" + encodeURIComponent(inst.id);
    } catch (e) {
      btn.disabled = false;
      if (e.status === 422) handle.serverErrors(e.errors);
      if (e.status === 403) { JG.refuse(el("start-notice"), e); return; }
      JG.toast(e.message, "error");
    }
  }

  load();
})();
