/* The header's notifications (GET /api/v1/notifications, polled) and the labels of the task
 * platform's history events (additive to JG.labels.kinds). */
(function () {
  "use strict";
  if (!window.JG) return;
  Object.assign(JG.labels.kinds, { "task.assigned": "指派任务", "task.delegated": "委托办理",
                                   "comment.added": "评论" });
  var bell = document.getElementById("jg-bell");
  if (!bell || !JG.user) return;
  var h = JG.h, badge = document.getElementById("jg-unread");
  var box = document.getElementById("jg-notify-list"), items = document.getElementById("jg-notify-items");
  var POLL_MS = 30000;

  function render(r) {
    badge.hidden = !r.unread;
    badge.textContent = r.unread;
    bell.setAttribute("aria-label", "通知, " + r.unread + " 条未读");
    items.innerHTML = "";
    if (!r.items.length) items.appendChild(h("li", { class: "muted" }, "暂无通知"));
    r.items.forEach(function (n) {
      var text = h("span", {}, h("span", { class: "badge " + (n.kind === "alarm" ? "danger" : "info") }, n.kind_name), " ", n.title);
      items.appendChild(h("li", { class: n.read ? "read" : "unread", "data-notification": n.id },
        n.link ? h("a", { href: n.link, onclick: function () { markRead([n.id]); } }, text) : text,
        h("div", { class: "muted small" }, JG.fmtTime(n.created_at))));
    });
  }

  async function load() {
    try { render(await JG.api("notifications", { query: { limit: 20 }, quiet: true })); }
    catch (e) { /* the header stays as it was */ }
  }

  async function markRead(ids) {
    try { render(await JG.api("notifications/read", { method: "POST", body: ids ? { ids: ids } : {}, quiet: true })); }
    catch (e) { /* next poll */ }
  }

  bell.addEventListener("click", function () {
    box.hidden = !box.hidden;
    bell.setAttribute("aria-expanded", String(!box.hidden));
    if (!box.hidden) load();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !box.hidden) { box.hidden = true; bell.setAttribute("aria-expanded", "false"); bell.focus(); }
  });
  document.getElementById("jg-read-all").addEventListener("click", function () { markRead(null); });
  load();
  setInterval(function () { if (!document.hidden) load(); }, POLL_MS);
})();
