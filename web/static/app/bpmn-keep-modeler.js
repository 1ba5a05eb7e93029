// Both bpmn-js bundles define the global BpmnJS: keep the modeler under its own name before
// the viewer bundle loads (a file, not an inline script: the Content-Security-Policy).
window.JGBpmnModeler = window.BpmnJS;
