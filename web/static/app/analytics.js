/* 流程分析: GET /api/v1/analytics/processes, /elements (heat map: a bpmn-js viewer of the
 * process's latest version with each element's median time as an overlay, colored from fast
 * to slow), /ranking by district, enterprise and inspector; every list links to
 * /api/v1/analytics/export (Excel) with the same conditions. */
(function () {
  "use strict";
  var h = JG.h;
  var form = document.getElementById("an-form");
  var viewer = null, districtsLoaded = false;

  function cond() {
    var f = new FormData(form), q = {};
    f.forEach(function (v, k) { if (v) q[k] = v; });
    return q;
  }

  function pct(v) { return (Math.round(v * 1000) / 10) + "%"; }
  function hrs(v) { return v === null || v === undefined ? "—" : v; }

  function statTable(items, first, firstKey, onPick) {
    if (!items.length) return h("div", { class: "empty" }, "所选期间没有已办结的环节。");
    return h("table", { class: "table" },
      h("thead", {}, h("tr", {}, [first, "完成数", "中位(小时)", "P90(小时)", "超期率", "退回重办"]
        .map(function (t) { return h("th", {}, t); }))),
      h("tbody", {}, items.map(function (i) {
        return h("tr", { class: onPick ? "pick" : "", "data-key": i[firstKey],
                         onclick: onPick ? function () { onPick(i); } : null },
          h("td", {}, i.name || i[firstKey]), h("td", {}, i.count), h("td", {}, hrs(i.median_hours)),
          h("td", {}, hrs(i.p90_hours)), h("td", {}, pct(i.overdue_rate)), h("td", {}, i.rework));
      })));
  }

  function put(id, node) { var el = document.getElementById(id); el.innerHTML = ""; el.appendChild(node); }

  function exportLinks() {
    var q = cond();
    document.querySelectorAll("[data-export]").forEach(function (a) {
      var p = Object.assign({}, q, { list: a.getAttribute("data-export") });
      if (a.getAttribute("data-sort")) p.sort = a.getAttribute("data-sort");
      a.href = "/api/v1/analytics/export?" + Object.keys(p).map(function (k) {
        return encodeURIComponent(k) + "=" + encodeURIComponent(p[k]); }).join("&");
    });
  }

  async function heatMap(key, items) {
    var el = document.getElementById("an-view");
    document.getElementById("an-process-title").textContent = key || "";
    if (!key) { el.innerHTML = ""; el.appendChild(h("div", { class: "empty" }, "在上方选择一个流程")); return; }
    if (typeof BpmnJS === "undefined") { el.textContent = "流程图组件未加载"; return; }
    var def = await JG.api("definitions/" + encodeURIComponent(key), { quiet: true });
    if (viewer) viewer.destroy();
    el.innerHTML = "";
    viewer = new BpmnJS({ container: el });
    try { await viewer.importXML(def.xml); }
    catch (err) { el.innerHTML = ""; el.appendChild(h("div", { class: "empty" }, "该流程没有图形信息。"));
                  el.setAttribute("data-rendered", "none"); return; }
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry"), overlays = viewer.get("overlays");
    var max = Math.max.apply(null, items.map(function (i) { return i.median_hours || 0; }).concat([0.0001]));
    items.forEach(function (i) {
      if (!registry.get(i.element_id)) return;
      var level = Math.min(4, Math.floor(5 * (i.median_hours || 0) / max - 1e-9));
      level = Math.max(0, level);
      canvas.addMarker(i.element_id, "h-" + level);
      overlays.add(i.element_id, { position: { bottom: -4, left: 0 },
        html: '<div class="heat-badge heat-' + level + '" data-element="' + JG.esc(i.element_id) + '">中位 ' +
              hrs(i.median_hours) + "h · " + i.count + "次" + (i.rework ? " · 退回" + i.rework : "") + "</div>" });
    });
    canvas.zoom("fit-viewport", "auto");
    el.setAttribute("data-rendered", "true");
  }

  async function load() {
    var q = cond();
    exportLinks();
    try {
      var procs = await JG.api("analytics/processes", { query: q });
      document.getElementById("an-period").textContent = "统计期间 " + procs.from + " 至 " + procs.to;
      var select = document.getElementById("an-process");
      if (select.options.length === 1) {
        procs.items.forEach(function (p) { select.appendChild(h("option", { value: p.process_key }, p.name || p.process_key)); });
      }
      put("an-processes", statTable(procs.items, "流程", "process_key", function (p) {
        select.value = p.process_key; load(); }));
      var key = q.process_key;
      if (key) {
        var els = await JG.api("analytics/elements", { query: q });
        put("an-elements", statTable(els.items, "环节", "element_id"));
        heatMap(key, els.items);
      }
      var slow = await JG.api("analytics/ranking", { query: Object.assign({}, q, { dim: "district", district: "" }) });
      put("an-slow-districts", statTable(slow.items, "区", "key"));
      if (!districtsLoaded) {
        var ds = document.getElementById("an-district");
        slow.items.forEach(function (d) { ds.appendChild(h("option", { value: d.key }, d.key)); });
        districtsLoaded = true;
      }
      var rework = await JG.api("analytics/ranking", { query: Object.assign({}, q, { dim: "district", sort: "rework", district: "" }) });
      put("an-rework-districts", statTable(rework.items, "区", "key"));
      var ent = await JG.api("analytics/ranking", { query: Object.assign({}, q, { dim: "enterprise", district: "" }) });
      put("an-enterprises", statTable(ent.items.slice(0, 20), "企业", "key"));
      var insp = await JG.api("analytics/ranking", { query: Object.assign({}, q, { dim: "inspector", district: "" }) });
      put("an-inspectors", statTable(insp.items.slice(0, 20), "监督员", "key"));
      document.body.setAttribute("data-analytics", "loaded");
    } catch (err) { JG.refuse(document.getElementById("an-processes"), err); }
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  document.getElementById("an-process").addEventListener("change", load);
  load();
})();
