/* 设备告警: GET /api/v1/alarms polled every 5 s (newest first, each with what it did),
 * GET /api/v1/dead-letters (refused payloads and why) and GET /api/v1/devices (last seen and
 * state), every 30 s. An endpoint that answers 404 (not deployed yet) shows an empty state;
 * a 403 says the role may not see it. */
(function () {
  "use strict";
  var h = JG.h;
  var ALARM_MS = 5000, SLOW_MS = 30000, OFFLINE_AFTER_MS = 24 * 3600 * 1000;
  var TYPES = { dust: "扬尘监测", pit: "深基坑监测", crane: "塔吊黑匣子", video: "视频监控" };
  var STATES = { online: "在线", offline: "离线", removed: "已拆除" };
  var SOURCES = { mqtt: "MQTT", http: "HTTP", threshold: "阈值判定", silence: "离线判定" };
  var EFFECTS = { started: "已发起整改", correlated: "已送达运行中的流程",
                  merged: "并入正在进行的整改", recorded: "仅记录", none: "无动作" };
  var paused = false, seen = null, busy = {};
  var filters = document.getElementById("alarm-filters");

  function badge(text, kind) { return h("span", { class: "badge " + kind }, text); }

  function table(head, rows, cls) {
    return h("table", { class: "table " + (cls || "") },
      h("thead", {}, h("tr", {}, head.map(function (t) { return h("th", {}, t); }))),
      h("tbody", {}, rows));
  }

  function unavailable(el, err, what) {
    el.innerHTML = "";
    var text = err.status === 404 ? what + "接口尚未启用, 暂无数据。"
             : err.status === 403 ? "您的角色无权查看" + what + "。"
             : "加载失败: " + err.message;
    el.appendChild(h("div", { class: "empty", "data-status": err.status }, text));
  }

  function instanceLinks(ids) {
    // a flat list of nodes: JG.h takes one level of arrays, not arrays of arrays
    var out = [];
    (ids || []).forEach(function (id, i) {
      if (i) out.push(" ");
      out.push(h("a", { href: "/instances/" + encodeURIComponent(id), class: "small" },
                  "实例 " + String(id).slice(0, 8)));
    });
    return out;
  }

  // alarm types as processes/rectify.py METRICS names them (the code stays in the title)
  var METRICS = { pm10: "PM10", pm25: "PM2.5", noise: "噪声", displacement: "水平位移",
                  settlement: "竖向沉降", rate: "变形速率", load_pct: "起重量", moment_pct: "力矩",
                  wind_speed: "风速", tilt: "塔身倾角", offline: "设备离线" };

  function levelKind(level) {
    return level === "danger" ? "danger" : level === "alarm" ? "danger" : "warn";
  }

  function num(v) { return v === null || v === undefined ? "—" : v; }

  function renderAlarms(items, total) {
    var el = document.getElementById("alarm-list");
    document.getElementById("alarm-total").textContent = "共 " + total + " 条";
    el.innerHTML = "";
    if (!items.length) {
      el.appendChild(h("div", { class: "empty" }, "暂无告警。设备报警后会在此实时显示。"));
      seen = seen || {};
      return;
    }
    var first = seen === null;
    var now = {};
    var rows = items.map(function (a) {
      now[a.id] = true;
      return h("tr", { "data-alarm": a.id, class: !first && !seen[a.id] ? "fresh" : "" },
        h("td", { class: "nowrap" }, JG.fmtTime(a.received_at),
          a.at && a.at !== a.received_at ? h("div", { class: "muted small" }, "设备时间 " + JG.fmtTime(a.at)) : null),
        h("td", { class: "nowrap" }, a.project_code),
        h("td", {}, a.device_id, h("div", { class: "muted small" }, TYPES[a.device_type] || a.device_type)),
        h("td", { title: a.type }, METRICS[a.type] || a.type),
        h("td", {}, badge(a.level_name || a.level, levelKind(a.level))),
        h("td", { class: "nowrap" }, num(a.value) + " / " + num(a.threshold)),
        h("td", {}, SOURCES[a.source] || a.source),
        h("td", { class: "effect" }, h("b", {}, EFFECTS[a.effect] || a.effect || "—"),
          a.note ? h("div", { class: "muted small" }, a.note) : null,
          h("div", {}, instanceLinks(a.instances))));
    });
    el.appendChild(table(["接收时间", "项目", "设备", "类型", "级别", "数值 / 阈值", "来源", "处置结果"],
                         rows, "alarm-table"));
    seen = Object.assign(seen || {}, now);
  }

  async function loadAlarms() {
    if (busy.alarms) return;
    busy.alarms = true;
    var query = { page_size: 50 };
    ["project_code", "device_type"].forEach(function (n) {
      var v = filters.elements[n].value.trim();
      if (v) query[n] = v;
    });
    try {
      var res = await JG.apiPage("alarms", { query: query, quiet: true });
      renderAlarms(res.items, res.pagination.total || res.items.length);
    } catch (err) {
      unavailable(document.getElementById("alarm-list"), err, "告警");
    } finally {
      busy.alarms = false;
    }
  }

  // A listing below the live alarms: one page of `path`, its total in #`total`, the rows or `empty`.
  async function loadListing(o) {
    var el = document.getElementById(o.list);
    try {
      var res = await JG.apiPage(o.path, { query: { page_size: o.pageSize }, quiet: true });
      document.getElementById(o.total).textContent = "共 " + (res.pagination.total || res.items.length) + " " + o.unit;
      el.innerHTML = "";
      if (!res.items.length) { el.appendChild(h("div", { class: "empty" }, o.empty)); return; }
      o.show(el, res.items);
    } catch (err) {
      unavailable(el, err, o.what);
    }
  }

  function loadDeadLetters() {
    return loadListing({ path: "dead-letters", pageSize: 50, list: "dead-list", total: "dead-total", unit: "条",
                         empty: "没有被拒收的消息。", what: "死信", show: showDeadLetters });
  }

  function showDeadLetters(el, items) {
    el.appendChild(table(["接收时间", "来源", "主题", "原因", "内容"], items.map(function (d) {
      var errors = d.errors && Object.keys(d.errors).length ? JSON.stringify(d.errors, null, 1) : "";
      var payload = h("details", {}, h("summary", {}, (d.size || 0) + " 字节"), h("pre", {}, d.payload || ""));
      return h("tr", { "data-dead": d.id },
        h("td", { class: "nowrap" }, JG.fmtTime(d.received_at)),
        h("td", {}, SOURCES[d.source] || d.source),
        h("td", { class: "small" }, d.topic || "—"),
        h("td", {}, h("b", {}, d.reason), errors ? h("pre", {}, errors) : null),
        h("td", {}, payload));
    }), "dead-table"));
  }

  function ago(iso) {
    if (!iso) return "从未上报";
    var mins = Math.round((Date.now() - new Date(iso).getTime()) / 60000);
    if (mins < 1) return "刚刚";
    if (mins < 60) return mins + " 分钟前";
    if (mins < 48 * 60) return Math.round(mins / 60) + " 小时前";
    return Math.round(mins / 1440) + " 天前";
  }

  function readings(latest) {
    var keys = Object.keys(latest || {}).filter(function (k) { return k !== "at"; }).slice(0, 4);
    return keys.map(function (k) { return k + "=" + JSON.stringify(latest[k]); }).join(", ");
  }

  function loadDevices() {
    return loadListing({ path: "devices", pageSize: 100, list: "device-list", total: "device-total", unit: "台",
                         empty: "暂无设备。", what: "设备", show: showDevices });
  }

  function showDevices(el, items) {
    var codes = {};
    el.appendChild(table(["设备", "类型", "项目", "状态", "最后上报", "最新读数"], items.map(function (d) {
      codes[d.project_code] = true;
      var stale = !d.last_seen_at || Date.now() - new Date(d.last_seen_at).getTime() > OFFLINE_AFTER_MS;
      var state = d.state === "online" && stale ? badge("超时未上报", "danger")
                : badge(STATES[d.state] || d.state, d.state === "online" ? "ok" : d.state === "removed" ? "muted" : "danger");
      return h("tr", { "data-device": d.id, "data-state": d.state },
        h("td", {}, d.name, h("div", { class: "muted small" }, d.id)),
        h("td", {}, TYPES[d.device_type] || d.device_type),
        h("td", { class: "nowrap" }, d.project_code),
        h("td", {}, state),
        h("td", { class: "nowrap", title: d.last_seen_at || "" }, ago(d.last_seen_at)),
        h("td", { class: "small" }, readings(d.latest)));
    })));
    var dl = document.getElementById("alarm-projects");
    if (!dl.children.length) Object.keys(codes).sort().forEach(function (c) { dl.appendChild(h("option", { value: c })); });
  }

  document.getElementById("pause").addEventListener("click", function () {
    paused = !paused;
    this.textContent = paused ? "继续" : "暂停";
    this.setAttribute("aria-pressed", paused ? "true" : "false");
    document.getElementById("live-dot").classList.toggle("paused", paused);
    document.getElementById("live-state").textContent = paused ? "已暂停" : "实时更新 (每 5 秒)";
    if (!paused) loadAlarms();
  });
  filters.addEventListener("submit", function (ev) { ev.preventDefault(); seen = null; loadAlarms(); });
  setInterval(function () { if (!paused && !document.hidden) loadAlarms(); }, ALARM_MS);
  setInterval(function () { if (!paused && !document.hidden) { loadDeadLetters(); loadDevices(); } }, SLOW_MS);
  loadAlarms();
  loadDeadLetters();
  loadDevices();
})();
