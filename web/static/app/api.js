/* window.JG: what every page script uses. Contract (see also web/templates/base.html):
 *   JG.api(path, {method, body, form, query, quiet}) -> Promise of the JSON body (null on 204).
 *     path "/api/v1/tasks" or short "tasks"; body: object (sent as JSON) or FormData;
 *     query: object added as ?a=b; form: an element whose fields get the 422 field errors
 *     (elements with name= or data-field= the error key). Sends the session cookie and the
 *     X-CSRF-Token header. Rejects with JG.ApiError {status, message, errors}; a 401 goes to the
 *     sign-in page; other errors also show a toast unless quiet.
 *   JG.apiPage(path, opts) -> {items, pagination: {total, total_pages, page, first_page,
 *     last_page, next_page?, previous_page?}} from the X-Pagination header.
 *   JG.upload(path, file, {fields, onProgress(fraction)}) -> Promise of JSON (XHR: progress).
 *   JG.csrf, JG.user {username, role, name}; JG.toast(msg, "ok"|"error"); JG.refuse(el, err)
 *   renders a Chinese refusal (403/404) into el; JG.esc, JG.h (element builder), JG.fmtTime,
 *   JG.fmtDate, JG.labels (processes, states, roles, event kinds in Chinese).
 */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var body = document.body;

  function ApiError(status, message, errors) {
    this.name = "ApiError";
    this.status = status;
    this.message = message || "请求失败";
    this.errors = errors || {};
  }
  ApiError.prototype = Object.create(Error.prototype);

  function url(path, query) {
    var u = path.charAt(0) === "/" ? path : "/api/v1/" + path;
    if (query) {
      var parts = [];
      Object.keys(query).forEach(function (k) {
        var v = query[k];
        if (v === undefined || v === null || v === "") return;
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
      });
      if (parts.length) u += (u.indexOf("?") < 0 ? "?" : "&") + parts.join("&");
    }
    return u;
  }

  function toLogin() {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  // Server messages read "中文 (english detail)": people see the Chinese; the English stays
  // in the API's answer (and in a tooltip) for whoever debugs.
  function zhFirst(message) {
    var text = String(message === undefined || message === null ? "" : message);
    var cut = text.replace(/\s*\([\x20-\x7E]*[A-Za-z][\x20-\x7E]*\)\s*$/, "");
    return /[\u4e00-\u9fff]/.test(cut) ? cut : text;
  }

  function clearFieldErrors(container) {
    if (!container) return;
    container.querySelectorAll(".field-error.jg-server").forEach(function (n) { n.remove(); });
    container.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
  }

  // Puts each server field error under its field; errors for unknown keys go in one alert at
  // the top, so none is lost. Returns the keys placed at a field.
  function showFieldErrors(container, errors) {
    clearFieldErrors(container);
    if (!container || !errors) return [];
    var placed = [], rest = [];
    Object.keys(errors).forEach(function (key) {
      var msgs = [].concat(errors[key]).map(function (m) {
        return typeof m === "string" ? zhFirst(m) : JSON.stringify(m);
      });
      var sel = '[data-field="' + CSS.escape(key) + '"], [name="' + CSS.escape(key) + '"]';
      var target = container.querySelector(sel);
      if (!target) { rest.push(key + ": " + msgs.join("; ")); return; }
      var holder = target.closest(".field, .fjs-form-field, [data-field]") || target;
      holder.classList.add("has-error");
      var p = document.createElement("p");
      p.className = "field-error jg-server";
      p.setAttribute("role", "alert");
      p.textContent = msgs.join("; ");
      holder.appendChild(p);
      placed.push(key);
    });
    if (rest.length) {
      var box = document.createElement("div");
      box.className = "alert alert-error field-error jg-server";
      box.setAttribute("role", "alert");
      box.textContent = rest.join("\n");
      container.insertBefore(box, container.firstChild);
    }
    return placed;
  }

  function toast(message, kind) {
    var host = document.getElementById("jg-toasts");
    if (!host) { return; }
    var t = document.createElement("div");
    t.className = "toast " + (kind || "");
    t.textContent = zhFirst(message);
    if (t.textContent !== String(message)) t.title = String(message);
    host.appendChild(t);
    setTimeout(function () { t.remove(); }, kind === "error" ? 7000 : 3500);
  }

  async function request(path, opts) {
    opts = opts || {};
    var method = (opts.method || (opts.body !== undefined ? "POST" : "GET")).toUpperCase();
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    var payload;
    if (opts.body instanceof FormData) payload = opts.body;
    else if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(opts.body);
    }
    var res;
    try {
      // no-store: on back/forward Chromium serves a page's requests from its cache, stale
      res = await fetch(url(path, opts.query), { method: method, headers: headers, body: payload,
                                                 credentials: "same-origin", cache: "no-store" });
    } catch (e) {
      var net = new ApiError(0, "网络连接失败, 请检查网络后重试");
      if (!opts.quiet) toast(net.message, "error");
      throw net;
    }
    return res;
  }

  async function parse(res, opts) {
    var type = res.headers.get("Content-Type") || "";
    var data = null;
    if (res.status !== 204) {
      data = type.indexOf("json") >= 0 ? await res.json().catch(function () { return null; })
                                       : await res.blob();
    }
    if (res.ok) return data;
    if (res.status === 401 && !opts.noRedirect) { toLogin(); }
    var err = new ApiError(res.status, (data && data.message) || ("请求失败 (" + res.status + ")"),
                           data && data.errors);
    if (opts.form) showFieldErrors(opts.form, err.errors);
    if (!opts.quiet && res.status !== 401) toast(err.message, "error");
    throw err;
  }

  async function api(path, opts) {
    opts = opts || {};
    if (opts.form) clearFieldErrors(opts.form);
    var res = await request(path, opts);
    return parse(res, opts);
  }

  async function apiPage(path, opts) {
    opts = opts || {};
    var res = await request(path, opts);
    var items = await parse(res, opts);
    var pagination = {};
    try { pagination = JSON.parse(res.headers.get("X-Pagination") || "{}"); } catch (e) { /* none */ }
    return { items: items || [], pagination: pagination };
  }

  // XHR rather than fetch: fetch has no upload progress.
  function upload(path, file, opts) {
    opts = opts || {};
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      form.append("file", file, file.name);
      Object.keys(opts.fields || {}).forEach(function (k) { form.append(k, opts.fields[k]); });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url(path));
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && opts.onProgress) opts.onProgress(e.loaded / e.total);
      };
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(data); return; }
        if (xhr.status === 401) toLogin();
        var err = new ApiError(xhr.status, (data && data.message) || "上传失败", data && data.errors);
        if (!opts.quiet) toast(err.message, "error");
        reject(err);
      };
      xhr.onerror = function () { reject(new ApiError(0, "网络连接失败, 上传未完成")); };
      xhr.send(form);
    });
  }

  function esc(s) {
    return String(s === undefined || s === null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // JG.h("a", {href: "/x", class: "btn"}, "text", childNode) -> element (text is never HTML)
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === "on" && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      [].concat(arguments[i]).forEach(function (c) {
        if (c === undefined || c === null || c === false) return;
        el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
      });
    }
    return el;
  }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function fmtDate(v) {
    if (!v) return "";
    var d = new Date(v);
    if (isNaN(d)) return String(v);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function fmtTime(v) {
    if (!v) return "";
    var d = new Date(v);
    if (isNaN(d)) return String(v);
    return fmtDate(v) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function refuse(el, err) {
    var title = err.status === 403 ? "无权访问" : err.status === 404 ? "未找到" : "加载失败";
    var text = err.status === 403 ? "该内容不属于您的角色或管辖范围, 无权查看或办理。"
             : err.status === 404 ? "要找的内容不存在或已被删除。" : err.message;
    el.innerHTML = "";
    el.appendChild(h("section", { class: "card refusal", "data-status": err.status, role: "alert" },
      h("div", { class: "card-body" }, h("h1", {}, title), h("p", {}, text),
        err.message && err.message !== text ? h("p", { class: "muted small" }, err.message) : null,
        h("p", {}, h("a", { class: "btn btn-primary", href: "/" }, "返回首页")))));
  }

  var labels = {
    processes: {
      rectification: "整改", inspection: "监督检查", supervision_briefing: "监督交底",
      warning_talk: "警示约谈", crane_filing: "起重机械备案", expert_review: "危大工程专家论证",
      closing: "监督收尾", duty_video_weekly: "视频巡查履职", duty_progress_monthly: "进度核查履职",
      rectification_alarm: "告警整改"
    },
    states: { running: "进行中", completed: "已完成", cancelled: "已撤销", error: "故障",
              open: "待办理", done: "已办理" },
    roles: { admin: "系统管理员", designer: "流程设计员", inspector: "监督员", contractor: "施工单位",
             supervisor: "监理单位", expert: "评审专家", leader: "领导", auditor: "审计员",
             gateway: "物联网网关" },
    kinds: {
      "instance.started": "流程启动", "instance.completed": "流程结束", "instance.cancelled": "流程撤销",
      "task.completed": "办理完成", "task.claimed": "认领任务", "task.unclaimed": "释放任务",
      "task.admin_override": "管理员代办", "attachment.uploaded": "上传附件",
      "message.correlated": "收到消息", "message.buffered": "消息暂存", "timer.fired": "定时触发",
      "job.completed": "后台步骤完成", "job.failed": "后台步骤失败", "incident.opened": "发生故障",
      "incident.retried": "故障重试", "document.generated": "出具文书", "document.failed": "文书生成失败",
      "document.corrected": "更正文书", "definition.deployed": "部署流程", "schedule.fired": "定期启动",
      "schedule.updated": "定期计划变更", "demo.loaded": "加载演示数据"
    }
  };

  window.JG = {
    api: api, apiPage: apiPage, upload: upload, ApiError: ApiError, csrf: csrf,
    user: body && body.dataset.user ? { username: body.dataset.user, role: body.dataset.role,
                                        name: body.dataset.name } : null,
    toast: toast, refuse: refuse, showFieldErrors: showFieldErrors, zhFirst: zhFirst,
    clearFieldErrors: clearFieldErrors, esc: esc, h: h, fmtDate: fmtDate, fmtTime: fmtTime,
    labels: labels,
    processName: function (key) { return labels.processes[key] || key; }
  };
})();
