"""Errors the engine raises. Each names what is wrong so a shell can print it as is."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every engine error."""


class CycleError(EngineError):
    """A loop in a graph that must be acyclic. `nodes` lists every node of the loop, in order."""

    kind = "graph"

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = list(nodes)
        loop = " → ".join([*self.nodes, self.nodes[0]]) if self.nodes else "?"
        super().__init__(f"{self.kind} loop: {loop}")


class AlignmentCycleError(CycleError):
    kind = "alignment"


class DependencyCycleError(CycleError):
    kind = "dependency"
