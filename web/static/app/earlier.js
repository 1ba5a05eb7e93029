/* JG.earlierSteps(el, {taskId, events}): the steps done before this task on its instance,
 * read-only: each completed task's form fields by their labels, its files as links. What the
 * user may read is decided by the API (GET /api/v1/tasks/{id} passes the data through
 * processes/disclosure.py); a step the user may not read is left out. */
(function () {
  "use strict";
  var h = JG.h;

  function fields(components, out) {
    (components || []).forEach(function (c) {
      if (c.key && c.type !== "group" && c.type !== "dynamiclist") out.push(c);
      if (c.components) fields(c.components, out);
    });
    return out;
  }

  function optionLabel(c, v) {
    var hit = (c.values || []).filter(function (o) { return o.value === v; })[0];
    return hit ? hit.label : v;
  }

  function shown(c, v, names) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) return null;
    if (c.type === "filepicker") {
      return [].concat(v).map(function (id, i) {
        return [i ? "、" : "", h("a", { href: "/api/v1/attachments/" + encodeURIComponent(id),
                                        class: "file-link" }, names[id] || "附件")];
      }).reduce(function (a, b) { return a.concat(b); }, []);
    }
    if (c.type === "checkbox") return v ? "是" : "否";
    if (c.type === "checklist" || c.type === "taglist") {
      return [].concat(v).map(function (x) { return optionLabel(c, x); }).join("、");
    }
    if (c.type === "select" || c.type === "radio") return String(optionLabel(c, v));
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function stepCard(t, names) {
    var list = h("dl", { class: "kv" });
    fields(t.form && t.form.components, []).forEach(function (c) {
      var v = shown(c, (t.data || {})[c.key], names);
      if (v === null) return;
      list.appendChild(h("dt", {}, c.label || c.dateLabel || c.key));
      list.appendChild(h("dd", {}, v));
    });
    if (!list.children.length) list = h("p", { class: "muted small" }, "该步骤未填写内容。");
    return h("details", { class: "earlier-step", "data-task": t.id, open: true },
      h("summary", {}, h("b", {}, t.name || "步骤"), " ",
        h("span", { class: "muted small" }, [t.by ? t.by + " · " : "", JG.fmtTime(t.at)].join(""))),
      list);
  }

  async function earlierSteps(el, opts) {
    var seen = {}, done = [];
    (opts.events || []).forEach(function (e) {
      if (e.kind !== "task.completed" || !e.task_id || e.task_id === opts.taskId) return;
      if (!seen[e.task_id]) done.push(e);
      seen[e.task_id] = e;
    });
    el.innerHTML = "";
    if (!done.length) {
      el.appendChild(h("p", { class: "muted small" }, opts.taskId ? "这是本流程的第一个办理步骤。" : "尚无已办理的步骤。"));
      return;
    }
    var names = {};
    try {
      // the attachments of a task are those of its instance
      (await JG.api("tasks/" + encodeURIComponent(opts.taskId || done[0].task_id) + "/attachments", { quiet: true }))
        .forEach(function (a) { names[a.id] = a.file_name; });
    } catch (e) { /* links then say 附件 */ }
    var details = await Promise.all(done.map(function (e) {
      var get = JG.taskDetail ? JG.taskDetail(e.task_id)
                              : JG.api("tasks/" + encodeURIComponent(e.task_id), { quiet: true });
      return get.then(function (t) {
        return Object.assign({}, t, { at: seen[e.task_id].at,
                                      by: seen[e.task_id].actor_name || seen[e.task_id].actor });
      }, function () { return null; });
    }));
    details.filter(Boolean).forEach(function (t) { el.appendChild(stepCard(t, names)); });
    if (!el.children.length) el.appendChild(h("p", { class: "muted small" }, "无可查看的前序步骤。"));
  }

  JG.earlierSteps = earlierSteps;
})();
