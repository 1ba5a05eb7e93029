/* 数据导入: template, check (dry run), column mapping, import, report (POST /api/v1/imports). */
(function () {
  "use strict";
  var JG = window.JG, esc = JG.esc;
  var form = document.getElementById("import-form");
  var kindSel = document.getElementById("i-kind");
  var runBtn = document.getElementById("run-btn");
  var kinds = {}, outcomes = {}, mapping = null, checkedFile = null;
  var STATUS = { done: "已导入", rejected: "存在错误, 未导入", checked: "仅校验, 未导入" };

  function templateLink() {
    document.getElementById("template-link").href =
      "/api/v1/imports/template?kind=" + encodeURIComponent(kindSel.value);
  }

  function reset() { mapping = null; runBtn.disabled = true;
    document.getElementById("mapping-card").classList.add("hidden"); }

  function renderMapping(result) {
    var fields = kinds[result.kind].fields;
    mapping = result.mapping;
    var rows = result.headers.filter(function (h) { return h; }).map(function (h) {
      var options = '<option value="">(不导入)</option>' + fields.map(function (f) {
        return '<option value="' + esc(f.name) + '"' + (mapping[h] === f.name ? " selected" : "") +
          ">" + esc(f.label) + (f.required ? " *" : "") + "</option>";
      }).join("");
      return "<tr><td>" + esc(h) + '</td><td><select data-header="' + esc(h) +
        '" aria-label="' + esc(h) + ' 对应字段">' + options + "</select></td></tr>";
    });
    var box = document.getElementById("mapping");
    box.innerHTML = '<table class="table mapping-table"><thead><tr><th>文件中的列</th><th>对应字段</th></tr></thead><tbody>' +
      rows.join("") + "</tbody></table>";
    box.querySelectorAll("select").forEach(function (s) {
      s.addEventListener("change", function () {
        mapping[s.getAttribute("data-header")] = s.value || null;
        runBtn.disabled = true;
      });
    });
    document.getElementById("mapping-card").classList.remove("hidden");
  }

  function renderResult(result) {
    document.getElementById("result-card").classList.remove("hidden");
    document.getElementById("result-title").textContent = (result.status === "checked" ? "校验结果" : "导入结果") +
      ": " + STATUS[result.status];
    document.getElementById("report-link").href = "/api/v1/imports/report?job=" + encodeURIComponent(result.id);
    document.getElementById("result-counts").innerHTML = [["总行数", result.total], ["新增", result.created],
      ["更新", result.updated], ["未变化", result.unchanged], ["错误", result.failed]].map(function (c) {
      return '<div class="count"><span class="muted">' + c[0] + '</span><b data-count="' + c[0] + '"' +
        (c[0] === "错误" && c[1] ? ' class="bad"' : "") + ">" + c[1] + "</b></div>";
    }).join("");
    var errors = document.getElementById("result-errors");
    errors.innerHTML = result.errors.length ? '<table class="table"><thead><tr><th>行号</th><th>编号</th><th>错误说明</th></tr></thead><tbody>' +
      result.errors.slice(0, 500).map(function (e) {
        return "<tr><td>" + esc(e.row) + "</td><td>" + esc(e.key || "") + "</td><td>" + esc(e.messages.join("; ")) + "</td></tr>";
      }).join("") + "</tbody></table>" : '<p class="muted">没有错误行。</p>';
  }

  function send(dryRun) {
    var file = document.getElementById("i-file").files[0];
    if (!file) { JG.toast("请选择文件", "error"); return Promise.resolve(); }
    var body = new FormData();
    body.append("kind", kindSel.value);
    body.append("file", file);
    body.append("mode", document.getElementById("i-mode").value);
    if (dryRun) body.append("dry_run", "true");
    if (mapping) body.append("mapping", JSON.stringify(mapping));
    return JG.api("imports", { method: "POST", body: body, form: form }).then(function (result) {
      renderMapping(result);
      renderResult(result);
      runBtn.disabled = !dryRun;
      if (!dryRun) { JG.toast(STATUS[result.status], result.status === "done" ? "ok" : "error"); loadJobs(); }
      else loadJobs();
    }).catch(function () {});
  }

  function loadJobs() {
    JG.api("imports", { query: { page_size: 20 } }).then(function (jobs) {
      var el = document.getElementById("jobs");
      if (!jobs.length) { el.innerHTML = '<p class="muted card-body">暂无导入记录</p>'; return; }
      el.innerHTML = '<table class="table"><thead><tr><th>时间</th><th>类型</th><th>文件</th><th>结果</th><th>新增/更新/未变化/错误</th><th>报告</th></tr></thead><tbody>' +
        jobs.map(function (j) {
          return "<tr><td>" + esc(JG.fmtTime(j.created_at)) + "</td><td>" + esc((kinds[j.kind] || {}).label || j.kind) +
            "</td><td>" + esc(j.filename) + "</td><td>" + esc(STATUS[j.status] || j.status) + "</td><td>" +
            [j.created, j.updated, j.unchanged, j.failed].join(" / ") + '</td><td><a href="/api/v1/imports/report?job=' +
            encodeURIComponent(j.id) + '">Excel</a></td></tr>';
        }).join("") + "</tbody></table>";
    }).catch(function () {});
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); send(true); });
  runBtn.addEventListener("click", function () { send(false); });
  kindSel.addEventListener("change", function () { templateLink(); reset(); });
  document.getElementById("i-file").addEventListener("change", reset);
  templateLink();
  JG.api("imports/kinds").then(function (data) {
    data.kinds.forEach(function (k) { kinds[k.name] = k; });
    outcomes = data.outcomes;
    loadJobs();
  });
})();
