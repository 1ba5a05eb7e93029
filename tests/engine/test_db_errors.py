"""Errors inside a write transaction reach the caller as they were raised, cause included;
only serialization failures and lock timeouts become a retryable StaleWrite."""
from __future__ import annotations

import pytest

from engine.db import Database
from engine.errors import StaleWrite


class Broken(Exception):
    pass


def test_an_untranslated_error_keeps_its_own_cause(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.db")
    cause = KeyError("the real reason")
    with pytest.raises(Broken) as info:
        with db.write():
            try:
                raise cause
            except KeyError as exc:
                raise Broken("outer") from exc
    assert info.value.__cause__ is cause
    db.dispose()


def test_a_lock_timeout_becomes_a_retryable_conflict_naming_its_cause(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.db")
    original = RuntimeError("database is locked")
    with pytest.raises(StaleWrite) as info:
        with db.write():
            raise original
    assert info.value.__cause__ is original
    db.dispose()
