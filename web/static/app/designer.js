/* 流程设计: deployed processes and versions (GET /api/v1/definitions[/{key}?version=N]) in the
 * bpmn-js Modeler (window.JGBpmnModeler); edit id and name of the selected element; validate
 * on the server (POST /api/v1/definitions/validate: errors marked on their elements with an
 * overlay) and deploy a new version (POST /api/v1/definitions, the XML as a file).
 * window.JGDesigner is what designer-form.js, designer-compare.js and the UI tests use:
 *   open(key, version), importXML(xml, meta) -> {warnings}, xml() -> Promise of the XML,
 *   modeler, state {key, version, fileName, name, versions, dirty}, showProblems(result). */
(function () {
  "use strict";
  var h = JG.h;
  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'id="Definitions_new" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
    '  <bpmn:process id="new_process" name="新流程" isExecutable="true">\n' +
    '    <bpmn:startEvent id="start" name="开始"/>\n  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="new_process">\n' +
    '    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>\n' +
    '  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';
  var ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

  var state = { key: null, version: null, fileName: null, name: null, versions: [], dirty: false };
  var container = document.getElementById("modeler");
  var modeler = null, selected = null, errorIds = [];
  var versionSelect = document.getElementById("version-select");
  var problems = document.getElementById("problems");

  function fail(message) {
    container.innerHTML = "";
    container.appendChild(h("div", { class: "empty" }, message));
  }

  if (typeof window.JGBpmnModeler === "undefined") {
    fail("建模器组件未加载 (请运行 make assets)。");
    return;
  }
  // palette, context pad and menus in Chinese (the `translate` service, see app/i18n/zh.js);
  // the properties panel (app/designer-properties.js) adds its modules after it
  var modelerOptions = { container: container,
    additionalModules: JG.i18n ? [JG.i18n.bpmnModule] : [] };
  if (JG.props) JG.props.extend(modelerOptions);
  modeler = new window.JGBpmnModeler(modelerOptions);

  function processOf(definitions) {
    var roots = (definitions && definitions.rootElements) || [];
    var proc = roots.filter(function (r) { return r.$type === "bpmn:Process" && r.isExecutable; })[0] ||
               roots.filter(function (r) { return r.$type === "bpmn:Process"; })[0];
    return proc || null;
  }

  function setTitle() {
    var t = document.getElementById("current-title");
    t.textContent = state.key ? (state.name || state.key) + " (" + state.key + ")" +
      (state.version ? " · 版本 " + state.version : " · 未部署") + (state.dirty ? " · 已修改" : "") : "未打开流程";
    t.setAttribute("data-dirty", state.dirty ? "true" : "false");
  }

  async function importXML(xml, meta) {
    meta = meta || {};
    clearErrors();
    var result;
    try {
      result = await modeler.importXML(xml);
    } catch (err) {
      container.setAttribute("data-import", "error");
      showProblems({ ok: false, errors: { "导入": [{ line: null, element_id: null,
        message: "无法打开该 BPMN 文件: 不是有效的 BPMN 2.0 XML (技术细节: " + (err.message || err) + ")" }] } });
      throw err;
    }
    var proc = processOf(modeler.getDefinitions());
    state.key = meta.key || (proc && proc.id) || null;
    state.name = meta.name || (proc && proc.name) || state.key;
    state.version = meta.version || null;
    state.fileName = meta.fileName || (state.key ? state.key + ".bpmn" : "diagram.bpmn");
    state.dirty = false;
    modeler.get("canvas").zoom("fit-viewport", "auto");
    container.setAttribute("data-import", "ok");
    container.setAttribute("data-shapes", String(modeler.get("elementRegistry").getAll().length));
    setTitle();
    showSelection(null);
    var warnings = result.warnings || [];
    problems.innerHTML = "";
    problems.appendChild(warnings.length
      ? h("div", { class: "alert alert-info" }, "已打开, 有 " + warnings.length +
          " 条导入提示: 文件中有编辑器不认识的内容, 保存时原样保留。",
          // the parser's own (English) words only as a detail
          h("details", { class: "small" }, h("summary", {}, "技术细节"),
            h("pre", { class: "muted" }, warnings.slice(0, 5).map(function (w) { return w.message; }).join("\n"))))
      : h("p", { class: "muted small" }, "已打开, 尚未校验。"));
    return { warnings: warnings };
  }

  async function xml() {
    var out = await modeler.saveXML({ format: true });
    return out.xml;
  }

  // --- deployed definitions ----------------------------------------------------------------
  async function refreshLists() {
    var list = document.getElementById("process-list");
    var forms = document.getElementById("form-list");
    try {
      var defs = await JG.api("definitions", { query: { page_size: 100 }, quiet: true });
      list.innerHTML = "";
      if (!defs.length) list.appendChild(h("li", { class: "empty" }, "尚未部署流程"));
      defs.forEach(function (d) {
        list.appendChild(h("li", {}, h("button", { type: "button", "data-key": d.key,
          class: d.key === state.key ? "active" : "", onclick: function () { open(d.key); } },
          d.name || d.key, h("span", { class: "key" }, d.key + " · 版本 " + d.version))));
      });
      var fdefs = await JG.api("definitions", { query: { kind: "form", page_size: 100 }, quiet: true });
      forms.innerHTML = "";
      if (!fdefs.length) forms.appendChild(h("li", { class: "empty" }, "尚未部署表单"));
      fdefs.forEach(function (d) {
        forms.appendChild(h("li", {}, h("button", { type: "button", "data-form": d.key,
          onclick: function () { window.JGDesigner.openForm && window.JGDesigner.openForm(d.key); } },
          d.name || d.key, h("span", { class: "key" }, d.key + " · 版本 " + d.version))));
      });
    } catch (err) {
      JG.refuse(list, err);
    }
  }

  function fillVersions() {
    versionSelect.innerHTML = "";
    state.versions.slice().reverse().forEach(function (v) {
      versionSelect.appendChild(h("option", { value: v }, "版本 " + v));
    });
    versionSelect.disabled = !state.versions.length;
    if (state.version) versionSelect.value = String(state.version);
  }

  async function open(key, version) {
    if (state.dirty && !window.confirm("当前修改尚未部署, 确定放弃并打开其他流程吗?")) return;
    var d = await JG.api("definitions/" + encodeURIComponent(key),
                         { query: { version: version || undefined } });
    state.versions = d.versions || [d.version];
    await importXML(d.xml, { key: d.key, version: d.version, name: d.name, fileName: d.file_name });
    fillVersions();
    document.querySelectorAll("#process-list button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.key === key);
    });
    history.replaceState(null, "", "/designer?key=" + encodeURIComponent(key) + "&version=" + d.version);
  }

  // --- selected element: id, name, form -----------------------------------------------------
  function root() { return modeler.get("canvas").getRootElement(); }

  function formKeyOf(bo) {
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    for (var i = 0; i < values.length; i++) {
      // typed spiffworkflow:properties (app/spiffworkflow-moddle.js) or generic children
      var props = values[i].properties || values[i].$children || values[i].values || [];
      for (var j = 0; j < props.length; j++) {
        var p = props[j], name = p.name || (p.$attrs && p.$attrs.name);
        if (name === "formKey" || name === "form") return p.value || (p.$attrs && p.$attrs.value);
      }
    }
    return bo.id;      // the engine's default: a user task without formKey uses its own id
  }

  function showSelection(element) {
    selected = element || (modeler && root());
    var bo = selected && selected.businessObject;
    var idInput = document.getElementById("prop-id"), nameInput = document.getElementById("prop-name");
    document.getElementById("prop-type").textContent = bo ? (JG.i18n ? JG.i18n.typeName(bo.$type) : bo.$type) : "—";
    idInput.value = bo ? bo.id || "" : "";
    nameInput.value = bo ? bo.name || "" : "";
    idInput.disabled = nameInput.disabled = !bo;
    var isUserTask = bo && bo.$type === "bpmn:UserTask";
    document.getElementById("prop-form-field").classList.toggle("hidden", !isUserTask);
    if (isUserTask) document.getElementById("prop-form-btn").dataset.formKey = formKeyOf(bo);
  }

  function rename() {
    var value = document.getElementById("prop-name").value.trim();
    if (!selected || (selected.businessObject.name || "") === value) return;
    var modeling = modeler.get("modeling");
    if (selected === root() || selected.type === "bpmn:Process") modeling.updateProperties(selected, { name: value });
    else modeling.updateLabel(selected, value);
  }

  function reId() {
    var input = document.getElementById("prop-id"), value = input.value.trim();
    if (!selected || selected.businessObject.id === value) return;
    if (!ID.test(value) || modeler.get("elementRegistry").get(value)) {
      JG.toast(ID.test(value) ? "标识 " + value + " 已被使用" : "标识须以字母或下划线开头, 只含字母、数字、_ . -", "error");
      input.value = selected.businessObject.id;
      return;
    }
    var wasKey = selected.businessObject.id === state.key && selected.businessObject.$type === "bpmn:Process";
    modeler.get("modeling").updateProperties(selected, { id: value });
    if (wasKey) state.key = value;     // the process id is the key the deploy will use
    setTitle();
  }

  // --- validation and deployment -------------------------------------------------------------
  function clearErrors() {
    if (!modeler) return;
    var canvas = modeler.get("canvas");
    modeler.get("overlays").remove({ type: "jg-error" });
    errorIds.forEach(function (id) { try { canvas.removeMarker(id, "jg-error"); } catch (e) { /* gone */ } });
    errorIds = [];
  }

  function focus(id) {
    var el = modeler.get("elementRegistry").get(id);
    if (!el) return;
    modeler.get("selection").select(el);
    try { modeler.get("canvas").scrollToElement(el); } catch (e) { /* older diagram-js */ }
  }

  function markErrors(items) {
    var registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays"), byId = {};
    items.forEach(function (p) {
      if (p.element_id && registry.get(p.element_id)) (byId[p.element_id] = byId[p.element_id] || []).push(p.message);
    });
    Object.keys(byId).forEach(function (id) {
      canvas.addMarker(id, "jg-error");
      errorIds.push(id);
      var box = document.createElement("div");
      box.className = "jg-error-overlay";
      box.setAttribute("data-element", id);
      box.textContent = byId[id].join("; ");
      overlays.add(id, "jg-error", { position: { bottom: -6, left: 0 }, html: box });
    });
    return Object.keys(byId).length;
  }

  // result: {ok, errors: {file: [{line, element_id, message, path?}]}, would_deploy?}
  function showProblems(result, what) {
    clearErrors();
    problems.innerHTML = "";
    if (result.ok) {
      var mine = (result.would_deploy || []).filter(function (d) { return d.kind === "bpmn" && d.key === state.key; })[0];
      problems.appendChild(h("div", { class: "alert alert-ok", id: "validate-ok", role: "status" },
        (what || "校验通过") + (mine ? (mine.created ? ": 部署后将成为版本 " + mine.version
                                                      : ": 与已部署的版本 " + mine.version + " 相同, 部署不会产生新版本") : "。")));
      return;
    }
    var files = Object.keys(result.errors || {}), all = [];
    files.forEach(function (f) { result.errors[f].forEach(function (p) { all.push(Object.assign({ file: f }, p)); }); });
    var marked = markErrors(all.filter(function (p) { return p.file === state.fileName || files.length === 1; }));
    problems.appendChild(h("div", { class: "alert alert-error", id: "validate-errors", role: "alert" },
      "发现 " + all.length + " 个问题" + (marked ? ", 已在图中标出 " + marked + " 个元素" : "") + "。"));
    problems.appendChild(h("ul", { class: "problems" }, all.map(function (p) {
      return h("li", { "data-element": p.element_id || "" },
        h("span", { class: "where" }, p.file + (p.line ? " 第 " + p.line + " 行" : "") + (p.path ? " " + p.path : "")),
        p.element_id ? h("button", { type: "button", class: "btn btn-small btn-link",
                                     onclick: function () { focus(p.element_id); } }, p.element_id) : null,
        " ", p.message);
    })));
  }

  async function upload(path) {
    var form = new FormData();
    form.append("files", new Blob([await xml()], { type: "application/xml" }), state.fileName || "diagram.bpmn");
    return JG.api(path, { body: form, quiet: true });
  }

  async function validate() {
    if (!state.key) { JG.toast("请先打开或新建一个流程", "error"); return; }
    var btn = document.getElementById("validate-btn");
    btn.disabled = true;
    try {
      showProblems(await upload("definitions/validate"));
    } catch (err) {
      showProblems({ ok: false, errors: err.errors && Object.keys(err.errors).length ? err.errors
        : { "请求": [{ message: err.message }] } });
    } finally {
      btn.disabled = false;
    }
  }

  async function deploy() {
    if (!state.key) { JG.toast("请先打开或新建一个流程", "error"); return; }
    var btn = document.getElementById("deploy-btn");
    btn.disabled = true;
    try {
      var res = await upload("definitions");
      var mine = (res.deployed || []).filter(function (d) { return d.kind === "bpmn" && d.key === state.key; })[0];
      var others = (res.deployed || []).filter(function (d) { return d !== mine && d.created; });
      state.dirty = false;
      if (mine) {
        state.version = mine.version;
        if (state.versions.indexOf(mine.version) < 0) state.versions.push(mine.version);
      }
      fillVersions();
      setTitle();
      var text = mine && mine.created ? "已部署为版本 " + mine.version : "与已部署版本相同, 未产生新版本";
      if (others.length) text += "; 调用它的流程也已更新: " + others.map(function (d) { return d.key + " 版本 " + d.version; }).join(", ");
      showProblems({ ok: true }, text);
      problems.querySelector(".alert").id = "deploy-ok";
      JG.toast(text, "ok");
      history.replaceState(null, "", "/designer?key=" + encodeURIComponent(state.key) + "&version=" + state.version);
      refreshLists();
    } catch (err) {
      if (err.status === 422) showProblems({ ok: false, errors: err.errors });
      else showProblems({ ok: false, errors: { "部署": [{ message: err.message }] } });
    } finally {
      btn.disabled = false;
    }
  }

  function download() {
    xml().then(function (text) {
      var a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "application/xml" })),
                       download: state.fileName || "diagram.bpmn" });
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  function readFile(input) {
    var file = input.files && input.files[0];
    if (!file) return;
    file.text().then(function (text) {
      return importXML(text, { fileName: file.name });
    }).then(function () {
      state.versions = [];
      fillVersions();
      JG.toast("已导入 " + file.name, "ok");
    }).catch(function () { /* shown in the problems box */ }).finally(function () { input.value = ""; });
  }

  modeler.on("commandStack.changed", function () { state.dirty = true; setTitle(); });
  modeler.on("selection.changed", function (e) { showSelection(e.newSelection.length === 1 ? e.newSelection[0] : null); });
  modeler.on("element.changed", function (e) { if (e.element === selected) showSelection(selected); });
  document.getElementById("prop-name").addEventListener("change", rename);
  document.getElementById("prop-id").addEventListener("change", reId);
  document.getElementById("validate-btn").addEventListener("click", validate);
  document.getElementById("deploy-btn").addEventListener("click", deploy);
  document.getElementById("download-btn").addEventListener("click", download);
  document.getElementById("import-file").addEventListener("change", function () { readFile(this); });
  document.getElementById("new-btn").addEventListener("click", function () {
    if (state.dirty && !window.confirm("当前修改尚未部署, 确定新建吗?")) return;
    state.versions = [];
    importXML(BLANK).then(fillVersions);
  });
  versionSelect.addEventListener("change", function () { if (state.key) open(state.key, versionSelect.value); });
  window.addEventListener("beforeunload", function (e) { if (state.dirty) { e.preventDefault(); e.returnValue = ""; } });

  window.JGDesigner = { modeler: modeler, state: state, open: open, importXML: importXML, xml: xml,
                        showProblems: showProblems, refreshLists: refreshLists, formKeyOf: formKeyOf };
  var params = new URLSearchParams(location.search);
  refreshLists().then(function () {
    if (params.get("key")) return open(params.get("key"), params.get("version"));
  }).catch(function () { /* a toast says why */ });
})();
