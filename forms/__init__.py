"""Task forms: form-js JSON definitions (one per user task, by its formKey) and the validation
of submitted data built from them."""
