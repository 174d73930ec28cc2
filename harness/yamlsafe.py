"""One bounded YAML loader for files the project wrote.

PyYAML shares an aliased node instead of copying it, so a "billion laughs"
document loads small; the cost comes later, when a schema validator, a dump or
a walk visits the alias tree a billion times. This loader refuses, before any
object is built, a document that is too large, nested too deep, or whose tree
with every alias expanded has too many nodes (or a cycle). The refusal is a
`YamlLimitError`, a `yaml.YAMLError`, so callers that already turn malformed
YAML into a could-not-check finding naming the file handle it unchanged.

Line-tracking loaders keep their constructors: `load(text, loader=MyLoader)`
wraps any SafeLoader subclass with the same limits (`bounded_loader`).
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 5_000_000
MAX_DEPTH = 100  # nesting, aliases expanded
MAX_NODES = 500_000  # nodes of the document with every alias expanded


class YamlLimitError(yaml.YAMLError):
    """The document exceeds a bound; the message says which, in one line."""


class BoundedMixin:
    """Composer limits for any yaml Loader: nesting depth while composing, expanded size after."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self._depth >= self.max_depth:
            raise YamlLimitError(f"refused: YAML nested deeper than {self.max_depth} levels")
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node: yaml.Node | None = super().compose_document()  # type: ignore[misc]
        if node is not None:
            _expanded_size(node, self.max_nodes, self.max_depth)
        return node

    # libyaml's composer (CSafeLoader) composes in C and never calls the two methods above: its documents are
    # measured here instead, where the constructor asks for them (yaml.load and yaml.load_all respectively).
    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()  # type: ignore[misc]
        if node is not None:
            _expanded_size(node, self.max_nodes, self.max_depth)
        return node

    def get_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_node()  # type: ignore[misc]
        if node is not None:
            _expanded_size(node, self.max_nodes, self.max_depth)
        return node


def _expanded_size(root: yaml.Node, max_nodes: int, max_depth: int) -> int:
    """Nodes in the tree with aliases expanded (a shared node counts once per reference); raises past a bound."""
    known: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded height)
    open_: set[int] = set()

    def walk(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in open_:
            raise YamlLimitError("refused: a YAML alias refers to a node that contains it (a cycle)")
        if key not in known:
            total, height = 1, 0
            if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
                open_.add(key)
                children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
                for child in children:
                    size, below = walk(child, depth + 1)
                    total, height = total + size, max(height, below + 1)
                    if total > max_nodes:
                        raise YamlLimitError(
                            f"refused: YAML aliases expand to more than {max_nodes} nodes (an alias bomb?)"
                        )
                open_.discard(key)
            known[key] = (total, height)
        if depth + known[key][1] > max_depth:
            raise YamlLimitError(f"refused: YAML nested deeper than {max_depth} levels once aliases are expanded")
        return known[key]

    return walk(root, 0)[0]


class BoundedSafeLoader(BoundedMixin, yaml.SafeLoader):
    """yaml.SafeLoader with the limits."""


_BOUNDED: dict[type[yaml.SafeLoader], type[yaml.SafeLoader]] = {}


def bounded_loader(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """`loader` with the limits (itself when it already has them); one class per loader."""
    if issubclass(loader, BoundedMixin):
        return loader
    if loader not in _BOUNDED:
        _BOUNDED[loader] = type(f"Bounded{loader.__name__}", (BoundedMixin, loader), {})
    return _BOUNDED[loader]


def _checked(text: str | bytes) -> None:
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"refused: YAML document of {len(text)} bytes, over the {MAX_BYTES} byte limit")


def load(text: str | bytes, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """The first document, like yaml.load; raises yaml.YAMLError (YamlLimitError past a bound)."""
    _checked(text)
    return yaml.load(text, Loader=bounded_loader(loader))  # nosec B506 - a SafeLoader subclass


def load_all(text: str | bytes, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> list[Any]:
    """Every document of a stream; raises yaml.YAMLError (YamlLimitError past a bound)."""
    _checked(text)
    return list(yaml.load_all(text, Loader=bounded_loader(loader)))  # nosec B506 - a SafeLoader subclass
