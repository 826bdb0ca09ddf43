"""Stable keys of run configurations: the name a run's file carries and the attribute it records.

A key is the SHA-256 of the configuration written as canonical JSON (sorted keys, no spaces,
floats in Python's shortest round-trip form), so it is the same in every process, on every
machine and in every session, unlike Python's ``hash``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: Characters of the key shown in file names (48 bits); the file's attribute holds all 64.
SHORT = 12


def config_key(config: dict[str, Any]) -> str:
    """The SHA-256 hex digest of ``config`` as canonical JSON.

    Parameters
    ----------
    config : dict
        JSON-serialisable values (numbers, strings, None, lists, dicts); numpy scalars are
        refused rather than guessed at, so that 100 and 100.0 are told apart only on purpose.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    try:
        text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except TypeError as err:
        raise ValueError(f"config must hold plain JSON values only: {err}") from None
    return hashlib.sha256(text.encode("ascii")).hexdigest()
