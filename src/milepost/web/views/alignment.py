"""The alignment tree: the cycle's objectives cascading company → departments → teams, with
progress and status on every node, objectives aligned to several parents shown under each
(and marked), objectives the viewer may not see shown as locked nodes. The first two levels
come with the page; deeper levels load when a node is expanded (htmx)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse

from milepost.errors import NotFound
from milepost.okrs.models import Cycle
from milepost.organizations.access import Actor
from milepost.organizations.models import Team
from milepost.reports import subtree
from milepost.reports.queries import TreeNode, alignment_tree
from milepost.web.context import member_view
from milepost.web.htmx import render_page
from milepost.web.selection import choose_cycle
from milepost.web.views import cycle_reports

PRELOADED_DEPTH = 1  # roots and their children come with the page


@dataclass
class NodeView:
    """A tree node as the page draws it: its address in the tree (for lazy loading), its
    children (objectives aligned to it, then those aligned to one of its key results)."""

    node: TreeNode
    path: str
    depth: int
    via_key_result: str = ""
    parents: int = 1
    children: list[NodeView] = field(default_factory=list)
    loaded: bool = False
    more: bool | None = None  # whether anything hangs below, when the node's children are unread

    @property
    def has_children(self) -> bool:
        if self.more is not None:
            return self.more
        return bool(self.node.children) or any(kr.children for kr in self.node.key_results)


def _child_nodes(node: TreeNode) -> list[tuple[TreeNode, str]]:
    via = [(c, kr.title) for kr in node.key_results for c in kr.children]
    return [(c, "") for c in node.children] + via


def _views(
    nodes: list[tuple[TreeNode, str]], prefix: str, depth: int, until: int, counts: Counter[int]
) -> list[NodeView]:
    views = []
    for n, (node, via) in enumerate(nodes):
        path = f"{prefix}.{n}" if prefix else str(n)
        view = NodeView(node, path, depth, via, counts.get(node.id, 1) if node.id else 1)
        if depth < until:
            view.children = _views(_child_nodes(node), path, depth + 1, until, counts)
            view.loaded = True
        views.append(view)
    return views


def _parent_counts(roots: list[TreeNode]) -> Counter[int]:
    """How many places each visible objective appears in (more than one: several parents)."""
    counts: Counter[int] = Counter()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.id is not None:
            counts[node.id] += 1
        stack.extend(c for c, _ in _child_nodes(node))
    return counts


def _team_names(actor: Actor) -> dict[int, str]:
    return dict(Team.objects.of(actor.organization_id).values_list("pk", "name"))


@member_view
def alignment_tree_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    choice = choose_cycle(request, actor)
    day = cycle_reports.as_of_day(request, actor)
    if choice.cycle is not None and day is not None:
        return cycle_reports.alignment_tree_as_of_page(
            request, actor, choice.cycle, choice.cycles, day
        )
    roots: list[NodeView] = []
    total = 0
    if choice.cycle is not None:
        forest = alignment_tree(actor, choice.cycle)
        counts = _parent_counts(forest)
        total = len(counts)
        roots = _views([(r, "") for r in forest], "", 0, PRELOADED_DEPTH, counts)
    context = {
        "cycle": choice.cycle,
        "cycles": choice.cycles,
        "nodes": roots,
        "total": total,
        "teams": {},
        "team_names": _team_names(actor),
        **cycle_reports.as_of_picker(request, actor),
    }
    return render_page(request, "web/alignment_tree.html", context, nav="alignment")


@member_view
def alignment_children(
    request: HttpRequest, actor: Actor, cycle_id: int, path: str
) -> HttpResponse:
    """The children of the node at `path` (htmx partial), read without building the whole
    tree (`milepost.reports.subtree`)."""
    cycle = Cycle.objects.of(actor.organization_id).active().filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound("Cycle not found.")
    try:
        steps = [int(p) for p in path.split(".")]
    except ValueError as exc:
        raise NotFound("This part of the tree changed; reload the page.") from exc
    found = subtree.alignment_children(actor, cycle, steps)
    if found is None:
        raise NotFound("This part of the tree changed; reload the page.")
    depth = len(steps)
    children = [
        NodeView(
            child.node,
            f"{path}.{n}",
            depth,
            child.via_key_result,
            child.places or 1,
            more=child.has_children,
        )
        for n, child in enumerate(found)
    ]
    context = {
        "nodes": children,
        "cycle": cycle,
        "team_names": _team_names(actor),
    }
    return render_page(request, "web/alignment_tree.html", context, partial="children")
