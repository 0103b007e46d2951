"""JSON in a stored file, read as a stream (ijson), with the line and the JSON pointer of
every value: an import never holds a large release package or statement array whole, and
a value can be cited by its pointer and the exact line that holds it (the citation check
re-reads the stored file there). Errors name the line.

The file is fed to ijson one line at a time, so the events that come out after a line
was fed are the tokens on that line (a JSON token never spans a line end).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import ijson


class JSONError(ValueError):
    def __init__(self, msg: str, line: int):
        super().__init__(f"line {line}: {msg}")
        self.line = line


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _message(exc: Exception, at_end: bool) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.removeprefix("parse error: ")
    if at_end and ("premature EOF" in text or "Incomplete" in text):
        return "the file ends inside the JSON value (truncated?)"
    if "trailing garbage" in text or "Additional data" in text:
        return "extra data after the JSON value"
    return text


def events(lines: Iterator[str]) -> Iterator[tuple[int, str, str, str, object]]:
    """(line number, line text, pointer, event, value) for every ijson event of the text
    whose lines are `lines` (without their line ends). A member's pointer is reported with
    its key (event map_key); a container's start and end events carry its own pointer."""
    sink = ijson.sendable_list()
    parser = ijson.basic_parse_coro(sink, use_float=True)
    stack: list[list] = []  # [pointer, is_array, next index, current member pointer]
    number, text = 0, ""

    def pointer_of_value() -> str:
        if not stack:
            return ""
        top = stack[-1]
        if top[1]:
            top[2] += 1
            return f"{top[0]}/{top[2] - 1}"
        return top[3]

    def drain():
        for event, value in sink:
            if event == "map_key":
                stack[-1][3] = f"{stack[-1][0]}/{escape(value)}"
                yield number, text, stack[-1][3], event, value
            elif event in ("start_map", "start_array"):
                pointer = pointer_of_value()
                yield number, text, pointer, event, None
                stack.append([pointer, event == "start_array", 0, ""])
            elif event in ("end_map", "end_array"):
                yield number, text, stack.pop()[0], event, None
            else:
                yield number, text, pointer_of_value(), event, value
        del sink[:]

    # Each line is fed with its line end once the next one is read, the last one without:
    # a file cut short inside a string is then reported as truncated.
    previous = None
    for line_text in lines:
        if previous is not None:
            number, text = number + 1, previous
            try:
                parser.send(text.encode("utf-8") + b"\n")
            except ijson.JSONError as exc:
                raise JSONError(_message(exc, False), number) from exc
            yield from drain()
        previous = line_text
    if previous is not None:
        number, text = number + 1, previous
        try:
            parser.send(text.encode("utf-8"))
        except ijson.JSONError as exc:
            raise JSONError(_message(exc, False), number) from exc
        yield from drain()
    try:
        parser.close()
    except ijson.JSONError as exc:
        raise JSONError(_message(exc, True), max(number, 1)) from exc
    yield from drain()


@dataclass
class Unit:
    """One value of the file built whole (a release, a statement), with the line of each
    pointer in it and the text of the lines it spans."""
    pointer: str
    value: object
    lines: dict[str, int] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)

    def at(self, pointer: str, fallback: str = "") -> tuple[int, str]:
        line = self.lines.get(pointer) or self.lines.get(fallback) or self.lines.get(self.pointer) or 1
        return line, self.texts.get(line, "")


def units(lines: Iterator[str], is_unit: Callable[[str], bool]) -> Iterator[Unit]:
    """The values whose pointer `is_unit` accepts, each built whole as soon as it ends;
    then, last, the rest of the file (the root with those values left out, as None) as a
    Unit of pointer "" - a file without any such value is that last Unit alone."""
    root = Unit("", None)
    building: list[tuple[object, str | None]] = []  # (container, member key) being filled
    current: Unit | None = None
    depth_of_unit = -1

    def put(value):
        nonlocal building
        if not building:
            return value
        container, _ = building[-1]
        if isinstance(container, list):
            container.append(value)
        else:
            container[building[-1][1]] = value
        return None

    for number, text, pointer, event, value in events(lines):
        target = current or root
        if current is not None:
            current.texts[number] = text
        if event == "map_key":
            target.lines[pointer] = number
            building[-1] = (building[-1][0], value)
            continue
        if event in ("start_map", "start_array"):
            if current is None and pointer and is_unit(pointer):
                current, depth_of_unit = Unit(pointer, None), len(building)
                current.texts[number] = text
                put(None)
                building.append(({} if event == "start_map" else [], None))
                current.lines.setdefault(pointer, number)
                continue
            target.lines.setdefault(pointer, number)
            container = {} if event == "start_map" else []
            if not building:
                root.value = container
            else:
                put(container)
            building.append((container, None))
            continue
        if event in ("end_map", "end_array"):
            container, _ = building.pop()
            if current is not None and len(building) == depth_of_unit:
                current.value = container
                yield current
                current, depth_of_unit = None, -1
            continue
        target.lines.setdefault(pointer, number)
        if current is None and pointer and is_unit(pointer):
            put(None)
            yield Unit(pointer, value, {pointer: number}, {number: text})
        elif not building:
            root.value = value
        else:
            put(value)
    yield root


def line_at(path: Path, pointer: str) -> tuple[int | None, dict[str, object]]:
    """Re-read a stored JSON file: (the line of `pointer`, {pointer: value} of the `id`
    members of its ancestors), or (None, {}) when the file has no such pointer or is no
    longer JSON. What the citation check compares a JSON locator with."""
    from apps.catalog.models.sources import stored_file_lines

    ancestors = {f"{pointer[:m.start()]}/id" for m in re.finditer("/", pointer)}
    found, ids = None, {}
    try:
        for number, _, here, event, value in events(stored_file_lines(path)):
            if here == pointer and found is None:
                found = number
            elif here in ancestors and event not in ("map_key", "start_map", "start_array", "end_map", "end_array"):
                ids[here] = value
    except (JSONError, OSError, UnicodeDecodeError, EOFError):
        return None, {}
    return found, ids
