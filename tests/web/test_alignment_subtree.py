"""Expanding a node of the alignment tree reads one level (`reports.subtree`) and shows what
the whole tree (`reports.queries.alignment_tree`) has there: same children, order, labels,
numbers, parent counts and expanders, for a member who may not see every objective."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from milepost.okrs.models import Alignment, Cycle, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.reports.queries import TreeNode, alignment_tree
from milepost.reports.subtree import alignment_children
from milepost.web.views.alignment import _child_nodes, _parent_counts
from tests import factories
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


def _align(child: Objective, weight: str = "1", **parent: object) -> None:
    Alignment.objects.create(
        organization_id=child.organization_id, child=child, weight=Decimal(weight), **parent
    )


def _tree(org: Organization) -> Cycle:
    cycle = factories.make_cycle(org, "q")
    secret_team = factories.make_team(org, "secret")
    company = factories.make_objective(cycle, "a-company", progress=Decimal("0.4"))
    revenue = factories.make_key_result(company, "revenue", title="Revenue")
    churn = factories.make_key_result(company, "churn", title="Churn")
    sales = factories.make_objective(cycle, "b-sales")
    hidden = factories.make_objective(
        cycle, "c-hidden", owner_team=secret_team, visibility="team", progress=Decimal("0.9")
    )
    hidden_kr = factories.make_key_result(hidden, "h")
    under_hidden = factories.make_objective(cycle, "d-under-hidden")
    shared = factories.make_objective(cycle, "e-shared")
    leaf = factories.make_objective(cycle, "f-leaf")
    factories.make_objective(cycle, "g-alone")
    _align(sales, parent_objective=company)
    _align(hidden, "0.5", parent_objective=company)
    _align(shared, parent_key_result=revenue)
    _align(shared, "2", parent_key_result=churn)
    _align(shared, parent_objective=sales)
    _align(under_hidden, parent_key_result=hidden_kr)
    _align(leaf, parent_objective=shared)
    _align(leaf, parent_objective=under_hidden)
    return cycle


def _summary(node: TreeNode, via: str, places: int, more: bool) -> tuple[object, ...]:
    return (node.locked, node.id, node.title, node.weight, node.progress, via, places, more)


def test_every_expansion_equals_the_whole_tree(org: Organization, member: Actor) -> None:
    cycle = _tree(org)
    forest = alignment_tree(member, cycle)
    counts = _parent_counts(forest)
    expanded = 0
    stack: list[tuple[list[int], TreeNode]] = [([n], root) for n, root in enumerate(forest)]
    while stack:
        steps, node = stack.pop()
        expected = [
            _summary(
                child,
                via,
                counts.get(child.id, 0) if child.id else 0,
                bool(_child_nodes(child)),
            )
            for child, via in _child_nodes(node)
        ]
        found = alignment_children(member, cycle, steps)
        assert found is not None
        got = [_summary(c.node, c.via_key_result, c.places, c.has_children) for c in found]
        assert got == expected, steps
        expanded += 1
        stack.extend(([*steps, n], child) for n, (child, _) in enumerate(_child_nodes(node)))
    assert expanded >= 9
    assert alignment_children(member, cycle, [len(forest)]) is None
    assert alignment_children(member, cycle, [0, 99]) is None


def test_expanding_a_node_takes_the_same_queries_whatever_the_tree(
    org: Organization, member: Actor
) -> None:
    cycle = _tree(org)
    client = client_for(member)
    client.get("/")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/alignment/{cycle.pk}/children/0/")
        assert response.status_code == 200
        return len(queries.captured_queries)

    small = count()
    parent = Objective.objects.get(key="a-company")
    for n in range(10):
        _align(factories.make_objective(cycle, f"z-{n}"), parent_objective=parent)
    assert count() == small <= 10
    assert client.get(f"/alignment/{cycle.pk}/children/0.77/").status_code == 404
