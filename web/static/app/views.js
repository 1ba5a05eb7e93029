/* Shared views of an instance (task and instance pages; reusable by others):
 *   JG.diagram(el, instance, {current}) -> Promise of the bpmn-js NavigatedViewer: the
 *     instance's definition version with done (jg-done), current (jg-current) and waiting
 *     (jg-wait) elements marked. Needs /static/vendor/bpmn-js/bpmn-navigated-viewer... loaded.
 *   JG.renderHistory(el, events) draws the audit events as a timeline (oldest first).
 *   JG.describeEvent(event) -> short Chinese text of an audit event.
 */
(function () {
  "use strict";
  var h = JG.h;

  function markFlows(registry, canvas, done) {
    // A sequence flow was taken when both its ends ran (or its target is where it waits now).
    registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
      var s = flow.businessObject.sourceRef, t = flow.businessObject.targetRef;
      if (s && t && done[s.id] && done[t.id]) canvas.addMarker(flow.id, "jg-done");
    });
  }

  async function diagram(el, inst, opts) {
    opts = opts || {};
    if (typeof BpmnJS === "undefined") {
      el.innerHTML = "";
      el.appendChild(h("div", { class: "empty" }, "流程图组件未加载 (请运行 make assets)。"));
      return null;
    }
    var def = await JG.api("definitions/" + encodeURIComponent(inst.process_key),
                           { query: { version: inst.version }, quiet: true });
    el.innerHTML = "";
    var viewer = new BpmnJS({ container: el });
    await viewer.importXML(def.xml);
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
    registry.forEach(function (e) {       // history and waiting rows name steps by these
      var bo = e.businessObject;
      if (bo && bo.id && bo.name) elementNames[bo.id] = bo.name;
    });
    if (JG._historyRedraw) JG._historyRedraw();
    var done = {}, current = {}, waiting = {};
    (inst.completed_elements || []).forEach(function (id) { done[id] = true; });
    (inst.tasks || []).forEach(function (t) {
      (opts.current && opts.current !== t.element_id ? waiting : current)[t.element_id] = true;
    });
    if (opts.current) current[opts.current] = true;
    (inst.waiting || []).forEach(function (w) { if (w.element_id) waiting[w.element_id] = true; });
    function mark(ids, cls) {
      Object.keys(ids).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, cls); });
    }
    markFlows(registry, canvas, Object.assign({}, done, waiting, current));
    // a step that runs again (a loop back) shows where it is now, not that it once ran
    Object.keys(current).concat(Object.keys(waiting)).forEach(function (id) { delete done[id]; });
    mark(done, "jg-done");
    mark(waiting, "jg-wait");
    mark(current, "jg-current");
    canvas.zoom("fit-viewport", "auto");
    el.setAttribute("data-rendered", "true");
    return viewer;
  }

  var elementNames = {}, fieldLabels = {}, taskCache = {};

  // One request per task however many views ask (history, earlier steps).
  function taskDetail(taskId) {
    if (!taskCache[taskId]) {
      taskCache[taskId] = JG.api("tasks/" + encodeURIComponent(taskId), { quiet: true });
    }
    return taskCache[taskId];
  }

  function elementName(id, fallback) {
    return elementNames[id] || fallback || (id ? "步骤" : "");
  }

  // 消息 names as people say them; the code stays for admins in the instance's data
  var MESSAGES = { rectification_alarm: "设备告警", crane_alarm: "塔吊告警" };
  function messageName(name) { return MESSAGES[name] || name; }

  function labelsOf(form, out) {
    (form && form.components || []).forEach(function (c) {
      if (c.key) out[c.key] = c.label || c.dateLabel || c.key;
      if (c.components) labelsOf(c, out);
    });
    return out;
  }

  function fieldLabel(taskId, key) {
    var labels = fieldLabels[taskId];
    return labels && labels[key] ? labels[key] : null;
  }

  function short(v) {
    if (v === null || v === undefined) return "空";
    if (Array.isArray(v)) return v.length + " 项";
    if (typeof v === "object") return "…";
    var s = String(v);
    return s.length > 40 ? s.slice(0, 40) + "…" : s;
  }

  function describeEvent(e) {
    var d = e.details || {};
    switch (e.kind) {
      case "task.completed": {
        // field labels once the task's form is known; keys that are no field (ids) are left out
        var changed = Object.keys(d.changed || {}).filter(function (k) {
          return fieldLabel(e.task_id, k) !== null; });
        return "办理「" + (d.name || elementName(d.element_id)) + "」" +
          (changed.length ? ": " + changed.slice(0, 4).map(function (k) {
            return fieldLabel(e.task_id, k) + " = " + short(d.changed[k].to); }).join(", ") +
            (changed.length > 4 ? " 等" : "") : "");
      }
      case "task.claimed": case "task.unclaimed":
        return (JG.labels.kinds[e.kind]) + " 「" + (d.name || elementName(d.element_id)) + "」";
      case "instance.started": return "启动流程 " + JG.processName(d.process_key || "");
      case "instance.cancelled": return "撤销: " + (d.reason || "");
      case "attachment.uploaded": return "上传附件 " + (d.file_name || d.name || "");
      case "document.generated": return "出具文书 " + (d.number || "");
      case "incident.opened": return "故障: " + (d.message || "");
      case "message.correlated": return "收到消息 " + messageName(d.name || "");
      case "timer.fired": return "定时触发「" + elementName(d.element_id, "定时") + "」";
      default: return JG.labels.kinds[e.kind] || e.kind;
    }
  }

  function renderHistory(el, events) {
    draw(el, events);
    JG._historyRedraw = function () { draw(el, events); };
    // the forms of completed tasks give the labels of their fields
    var ids = {};
    (events || []).forEach(function (e) {
      if (e.kind === "task.completed" && e.task_id && !fieldLabels[e.task_id]) ids[e.task_id] = true;
    });
    var pending = Object.keys(ids).map(function (id) {
      return taskDetail(id).then(function (t) { fieldLabels[id] = labelsOf(t.form, {}); },
                                 function () { fieldLabels[id] = {}; });
    });
    if (pending.length) Promise.all(pending).then(function () { draw(el, events); });
  }

  function draw(el, events) {
    el.innerHTML = "";
    if (!events || !events.length) {
      el.appendChild(h("div", { class: "empty" }, "暂无历史记录。"));
      return;
    }
    el.appendChild(h("ol", { class: "timeline", id: "history-list" }, events.map(function (e) {
      return h("li", { "data-kind": e.kind, "data-seq": e.seq },
        h("div", { class: "when" }, JG.fmtTime(e.at), " · ", e.actor_name || e.actor || "系统",
          " · ", h("span", { class: "badge info" }, JG.labels.kinds[e.kind] || e.kind)),
        h("div", { class: "details" }, describeEvent(e)),
        h("div", { class: "muted small", title: "本条哈希 " + e.hash }, "#" + e.seq + " " + String(e.hash || "").slice(0, 12)));
    })));
  }

  JG.diagram = diagram;
  JG.taskDetail = taskDetail;
  JG.elementName = elementName;
  JG.messageName = messageName;
  JG.renderHistory = renderHistory;
  JG.describeEvent = describeEvent;
})();
