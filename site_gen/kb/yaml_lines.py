"""YAML loading that remembers where every key and item came from.

Error messages must point at a line, but plain `yaml.safe_load` forgets positions. We compose
the node tree once (the C parser when available, for speed), build the data from it, and keep
the tree so that a path such as ("results", 0, "metric") can be turned into a line number only
when a message needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from site_gen.kb.problems import Problem, dotted

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps timestamps as text: `date: 2025-03-14` stays the string the model expects."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping key written twice: YAML keeps only the last value, so the first is silently lost."""

    path: Path_  # the key's path, e.g. ("results", 0, "value")
    first_line: int  # 1-based
    line: int  # 1-based line of the repeat


@dataclass(frozen=True)
class ParsedYaml:
    """The loaded data and the node tree it was built from."""

    data: Any
    root: yaml.Node | None
    duplicates: list[DuplicateKey] = field(default_factory=list)

    def duplicate_problems(self, rel: str) -> list[Problem]:
        """One problem per repeated key, at the repeat, naming the line of the first."""
        return [
            Problem(
                rel,
                dup.line,
                dotted(dup.path),
                f"duplicate key: `{dup.path[-1]}:` is also on line {dup.first_line}",
                "keep one of the two lines: YAML would silently use only the last",
            )
            for dup in self.duplicates
        ]

    def _walk(self, path: Path_) -> tuple[yaml.Node | None, int, bool]:
        """Deepest node along `path`, its line (a key's line for mapping members), and whether all of `path` exists."""
        node = self.root
        if node is None:
            return None, 0, False
        line = node.start_mark.line
        for step in path:
            found = None
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == step:
                        found, line = value, key.start_mark.line
                        break
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value)
            ):
                found = node.value[step]
                line = found.start_mark.line
            if found is None:
                return node, line, False
            node = found
        return node, line, True

    def line_of(self, path: Path_) -> int:
        """1-based line of `path`, or of its deepest existing ancestor when it is absent."""
        return self._walk(path)[1] + 1

    def raw_scalar(self, path: Path_) -> str | None:
        """The scalar exactly as written (e.g. `2502.10510` before YAML turns it into a float)."""
        node, _, complete = self._walk(path)
        return node.value if complete and isinstance(node, yaml.ScalarNode) else None


def _duplicate_keys(root: yaml.Node | None) -> list[DuplicateKey]:
    """Every key repeated within one mapping, anywhere in the tree (shared anchors visited once)."""
    found: list[DuplicateKey] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Path_]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in first:
                        found.append(DuplicateKey((*path, key.value), first[key.value], line))
                    else:
                        first[key.value] = line
                    stack.append((value, (*path, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
    return sorted(found, key=lambda d: d.line)


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document; raises yaml.YAMLError (with a mark) on bad syntax."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return ParsedYaml(data, root, _duplicate_keys(root))


def error_line(exc: yaml.YAMLError) -> int:
    """1-based line a YAML error points at (the problem mark, else the context mark)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else 1


def error_text(exc: yaml.YAMLError) -> str:
    """The parser's own one-line description of a syntax error."""
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    text = ", ".join(p for p in parts if p)
    return text or str(exc).splitlines()[0]
