/* Comments on a task or an instance (POST/GET /api/v1/{tasks|instances}/{id}/comments) and,
 * on a task page, assign/delegate to a colleague (POST /api/v1/tasks/{id}/assign|delegate). */
(function () {
  "use strict";
  var panel = document.getElementById("comments-panel");
  if (!panel || !window.JG) return;
  var h = JG.h, taskId = panel.dataset.task, instanceId = panel.dataset.instance;
  var base = taskId ? "tasks/" + encodeURIComponent(taskId) : "instances/" + encodeURIComponent(instanceId);
  var list = document.getElementById("comments-list");
  var form = document.getElementById("comment-form");

  async function load() {
    try {
      var items = await JG.api(base + "/comments", { quiet: true });
      list.innerHTML = "";
      if (!items.length) list.appendChild(h("li", { class: "muted" }, "暂无评论"));
      items.forEach(function (c) {
        list.appendChild(h("li", { "data-comment": c.id },
          h("b", {}, c.author_name), " ", h("span", { class: "muted small" }, JG.fmtTime(c.created_at)),
          h("p", {}, c.body)));
      });
      document.getElementById("comments-count").textContent = items.length ? items.length + " 条" : "";
    } catch (e) {
      list.innerHTML = "";
      list.appendChild(h("li", { class: "muted" }, e.message));
    }
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var text = form.elements.body.value;
    if (!text.trim()) { JG.toast("请填写评论内容", "error"); form.elements.body.focus(); return; }
    try {
      await JG.api(base + "/comments", { method: "POST", body: { body: text }, form: form });
      form.reset();
      JG.toast("评论已发表", "ok");
      load();
    } catch (e) { /* toast shown by JG.api */ }
  });

  async function handover() {
    var box = document.getElementById("handover");
    if (!box || !taskId) return;
    var people;
    try { people = await JG.api(base + "/colleagues", { quiet: true }); } catch (e) { return; }
    if (!people.length) return;
    var sel = box.elements.to;
    people.forEach(function (p) {
      sel.appendChild(h("option", { value: p.username, "data-name": p.display_name }, p.display_name));
    });
    box.hidden = false;
    box.querySelectorAll("button[data-mode]").forEach(function (b) {
      b.addEventListener("click", async function () {
        if (!sel.value) { JG.toast("请选择同事", "error"); sel.focus(); return; }
        var mode = b.dataset.mode;
        try {
          var t = await JG.api(base + "/" + mode, { method: "POST",
            body: { to: sel.value, note: box.elements.note.value || undefined } });
          var who = sel.options[sel.selectedIndex].dataset.name || t.assignee;
          JG.toast((mode === "delegate" ? "已委托 " : "已指派给 ") + who, "ok");
          setTimeout(function () { location.reload(); }, 600);
        } catch (e) { /* toast shown */ }
      });
    });
  }

  load();
  handover();
})();
