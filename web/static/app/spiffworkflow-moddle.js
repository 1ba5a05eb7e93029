/* The spiffworkflow extension namespace as a bpmn-js moddle descriptor, so the designer's
 * properties panel can edit what the engine reads (spiffworkflow.xsd of SpiffWorkflow 3.2 plus
 * processVariableCorrelation). Every element the bundled diagrams use must be described here:
 * an undescribed element of a described namespace is dropped on import
 * (tests/web/test_spiff_moddle.py round-trips bpmn/*.bpmn to check). */
(function (root) {
  "use strict";
  function text(name) {
    return { name: name, superClass: ["Element"],
             properties: [{ name: "value", isBody: true, type: "String" }] };
  }
  var descriptor = {
    name: "SpiffWorkflow", prefix: "spiffworkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Properties", superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"],
        properties: [{ name: "name", isAttr: true, type: "String" },
                     { name: "value", isAttr: true, type: "String" }] },
      text("PreScript"), text("PostScript"), text("CalledDecisionId"),
      text("InstructionsForEndUser"), text("MessagePayload"), text("MessageVariable"),
      text("PayloadExpression"), text("VariableName"),
      { name: "ProcessVariableCorrelation", superClass: ["Element"],
        properties: [{ name: "propertyId", type: "String" }, { name: "expression", type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" },
                     { name: "resultVariable", isAttr: true, type: "String" },
                     { name: "parameters", type: "Parameters" },
                     { name: "retry", type: "Retry" }] },
      { name: "Parameters", superClass: ["Element"],
        properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" },
                     { name: "type", isAttr: true, type: "String" },
                     { name: "value", isAttr: true, type: "String" }] },
      { name: "Retry", superClass: ["Element"],
        properties: [{ name: "retries", isAttr: true, type: "String" },
                     { name: "backoff_base", isAttr: true, type: "String" }] },
      { name: "UnitTests", superClass: ["Element"],
        properties: [{ name: "unitTests", type: "UnitTest", isMany: true }] },
      { name: "UnitTest", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" },
                     { name: "inputJson", type: "String" },
                     { name: "expectedOutputJson", type: "String" }] },
      { name: "MultiInstance", extends: ["bpmn:MultiInstanceLoopCharacteristics"],
        properties: [{ name: "scriptsOnInstances", isAttr: true, type: "String" }] }
    ],
    enumerations: []
  };
  if (typeof module !== "undefined" && module.exports) module.exports = descriptor;
  else (root.JG = root.JG || {}).spiffModdle = descriptor;
})(this);
