"""Fixtures every test module may use; the shared helpers live in ``helpers.py``."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import make_record


@pytest.fixture
def record() -> dict[str, Any]:
    return make_record()
