/* 项目一页通: GET /api/v1/projects/{code}/overview; inspectors and admins set coordinates. */
(function () {
  "use strict";
  var JG = window.JG, esc = JG.esc;
  var root = document.getElementById("project-page");
  var code = root.getAttribute("data-code");
  var DEVICE = { dust: "扬尘监测", pit: "深基坑监测", crane: "塔吊黑匣子", video: "视频监控" };
  var CRANE = { planned: "计划进场", refused: "不予备案", in_service: "使用中", suspended: "暂停使用",
                dismantled: "已拆除" };
  var ONLINE = { online: "在线", offline: "离线", removed: "已拆除" };
  var DOC = { generated: "已出具", requested: "出具中", failed: "出具失败" };

  function table(el, head, rows, empty) {
    if (!rows.length) { el.innerHTML = '<p class="muted card-body">' + esc(empty) + "</p>"; return; }
    el.innerHTML = '<table class="table"><thead><tr>' + head.map(function (x) {
      return "<th>" + esc(x) + "</th>"; }).join("") + "</tr></thead><tbody>" +
      rows.map(function (r) { return "<tr>" + r.join("") + "</tr>"; }).join("") + "</tbody></table>";
  }
  function td(v) { return "<td>" + esc(v === null || v === undefined ? "" : v) + "</td>"; }

  function render(d) {
    var state = document.getElementById("proj-state");
    state.textContent = d.state_name;
    state.style.background = d.color;
    Object.keys(d.facts).forEach(function (k) {
      var b = document.querySelector('[data-fact="' + k + '"]');
      b.textContent = d.facts[k];
      b.classList.toggle("bad", d.facts[k] > 0 && (k === "alarms" || k === "overdue"));
    });
    document.querySelector('[data-fact="score"]').textContent = d.score_total;
    var p = d.project, parties = document.getElementById("parties");
    parties.innerHTML = '<dl class="kv">' + Object.keys(d.parties).map(function (k) {
      var x = d.parties[k];
      return "<dt>" + esc(x.label) + "</dt><dd>" + esc(x.name || x.code || "—") + "</dd>";
    }).join("") + "<dt>形象进度</dt><dd>" + esc(p.progress || "—") + "</dd>" +
      '<dt>坐标</dt><dd id="coords">' + (p.lng === null ? "未定位" : esc(p.lng + ", " + p.lat)) +
      "</dd></dl>";
    if (d.can_locate) {
      var form = JG.h("form", { "class": "locate-form", id: "locate-form" });
      form.innerHTML = '<div class="field" data-field="lng"><label for="lng">经度</label>' +
        '<input id="lng" name="lng" inputmode="decimal" value="' + esc(p.lng === null ? "" : p.lng) + '"></div>' +
        '<div class="field" data-field="lat"><label for="lat">纬度</label>' +
        '<input id="lat" name="lat" inputmode="decimal" value="' + esc(p.lat === null ? "" : p.lat) + '"></div>' +
        '<button type="submit" class="btn btn-small btn-primary">保存坐标</button>';
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        function num(id) { var v = document.getElementById(id).value.trim(); return v === "" ? null : Number(v); }
        JG.api("projects/" + encodeURIComponent(code) + "/location",
               { method: "PUT", body: { lng: num("lng"), lat: num("lat") }, form: form })
          .then(function () { JG.toast("坐标已保存", "ok"); load(); }).catch(function () {});
      });
      parties.appendChild(form);
    }
    table(document.getElementById("instances"), ["流程", "状态", "当前步骤", "发起时间"],
      d.instances.map(function (i) {
        var steps = i.open_tasks.map(function (t) {
          return esc(t.name) + (t.overdue ? ' <span class="badge danger">逾期</span>' : "");
        }).join("、");
        return ['<td><a href="/instances/' + esc(i.id) + '">' + esc(i.process_name) + "</a></td>",
                td(JG.labels.states[i.state] || i.state), "<td>" + (steps || "—") + "</td>",
                td(JG.fmtTime(i.started_at))];
      }), "暂无流程实例");
    table(document.getElementById("documents"), ["文号", "名称", "状态", "时间"],
      d.documents.map(function (x) {
        return ['<td><a href="/api/v1/documents/' + esc(x.id) + '">' + esc(x.number) + "</a></td>",
                td(x.title), td(DOC[x.status] || x.status), td(JG.fmtTime(x.created_at))];
      }), "暂无文书");
    table(document.getElementById("devices"), ["编号", "类型", "名称", "状态"],
      d.devices.map(function (x) {
        return [td(x.id), td(DEVICE[x.device_type] || x.device_type), td(x.name), td(ONLINE[x.state] || x.state)];
      }).concat(d.cranes.map(function (c) {
        return [td(c.id), td("塔吊"), td(c.model), td(CRANE[c.state] || c.state)];
      })), "暂无设备");
    table(document.getElementById("alarms"), ["时间", "设备", "类型", "级别", "监测值"],
      d.alarms.map(function (a) {
        return [td(JG.fmtTime(a.received_at)), td(a.device_id), td(a.type), td(a.level), td(a.value)];
      }), "暂无告警");
    table(document.getElementById("scores"), ["企业", "记分", "次数"],
      d.scores.map(function (s) {
        return [td(s.enterprise_name || s.enterprise_code), td(s.points), td(s.events)];
      }), "暂无记分");
  }

  function load() {
    JG.api("projects/" + encodeURIComponent(code) + "/overview").then(render).catch(function (err) {
      JG.refuse(document.querySelector(".proj-grid"), err);
    });
  }
  load();
})();
