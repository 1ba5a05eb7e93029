// Entry of the properties panel bundle (scripts/vendor_assets.sh builds it with esbuild into
// web/static/vendor/bpmn-js-properties-panel/jg-properties-panel.min.js, global JGPropertiesPanel).
// The package's own UMD exports only the modules; a custom provider also needs the entry
// components and preact's `h` from the same copy of preact (hooks break across two copies).
export { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from 'bpmn-js-properties-panel';
export {
  TextFieldEntry, TextAreaEntry, SelectEntry, CheckboxEntry,
  isTextFieldEntryEdited, isTextAreaEntryEdited, isSelectEntryEdited, isCheckboxEntryEdited
} from '@bpmn-io/properties-panel';
export { h } from '@bpmn-io/properties-panel/preact';
