"""HTTP layer: thin blueprints of schemas and calls into engine/ and processes/."""
