/* The designer's properties panel: bpmn-js-properties-panel (bundle global JGPropertiesPanel) with
 * the platform's own groups for what the engine reads, so no one edits XML by hand:
 *   condition of a gateway's sequence flow, timer (duration/date/cycle), lane → role, form key
 *   and assignee (spiffworkflow:properties), message correlation
 *   (spiffworkflow:processVariableCorrelation), script / pre- / post-script, multi-instance,
 *   service operation and parameters, background execution, decision, called process.
 * Entries and moddle helpers: app/designer-properties-kit.js.
 * Expressions are Python (README "Writing diagrams"). Labels go through bpmn-js `translate`
 * (app/i18n/properties-zh.js). designer.js calls JG.props.extend(options) before new Modeler. */
(function () {
  "use strict";
  var JG = window.JG = window.JG || {};
  var P = window.JGPropertiesPanel;
  if (!P || !JG.spiffModdle || !JG.propsKit) return;

  // processes/policy.py LANE_ROLES (the first name is what the panel writes; a test compares)
  var LANE_ROLES = {
    "inspector": ["监督员", "监督站", "监督人员", "质量安全监督站", "监督机构", "inspector"],
    "contractor": ["施工单位", "施工总包", "总包单位", "施工方", "安装单位", "产权单位",
                   "使用单位", "contractor"],
    "builder": ["建设单位", "建设方", "业主", "builder"],
    "supervisor": ["监理", "监理单位", "监理工程师", "总监", "supervisor"],
    "expert": ["专家", "评审专家", "expert"],
    "leader": ["领导", "区住建局", "住建局", "局领导", "leader"],
    "designer": ["流程设计", "designer"],
    "auditor": ["审计", "auditor"],
    "admin": ["管理员", "admin"]
  };
  var ROLE_NAMES = {
    "inspector": "监督员", "contractor": "施工单位", "builder": "建设单位", "supervisor": "监理单位",
    "expert": "评审专家", "leader": "领导", "designer": "流程设计员", "auditor": "审计员",
    "admin": "系统管理员"
  };

  function roleOfLane(name) {
    var key = (name || "").trim().toLowerCase();
    for (var role in LANE_ROLES) {
      if (LANE_ROLES[role].some(function (n) { return n.toLowerCase() === key; })) return role;
    }
    return "";
  }

  var K = JG.propsKit, translate = K.translate, is = K.is, extOf = K.extOf,
      eventDef = K.eventDef, body = K.body, Services = K.Services, quoteIso = K.quoteIso,
      text = K.text, select = K.select, checkbox = K.checkbox;

  // -- groups ----------------------------------------------------------------------------------
  function conditionGroup(s, element) {
    var bo = element.businessObject, source = bo.sourceRef;
    if (!is(bo, "bpmn:SequenceFlow") ||
        !(is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"))) return null;
    return { id: "jg-condition", label: translate("Condition"), entries: [
      text("jg-condition-expression", { label: "Condition expression (Python)", hint: "hint.condition",
        area: true,
        get: function (el) { return body(el.businessObject.get("conditionExpression")); },
        set: function (el, v) { s.modeling.updateProperties(el, { conditionExpression: s.formal(v) }); } }),
      checkbox("jg-condition-default", { label: "Default flow of the gateway",
        get: function (el) { return el.businessObject.sourceRef.get("default") === el.businessObject; },
        set: function (el, v) {
          s.modeling.updateProperties(el.source, { "default": v ? el.businessObject : undefined });
        } })
    ] };
  }

  function conditionalEventGroup(s, element) {
    var def = eventDef(element.businessObject, "bpmn:ConditionalEventDefinition");
    if (!def) return null;
    return { id: "jg-event-condition", label: translate("Condition"), entries: [
      text("jg-event-condition-expression", { label: "Condition expression (Python)",
        hint: "hint.condition", area: true,
        get: function () { return body(def.get("condition")); },
        set: function (el, v) { s.update(el, def, { condition: s.formal(v) }); } })
    ] };
  }

  // service task parameters as lines "name: type = expression"
  function paramsText(op) {
    var list = (op && op.get("parameters") && op.get("parameters").get("parameters")) || [];
    return list.map(function (p) {
      return (p.id || "") + ": " + (p.type || "str") + " = " + (p.value || "");
    }).join("\n");
  }
  function parseParams(textValue) {
    return textValue.split("\n").map(function (line) { return line.trim(); }).filter(Boolean)
      .map(function (line) {
        var m = /^([^:=\s]+)\s*(?::\s*([^=\s]+))?\s*=\s*(.*)$/.exec(line);
        return m ? { id: m[1], type: m[2] || "str", value: m[3] } : { id: line, type: "str", value: "" };
      });
  }

  function serviceGroup(s, element) {
    var bo = element.businessObject, entries = [];
    function op() { return extOf(bo, "spiffworkflow:ServiceTaskOperator")[0]; }
    function ensureOp(el) {
      var o = op();
      if (!o) { o = s.factory.create("spiffworkflow:ServiceTaskOperator", {}); s.addExt(el, bo, o); }
      return o;
    }
    function attr(name) {
      return { get: function () { return (op() && op().get(name)) || ""; },
               set: function (el, v) {
                 if (!v && !op()) return;
                 var o = {}; o[name] = v || undefined; s.update(el, ensureOp(el), o);
               } };
    }
    function spec(label, parts, hint, area) {
      parts.label = label; parts.hint = hint; parts.area = area; return parts;
    }
    if (is(bo, "bpmn:ServiceTask")) {
      entries.push(text("jg-service-operator", spec("Service operation", attr("id"), "hint.service")));
      entries.push(text("jg-service-result", spec("Result variable", attr("resultVariable"))));
      entries.push(text("jg-service-parameters", spec("Parameters", {
        get: function () { return paramsText(op()); },
        set: function (el, v) {
          var o = ensureOp(el);
          var params = parseParams(v || "").map(function (p) {
            return s.factory.create("spiffworkflow:Parameter", p);
          });
          var holder = s.factory.create("spiffworkflow:Parameters", { parameters: params });
          params.forEach(function (p) { p.$parent = holder; });
          holder.$parent = o;
          s.update(el, o, { parameters: holder });
        } }, "hint.parameters", true)));
    }
    if (is(bo, "bpmn:ServiceTask") || is(bo, "bpmn:ScriptTask")) {
      entries.push(checkbox("jg-async", { label: "Run in the background",
        get: function (el) { return /^(true|1|yes)$/i.test(s.getProp(el.businessObject, "async")); },
        set: function (el, v) { s.setProp(el, el.businessObject, "async", v ? "true" : ""); } }));
    }
    if (is(bo, "bpmn:BusinessRuleTask")) {
      entries.push(text("jg-decision", { label: "Decision ID", hint: "hint.decision",
        get: function () { return s.getText(bo, "spiffworkflow:CalledDecisionId"); },
        set: function (el, v) { s.setText(el, bo, "spiffworkflow:CalledDecisionId", v); } }));
    }
    if (is(bo, "bpmn:CallActivity")) {
      entries.push(text("jg-called-element", { label: "Called process ID", hint: "hint.called",
        get: function () { return bo.get("calledElement") || ""; },
        set: function (el, v) { s.modeling.updateProperties(el, { calledElement: v || undefined }); } }));
    }
    return entries.length ? { id: "jg-service", label: translate("Implementation"), entries: entries } : null;
  }

  var TIMER_KINDS = [["timeDuration", "Duration"], ["timeDate", "Date"], ["timeCycle", "Cycle"]];
  function timerGroup(s, element) {
    var def = eventDef(element.businessObject, "bpmn:TimerEventDefinition");
    if (!def) return null;
    function kind() {
      return (TIMER_KINDS.filter(function (k) { return def.get(k[0]); })[0] || TIMER_KINDS[0])[0];
    }
    function write(el, k, value) {
      var props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      // kept even when empty, so the chosen type stays (deploy then asks for a value)
      props[k] = s.factory.create("bpmn:FormalExpression", { body: value || "" });
      s.update(el, def, props);
    }
    return { id: "jg-timer", label: translate("Timer"), entries: [
      select("jg-timer-type", { label: "Timer type",
        options: function () { return TIMER_KINDS.map(function (k) { return { value: k[0], label: k[1] }; }); },
        get: kind, set: function (el, k) { write(el, k, body(def.get(kind()))); } }),
      text("jg-timer-value", { label: "Timer value", hint: "hint.timer",
        get: function () { return body(def.get(kind())); },
        set: function (el, v) { write(el, kind(), quoteIso(v)); } })
    ] };
  }

  function laneGroup(s, element) {
    if (!is(element.businessObject, "bpmn:Lane")) return null;
    return { id: "jg-lane", label: translate("Role"), entries: [
      select("jg-lane-role", { label: "Lane role", hint: "hint.lane",
        options: function () {
          return [{ value: "", label: "(no role: admins only)" }].concat(Object.keys(ROLE_NAMES).map(
            function (r) { return { value: r, label: ROLE_NAMES[r] }; }));
        },
        get: function (el) { return roleOfLane(el.businessObject.name); },
        set: function (el, role) {
          if (role && roleOfLane(el.businessObject.name) !== role) {
            s.modeling.updateProperties(el, { name: LANE_ROLES[role][0] });
          }
        } })
    ] };
  }

  function formGroup(s, element) {
    var bo = element.businessObject;
    var start = is(bo, "bpmn:StartEvent") && !(bo.get("eventDefinitions") || []).length;
    if (!is(bo, "bpmn:UserTask") && !start) return null;
    var entries = [text("jg-form-key", { label: "Form key", hint: "hint.form",
      get: function (el) { return s.getProp(el.businessObject, "formKey"); },
      set: function (el, v) { s.setProp(el, el.businessObject, "formKey", v); } })];
    if (!start) {
      entries.push(text("jg-assignee", { label: "Assignee (task data path)", hint: "hint.assignee",
        get: function (el) { return s.getProp(el.businessObject, "assignee"); },
        set: function (el, v) { s.setProp(el, el.businessObject, "assignee", v); } }));
    }
    return { id: "jg-form", label: translate("Form"), entries: entries };
  }

  function correlationGroup(s, element) {
    var bo = element.businessObject;
    var owner = is(bo, "bpmn:ReceiveTask") ? bo
      : (is(bo, "bpmn:CatchEvent") && eventDef(bo, "bpmn:MessageEventDefinition"));
    if (!owner) return null;
    function pvc() { return extOf(owner, "spiffworkflow:ProcessVariableCorrelation")[0]; }
    function field(name) {
      var other = name === "propertyId" ? "expression" : "propertyId";
      return function (el, v) {
        var c = pvc();
        if (c && !v && !c.get(other)) { s.removeExt(el, owner, c); return; }
        if (c) { s.update(el, c, (function () { var o = {}; o[name] = v || undefined; return o; })()); return; }
        if (!v) return;
        var attrs = {}; attrs[name] = v;
        s.addExt(el, owner, s.factory.create("spiffworkflow:ProcessVariableCorrelation", attrs));
      };
    }
    var entries = [
      text("jg-correlation-key", { label: "Correlation key", hint: "hint.correlation",
        get: function () { return (pvc() && pvc().get("propertyId")) || ""; }, set: field("propertyId") }),
      text("jg-correlation-expression", { label: "Correlation expression (Python)",
        get: function () { return (pvc() && pvc().get("expression")) || ""; }, set: field("expression") })
    ];
    var message = owner.get("messageRef");
    if (message) {
      entries.push(text("jg-message-variable", { label: "Message variable", hint: "hint.messageVariable",
        get: function () { return s.getText(message, "spiffworkflow:MessageVariable"); },
        set: function (el, v) { s.setText(el, message, "spiffworkflow:MessageVariable", v); } }));
    }
    return { id: "jg-correlation", label: translate("Correlation"), entries: entries };
  }

  function scriptGroup(s, element) {
    var bo = element.businessObject;
    if (!is(bo, "bpmn:Activity")) return null;
    var entries = [];
    if (is(bo, "bpmn:ScriptTask")) {
      entries.push(text("jg-script", { label: "Script (Python)", area: true,
        get: function (el) { return el.businessObject.get("script"); },
        set: function (el, v) { s.modeling.updateProperties(el, { script: v || undefined }); } }));
    }
    [["jg-pre-script", "Pre-script (Python)", "spiffworkflow:PreScript"],
     ["jg-post-script", "Post-script (Python)", "spiffworkflow:PostScript"]].forEach(function (x) {
      entries.push(text(x[0], { label: x[1], area: true,
        get: function (el) { return s.getText(el.businessObject, x[2]); },
        set: function (el, v) { s.setText(el, el.businessObject, x[2], v); } }));
    });
    return { id: "jg-script", label: translate("Script"), entries: entries };
  }

  function multiGroup(s, element) {
    var mi = element.businessObject.get("loopCharacteristics");
    if (!is(mi, "bpmn:MultiInstanceLoopCharacteristics")) return null;
    function ref(prop) {
      return { get: function () { var r = mi.get(prop); return (r && (r.id || r.name)) || ""; },
               set: function (el, v) { var o = {}; o[prop] = s.varRef(v); s.update(el, mi, o); } };
    }
    function item(prop, type) {
      return { get: function () { var r = mi.get(prop); return (r && (r.name || r.id)) || ""; },
               set: function (el, v) {
                 // a variable's name, kept out of the modeler's id registry like varRef
                 var o = {}; o[prop] = v ? s.moddle.create(type, { id: v, name: v }) : undefined;
                 s.update(el, mi, o);
               } };
    }
    function expr(prop) {
      return { get: function () { return body(mi.get(prop)); },
               set: function (el, v) { var o = {}; o[prop] = s.formal(v); s.update(el, mi, o); } };
    }
    function spec(label, parts, hint) { parts.label = label; parts.hint = hint; return parts; }
    return { id: "jg-multi", label: translate("Multi-instance"), entries: [
      text("jg-multi-collection", spec("Input collection", ref("loopDataInputRef"), "hint.multi")),
      text("jg-multi-element", spec("Input element", item("inputDataItem", "bpmn:DataInput"))),
      text("jg-multi-cardinality", spec("Cardinality (Python)", expr("loopCardinality"))),
      text("jg-multi-output", spec("Output collection", ref("loopDataOutputRef"))),
      text("jg-multi-output-element", spec("Output element", item("outputDataItem", "bpmn:DataOutput"))),
      text("jg-multi-completion", spec("Completion condition (Python)", expr("completionCondition")))
    ] };
  }

  // the standard groups these replace (they write FEEL and unquoted ISO text)
  var REPLACED = { timer: true, multiInstance: true };
  var BUILDERS = [conditionGroup, conditionalEventGroup, timerGroup, laneGroup, formGroup,
                  serviceGroup, correlationGroup, scriptGroup, multiGroup];

  function JianguanProvider(propertiesPanel, injector) {
    this._s = new Services(injector);
    propertiesPanel.registerProvider(500, this);
  }
  JianguanProvider.$inject = ["propertiesPanel", "injector"];
  JianguanProvider.prototype.getGroups = function (element) {
    var s = this._s;
    return function (groups) {
      var kept = groups.filter(function (g) { return !REPLACED[g.id]; });
      var general = kept.findIndex(function (g) { return g.id === "general"; });
      var ours = BUILDERS.map(function (b) { return b(s, element); }).filter(Boolean);
      Array.prototype.splice.apply(kept, [general + 1, 0].concat(ours));
      return kept;
    };
  };

  // Diagrams name multi-instance collections by variable: bpmn-moddle reports them as unresolved
  // references and drops them; put them back before the import uses the model.
  function LoopRefRepair(eventBus, moddle, selection) {
    // The panel answers an emptied selection with the canvas root: emptied while the old
    // diagram is cleared, that creates an implicit root which outlives the import and breaks
    // the next export. Deselect while the old diagram is still there.
    eventBus.on("import.parse.start", function () { selection.select(null); });
    eventBus.on("import.parse.complete", function (event) {
      var warnings = event.warnings || [];
      for (var i = warnings.length - 1; i >= 0; i--) {
        var w = warnings[i];
        if (w.element && w.value && /^(bpmn:)?loopData(Input|Output)Ref$/.test(w.property || "")) {
          w.element.set(w.property, moddle.create("bpmn:Property", { id: w.value }));
          warnings.splice(i, 1);
        }
      }
    });
  }
  LoopRefRepair.$inject = ["eventBus", "moddle", "selection"];

  var module = {
    __init__: ["jianguanPropertiesProvider", "jianguanLoopRefRepair"],
    jianguanPropertiesProvider: ["type", JianguanProvider],
    jianguanLoopRefRepair: ["type", LoopRefRepair],
    translate: ["value", translate]
  };

  // the panel beside the canvas
  function mountPanel() {
    var canvas = document.getElementById("modeler");
    if (!canvas || document.getElementById("properties-panel")) return;
    var style = document.createElement("style");
    style.textContent = ".jg-modeler-row { display: flex; gap: 0; }" +
      ".jg-modeler-row > .modeler { flex: 1 1 auto; min-width: 0; }" +
      ".jg-properties { flex: 0 0 320px; height: 62vh; min-height: 360px; overflow: auto;" +
      " border: 1px solid var(--c-line); border-left: 0; background: #fff; }" +
      // the panel marks groups without values "empty": not the platform's empty-state block
      ".jg-properties .empty { text-align: inherit; color: inherit; padding: 0; }" +
      ".jg-properties .empty::before { content: none; display: none; }" +
      "@media (max-width: 900px) { .jg-modeler-row { flex-direction: column; }" +
      " .jg-properties { flex-basis: auto; border-left: 1px solid var(--c-line); } }";
    document.head.appendChild(style);
    var row = document.createElement("div");
    row.className = "jg-modeler-row";
    canvas.parentNode.insertBefore(row, canvas);
    row.appendChild(canvas);
    var panel = document.createElement("div");
    panel.id = "properties-panel";
    panel.className = "jg-properties";
    panel.setAttribute("aria-label", "属性面板");
    row.appendChild(panel);
  }

  JG.props = {
    laneRoles: LANE_ROLES,
    quoteIso: quoteIso,
    /* Add the panel to the options of new Modeler(...). */
    extend: function (options) {
      mountPanel();
      options.propertiesPanel = { parent: "#properties-panel" };
      options.additionalModules = (options.additionalModules || []).concat(
        [P.BpmnPropertiesPanelModule, P.BpmnPropertiesProviderModule, module]);
      options.moddleExtensions = Object.assign({}, options.moddleExtensions,
                                               { spiffworkflow: JG.spiffModdle });
      return options;
    }
  };
})();
