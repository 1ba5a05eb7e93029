// After the viewer bundle: keep it as JGBpmnViewer and give BpmnJS back to the modeler.
window.JGBpmnViewer = window.BpmnJS; window.BpmnJS = window.JGBpmnModeler;
