"""YAML and JSON text for plan files: a fast, strict reader and deterministic writers.

Reading follows the YAML 1.2 core schema (``yes``/``no``/``on`` are strings, ``1e3`` is a
number, dates stay strings) and turns every number into the `Decimal` of its text, so
``1.50`` keeps its trailing zero. Writing sorts keys and writes each `Decimal` exactly as it
holds it. Both YAML directions share one resolver, so the writer quotes exactly the strings
the reader would otherwise take for something else. Pure Python: no Django.
"""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import yaml
import yaml.emitter
import yaml.events
import yaml.nodes
import yaml.representer
import yaml.resolver
import yaml.serializer

__all__ = [
    "YAML_FLOAT",
    "YAML_INT",
    "PlanYamlResolver",
    "TextError",
    "decode_json",
    "decode_yaml",
    "dump_json",
    "dump_json_bytes",
    "dump_yaml",
]

# Guards against alias bombs and pathological nesting (a real plan is far below both).
MAX_NODES = 5_000_000
MAX_DEPTH = 64

YAML_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
YAML_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_NUMBER_START = frozenset("-+.0123456789")


class TextError(ValueError):
    """The text is not valid YAML/JSON for a plan (the message says where and why)."""


def _resolve_scalar(value: str) -> str:
    """The core-schema tag of a plain scalar."""
    if value in _NULLS:
        return _NULL
    if value[0] in _NUMBER_START:
        if YAML_INT.match(value):
            return _INT
        return _FLOAT if YAML_FLOAT.match(value) else _STR
    if value in _TRUE or value in _FALSE:
        return _BOOL
    return _MERGE if value == "<<" else _STR


class PlanYamlResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core-schema resolution (PyYAML's default is YAML 1.1, where ``no`` is false).

    A plain scalar is null, a boolean, an int or a float by the core schema's rules and a
    string otherwise; a quoted scalar is always a string.
    """

    def resolve(self, kind: type[yaml.nodes.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.nodes.ScalarNode:
            return _resolve_scalar(value) if implicit[0] else _STR
        return _SEQ if kind is yaml.nodes.SequenceNode else _MAP


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        pass
    try:
        return Decimal(int(text, 0))  # 0x1f, 0o17
    except ValueError:
        raise TextError(f"{text!r} is not a number") from None


def _where(event: Any) -> str:
    mark = event.start_mark
    return f" (line {mark.line + 1}, column {mark.column + 1})"


def _scalar(event: yaml.events.ScalarEvent) -> Any:
    text, tag = event.value, event.tag
    if tag is None or tag == "!":
        tag = _resolve_scalar(text) if event.implicit[0] else _STR
    if tag in (_STR, _TIMESTAMP):  # dates stay text; the plan checks their form
        return text
    if tag in (_INT, _FLOAT):
        try:
            return _number(text)
        except TextError as exc:
            raise TextError(f"{exc}{_where(event)}") from None
    if tag == _BOOL:
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise TextError(f"{text!r} is not true or false{_where(event)}")
    if tag == _NULL:
        return None
    if tag == _MERGE:
        return text
    raise TextError(f"unsupported tag {tag}{_where(event)}")


_NO_KEY: Any = object()
_MERGE_KEY: Any = object()  # the key of `<<: *defaults` (a quoted '<<' is a plain key)


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_event", "merges")

    def __init__(self, container: Any, anchor: str | None) -> None:
        self.container = container
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_event: Any = None
        self.merges: list[Any] = []


def _build(parser: Any) -> tuple[Any, bool]:
    """Plain data straight from the parser's events (PyYAML's composer and constructor are
    several times slower). Returns the data and whether any alias was used."""
    anchors: dict[str, Any] = {}
    open_anchors: set[str] = set()
    stack: list[_Frame] = []
    root: Any = None
    aliased = False
    documents = 0
    # Plain scalars repeat a lot (every mapping key, statuses, dates): their value depends on
    # the text alone and is immutable, so each distinct one is built once.
    plain: dict[str, Any] = {}
    # Event classes and the like as locals: this loop runs once per event (~300,000 for a
    # 5,000-key-result plan).
    scalar_event = yaml.events.ScalarEvent
    mapping_start = yaml.events.MappingStartEvent
    sequence_start = yaml.events.SequenceStartEvent
    mapping_end = yaml.events.MappingEndEvent
    sequence_end = yaml.events.SequenceEndEvent
    alias_event = yaml.events.AliasEvent
    containers = (list, dict)
    no_key = _NO_KEY
    get_plain = plain.get
    get_event = parser.get_event
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event:
            if event.tag is None and event.implicit[0]:
                text = event.value
                value: Any = get_plain(text, no_key)
                if value is no_key:
                    value = _scalar(event)
                    if len(plain) < 100_000:
                        plain[text] = value
            else:
                value = _scalar(event)
            if event.anchor is not None:
                anchors[event.anchor] = value
        elif kind is mapping_start or kind is sequence_start:
            is_map = kind is mapping_start
            if event.tag not in (None, "!", _MAP if is_map else _SEQ):
                raise TextError(f"unsupported tag {event.tag}{_where(event)}")
            if len(stack) >= MAX_DEPTH:
                raise TextError(f"nested more than {MAX_DEPTH} levels deep{_where(event)}")
            frame = _Frame({} if is_map else [], event.anchor)
            if event.anchor is not None:
                anchors[event.anchor] = frame.container
                open_anchors.add(event.anchor)
            stack.append(frame)
            continue
        elif kind is mapping_end or kind is sequence_end:
            frame = stack.pop()
            value = frame.container
            if frame.merges:
                for source in frame.merges:  # `<<: *defaults` copies keys not written here
                    for name, item in source.items():
                        value.setdefault(name, item)
            if frame.anchor is not None:
                open_anchors.discard(frame.anchor)
        elif kind is alias_event:
            if event.anchor in open_anchors:
                raise TextError(f"a value contains itself{_where(event)}")
            if event.anchor not in anchors:
                raise TextError(f"unknown alias *{event.anchor}{_where(event)}")
            value = anchors[event.anchor]
            aliased = True
        elif kind is yaml.events.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise TextError(f"expected one document, found more{_where(event)}")
            continue
        elif kind is yaml.events.StreamEndEvent:
            return root, aliased
        else:  # stream start, document end
            continue
        if not stack:
            root = value
            continue
        top = stack[-1]
        container = top.container
        if type(container) is list:
            container.append(value)
        elif top.key is no_key:
            if isinstance(value, containers):
                raise TextError(f"a mapping key must be text{_where(event)}")
            merge = (
                kind is scalar_event
                and event.value == "<<"
                and event.tag is None
                and event.implicit[0]
            )
            top.key = _MERGE_KEY if merge else value if isinstance(value, str) else str(value)
            top.key_event = event
        else:
            key = top.key
            top.key = no_key
            if key is _MERGE_KEY:
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(source, dict) for source in sources):
                    raise TextError(f"'<<' must merge mappings{_where(top.key_event)}")
                top.merges.extend(sources)
            elif key in container:
                # PyYAML keeps the last of two equal keys silently; in a plan it hides a mistake.
                raise TextError(f"found the key {key!r} twice{_where(top.key_event)}")
            else:
                container[key] = value


def _expanded_size(data: Any) -> int:
    """Values in `data` counting shared ones each time, in time linear in distinct ones."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if not isinstance(value, dict | list):
            return 1
        ident = id(value)
        if ident not in sizes:
            children = value.values() if isinstance(value, dict) else value
            total = 1
            for child in children:
                total += size(child)
                if total > MAX_NODES:
                    raise TextError(f"too large: more than {MAX_NODES} values once expanded")
            sizes[ident] = total
        return sizes[ident]

    return size(data)


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


_Parser: type[Any] = _PyParser
if yaml.__with_libyaml__:  # libyaml parses about ten times faster; same events
    from yaml._yaml import CParser

    _Parser = CParser


def decode_yaml(text: str) -> Any:
    """One YAML document → plain data (str keys, lists, Decimal numbers, dates as text).

    Raises `TextError` for invalid YAML, several documents, duplicate keys, unsupported tags,
    values containing themselves, or more than `MAX_NODES` values once aliases are expanded.
    """
    parser = _Parser(text)
    try:
        data, aliased = _build(parser)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise TextError(f"{exc.problem or exc.context or 'unreadable'}{where}") from None
    except yaml.YAMLError as exc:
        raise TextError(str(exc)) from None
    finally:
        parser.dispose()
    if aliased:
        _expanded_size(data)
    return data


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise TextError(f"found the key {key!r} twice in one object")
        out[key] = value
    return out


def _json_constant(name: str) -> Any:
    raise TextError(f"{name} is not a number a plan can hold")


def decode_json(text: str) -> Any:
    """JSON text → plain data (numbers as the `Decimal` of their text); raises `TextError`."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_json_constant,
            object_pairs_hook=_json_pairs,
        )
    except json.JSONDecodeError as exc:
        raise TextError(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise TextError("nested too deeply") from None


# --- writers ------------------------------------------------------------------------------


class _PlanDumper(
    yaml.emitter.Emitter,
    yaml.serializer.Serializer,
    yaml.representer.SafeRepresenter,
    PlanYamlResolver,
):
    """A safe dumper that quotes by the plan reader's rules and writes Decimals as held."""

    def __init__(self, stream: Any) -> None:
        yaml.emitter.Emitter.__init__(
            self, stream, canonical=False, indent=2, width=100, allow_unicode=True
        )
        yaml.serializer.Serializer.__init__(self)
        yaml.representer.SafeRepresenter.__init__(
            self, default_style=None, default_flow_style=False, sort_keys=True
        )
        PlanYamlResolver.__init__(self)

    def ignore_aliases(self, data: Any) -> bool:
        # Never write anchors: the text must not depend on which values share one object.
        return True

    def represent_decimal(self, value: Decimal) -> yaml.nodes.ScalarNode:
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written in a plan file")
        text = str(value)
        # "12" is a YAML int and "1.50"/"1E+3" a float; both read back as this very Decimal.
        return self.represent_scalar(_INT if YAML_INT.match(text) else _FLOAT, text)

    def represent_text(self, value: str) -> yaml.nodes.ScalarNode:
        # PyYAML writes NEL (U+0085) raw inside single quotes, where a reader folds it into
        # a space; double quotes escape it (and every other special line break).
        if any(ch in value for ch in "\x85\u2028\u2029"):
            return self.represent_scalar(_STR, value, style='"')
        return self.represent_str(value)


_PlanDumper.add_representer(Decimal, _PlanDumper.represent_decimal)
_PlanDumper.add_representer(str, _PlanDumper.represent_text)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: sorted keys, block style, Decimals as held, final newline."""
    stream = io.StringIO()
    dumper = _PlanDumper(stream)
    try:
        dumper.open()
        dumper.represent(data)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} cannot be written as a JSON number")
        return orjson.Fragment(str(value))  # str(Decimal) is a valid JSON number when finite
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dump_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, Decimals as held, final newline."""
    return dump_json_bytes(data).decode()


def dump_json_bytes(data: Any) -> bytes:
    """`dump_json` as UTF-8 bytes (no decoding and re-encoding of a large report)."""
    return orjson.dumps(
        data,
        default=_json_default,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
    )
