/* 实例迁移: GET /api/v1/definitions (all versions) fills the choices; POST /api/v1/migrations
 * with dry_run=true draws both versions (bpmn-js viewers, waiting elements and their targets
 * marked, instance counts as overlays), the editable mapping and the per-instance report;
 * dry_run=false starts the batch, whose progress GET /api/v1/migrations/{id} shows. */
(function () {
  "use strict";
  var h = JG.h;
  var versions = {}, plan = null, viewers = {}, polling = null;
  var form = document.getElementById("mig-form");
  var sel = { key: document.getElementById("mig-process"), from: document.getElementById("mig-from"),
              to: document.getElementById("mig-to") };

  function table(head, rows) {
    return h("table", { class: "table" },
      h("thead", {}, h("tr", {}, head.map(function (t) { return h("th", {}, t); }))),
      h("tbody", {}, rows));
  }

  function fillVersions() {
    var list = versions[sel.key.value] || [];
    [sel.from, sel.to].forEach(function (s, i) {
      s.innerHTML = "";
      list.forEach(function (v) { s.appendChild(h("option", { value: v }, "v" + v)); });
      if (list.length) s.value = list[i === 0 ? 0 : list.length - 1];
    });
    if (list.length > 1) sel.from.value = list[list.length - 2];
  }

  async function loadDefinitions() {
    var defs = await JG.api("definitions", { query: { all_versions: true, page_size: 100 } });
    defs.forEach(function (d) { (versions[d.key] = versions[d.key] || []).push(d.version); });
    sel.key.innerHTML = "";
    Object.keys(versions).sort().forEach(function (k) {
      versions[k].sort(function (a, b) { return a - b; });
      if (versions[k].length > 1) sel.key.appendChild(h("option", { value: k }, k));
    });
    if (!sel.key.options.length) sel.key.appendChild(h("option", { value: "" }, "没有多个版本的流程"));
    fillVersions();
  }

  function mapping() {
    var out = {};
    document.querySelectorAll("#mig-map-table select").forEach(function (s) {
      out[s.getAttribute("data-source")] = s.value || null;
    });
    return out;
  }

  function body(dry) {
    return { process_key: sel.key.value, from_version: +sel.from.value, to_version: +sel.to.value,
             mapping: plan ? mapping() : {}, dry_run: dry };
  }

  async function view(which, version, marks, counts) {
    var el = document.getElementById(which === "from" ? "mig-from-view" : "mig-to-view");
    document.getElementById(which === "from" ? "mig-from-title" : "mig-to-title").textContent =
      (which === "from" ? "源版本 v" : "目标版本 v") + version;
    if (typeof BpmnJS === "undefined") { el.textContent = "流程图组件未加载"; return; }
    var def = await JG.api("definitions/" + encodeURIComponent(sel.key.value), { query: { version: version } });
    if (viewers[which]) viewers[which].destroy();
    el.innerHTML = "";
    var v = viewers[which] = new BpmnJS({ container: el });
    try { await v.importXML(def.xml); }
    catch (err) {      // a diagram deployed without its drawing (BPMN DI)
      el.innerHTML = "";
      el.appendChild(h("div", { class: "empty" }, "该版本没有图形信息, 仅显示映射表。"));
      el.setAttribute("data-rendered", "none");
      return;
    }
    var canvas = v.get("canvas"), registry = v.get("elementRegistry"), overlays = v.get("overlays");
    Object.keys(marks).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, marks[id]); });
    Object.keys(counts || {}).forEach(function (id) {
      if (!registry.get(id)) return;
      overlays.add(id, { position: { top: -10, right: 10 },
        html: '<span class="mig-count' + (marks[id] === "mig-blocked" ? " blocked" : "") + '">' + counts[id] + "</span>" });
    });
    canvas.zoom("fit-viewport", "auto");
    el.setAttribute("data-rendered", "true");
  }

  function render(p) {
    plan = p;
    var waiting = {}, blocked = {};
    p.instances.forEach(function (i) {
      i.waiting.forEach(function (e) { waiting[e] = (waiting[e] || 0) + 1; });
      if (!i.movable) i.waiting.forEach(function (e) { if (!p.mapping[e]) blocked[e] = true; });
    });
    var fromMarks = {}, toMarks = {};
    Object.keys(waiting).forEach(function (e) {
      fromMarks[e] = blocked[e] ? "mig-blocked" : "mig-waiting";
      if (p.mapping[e]) toMarks[p.mapping[e]] = "mig-target";
    });
    document.getElementById("mig-diagrams").hidden = false;
    view("from", p.from_version, fromMarks, waiting);
    view("to", p.to_version, toMarks, {});
    // the mapping: one row per source element, waiting ones first
    var rows = p.elements.from.slice().sort(function (a, b) {
      return (waiting[b.id] || 0) - (waiting[a.id] || 0) || a.id.localeCompare(b.id);
    }).map(function (e) {
      var s = h("select", { "data-source": e.id, "aria-label": "映射 " + e.name },
        h("option", { value: "" }, "(不映射)"),
        p.elements.to.map(function (t) { return h("option", { value: t.id }, t.name + " (" + t.id + ")"); }));
      s.value = p.mapping[e.id] || "";
      return h("tr", { class: waiting[e.id] && !p.mapping[e.id] ? "unmapped" : "", "data-element": e.id },
        h("td", {}, e.name), h("td", { class: "small muted" }, e.id + " · " + e.type),
        h("td", {}, waiting[e.id] ? waiting[e.id] + " 个实例等待" : ""), h("td", {}, s));
    });
    var box = document.getElementById("mig-map-table");
    box.innerHTML = "";
    box.appendChild(table(["源元素", "编号 · 类型", "等待", "迁移到"], rows));
    document.getElementById("mig-mapping").hidden = false;
    // the report
    document.getElementById("mig-summary").textContent =
      "共 " + p.total + " 个运行中实例: 可迁移 " + p.movable + ", 无法迁移 " + p.refused;
    var report = document.getElementById("mig-report-table");
    report.innerHTML = "";
    report.appendChild(table(["实例", "业务编号", "等待于", "迁移", "结果"], p.instances.map(function (i) {
      return h("tr", { class: i.movable ? "" : "unmapped", "data-instance": i.instance_id },
        h("td", {}, h("a", { href: "/instances/" + i.instance_id }, i.instance_id.slice(0, 8))),
        h("td", {}, i.business_key || ""), h("td", {}, i.waiting.join(", ")),
        h("td", {}, Object.keys(i.moves).map(function (k) { return k + " → " + i.moves[k]; }).join("; ")),
        h("td", {}, i.movable ? h("span", { class: "badge ok" }, "可迁移")
                               : h("span", { class: "badge danger", title: i.refusal }, i.refusal)));
    })));
    document.getElementById("mig-report").hidden = false;
  }

  async function dryRun() {
    try { render(await JG.api("migrations", { method: "POST", body: body(true) })); }
    catch (err) { /* the toast says why */ }
  }

  function showProgress(p) {
    document.getElementById("mig-progress").hidden = false;
    document.getElementById("mig-bar").style.width = p.percent + "%";
    document.querySelector("#mig-progress .progress").setAttribute("aria-valuenow", p.percent);
    var c = p.counts;
    document.getElementById("mig-progress-text").textContent = "批次 #" + p.id + ": " +
      (p.state === "done" ? "已完成" : "执行中") + " · 已迁移 " + c.moved + " / " + p.total +
      " · 无法迁移 " + c.refused + " · 失败 " + c.failed + " · 待处理 " + c.pending;
    document.getElementById("mig-progress").setAttribute("data-state", p.state);
  }

  async function poll(id) {
    clearTimeout(polling);
    var p = await JG.api("migrations/" + id, { quiet: true });
    showProgress(p);
    if (p.state !== "done") polling = setTimeout(function () { poll(id); }, 1000);
    else loadBatches();
  }

  async function run() {
    if (!confirm("确定迁移可迁移的实例? 每个实例单独提交, 记入审计。")) return;
    try {
      var p = await JG.api("migrations", { method: "POST", body: body(false) });
      JG.toast("迁移批次 #" + p.id + " 已开始", "ok");
      showProgress(p);
      poll(p.id);
    } catch (err) { /* toast */ }
  }

  async function loadBatches() {
    var el = document.getElementById("mig-batches");
    try {
      var list = await JG.api("migrations", { quiet: true });
      el.innerHTML = "";
      if (!list.length) { el.appendChild(h("div", { class: "empty" }, "还没有迁移批次。")); return; }
      el.appendChild(table(["批次", "流程", "版本", "状态", "已迁移", "无法迁移", "失败", "发起人", "时间"],
        list.map(function (m) {
          return h("tr", {}, h("td", {}, "#" + m.id), h("td", {}, m.process_key),
            h("td", {}, "v" + m.from_version + " → v" + m.to_version),
            h("td", {}, m.state === "done" ? "已完成" : "执行中"), h("td", {}, m.counts.moved),
            h("td", {}, m.counts.refused), h("td", {}, m.counts.failed), h("td", {}, m.created_by),
            h("td", {}, JG.fmtTime(m.created_at)));
        })));
    } catch (err) { JG.refuse(el, err); }
  }

  sel.key.addEventListener("change", fillVersions);
  form.addEventListener("submit", function (e) { e.preventDefault(); plan = null; dryRun(); });
  document.getElementById("mig-dry").addEventListener("click", dryRun);
  document.getElementById("mig-run").addEventListener("click", run);
  loadDefinitions();
  loadBatches();
})();
