"""HTTP layer: thin blueprints of schemas and calls into engine/ and processes/."""

# Before any schema of web/ is built (fields copy their messages when made), whichever module
# a process or a test imports first.
from .localize import localize  # noqa: E402

localize()
