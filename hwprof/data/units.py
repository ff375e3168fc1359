"""Sizes in bytes as people write them (4GiB, 512MiB, 32KiB, 32kB, 64k, 65536): the one parser every option uses."""

from __future__ import annotations

import re

_SIZE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*(?:([kmg])(i?)b?|b)?\s*", re.IGNORECASE)
_POWER = {"k": 10, "m": 20, "g": 30}


class SizeError(ValueError):
    """A text that is not a size."""


def parse_size(text: str) -> int:
    """Bytes in a size; k, M and G are powers of 1024 (with or without i, B), a bare number is bytes (a negative
    size parses, for the caller to refuse with its own reason)."""
    found = _SIZE.fullmatch(str(text))
    if not found:
        raise SizeError(f"{text!r} is not a size (e.g. 4GiB, 512MiB, 32KiB)")
    number, unit = found.group(1), (found.group(2) or "").lower()
    value = float(number) * (1 << _POWER[unit]) if unit else float(number)
    if value != int(value):
        raise SizeError(f"{text!r} is not a whole number of bytes")
    return int(value)
