/* Building blocks of the designer's properties panel (app/designer-properties.js): bpmn-js
 * `translate` in Chinese, moddle helpers for the spiffworkflow extensions, and text / select /
 * checkbox entries of @bpmn-io/properties-panel (from the bundle global JGPropertiesPanel). */
(function () {
  "use strict";
  var JG = window.JG = window.JG || {};
  var P = window.JGPropertiesPanel;
  if (!P) return;
  var h = P.h, useService = P.useService;

  // -- translate: the panel's dictionary (app/i18n/properties-zh.js), then the modeler's --------
  function translate(template, replacements) {
    return JG.i18n ? JG.i18n.translate(template, replacements, JG.propertiesZh) : template;
  }

  // -- moddle helpers ----------------------------------------------------------------------------
  function is(obj, type) { return !!obj && typeof obj.$instanceOf === "function" && obj.$instanceOf(type); }
  function extOf(owner, type) {
    var ee = owner && owner.get("extensionElements");
    return ((ee && ee.get("values")) || []).filter(function (v) { return is(v, type); });
  }
  function eventDef(bo, type) {
    return (bo.get("eventDefinitions") || []).filter(function (d) { return is(d, type); })[0];
  }
  function body(expr) { return (expr && expr.get("body")) || ""; }

  function Services(injector) {
    this.modeling = injector.get("modeling");
    this.factory = injector.get("bpmnFactory");
    this.moddle = injector.get("moddle");
  }
  Services.prototype.formal = function (text) {
    return text ? this.factory.create("bpmn:FormalExpression", { body: text }) : undefined;
  };
  Services.prototype.update = function (element, target, props) {
    this.modeling.updateModdleProperties(element, target, props);
  };
  Services.prototype.addExt = function (element, owner, child) {
    var ee = owner.get("extensionElements");
    if (!ee) {
      ee = this.factory.create("bpmn:ExtensionElements", { values: [child] });
      ee.$parent = owner;
      child.$parent = ee;
      this.update(element, owner, { extensionElements: ee });
    } else {
      child.$parent = ee;
      this.update(element, ee, { values: ee.get("values").concat([child]) });
    }
  };
  Services.prototype.removeExt = function (element, owner, child) {
    var ee = owner.get("extensionElements");
    this.update(element, ee, { values: ee.get("values").filter(function (v) { return v !== child; }) });
  };
  // spiffworkflow:properties / property[name]
  Services.prototype.getProp = function (bo, name) {
    var ps = extOf(bo, "spiffworkflow:Properties")[0];
    var p = ps && (ps.get("properties") || []).filter(function (x) { return x.name === name; })[0];
    return (p && p.value) || "";
  };
  Services.prototype.setProp = function (element, bo, name, value) {
    var ps = extOf(bo, "spiffworkflow:Properties")[0];
    var list = (ps && ps.get("properties")) || [];
    var p = list.filter(function (x) { return x.name === name; })[0];
    if (!value) {
      if (p) this.update(element, ps, { properties: list.filter(function (x) { return x !== p; }) });
    } else if (p) {
      this.update(element, p, { value: value });
    } else {
      p = this.factory.create("spiffworkflow:Property", { name: name, value: value });
      if (ps) {
        p.$parent = ps;
        this.update(element, ps, { properties: list.concat([p]) });
      } else {
        ps = this.factory.create("spiffworkflow:Properties", { properties: [p] });
        p.$parent = ps;
        this.addExt(element, bo, ps);
      }
    }
  };
  // a spiffworkflow element holding text (preScript, postScript, messageVariable)
  Services.prototype.getText = function (owner, type) {
    var el = extOf(owner, type)[0];
    return (el && el.get("value")) || "";
  };
  Services.prototype.setText = function (element, owner, type, value) {
    var el = extOf(owner, type)[0];
    if (!value) { if (el) this.removeExt(element, owner, el); }
    else if (el) this.update(element, el, { value: value });
    else this.addExt(element, owner, this.factory.create(type, { value: value }));
  };
  // loopDataInputRef / loopDataOutputRef name a variable, not an element of the file: a detached
  // item with that id serializes as the name (and keeps ids out of the id registry)
  Services.prototype.varRef = function (name) {
    return name ? this.moddle.create("bpmn:Property", { id: name }) : undefined;
  };

  // Bare ISO 8601 text (P3D, R3/PT1H, 2026-01-31T09:00) is a Python name or a division: quote it.
  function quoteIso(value) {
    var v = (value || "").trim();
    if (/^(R\d*\/)?P(?=\d|T\d)[\dYMWD]*(T[\d.HMS]*)?$/i.test(v) || /^R\d*\/\S+$/.test(v) ||
        /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
      return JSON.stringify(v);
    }
    return v;
  }

  // -- entries ---------------------------------------------------------------------------------
  function TextComponent(props) {
    var tr = useService("translate"), debounce = useService("debounceInput");
    var spec = props.spec, element = props.element;
    return h(spec.area ? P.TextAreaEntry : P.TextFieldEntry, {
      element: element, id: props.id, label: tr(spec.label),
      description: spec.hint ? tr(spec.hint) : undefined, debounce: debounce,
      monospace: !!spec.area, autoResize: !!spec.area, rows: spec.area ? 2 : undefined,
      getValue: function () { return spec.get(element) || ""; },
      setValue: function (value) { spec.set(element, (value || "").replace(/^\s+|\s+$/g, "")); }
    });
  }
  function SelectComponent(props) {
    var tr = useService("translate"), spec = props.spec, element = props.element;
    return h(P.SelectEntry, {
      element: element, id: props.id, label: tr(spec.label),
      description: spec.hint ? tr(spec.hint) : undefined,
      getValue: function () { return spec.get(element); },
      setValue: function (value) { spec.set(element, value); },
      getOptions: function () {
        return spec.options().map(function (o) { return { value: o.value, label: tr(o.label) }; });
      }
    });
  }
  function CheckboxComponent(props) {
    var tr = useService("translate"), spec = props.spec, element = props.element;
    return h(P.CheckboxEntry, {
      element: element, id: props.id, label: tr(spec.label),
      getValue: function () { return !!spec.get(element); },
      setValue: function (value) { spec.set(element, value); }
    });
  }
  function text(id, spec) {
    return { id: id, spec: spec, component: TextComponent,
             isEdited: spec.area ? P.isTextAreaEntryEdited : P.isTextFieldEntryEdited };
  }
  function select(id, spec) {
    return { id: id, spec: spec, component: SelectComponent, isEdited: P.isSelectEntryEdited };
  }
  function checkbox(id, spec) {
    return { id: id, spec: spec, component: CheckboxComponent, isEdited: P.isCheckboxEntryEdited };
  }

  JG.propsKit = { translate: translate, is: is, extOf: extOf, eventDef: eventDef, body: body,
                  Services: Services, quoteIso: quoteIso, text: text, select: select,
                  checkbox: checkbox };
})();
