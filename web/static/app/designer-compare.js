/* 流程设计 · 版本比较: two versions side by side in navigated viewers (window.JGBpmnViewer)
 * and the list of elements added, removed and changed, computed here from the two XML files.
 * An element is compared by a canonical form of its own XML (namespace + local names, sorted
 * attributes, trimmed text), without the children that carry their own id (compared on their
 * own) and without incoming/outgoing (derived from the flows), so that the same model written
 * by another tool does not show as changed. Layout-only moves are counted apart.
 * Adds JGDesigner.diff(xmlA, xmlB) -> {added, removed, changed, moved} for the tests. */
(function () {
  "use strict";
  var h = JG.h;
  var D = window.JGDesigner;
  if (!D) return;
  var BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  var DI = "http://www.omg.org/spec/BPMN/20100524/DI";
  var DC = "http://www.omg.org/spec/DD/20100524/DC";
  var DERIVED = { incoming: true, outgoing: true };
  var card = document.getElementById("compare-card");
  var selA = document.getElementById("compare-a"), selB = document.getElementById("compare-b");
  var viewers = {};
  var EDITING = "editing";

  function canonical(node) {
    if (node.nodeType === 3 || node.nodeType === 4) return node.nodeValue.replace(/\s+/g, " ").trim();
    if (node.nodeType !== 1) return "";
    var attrs = Array.prototype.map.call(node.attributes, function (a) {
      return a.name.indexOf("xmlns") === 0 ? null : (a.namespaceURI || "") + ":" + a.localName + "=" + a.value;
    }).filter(Boolean).sort();
    var kids = Array.prototype.map.call(node.childNodes, function (c) {
      if (c.nodeType === 1 && c.namespaceURI === BPMN && (c.getAttribute("id") || DERIVED[c.localName])) return "";
      return canonical(c);
    }).filter(Boolean);
    return "<" + node.namespaceURI + ":" + node.localName + " " + attrs.join(" ") + ">" + kids.join("") + "</>";
  }

  function parse(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    var elements = {}, shapes = {};
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN, "*"), function (el) {
      var id = el.getAttribute("id");
      if (!id || el.localName === "definitions") return;
      elements[id] = { id: id, type: el.localName, name: el.getAttribute("name") || "", sig: canonical(el) };
    });
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(DI, "*"), function (el) {
      var ref = el.getAttribute("bpmnElement");
      if (!ref) return;
      var parts = [];
      Array.prototype.forEach.call(el.getElementsByTagNameNS(DC, "Bounds"), function (b) {
        parts.push(["x", "y", "width", "height"].map(function (k) { return Math.round(+b.getAttribute(k)); }).join(","));
      });
      Array.prototype.forEach.call(el.getElementsByTagNameNS("http://www.omg.org/spec/DD/20100524/DI", "waypoint"), function (w) {
        parts.push(Math.round(+w.getAttribute("x")) + "," + Math.round(+w.getAttribute("y")));
      });
      shapes[ref] = parts.join(";");
    });
    return { elements: elements, shapes: shapes };
  }

  function diff(xmlA, xmlB) {
    var a = parse(xmlA), b = parse(xmlB), out = { added: [], removed: [], changed: [], moved: [] };
    Object.keys(b.elements).forEach(function (id) {
      if (!a.elements[id]) out.added.push(b.elements[id]);
      else if (a.elements[id].sig !== b.elements[id].sig) {
        out.changed.push({ id: id, type: b.elements[id].type, name: b.elements[id].name,
                           before: a.elements[id].name, after: b.elements[id].name });
      } else if ((a.shapes[id] || "") !== (b.shapes[id] || "")) out.moved.push(b.elements[id]);
    });
    Object.keys(a.elements).forEach(function (id) { if (!b.elements[id]) out.removed.push(a.elements[id]); });
    return out;
  }

  function option(sel, value, text) { sel.appendChild(h("option", { value: value }, text)); }

  function fill() {
    selA.innerHTML = "";
    selB.innerHTML = "";
    var versions = D.state.versions.slice().sort(function (x, y) { return x - y; });
    versions.forEach(function (v) { option(selA, v, "版本 " + v); option(selB, v, "版本 " + v); });
    option(selB, EDITING, "编辑中的图");
    selB.value = D.state.dirty || !versions.length ? EDITING : String(versions[versions.length - 1]);
    var older = versions.filter(function (v) { return String(v) !== selB.value; });
    selA.value = String(older.length ? older[older.length - 1] : versions[0]);
  }

  async function source(value) {
    if (value === EDITING) return { xml: await D.xml(), title: "编辑中的图 (未部署)" };
    var d = await JG.api("definitions/" + encodeURIComponent(D.state.key), { query: { version: value } });
    return { xml: d.xml, title: "版本 " + d.version + " · " + JG.fmtTime(d.deployed_at) + " · " + (d.deployed_by || "") };
  }

  async function show(slot, src, marks) {
    var el = document.getElementById("diff-" + slot);
    document.getElementById("diff-" + slot + "-title").textContent = src.title;
    if (!viewers[slot]) viewers[slot] = new window.JGBpmnViewer({ container: el });
    await viewers[slot].importXML(src.xml);
    var canvas = viewers[slot].get("canvas"), registry = viewers[slot].get("elementRegistry");
    Object.keys(marks).forEach(function (cls) {
      marks[cls].forEach(function (e) { if (registry.get(e.id)) canvas.addMarker(e.id, cls); });
    });
    canvas.zoom("fit-viewport", "auto");
    el.setAttribute("data-rendered", "true");
  }

  function focus(id) {
    ["a", "b"].forEach(function (slot) {
      var v = viewers[slot], el = v && v.get("elementRegistry").get(id);
      if (el) { try { v.get("canvas").scrollToElement(el); } catch (e) { /* older diagram-js */ } }
    });
  }

  function item(e, text) {
    return h("li", { "data-element": e.id }, h("button", { type: "button", class: "btn btn-small btn-link",
      onclick: function () { focus(e.id); } }, e.id), " ", h("span", { class: "muted small" }, e.type), " ", text || e.name);
  }

  function list(result) {
    var el = document.getElementById("diff-list");
    el.innerHTML = "";
    var total = result.added.length + result.removed.length + result.changed.length;
    el.appendChild(h("p", { id: "diff-summary", "data-added": result.added.length, "data-removed": result.removed.length,
                            "data-changed": result.changed.length },
      total ? "新增 " + result.added.length + " 个, 删除 " + result.removed.length + " 个, 修改 " + result.changed.length + " 个元素"
            : "两个版本的流程元素相同", result.moved.length ? " (另有 " + result.moved.length + " 个元素仅位置变化)" : ""));
    [["新增", result.added, null], ["删除", result.removed, null],
     ["修改", result.changed, function (c) { return c.before !== c.after ? "名称: " + (c.before || "无") + " → " + (c.after || "无") : (c.name || "") + " (属性或内容有变化)"; }]
    ].forEach(function (group) {
      if (!group[1].length) return;
      el.appendChild(h("h3", {}, group[0] + " (" + group[1].length + ")"));
      el.appendChild(h("ul", { class: "problems", "data-group": group[0] }, group[1].map(function (e) {
        return item(e, group[2] ? group[2](e) : null);
      })));
    });
  }

  async function compare() {
    if (!D.state.key) { JG.toast("请先打开一个流程", "error"); return; }
    try {
      var a = await source(selA.value), b = await source(selB.value);
      var result = diff(a.xml, b.xml);
      await show("a", a, { "diff-removed": result.removed, "diff-changed": result.changed });
      await show("b", b, { "diff-added": result.added, "diff-changed": result.changed });
      list(result);
    } catch (err) {
      document.getElementById("diff-list").textContent = "比较失败: " + (err.message || err);
    }
  }

  document.getElementById("compare-open").addEventListener("click", function () {
    if (!D.state.key) { JG.toast("请先打开一个流程", "error"); return; }
    if (typeof window.JGBpmnViewer === "undefined") { JG.toast("查看器组件未加载", "error"); return; }
    fill();
    card.classList.remove("hidden");
    compare().then(function () { card.scrollIntoView({ block: "start" }); });
  });
  document.getElementById("compare-btn").addEventListener("click", compare);
  document.getElementById("compare-close").addEventListener("click", function () { card.classList.add("hidden"); });
  D.diff = diff;
})();
