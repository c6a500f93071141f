"""One careful reader for the JSON files other people hand us (benchmark files, predictions, samples logs).

``read_json(path)`` reads a JSON document (array or object) or JSON Lines and never lets a malformed file crash
deep inside: every problem is a ``RecordError`` naming the file, the row (array index, object key or JSON Lines
row) and the field. It catches what ``json.loads`` lets through or reports without a row: bytes that are not
UTF-8, duplicate keys in an object (``json`` keeps the last one silently), nesting deeper than Python's
recursion limit, syntax errors, an empty file, and a top level that is not the array / object the caller
expects. Everything is linear in the file size; locating the row of a problem happens only when there is one.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from judge_core.records import RecordError

#: a JSON string (in a text whose escapes were blanked, see ``_row_at``) or one structural character; the
#: alternatives cannot overlap, so a scan with it is linear
_TOKEN = re.compile(r'"[^"]*(?:"|\Z)|[\[\]{},:]')
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class _HugeInteger(ValueError):
    """An integer literal longer than Python converts (``sys.get_int_max_str_digits``)."""


def _parse_int(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:
        raise _HugeInteger(digits) from None


class _Duplicates(list):
    """The duplicate keys an ``object_pairs_hook`` saw: (key, the dict it built)."""

    def hook(self, pairs):
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen = set()
            for key, _ in pairs:
                if key in seen:
                    self.append((key, obj))
                    break
                seen.add(key)
        return obj


def read_json(path, expect: str | None = None):
    """Rows of ``path``: a JSON array (a list), a JSON object (a dict keyed by id) or JSON Lines (a list).

    ``expect`` = ``"array"`` (JSON Lines counts as one) or ``"object"`` refuses any other top level. An empty file
    (no rows) is an error. Malformed input raises ``RecordError(file, row, field, problem)``."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text, bad_at = data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        # keep going with the bad bytes as lone surrogates, to find the row and field that hold them
        text, bad_at = data.decode("utf-8", errors="surrogateescape"), err.start
    text = text.removeprefix("\ufeff")  # a byte-order mark is not content
    if not text.strip():
        raise RecordError(path, "-", "<file>", "the file is empty: no rows")
    rows, lines, duplicate = _parse(path, text)
    if bad_at is not None:
        _raise_undecodable(path, text, lines, data, bad_at)
    if duplicate is not None:
        row, key, where = duplicate
        raise RecordError(path, row, key, f"{where}duplicate key in one object (JSON would keep only the last "
                                          "value silently)")
    if not rows and isinstance(rows, (list, dict)):
        raise RecordError(path, "-", "<file>", f"no rows (an empty JSON {_kind(rows)})")
    if expect == "array" and isinstance(rows, dict) and not lines and "\n" not in text.strip():
        rows = [rows]  # JSON Lines with a single row reads as one object
    want = {"array": list, "object": dict, None: (list, dict)}[expect]
    if not isinstance(rows, want):
        wanted = {"array": "a JSON array (or JSON Lines) of rows", "object": "a JSON object keyed by id",
                  None: "a JSON array, object or JSON Lines"}[expect]
        raise RecordError(path, "-", "<top level>", f"expected {wanted}, got a JSON {_kind(rows)}")
    return rows


def _kind(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _parse(path: Path, text: str):
    """(rows, JSON Lines?, first duplicate key as (row, key, where) or None): the text as one JSON document, or
    else line by line."""
    seen = _Duplicates()
    decoder = json.JSONDecoder(object_pairs_hook=seen.hook, parse_int=_parse_int)
    looks_like_lines = text.lstrip()[:1] == "{" and "\n" in text.strip()
    try:
        rows = decoder.decode(text)
        if seen:
            key, obj = seen[0]
            if obj is rows:  # two rows of an object keyed by id share an id
                return rows, False, (key, "<id>", "")
            return rows, False, (_row_holding(rows, obj), key, "")
        return rows, False, None
    except json.JSONDecodeError as err:
        if err.msg == "Extra data" and "\n" in text.strip():
            looks_like_lines = True  # one value per line
        if not looks_like_lines:  # one document that does not parse (an array, or a single line): say where
            row, field = _row_at(text, offset=err.pos)
            raise RecordError(path, row, _or_json(field), f"line {err.lineno} column {err.colno}: {err.msg}") from None
    except _HugeInteger as err:
        if not looks_like_lines:
            row, field = _row_at(text, offset=text.find(str(err)))
            raise RecordError(path, row, _or_json(field), f"an integer of {len(str(err))} digits (more than Python "
                                                          "reads)") from None
    except RecursionError:
        if not looks_like_lines:
            row, field = _row_at(text, depth=_deepest_ok())
            raise RecordError(path, row, _or_json(field), "nested deeper than Python's recursion limit") from None
    rows, duplicate = [], None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        seen.clear()
        try:
            row = decoder.decode(line)
        except json.JSONDecodeError as err:
            raise RecordError(path, len(rows), "<JSON line>",
                              f"line {lineno} is not JSON ({err.msg}); the file is neither JSON nor JSON Lines") from None
        except _HugeInteger as err:
            raise RecordError(path, len(rows), "<JSON line>",
                              f"line {lineno}: an integer of {len(str(err))} digits (more than Python reads)") from None
        except RecursionError:
            raise RecordError(path, len(rows), "<JSON line>",
                              f"line {lineno} is nested deeper than Python's recursion limit") from None
        if seen and duplicate is None:
            duplicate = (len(rows), seen[0][0], f"line {lineno}: ")
        rows.append(row)
    return rows, True, duplicate


def _or_json(field: str) -> str:
    return "<JSON>" if field in ("<row>", "<file>") else field


def _deepest_ok() -> int:
    import sys

    return max(1, sys.getrecursionlimit() // 4)


def _row_at(text: str, offset: int | None = None, depth: int | None = None):
    """(row, field) at character ``offset``, or where nesting first passes ``depth``: the row is the top-level
    array index or object key (``"-"`` outside any row), the field the key inside that row (``"<row>"`` if the
    row is not an object)."""
    level, index, row_key, field_key, last_string = 0, 0, None, None, None
    blanked = _ESCAPE.sub("__", text)  # same length, no backslash or escaped quote left inside strings
    for m in _TOKEN.finditer(blanked):
        if offset is not None and m.start() >= offset:
            break
        tok = m.group()
        if tok[0] == '"':
            tok = text[m.start():m.end()]
        if tok in "[{":
            level += 1
            if level == 2:
                field_key = None
            if depth is not None and level > depth:
                break
        elif tok in "]}":
            level -= 1
            if level == 0:
                return "-", "<file>"
        elif tok == "," and level == 1:
            index += 1
        elif tok == ":" and level == 1:
            row_key = last_string
        elif tok == ":" and level == 2:
            field_key = last_string
        else:
            last_string = tok
    if level < 1:
        return "-", "<file>"
    row = _key(row_key) if text.lstrip().startswith("{") else index
    return row, ("<row>" if level < 2 or field_key is None else _key(field_key))


def _key(token: str | None):
    """The text of a JSON string token (lone surrogates written as escapes), or ``"-"``."""
    try:
        value = json.loads(token) if token else "-"
    except ValueError:
        return "-"
    return ascii(value)[1:-1] if _UNDECODABLE.search(value) else value


def _row_holding(rows, target):
    """The top-level row whose value is (or contains) the dict ``target``."""
    items = rows.items() if isinstance(rows, dict) else enumerate(rows) if isinstance(rows, list) else ()
    if rows is target:
        return "-"
    for row, value in items:
        stack = [value]
        while stack:
            v = stack.pop()
            if v is target:
                return row
            if isinstance(v, dict):
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)
    return "-"


def _raise_undecodable(path: Path, text: str, lines: bool, data: bytes, bad_at: int):
    """Name the row and field holding the first bytes that are not UTF-8 (found by one scan of the text)."""
    lineno = data.count(b"\n", 0, bad_at) + 1
    problem = f"bytes at offset {bad_at} (line {lineno}) are not UTF-8: {data[bad_at:bad_at + 4]!r}"
    at = len(data[:bad_at].decode("utf-8"))  # the bytes before the first bad one decode
    if data.startswith(b"\xef\xbb\xbf"):
        at -= 1  # the byte-order mark was taken off the text
    if lines:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        row = sum(1 for line in text[:start].splitlines() if line.strip())
        key, _ = _row_at(text[start:end if end >= 0 else len(text)], at - start)
        raise RecordError(path, row, "<row>" if key == "-" else key, problem)
    row, field = _row_at(text, at)
    raise RecordError(path, row, field, problem)
