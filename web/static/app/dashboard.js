/* 监管驾驶舱: GET /api/v1/dashboard drawn as ECharts charts (window.echarts), each with its
 * list one click away (the card's "列表" button, or a click on the chart). Refreshed every
 * 30 s by fetch, without reloading the page; paused while the tab is hidden. */
(function () {
  "use strict";
  var h = JG.h;
  var REFRESH_MS = 30000;
  var COLORS = { primary: "#2a6fa8", danger: "#c0392b", warn: "#d48806", ok: "#1e7d45",
                 muted: "#9aa7b4" };
  var DEVICE_TYPES = { dust: "扬尘监测", pit: "深基坑监测", crane: "塔吊黑匣子", video: "视频监控" };
  var DEVICE_STATES = { online: "超时未上报", offline: "离线", fault: "故障", ended: "已停用",
                        removed: "已拆除" };
  var charts = {};
  var loading = false;
  var district = new URLSearchParams(location.search).get("district") || "";
  var select = document.getElementById("district");

  function chart(key) {
    if (!charts[key]) {
      var el = document.querySelector('[data-chart="' + key + '"]');
      charts[key] = echarts.init(el, null, { renderer: "canvas" });
      charts[key].on("click", function () { showList(key, true); });
    }
    return charts[key];
  }

  function empty(text) {
    return { title: { text: text || "暂无数据", left: "center", top: "middle",
                      textStyle: { color: COLORS.muted, fontSize: 14, fontWeight: "normal" } },
             xAxis: { show: false }, yAxis: { show: false }, series: [] };
  }

  function bars(categories, series, opts) {
    opts = opts || {};
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 12, bottom: 8, top: 34, containLabel: true },
      xAxis: { type: "category", data: categories,
               axisLabel: { interval: 0, rotate: categories.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: series.map(function (s) {
        return Object.assign({ type: "bar", barMaxWidth: 36, emphasis: { focus: "series" } },
                             opts.stack ? { stack: "all" } : {}, s);
      })
    };
  }

  function draw(key, option) {
    var c = chart(key);
    c.setOption(option, true);
    c.getDom().setAttribute("data-rendered", "true");
  }

  function unique(values) {
    var seen = {}, out = [];
    values.forEach(function (v) { if (!seen[v]) { seen[v] = true; out.push(v); } });
    return out;
  }

  // --- charts ------------------------------------------------------------------------------
  function drawProjects(p) {
    var rows = p.by_district_status;
    if (!rows.length) return draw("projects", empty());
    var districts = unique(rows.map(function (r) { return r.district; }));
    var statuses = unique(rows.map(function (r) { return r.status; }));
    draw("projects", bars(districts, statuses.map(function (s) {
      return { name: s, data: districts.map(function (d) {
        var hit = rows.filter(function (r) { return r.district === d && r.status === s; })[0];
        return hit ? hit.count : 0;
      }) };
    }), { stack: true }));
  }

  // A bar chart of `rows` (or the empty text): categories label(row); series [name, value(row), color].
  function drawBars(key, rows, emptyText, label, series, opts) {
    if (!rows.length) return draw(key, empty(emptyText));
    draw(key, bars(rows.map(label), series.map(function (s) {
      return { name: s[0], data: rows.map(s[1]), itemStyle: { color: s[2] } };
    }), opts));
  }

  function drawRectifications(r) {
    drawBars("rectifications", r.by_district, "暂无在办整改", function (d) { return d.district; }, [
      ["在办", function (d) { return d.open; }, COLORS.primary],
      ["逾期", function (d) { return d.overdue; }, COLORS.danger]]);
  }

  function drawAlarms(a) {
    if (!a.available) return draw("alarms", empty("告警数据暂不可用"));
    drawBars("alarms", a.by_type, "近 7 天无告警", function (t) { return t.type; }, [
      ["近24小时", function (t) { return t.day; }, COLORS.danger],
      ["近7天", function (t) { return t.week; }, COLORS.warn]]);
  }

  function drawCranes(c) {
    if (!c.by_state.length) return draw("cranes", empty("暂无塔吊"));
    draw("cranes", {
      tooltip: { trigger: "item", formatter: "{b}: {c} 台 ({d}%)" },
      legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
                 label: { formatter: "{b}\n{c} 台" },
                 data: c.by_state.map(function (s) { return { name: s.label, value: s.count }; }) }]
    });
  }

  function drawDevices(d) {
    drawBars("devices", d.by_type, "暂无设备", function (t) { return t.label; }, [
      ["在线", function (t) { return t.total - t.offline; }, COLORS.ok],
      ["离线", function (t) { return t.offline; }, COLORS.danger]], { stack: true });
  }

  function drawDuties(d) {
    var rows = d.by_inspector;
    drawBars("duties", rows, "暂无履职任务", function (r) { return r.inspector + (rows.length > 1 ? "\n" + r.district : ""); }, [
      ["按时完成", function (r) { return r.done; }, COLORS.ok],
      ["逾期/未完成", function (r) { return r.overdue; }, COLORS.danger],
      ["办理中", function (r) { return r.open; }, COLORS.primary]], { stack: true });
  }

  // --- lists -------------------------------------------------------------------------------
  function table(head, rows, emptyText, more) {
    var out = [];
    if (!rows.length) out.push(h("div", { class: "empty" }, emptyText || "暂无数据"));
    else out.push(h("table", { class: "table" },
      h("thead", {}, h("tr", {}, head.map(function (t) { return h("th", {}, t); }))),
      h("tbody", {}, rows.map(function (cells) {
        return h("tr", {}, cells.map(function (c) { return h("td", {}, c); }));
      }))));
    if (more) out.push(h("p", { class: "small" }, more));
    return out;
  }

  function link(href, text) { return h("a", { href: href }, text); }
  function pct(rate) { return rate === null || rate === undefined ? "—" : Math.round(rate * 100) + "%"; }
  function badge(text, kind) { return h("span", { class: "badge " + kind }, text); }

  var LISTS = {
    projects: function (p) {
      return table(["辖区", "状态", "项目数"], p.by_district_status.map(function (r) {
        return [r.district, r.status, r.count];
      }), "暂无项目");
    },
    rectifications: function (r) {
      return table(["项目", "待办步骤", "办理角色", "截止时间", "逾期", ""], r.overdue_items.map(function (i) {
        return [(i.project_name || i.project_code || "—"), i.task,
                JG.labels.roles[i.role] || i.role || "—", JG.fmtTime(i.due_at),
                badge(i.days_overdue + " 天", "danger"),
                link("/instances/" + encodeURIComponent(i.instance_id), "查看")];
      }), "暂无逾期整改 (在办 " + r.open + " 件)",
      link("/instances?process_key=rectification&state=running", "查看全部在办整改 →"));
    },
    alarms: function (a) {
      if (!a.available) return table([], [], "告警数据暂不可用");
      var effects = { correlated: "已送达流程", started: "已启动整改", merged: "已合并", recorded: "仅记录", none: "无动作" };
      return table(["时间", "项目", "设备", "类型", "级别", "数值/阈值", "处置"], a.recent.map(function (x) {
        return [JG.fmtTime(x.at), x.project_name || x.project_code, x.device_id, x.type,
                badge(x.level_name || x.level, x.level === "danger" || x.level === "alarm" ? "danger" : "warn"),
                (x.value === null ? "—" : x.value) + " / " + (x.threshold === null ? "—" : x.threshold),
                effects[x.effect] || x.effect];
      }), "近 7 天无告警", link("/alarms", "告警实时列表 →"));
    },
    cranes: function (c) {
      return table(["设备编号", "项目", "型号", "状态"], c.items.map(function (x) {
        return [x.id, x.project_name || x.project_code, x.model,
                badge(x.state_label, x.state === "in_service" ? "ok" : x.state === "suspended" ? "danger" : "muted")];
      }), "暂无塔吊");
    },
    devices: function (d) {
      return table(["设备", "类型", "项目", "状态", "最后上报"], d.offline_items.map(function (x) {
        return [x.name + " (" + x.id + ")", DEVICE_TYPES[x.device_type] || x.device_type,
                x.project_name || x.project_code, badge(DEVICE_STATES[x.state] || x.state, "danger"),
                x.last_seen_at ? JG.fmtTime(x.last_seen_at) : "从未上报"];
      }), "设备全部在线 (共 " + d.total + " 台)", link("/alarms#devices", "全部设备状态 →"));
    },
    duties: function (d) {
      return table(["辖区", "监督员", "按时完成", "逾期/未完成", "办理中", "完成率"], d.by_inspector.map(function (r) {
        return [r.district, r.inspector, r.done, r.overdue, r.open, pct(r.rate)];
      }), "暂无履职任务");
    }
  };

  var last = null;

  function showList(key, on) {
    var list = document.querySelector('[data-list="' + key + '"]');
    var el = document.querySelector('[data-chart="' + key + '"]');
    var btn = document.querySelector('[data-toggle="' + key + '"]');
    list.classList.toggle("hidden", !on);
    el.classList.toggle("hidden", on);
    btn.textContent = on ? "图表" : "列表";
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    if (!on) charts[key] && charts[key].resize();
  }

  function fillLists(data) {
    Object.keys(LISTS).forEach(function (key) {
      var el = document.querySelector('[data-list="' + key + '"]');
      el.innerHTML = "";
      LISTS[key](data[key]).forEach(function (n) { el.appendChild(n); });
    });
  }

  function kpis(data) {
    var values = { projects: data.projects.total, rect_open: data.rectifications.open,
                   rect_overdue: data.rectifications.overdue,
                   alarms_day: data.alarms.available ? data.alarms.day : "—",
                   offline: data.devices.offline + " / " + data.devices.total, cranes: data.cranes.total };
    Object.keys(values).forEach(function (k) {
      var b = document.querySelector('[data-kpi="' + k + '"]');
      b.textContent = values[k];
      b.classList.toggle("bad", (k === "rect_overdue" && data.rectifications.overdue > 0) ||
                                (k === "offline" && data.devices.offline > 0));
    });
  }

  function districts(data) {
    var wanted = data.districts || [];
    if (wanted.length <= 1) {
      select.innerHTML = "";
      select.appendChild(h("option", { value: wanted[0] || "" }, wanted[0] || "全市"));
      select.disabled = true;
      return;
    }
    if (select.options.length === wanted.length + 1) return;
    select.innerHTML = "";
    select.appendChild(h("option", { value: "" }, "全市"));
    wanted.forEach(function (d) { select.appendChild(h("option", { value: d }, d)); });
    select.value = district;
  }

  async function load() {
    if (loading) return;
    loading = true;
    var stamp = document.getElementById("as-of");
    try {
      var data = await JG.api("dashboard", { query: { district: district }, quiet: !!last });
      last = data;
      districts(data);
      kpis(data);
      drawProjects(data.projects);
      drawRectifications(data.rectifications);
      drawAlarms(data.alarms);
      drawCranes(data.cranes);
      drawDevices(data.devices);
      drawDuties(data.duties);
      fillLists(data);
      stamp.textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
      document.getElementById("dash-grid").setAttribute("data-loaded", String(Date.now()));
    } catch (err) {
      if (err.status === 403 || err.status === 404) JG.refuse(document.getElementById("dash-grid"), err);
      stamp.textContent = last ? "更新失败, 显示的是上次的数据" : "加载失败";
    } finally {
      loading = false;
    }
  }

  if (typeof echarts === "undefined") {
    document.getElementById("dash-grid").innerHTML = "";
    document.getElementById("dash-grid").appendChild(
      h("div", { class: "empty" }, "图表组件未加载 (请运行 make assets)。"));
    return;
  }
  document.querySelectorAll("[data-toggle]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      showList(btn.dataset.toggle, btn.getAttribute("aria-pressed") !== "true");
    });
  });
  select.addEventListener("change", function () {
    district = select.value;
    var params = new URLSearchParams(location.search);
    if (district) params.set("district", district); else params.delete("district");
    history.replaceState(null, "", "/dashboard" + (params.toString() ? "?" + params : ""));
    load();
  });
  document.getElementById("refresh").addEventListener("click", load);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  setInterval(function () { if (!document.hidden) load(); }, REFRESH_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) load(); });
  load();
})();
