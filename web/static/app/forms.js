/* JG.taskForm(formEl, uploadsEl, {taskId, schema, data, readOnly}) -> Promise of a handle:
 *   values({partial}) -> Promise of the data to send (form fields + attachment ids), or of
 *     null when the form shows errors (not for partial: a draft keeps what is there);
 *   serverErrors(errors) puts a 422's field errors at their fields; focusFirstError().
 * form-js renders the form (FormViewer). Its filepicker keeps files in the browser under
 * "files::" keys, while the API wants attachment ids of uploaded files: those fields are taken
 * out of the schema and get our own upload widgets (XHR with a progress bar).
 */
(function () {
  "use strict";
  var h = JG.h;

  // form-js's validator speaks English; users read Chinese.
  var ZH = [
    [/^Field is required\.$/, "必填"],
    [/^Value is not a number\.$/, "不是有效的数字"],
    [/^Value is expected to be an integer\.$/, "必须是整数"],
    [/^Value is expected to have at most (\d+) decimal digits?\.$/, "最多 $1 位小数"],
    [/^Field must have minimum value of (.+)\.$/, "不能小于 $1"],
    [/^Field must have maximum value of (.+)\.$/, "不能大于 $1"],
    [/^Field must have minimum length of (.+)\.$/, "至少 $1 个字符"],
    [/^Field must have maximum length of (.+)\.$/, "最多 $1 个字符"],
    [/^Field must match pattern (.+)\.$/, "格式不正确"],
    [/^Field must be a valid email\.$/, "不是有效的电子邮箱"],
    [/^Field must be a valid +international phone number.*$/, "不是有效的电话号码"],
    [/^Date and time must both be entered\.$/, "日期和时间都要填写"],
    [/^Please select a valid value.*$/, "请选择有效的数值"]
  ];
  function zh(message) {
    for (var i = 0; i < ZH.length; i++) {
      if (ZH[i][0].test(message)) return message.replace(ZH[i][0], ZH[i][1]);
    }
    return message;
  }

  // Top-level (and grouped) filepickers become our widgets. One inside a dynamic list stays a
  // form-js filepicker (one per list item): its files are uploaded when the form is sent.
  // form-js labels a date field by `dateLabel`; our definitions say `label`.
  function splitPickers(components, pickers, nested) {
    return (components || []).filter(function (c) {
      if (c.type === "filepicker" && pickers) { pickers.push(c); return false; }
      if (c.type === "filepicker") { nested[c.key] = !!c.multiple; return true; }
      if (c.type === "datetime" && c.label) {
        if (c.subtype === "time") c.timeLabel = c.timeLabel || c.label;
        else c.dateLabel = c.dateLabel || c.label;
      }
      if (c.components) {
        c.components = splitPickers(c.components, c.type === "dynamiclist" ? null : pickers, nested);
      }
      return true;
    });
  }

  // Replaces form-js's "files::" keys anywhere in the data by the ids of the uploaded files.
  async function uploadNested(data, files, nested, opts) {
    var keys = [];
    (function walk(node) {
      if (Array.isArray(node)) { node.forEach(walk); return; }
      if (!node || typeof node !== "object") return;
      Object.keys(node).forEach(function (k) {
        var v = node[k];
        if (typeof v === "string" && v.indexOf("files::") === 0) keys.push([node, k, v]);
        else walk(v);
      });
    })(data);
    for (var i = 0; i < keys.length; i++) {
      var node = keys[i][0], k = keys[i][1], list = files.get(keys[i][2]) || [], ids = [];
      for (var j = 0; j < list.length; j++) {
        opts.status("正在上传 " + list[j].name, 0);
        var att = await JG.upload("tasks/" + encodeURIComponent(opts.taskId) + "/attachments", list[j], {
          fields: { field: k }, onProgress: function (x) { opts.status(null, x); } });
        ids.push(att.id);
      }
      node[k] = nested[k] ? ids : (ids[0] || null);
    }
    opts.status(null, null);
    return data;
  }

  function keyIndex(components, index) {
    (components || []).forEach(function (c) {
      if (c.key) index[c.key] = c.id;
      if (c.components) keyIndex(c.components, index);
    });
    return index;
  }

  function empty(v) {
    return v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length);
  }

  // One upload widget per filepicker field.
  function uploader(c, opts, names) {
    var multiple = !!c.multiple, initial = opts.data[c.key];
    var ids = empty(initial) ? [] : [].concat(initial);
    var inputId = "upload-" + c.key;
    var list = h("ul", { class: "upload-list" });
    var bar = h("progress", { max: "1", value: "0", class: "hidden", "aria-label": "上传进度" });
    var status = h("span", { class: "muted small", "aria-live": "polite" });
    var input = h("input", { type: "file", id: inputId, class: "file-input", multiple: multiple,
                             disabled: opts.readOnly, accept: "image/*,.pdf,.doc,.docx,.xls,.xlsx",
                             "aria-describedby": inputId + "-hint" });
    var box = h("div", { class: "field upload", "data-field": c.key },
      h("span", { class: "label", id: inputId + "-title" }, c.label || c.key,
        c.validate && c.validate.required ? " *" : ""),
      opts.readOnly ? null : h("div", { class: "actions" }, input,
        h("label", { for: inputId, class: "btn btn-small" }, multiple ? "选择文件 (可多选)" : "选择文件"),
        h("span", { class: "muted small", id: inputId + "-hint" }, "图片、PDF、Word、Excel, 单个不超过 " +
          Math.round((opts.maxUpload || 20971520) / 1048576) + " MB")),
      bar, status, list);

    function draw() {
      list.innerHTML = "";
      if (!ids.length) list.appendChild(h("li", { class: "muted small" }, opts.readOnly ? "无附件" : "尚未上传"));
      ids.forEach(function (id) {
        list.appendChild(h("li", { "data-attachment": id },
          h("a", { href: "/api/v1/attachments/" + encodeURIComponent(id) }, names[id] || id),
          opts.readOnly ? null : h("button", { type: "button", class: "btn btn-small btn-link",
            "aria-label": "移除 " + (names[id] || id),
            onclick: function () { ids = ids.filter(function (x) { return x !== id; }); draw(); } }, "移除")));
      });
    }

    input.addEventListener("change", async function () {
      var files = Array.prototype.slice.call(input.files || []);
      for (var i = 0; i < files.length; i++) {
        var f = files[i];
        // refused here rather than after sending 20 MB over a site's mobile network
        if (opts.maxUpload && f.size > opts.maxUpload) {
          status.textContent = "文件「" + f.name + "」超过 " + Math.round(opts.maxUpload / 1048576) +
                               " MB, 未上传; 请压缩后重试";
          box.classList.add("has-error");
          continue;
        }
        bar.classList.remove("hidden");
        bar.value = 0;
        status.textContent = "正在上传 " + f.name;
        try {
          var att = await JG.upload("tasks/" + encodeURIComponent(opts.taskId) + "/attachments", f, {
            fields: { field: c.key }, onProgress: function (x) { bar.value = x; } });
          names[att.id] = att.file_name;
          ids = multiple ? ids.concat([att.id]) : [att.id];
          status.textContent = "已上传 " + f.name;
          box.classList.remove("has-error");
          box.querySelectorAll(".field-error").forEach(function (n) { n.remove(); });
        } catch (e) {
          status.textContent = "上传失败: " + e.message;
        }
      }
      bar.classList.add("hidden");
      input.value = "";
      draw();
    });
    draw();
    return {
      key: c.key, el: box, required: !!(c.validate && c.validate.required),
      value: function () { return multiple ? ids.slice() : (ids[0] || null); },
      empty: function () { return !ids.length; }
    };
  }

  async function taskForm(formEl, uploadsEl, opts) {
    var schema = JSON.parse(JSON.stringify(opts.schema));
    var pickers = [], nested = {};
    schema.components = splitPickers(schema.components, pickers, nested);
    var keyToId = keyIndex(schema.components, {});
    formEl.innerHTML = "";
    if (JG.i18n) JG.i18n.localize(formEl);      // date pickers and form-js's fixed texts
    var form = new FormViewer.Form({ container: formEl, properties: { readOnly: !!opts.readOnly } });
    var validator = form.get("validator");
    var validate = validator.validateFieldInstance.bind(validator);
    validator.validateFieldInstance = function (fi, v) { return validate(fi, v).map(zh); };
    await form.importSchema(schema, opts.data || {});

    var names = {};
    if (pickers.length) {
      try {
        (await JG.api("tasks/" + encodeURIComponent(opts.taskId) + "/attachments", { quiet: true }))
          .forEach(function (a) { names[a.id] = a.file_name; });
      } catch (e) { /* names fall back to ids */ }
    }
    var uploads = pickers.map(function (c) { return uploader(c, opts, names); });
    uploadsEl.innerHTML = "";
    uploads.forEach(function (u) { uploadsEl.appendChild(u.el); });

    function uploadErrors() {
      var errors = {};
      uploads.forEach(function (u) { if (u.required && u.empty()) errors[u.key] = ["必填: 请上传文件"]; });
      return errors;
    }

    // A progress bar for the files of nested pickers, uploaded on sending.
    var bar = h("progress", { max: "1", value: "0", class: "hidden", "aria-label": "上传进度" });
    var note = h("span", { class: "muted small", "aria-live": "polite" });
    if (Object.keys(nested).length) uploadsEl.appendChild(h("div", { class: "upload-status" }, bar, note));
    function status(text, fraction) {
      if (text !== null) note.textContent = text;
      if (fraction === null) { bar.classList.add("hidden"); note.textContent = ""; return; }
      bar.classList.remove("hidden");
      bar.value = fraction;
    }

    function hasFileKey(v) { return typeof v === "string" && v.indexOf("files::") === 0; }

    async function values(o) {
      var partial = o && o.partial, data;
      JG.clearFieldErrors(uploadsEl);
      if (partial) {
        // a draft keeps what is filled in; files of nested pickers are only kept once sent
        var state = JSON.parse(JSON.stringify(form._getState().data, function (k, v) {
          return hasFileKey(v) ? undefined : v; }));
        var out = {};
        Object.keys(keyToId).forEach(function (k) { if (!empty(state[k])) out[k] = state[k]; });
        data = out;
      } else {
        var result = form.submit();
        var missing = uploadErrors();
        JG.showFieldErrors(uploadsEl, missing);
        if (Object.keys(result.errors).length || Object.keys(missing).length) return null;
        data = await uploadNested(result.data, result.files, nested, { taskId: opts.taskId, status: status });
      }
      uploads.forEach(function (u) {
        var v = u.value();
        if (!(partial && empty(v))) data[u.key] = v;
      });
      return data;
    }

    function serverErrors(errors) {
      var inForm = {}, rest = {};
      Object.keys(errors || {}).forEach(function (key) {
        var id = keyToId[key] || keyToId[key.split(".")[0]];
        var msgs = [].concat(errors[key]).map(function (m) { return JG.zhFirst ? JG.zhFirst(String(m)) : String(m); });
        if (id) inForm[id] = msgs; else rest[key] = msgs;
      });
      form._setState({ errors: inForm });
      JG.showFieldErrors(uploadsEl, rest);
      focusFirstError();
    }

    function focusFirstError() {
      setTimeout(function () {
        var bad = document.querySelector(".fjs-has-errors input, .fjs-has-errors textarea, " +
                                         ".fjs-has-errors select, .has-error input, .field-error");
        if (bad) { bad.scrollIntoView({ block: "center" }); if (bad.focus) bad.focus(); }
      }, 0);
    }

    return { form: form, values: values, serverErrors: serverErrors, focusFirstError: focusFirstError };
  }

  JG.taskForm = taskForm;
})();
