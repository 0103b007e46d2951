"""JSON with positions: the value, and the line of every JSON pointer in the text, so an
imported value can be cited by the exact line that holds it (the citation check re-reads
that line of the stored file). Errors name the line and column, like json's own."""
from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = {"true": True, "false": False, "null": None}


class JSONError(ValueError):
    def __init__(self, msg: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {msg}")
        self.line, self.column = line, column


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def loads(text: str) -> tuple[object, dict[str, int]]:
    """(value, {pointer: line}); the line of a member is the line of its key."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines: dict[str, int] = {}

    def line_of(pos: int) -> int:
        return bisect.bisect_right(starts, pos)

    def fail(msg: str, pos: int):
        line = line_of(pos)
        raise JSONError(msg, line, pos - starts[line - 1] + 1)

    def ws(pos: int) -> int:
        return _WS.match(text, pos).end()

    def value(pos: int, pointer: str):
        pos = ws(pos)
        lines.setdefault(pointer, line_of(pos))
        if pos >= len(text):
            fail("the file ends where a value is expected (truncated?)", pos)
        char = text[pos]
        if char == "{":
            result, pos = {}, ws(pos + 1)
            if text.startswith("}", pos):
                return result, pos + 1
            while True:
                if not text.startswith('"', pos):
                    fail("expected a property name in double quotes", pos)
                key_pos = pos
                try:
                    key, pos = scanstring(text, pos + 1)
                except json.JSONDecodeError as exc:
                    fail(exc.msg, exc.pos)
                pos = ws(pos)
                if not text.startswith(":", pos):
                    fail("expected ':'", pos)
                child = f"{pointer}/{escape(key)}"
                lines[child] = line_of(key_pos)
                result[key], pos = value(pos + 1, child)
                pos = ws(pos)
                if text.startswith(",", pos):
                    pos = ws(pos + 1)
                    continue
                if text.startswith("}", pos):
                    return result, pos + 1
                fail("expected ',' or '}'" if pos < len(text) else "the file ends inside an object (truncated?)", pos)
        if char == "[":
            result, pos = [], ws(pos + 1)
            if text.startswith("]", pos):
                return result, pos + 1
            while True:
                item, pos = value(pos, f"{pointer}/{len(result)}")
                result.append(item)
                pos = ws(pos)
                if text.startswith(",", pos):
                    pos += 1
                    continue
                if text.startswith("]", pos):
                    return result, pos + 1
                fail("expected ',' or ']'" if pos < len(text) else "the file ends inside an array (truncated?)", pos)
        if char == '"':
            try:
                return scanstring(text, pos + 1)
            except json.JSONDecodeError as exc:
                fail(exc.msg if pos < len(text) else "the file ends inside a string", exc.pos)
        for word, constant in _CONSTANTS.items():
            if text.startswith(word, pos):
                return constant, pos + len(word)
        match = _NUMBER.match(text, pos)
        if match:
            number = match.group(0)
            return (float(number) if match.group(1) or match.group(2) else int(number)), match.end()
        fail("expected a value", pos)

    result, pos = value(0, "")
    pos = ws(pos)
    if pos != len(text):
        fail("extra data after the JSON value", pos)
    return result, lines
