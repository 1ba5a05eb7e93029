/* Task page keyboard use: Ctrl+Enter (⌘+Enter) submits, Alt+C claims, Alt+R releases; the
 * hint is shown under the buttons. Focus outlines are app.css's :focus-visible. */
(function () {
  "use strict";
  var page = document.getElementById("task-page");
  if (!page) return;

  function press(id) {
    var b = document.getElementById(id);
    if (!b || b.disabled || b.offsetParent === null) return false;
    b.focus();
    b.click();
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      var comment = ev.target.closest && ev.target.closest("#comment-form");
      if (comment) { ev.preventDefault(); comment.requestSubmit(); return; }
      if (press("btn-complete")) ev.preventDefault();
    } else if (ev.altKey && !ev.ctrlKey && (ev.code === "KeyC" || ev.code === "KeyR")) {
      if (press(ev.code === "KeyC" ? "btn-claim" : "btn-unclaim")) ev.preventDefault();
    }
  });

  var hint = document.createElement("p");
  hint.className = "muted small";
  hint.id = "keyboard-hint";
  hint.textContent = "快捷键: Ctrl+Enter 提交办理, Alt+C 认领, Alt+R 释放";
  var card = document.getElementById("form-card");
  if (card) card.appendChild(hint);
})();
