"""How deep a tree nests, measured without recursion: the measuring of untrusted input (a
script's syntax tree, a form's JSON) must not overflow the stack that the limit protects."""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

Node = TypeVar("Node")


def deeper_than(root: Node, children: Callable[[Node], Iterable[Node]], limit: int) -> bool:
    """Whether a node lies deeper than `limit` (the root is at depth 1); stops at the first."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children(node))
    return False
