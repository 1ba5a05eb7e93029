/* Chinese for the designer's properties panel (bpmn-js-properties-panel's own groups and the
 * platform's groups in app/designer-properties.js): only what the panel says and the modeler does
 * not. JG.i18n.translate (app/i18n/zh.js) looks here first, then in the modeler's dictionary,
 * where the element types of the panel's header ("Message Start Event") are found too. */
(function () {
  "use strict";
  var JG = window.JG = window.JG || {};
  JG.propertiesZh = {
    // panel chrome and the standard groups
    "ID": "ID", "Documentation": "说明", "Element documentation": "元素说明", "Process documentation": "流程说明",
    "Process name": "流程名称", "Process ID": "流程 ID", "Executable": "可执行",
    "Participant Name": "参与者名称", "Participant ID": "参与者 ID",
    "Select an element to edit its properties.": "选择一个元素以编辑其属性。",
    "Multiple elements are selected. Select a single element to edit its properties.":
      "选中了多个元素。请只选择一个来编辑其属性。",
    "Loop cardinality": "实例数", "Completion": "完成", "Business ID": "业务 ID",
    "ID must not be empty.": "ID 不能为空。", "ID must be unique.": "ID 不能重复。",
    "ID must not contain spaces.": "ID 不能包含空格。",
    "ID must be a valid QName.": "ID 必须是合法的 XML 名称 (QName)。",
    "ID must not contain prefix.": "ID 不能包含前缀。",
    "ID must start with a letter or underscore.": "ID 必须以字母或下划线开头。",
    "ID must only contain alphanumeric characters, dashes, underscores, or dots.":
      "ID 只能包含字母、数字、短横线、下划线或点。",
    "Message": "消息", "Global message reference": "全局消息引用", "Create new ...": "新建 ...",
    "<none>": "<无>", "Signal": "信号", "Global signal reference": "全局信号引用",
    "Error": "错误", "Global error reference": "全局错误引用", "Code": "代码",
    "Escalation": "升级", "Global escalation reference": "全局升级引用",
    "Link": "链接", "Compensation": "补偿", "Activity reference": "活动引用",
    "Wait for completion": "等待完成", "Ad-hoc completion": "自由子流程完成条件",
    "Completion condition": "完成条件", "Cancel remaining instances": "取消其余实例",
    "Open minimap": "打开缩略图", "Close minimap": "关闭缩略图",
    "Collapse": "收起", "Expand": "展开", "Text": "文本", "Category": "分类",
    // element types of the panel's header that the modeler's menus name otherwise
    "Sub Process": "子流程", "Event Sub Process": "事件子流程", "Ad-hoc Sub Process": "自由子流程",
    "Conditional Flow": "条件顺序流", "Default Flow": "默认顺序流", "Empty Pool": "空池",
    "Association": "关联",
    // the platform's groups
    "Condition expression (Python)": "条件表达式 (Python)",
    "Default flow of the gateway": "作为网关的默认路径",
    "Timer": "定时器", "Timer type": "定时器类型", "Duration": "时长", "Cycle": "周期",
    "Timer value": "定时器值",
    "Role": "角色", "Lane role": "办理角色", "(no role: admins only)": "(无对应角色: 仅管理员可办理)",
    "Form key": "表单标识", "Assignee (task data path)": "办理人 (任务数据路径)",
    "Correlation": "消息关联", "Correlation key": "关联键名称",
    "Correlation expression (Python)": "关联值表达式 (Python)",
    "Message variable": "消息变量",
    "Script": "脚本", "Script (Python)": "脚本 (Python)", "Pre-script (Python)": "前置脚本 (Python)",
    "Post-script (Python)": "后置脚本 (Python)",
    "Multi-instance": "多实例", "Input collection": "输入集合 (变量名)",
    "Input element": "集合元素变量", "Cardinality (Python)": "实例数 (Python)",
    "Output collection": "输出集合 (变量名)", "Output element": "输出元素变量",
    "Completion condition (Python)": "完成条件 (Python)",
    "Implementation": "实现", "Service operation": "服务操作", "Result variable": "结果变量",
    "Parameters": "参数", "Run in the background": "后台异步执行", "Decision ID": "决策 ID",
    "Called process ID": "被调用流程 ID",
    "hint.service": "平台服务操作的名称, 如「closing.grade」。",
    "hint.parameters": "每行一个:「名称: 类型 = Python 表达式」, 类型如「str」「int」「float」。",
    "hint.decision": "已部署 DMN 决策表的 ID。",
    "hint.called": "被调用流程的 ID (须已部署或一并上传)。",
    "hint.condition": "Python 表达式, 例:「amount > 100」「result == \"通过\"」; 不是 JUEL/FEEL。",
    "hint.timer": "Python 表达式, 结果为 ISO 8601 文本: 时长「\"P3D\"」、日期「\"2026-01-31T09:00:00+08:00\"」、周期「\"R3/P1D\"」; 也可写变量名。直接输入「P3D」会自动加引号。",
    "hint.lane": "泳道名称决定谁办理其中的任务; 选择角色会把泳道名称改为该角色的标准名称。",
    "hint.form": "已部署表单的标识 (见左侧表单列表); 不填则使用任务的 ID。",
    "hint.assignee": "可选: 指定具体办理人的变量路径, 如「expert.username」。",
    "hint.correlation": "消息到达时, 消息中该键的值必须等于此表达式在流程数据上的值。",
    "hint.multi": "输入集合与实例数二选一: 按集合逐项执行, 或执行固定次数。",
    "hint.messageVariable": "收到的消息内容存入的流程变量名。"
  };
})();
