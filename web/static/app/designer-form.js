/* 流程设计 · 表单: a user task's form in the form-js FormEditor (window.FormEditor.FormEditor).
 * Forms are versioned definitions of kind "form" whose id is the task's formKey: load with
 * GET /api/v1/definitions/{key}?kind=form (its `xml` field holds the JSON), validate and
 * deploy as a `{key}.json` file like a diagram. Adds JGDesigner.openForm(key). */
(function () {
  "use strict";
  var h = JG.h;
  var D = window.JGDesigner;
  if (!D) return;
  var card = document.getElementById("form-card");
  var host = document.getElementById("form-editor");
  var out = document.getElementById("form-problems");
  var editor = null, formKey = null;

  function message(kind, text, id) {
    out.innerHTML = "";
    out.appendChild(h("div", { class: "alert alert-" + kind, id: id || null, role: kind === "error" ? "alert" : "status" }, text));
  }

  function problems(result) {
    var all = [];
    Object.keys(result.errors || {}).forEach(function (f) {
      [].concat(result.errors[f]).forEach(function (p) { all.push(typeof p === "string" ? { message: p } : p); });
    });
    message("error", "表单有 " + all.length + " 个问题:", "form-errors");
    out.appendChild(h("ul", { class: "problems" }, all.map(function (p) {
      return h("li", {}, p.path ? h("span", { class: "where" }, p.path) : null, p.message);
    })));
  }

  function blank(key) {
    return { id: key, name: key, type: "default", schemaVersion: 16, components: [] };
  }

  async function openForm(key) {
    if (typeof window.FormEditor === "undefined") {
      JG.toast("表单编辑器组件未加载 (请运行 make assets)", "error");
      return;
    }
    formKey = key;
    card.classList.remove("hidden");
    document.getElementById("form-key").textContent = key;
    var schema, version = "";
    try {
      var d = await JG.api("definitions/" + encodeURIComponent(key), { query: { kind: "form" }, quiet: true });
      schema = JSON.parse(d.xml);
      version = "版本 " + d.version;
    } catch (err) {
      if (err.status !== 404) { message("error", "无法加载表单: " + err.message); return; }
      schema = blank(key);
      version = "新表单, 尚未部署";
    }
    document.getElementById("form-version").textContent = version;
    if (!editor) {
      if (JG.i18n) JG.i18n.localize(host);    // form-js's editor has no translate service
      editor = new window.FormEditor.FormEditor({ container: host });
    }
    await editor.importSchema(schema);
    host.setAttribute("data-form", key);
    out.innerHTML = "";
    card.scrollIntoView({ block: "start" });
  }

  function file() {
    var schema = editor.saveSchema();
    schema.id = formKey;       // the task finds its form by this id: it may not drift
    var form = new FormData();
    form.append("files", new Blob([JSON.stringify(schema, null, 2)], { type: "application/json" }),
                formKey + ".json");
    return form;
  }

  async function validate() {
    if (!editor) return;
    try {
      var r = await JG.api("definitions/validate", { body: file(), quiet: true });
      if (r.ok) message("ok", "表单校验通过。", "form-ok");
      else problems(r);
    } catch (err) { message("error", "校验失败: " + err.message); }
  }

  async function deploy() {
    if (!editor) return;
    try {
      var r = await JG.api("definitions", { body: file(), quiet: true });
      var mine = (r.deployed || []).filter(function (d) { return d.kind === "form"; })[0];
      var text = mine && mine.created ? "表单已部署为版本 " + mine.version : "与已部署的表单相同, 未产生新版本";
      message("ok", text, "form-deployed");
      if (mine) document.getElementById("form-version").textContent = "版本 " + mine.version;
      JG.toast(text, "ok");
      D.refreshLists();
    } catch (err) {
      if (err.status === 422) problems(err);
      else message("error", "部署失败: " + err.message);
    }
  }

  document.getElementById("prop-form-btn").addEventListener("click", function () {
    if (this.dataset.formKey) openForm(this.dataset.formKey);
  });
  document.getElementById("form-validate-btn").addEventListener("click", validate);
  document.getElementById("form-deploy-btn").addEventListener("click", deploy);
  document.getElementById("form-close-btn").addEventListener("click", function () { card.classList.add("hidden"); });
  D.openForm = openForm;
  D.formEditor = function () { return editor; };
})();
