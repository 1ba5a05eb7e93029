/* Chinese for the bpmn-io libraries (kept in the repo, no network):
 *   JG.i18n.bpmnModule    a bpmn-js/diagram-js `translate` override (palette, context pad,
 *                         replace menu, search): new Modeler({additionalModules: [it]});
 *   JG.i18n.localize(el)  form-js (viewer and editor) have no translate service in 1.x: their
 *                         fixed English texts (Select, Search, the editor's palette and
 *                         properties) are replaced in the DOM as they appear, and the date
 *                         pickers (flatpickr inside form-js) get the Chinese locale.
 *   JG.i18n.t(text)       form-js's dictionary lookup (text itself when unknown).
 *   JG.i18n.typeName(type)  an element type ("bpmn:UserTask") in Chinese, from the same
 *                         dictionary as the menus (the designer's "type" field).
 *   JG.i18n.translate(template, replacements, first)  the `translate` of bpmnModule; the
 *                         properties panel (app/designer-properties-kit.js) passes its own
 *                         dictionary (app/i18n/properties-zh.js) as `first`.
 */
(function () {
  "use strict";
  var JG = window.JG = window.JG || {};

  var BPMN = {
    "Activate hand tool": "启用抓手工具", "Activate lasso tool": "启用套索工具",
    "Activate create/remove space tool": "启用创建/删除空间工具",
    "Activate global connect tool": "启用全局连接工具",
    "Create start event": "创建开始事件", "Create end event": "创建结束事件",
    "Create intermediate/boundary event": "创建中间/边界事件", "Create gateway": "创建网关",
    "Create task": "创建任务", "Create expanded sub-process": "创建展开的子流程",
    "Create data object reference": "创建数据对象引用", "Create data store reference": "创建数据存储引用",
    "Create pool/participant": "创建池/参与者", "Create group": "创建分组",
    "Append end event": "追加结束事件", "Append gateway": "追加网关", "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间/边界事件",
    "Append message intermediate catch event": "追加消息中间捕获事件",
    "Append timer intermediate catch event": "追加定时中间捕获事件",
    "Append conditional intermediate catch event": "追加条件中间捕获事件",
    "Append signal intermediate catch event": "追加信号中间捕获事件",
    "Append receive task": "追加接收任务", "Append compensation activity": "追加补偿活动",
    "Add text annotation": "添加文本注释", "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道", "Divide into two lanes": "分成两条泳道",
    "Divide into three lanes": "分成三条泳道", "Change element": "更改元素类型",
    "Change type": "更改类型", "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接",
    "Connect to other element": "连接到其他元素", "Delete": "删除", "Remove": "删除",
    "Align elements": "对齐元素", "Align left": "左对齐", "Align center": "水平居中",
    "Align right": "右对齐", "Align top": "顶端对齐", "Align middle": "垂直居中",
    "Align bottom": "底端对齐", "Distribute elements horizontally": "水平分布",
    "Distribute elements vertically": "垂直分布", "Search in diagram": "在图中搜索",
    "Open {element}": "打开 {element}", "Toggle non-interrupting": "切换非中断",
    "Parallel multi-instance": "并行多实例", "Sequential multi-instance": "串行多实例",
    "Loop": "循环", "Ad-hoc": "自由 (Ad-hoc)", "Participant multiplicity": "参与者多重性",
    "Start event": "开始事件", "End event": "结束事件", "Intermediate throw event": "中间抛出事件",
    "Exclusive gateway": "排他网关", "Parallel gateway": "并行网关", "Inclusive gateway": "包容网关",
    "Complex gateway": "复杂网关", "Event-based gateway": "事件网关",
    "Task": "任务", "Send task": "发送任务", "Receive task": "接收任务", "User task": "用户任务",
    "Manual task": "手工任务", "Business rule task": "业务规则任务", "Service task": "服务任务",
    "Script task": "脚本任务", "Call activity": "调用活动", "Sub-process (collapsed)": "子流程 (折叠)",
    "Sub-process (expanded)": "子流程 (展开)", "Sub-process": "子流程",
    "Event sub-process": "事件子流程", "Transaction": "事务", "Ad-hoc sub-process": "自由子流程",
    "Data store reference": "数据存储引用", "Data object reference": "数据对象引用",
    "Sequence flow": "顺序流", "Default flow": "默认流", "Conditional flow": "条件流",
    "Empty pool/participant": "空池/参与者", "Empty pool/participant (removes content)": "空池/参与者 (删除内容)",
    "Expanded pool/participant": "展开的池/参与者", "Message flow": "消息流",
    "Text annotation": "文本注释", "Group": "分组", "Lane": "泳道", "Pool": "池",
    "Process": "流程", "Collaboration": "协作", "Participant": "参与者", "Boundary event": "边界事件",
    "Intermediate catch event": "中间捕获事件",
    "No results": "没有结果", "Search": "搜索", "Start": "开始", "End": "结束",
    "Gateways": "网关", "Events": "事件", "Tasks": "任务", "Data": "数据",
    "Participants": "参与者", "Sub-processes": "子流程", "Tools": "工具", "Artifacts": "附加元素",
    "Element": "元素", "Collection": "集合", "Name": "名称", "ID": "编号"
  };

  // The menus' event names ("Message start event") are a kind and a place, each with its Chinese;
  // a place lists the kinds bpmn-js offers there.
  var EVENT_KINDS = { Message: "消息", Timer: "定时", Conditional: "条件", Signal: "信号", Error: "错误",
                      Escalation: "升级", Compensation: "补偿", Cancel: "取消", Link: "链接", Terminate: "终止" };
  [["start event", "开始事件", "Message Timer Conditional Signal Error Escalation Compensation"],
   ["end event", "结束事件", "Message Escalation Error Cancel Compensation Signal Terminate"],
   ["intermediate catch event", "中间捕获事件", "Message Timer Conditional Link Signal"],
   ["intermediate throw event", "中间抛出事件", "Message Escalation Link Compensation Signal"],
   ["boundary event", "边界事件", "Message Timer Escalation Conditional Error Cancel Signal Compensation"],
   ["boundary event (non-interrupting)", "边界事件 (非中断)", "Message Timer Escalation Conditional Signal"]
  ].forEach(function (place) {
    place[2].split(" ").forEach(function (kind) { BPMN[kind + " " + place[0]] = EVENT_KINDS[kind] + place[1]; });
  });

  // form-js 1.x (viewer and editor) prints these literally.
  var TEXT = {
    "Select": "请选择", "Search": "搜索", "Select...": "请选择...", "Search...": "搜索...",
    "No results": "没有结果", "Clear": "清除", "Remove": "删除", "Browse": "浏览",
    "Upload files": "上传文件", "No files selected": "未选择文件", "Add new": "新增",
    "Submit": "提交", "Reset": "重置", "Date": "日期", "Time": "时间",
    "Components": "组件", "Search components": "搜索组件", "Basic input": "基本输入",
    "Selection": "选择", "Presentation": "展示", "Containers": "容器", "Action": "操作",
    "Text field": "单行文本", "Text area": "多行文本", "Number": "数字", "Datetime": "日期时间",
    "Checkbox": "复选框", "Checkbox group": "复选框组", "Radio group": "单选组", "Tag list": "标签列表",
    "Text view": "文字说明", "Image view": "图片", "Table": "表格", "HTML view": "HTML 内容",
    "Spacer": "间隔", "Separator": "分隔线", "Group": "分组", "Dynamic list": "动态列表",
    "iFrame": "内嵌网页", "Button": "按钮", "File picker": "文件选择", "Expression": "表达式",
    "Document preview": "文档预览", "Text": "文字",
    "General": "常规", "Label": "标签", "Key": "字段键", "ID": "编号", "Field description": "字段说明",
    "Default value": "默认值", "Disabled": "禁用", "Read only": "只读", "Validation": "校验",
    "Required": "必填", "Minimum length": "最小长度", "Maximum length": "最大长度",
    "Minimum": "最小值", "Maximum": "最大值", "Validation pattern": "校验格式",
    "Custom regular expression": "自定义正则表达式", "Custom error message": "自定义错误提示",
    "Condition": "条件", "Layout": "布局", "Columns": "列", "Appearance": "外观",
    "Prefix": "前缀", "Suffix": "后缀", "Options source": "选项来源", "Static options": "固定选项",
    "Dynamic options": "动态选项", "Input values key": "输入数据键", "Custom properties": "自定义属性",
    "Constraints": "约束", "Subtype": "子类型", "Date label": "日期标签", "Time label": "时间标签",
    "Disallow past dates": "不允许过去的日期", "Use 24h": "24 小时制", "Time format": "时间格式",
    "Time interval": "时间间隔", "Searchable": "可搜索", "Decimal digits": "小数位数",
    "Increment": "步长", "Serialization": "序列化", "Output as string": "输出为文本",
    "Content": "内容", "Alternative text": "替代文字", "Image source": "图片地址", "Height": "高度",
    "Show outline": "显示边框", "Upload multiple files": "允许多个文件",
    "Supported file formats": "支持的文件格式", "Value": "值", "Options": "选项",
    "Checked": "选中", "Not checked": "未选中", "Auto": "自动", "Custom": "自定义",
    "Email": "电子邮箱", "Phone": "电话", "Type": "类型", "Name": "名称", "Version tag": "版本标签",
    "Drag and drop components here to start designing.": "将组件拖到此处开始设计表单。",
    "Use the library on the left to add components.": "从左侧组件库添加组件。",
    "Build your form": "设计表单", "Empty form": "空表单", "Properties": "属性",
    "Form": "表单", "Open documentation": "打开文档", "Toggle section": "展开/收起",
    "Section contains an error": "该部分有错误", "Add": "添加", "Delete": "删除",
    "Create": "新建", "Add value": "添加值", "Add property": "添加属性", "Entry": "条目",
    "Date and time must both be entered.": "日期和时间都要填写。"
  };

  var FLATPICKR_ZH = {
    weekdays: { shorthand: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
                longhand: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"] },
    months: { shorthand: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
              longhand: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"] },
    rangeSeparator: " 至 ", weekAbbreviation: "周", scrollTitle: "滚动切换",
    toggleTitle: "点击切换 12/24 小时", amPM: ["上午", "下午"], yearAriaLabel: "年",
    monthAriaLabel: "月", hourAriaLabel: "时", minuteAriaLabel: "分", time_24hr: true,
    firstDayOfWeek: 1
  };

  function t(text) { return Object.prototype.hasOwnProperty.call(TEXT, text) ? TEXT[text] : text; }

  // bpmn-js `translate`: `first` (the properties panel's own dictionary) when given, then BPMN,
  // then TEXT; the panel's header says "Message Start Event" where the menus say "Message start event".
  function translate(template, replacements, first) {
    var own = Object.prototype.hasOwnProperty, sentence = template.charAt(0) + template.slice(1).toLowerCase();
    var text = first && own.call(first, template) ? first[template]
      : own.call(BPMN, template) ? BPMN[template]
      : own.call(TEXT, template) ? TEXT[template]
      : own.call(BPMN, sentence) ? BPMN[sentence] : template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (all, key) {
      return replacements[key] !== undefined ? replacements[key] : all;
    });
  }

  // An element's type ("bpmn:BusinessRuleTask") by its name in the menus ("Business rule task");
  // the type itself where the dictionary has no name for it.
  function typeName(type) {
    var words = type.replace(/^bpmn:/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()
      .replace(/^sub /, "sub-").replace(/^event based /, "event-based ");
    var label = words.charAt(0).toUpperCase() + words.slice(1);
    return Object.prototype.hasOwnProperty.call(BPMN, label) ? BPMN[label] : type;
  }

  var ATTRS = ["placeholder", "title", "aria-label"];

  function localizeNode(node) {
    if (node.nodeType === 3) {
      var raw = node.nodeValue, key = raw.trim();
      if (key && Object.prototype.hasOwnProperty.call(TEXT, key)) node.nodeValue = raw.replace(key, TEXT[key]);
      return;
    }
    if (node.nodeType !== 1) return;
    ATTRS.forEach(function (a) {
      var v = node.getAttribute(a);
      if (v && Object.prototype.hasOwnProperty.call(TEXT, v.trim())) node.setAttribute(a, TEXT[v.trim()]);
    });
    if (node._flatpickr && !node._flatpickr.__jgZh) {
      node._flatpickr.__jgZh = true;
      node._flatpickr.set("locale", FLATPICKR_ZH);
    }
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    var n = walker.nextNode();
    while (n) {
      if (n.nodeType === 3) localizeNode(n);
      else {
        ATTRS.forEach(function (a) {
          var v = n.getAttribute(a);
          if (v && Object.prototype.hasOwnProperty.call(TEXT, v.trim())) n.setAttribute(a, TEXT[v.trim()]);
        });
        if (n._flatpickr && !n._flatpickr.__jgZh) {
          n._flatpickr.__jgZh = true;
          n._flatpickr.set("locale", FLATPICKR_ZH);
        }
      }
      n = walker.nextNode();
    }
  }

  // Keeps a container in Chinese while the library re-renders it.
  function localize(container) {
    if (!container || container.__jgLocalized) return;
    container.__jgLocalized = true;
    localizeNode(container);
    var busy = false;
    new MutationObserver(function (records) {
      if (busy) return;
      busy = true;
      try {
        records.forEach(function (r) {
          if (r.type === "characterData") localizeNode(r.target);
          else if (r.type === "attributes") localizeNode(r.target);
          else r.addedNodes.forEach(localizeNode);
        });
        // flatpickr's calendars are created after the input: look again for new instances
        container.querySelectorAll("input.flatpickr-input").forEach(function (i) {
          if (i._flatpickr && !i._flatpickr.__jgZh) localizeNode(i);
        });
      } finally { busy = false; }
    }).observe(container, { childList: true, subtree: true, characterData: true,
                            attributes: true, attributeFilter: ATTRS });
  }

  JG.i18n = {
    t: t, translate: translate, typeName: typeName, localize: localize, bpmn: BPMN, text: TEXT, flatpickr: FLATPICKR_ZH,
    bpmnModule: { translate: ["value", function (template, replacements) { return translate(template, replacements); }] }
  };
})();
