"""One level of the alignment tree, for expanding a node (the page loads deeper levels on
demand): the children of the node at a path, without building the whole tree.

The tree's shape (which objective hangs where, in which order, who may see it) is read in one
query of small JSON arrays (`milepost.dbjson`); the path is walked on it, and only the
children found are then read in full (one query, and one more for the key result titles that
label children aligned through a key result). The order and the rules are those of
`milepost.reports.queries.alignment_tree`: roots are objectives with no parent in the cycle,
ordered by key; under an objective, the objectives aligned to it (in link order), then those
aligned to each of its key results (key results by key); under a locked objective, both kinds
without their key result; an objective never appears below itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from milepost.dbjson import decimal_of, decode_rows, json_rows
from milepost.engine.collector import cyclic_gc_paused
from milepost.okrs.models import Alignment, Cycle, KeyResult, Objective
from milepost.okrs.plan_rows import places
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.reports.queries import TREE_NODE_COLUMNS, TreeNode, with_visibility

# (child objective, link weight, key result it hangs from or None)
_Edge = tuple[int, Decimal, int | None]


@dataclass(frozen=True)
class SubtreeChild:
    """A child of the expanded node: its node (key results and children not loaded), the key
    result it hangs from, whether anything hangs below it, and in how many places of the
    whole tree it appears (0 for a locked objective)."""

    node: TreeNode
    via_key_result: str
    has_children: bool
    places: int


class _Shape:
    def __init__(self, actor: Actor, cycle: Cycle) -> None:
        org_id = actor.organization_id
        objectives = with_visibility(
            actor, Objective.objects.of(org_id).filter(cycle=cycle, archived_at__isnull=True)
        )
        links = Alignment.objects.of(org_id).filter(
            child__cycle=cycle, child__archived_at__isnull=True, archived_at__isnull=True
        )
        objective_rows, kr_rows, link_rows = (
            Organization.objects.filter(pk=org_id)
            .values_list(
                json_rows(objectives, "pk", "key", "visible_to_actor"),
                # Only the key results something hangs from (a cycle of 30,000 key results
                # has a few hundred of them): the others add no child.
                json_rows(
                    KeyResult.objects.of(org_id).filter(
                        objective__cycle=cycle,
                        objective__archived_at__isnull=True,
                        archived_at__isnull=True,
                        pk__in=links.filter(parent_key_result__isnull=False).values(
                            "parent_key_result_id"
                        ),
                    ),
                    "pk",
                    "key",
                    "objective_id",
                ),
                json_rows(
                    links,
                    "pk",
                    "child_id",
                    "parent_objective_id",
                    "parent_key_result_id",
                    "weight",
                ),
            )
            .get()
        )
        ordered = sorted(decode_rows(objective_rows), key=lambda r: (r[1], r[0]))
        self.visible = {pk for pk, _, visible in ordered if visible}
        self.key_results: dict[int, list[int]] = defaultdict(list)
        kr_objective: dict[int, int] = {}
        for pk, _, objective_id in sorted(decode_rows(kr_rows), key=lambda r: (r[1], r[0])):
            self.key_results[objective_id].append(pk)
            kr_objective[pk] = objective_id
        ids = {row[0] for row in ordered}
        weight_places = places(Alignment, "weight")
        self.under_objective: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        self.under_kr: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        has_parent: set[int] = set()
        for _, child, parent, parent_kr, weight in sorted(decode_rows(link_rows)):
            if parent is not None and parent in ids:
                self.under_objective[parent].append((child, decimal_of(weight, weight_places)))
                has_parent.add(child)
            elif parent_kr is not None and parent_kr in kr_objective:
                self.under_kr[parent_kr].append((child, decimal_of(weight, weight_places)))
                has_parent.add(child)
        self.roots = [row[0] for row in ordered if row[0] not in has_parent]

    def children(self, objective: int, path: frozenset[int]) -> list[_Edge]:
        """What hangs below ``objective`` reached through ``path`` (which includes it)."""
        below: list[_Edge] = [(c, w, None) for c, w in self.under_objective.get(objective, [])]
        for kr in self.key_results.get(objective, []):
            below += [(c, w, kr) for c, w in self.under_kr.get(kr, [])]
        return [edge for edge in below if edge[0] not in path]

    def places(self) -> Counter[int]:
        """How many places each visible objective takes in the whole tree."""
        counts: Counter[int] = Counter()
        stack = [(root, frozenset({root})) for root in self.roots]
        while stack:
            objective, path = stack.pop()
            if objective in self.visible:
                counts[objective] += 1
            stack.extend((c, path | {c}) for c, _, _ in self.children(objective, path))
        return counts


@cyclic_gc_paused()  # the whole tree's shape: 37,500 small tuples at full size, no cycles
def alignment_children(
    actor: Actor, cycle: Cycle, steps: Sequence[int]
) -> list[SubtreeChild] | None:
    """The children of the node at ``steps`` (its index among the roots, then among each
    node's children, as the tree page numbers them), or None when there is no such node (the
    tree changed). Two or three queries, whatever the size of the tree."""
    shape = _Shape(actor, cycle)
    if not steps or not 0 <= steps[0] < len(shape.roots):
        return None
    node = shape.roots[steps[0]]
    path = frozenset({node})
    for step in steps[1:]:
        below = shape.children(node, path)
        if not 0 <= step < len(below):
            return None
        node = below[step][0]
        path = path | {node}
    below = shape.children(node, path)
    if not below:
        return []
    rows = {
        row[0]: row
        for row in with_visibility(
            actor,
            Objective.objects.of(actor.organization_id).filter(pk__in=[c for c, _, _ in below]),
        ).values_list(*TREE_NODE_COLUMNS)
    }
    titles: dict[int, str] = {}
    if node in shape.visible and any(kr is not None for _, _, kr in below):
        titles = dict(KeyResult.objects.filter(objective_id=node).values_list("pk", "title"))
    counts = shape.places()
    return [
        SubtreeChild(
            node=_node(rows[child], weight, child in shape.visible),
            via_key_result=titles.get(kr, "") if kr is not None else "",
            has_children=bool(shape.children(child, path | {child})),
            places=counts.get(child, 0),
        )
        for child, weight, kr in below
    ]


def _node(row: tuple[Any, ...], weight: Decimal, visible: bool) -> TreeNode:
    pk, key, title, visibility, state, team_id, user_id, progress, expected, status = row
    if not visible:
        return TreeNode(
            locked=True, progress=progress, expected=expected, status=status, weight=weight
        )
    return TreeNode(
        locked=False,
        id=pk,
        key=key,
        title=title,
        visibility=visibility,
        state=state,
        owner_team=team_id,
        owner_user=user_id,
        progress=progress,
        expected=expected,
        status=status,
        weight=weight,
    )
