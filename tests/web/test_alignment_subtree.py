"""Expanding a node of the alignment tree reads one level (`reports.subtree`) and shows what
the whole tree (`reports.queries.alignment_tree`) has there: same children, order, labels,
numbers, parent counts and expanders, for a member who may not see every objective; a private
objective is a locked node without its title, on the page and in every expanded partial."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from milepost.okrs.models import Alignment, Cycle, Objective
from milepost.organizations.access import Actor, actor_for
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


def test_a_private_objective_is_a_locked_node_without_its_title(
    org: Organization, member: Actor
) -> None:
    cycle = factories.make_cycle(org, "q")
    stranger = factories.make_member(org, email="stranger@acme.test")
    company = factories.make_objective(cycle, "a-company", title="Company grows")
    sales = factories.make_objective(cycle, "b-sales", title="Sales win deals")
    nightingale = factories.make_objective(
        cycle,
        "c-nightingale",
        title="Project Nightingale acquisition",
        visibility="private",
        owner_user=stranger,
    )
    secret_kr = factories.make_key_result(nightingale, "k", title="Sign the Nightingale term sheet")
    bluebird = factories.make_objective(
        cycle,
        "d-bluebird",
        title="Operation Bluebird layoffs",
        visibility="private",
        owner_user=stranger,
    )
    below = factories.make_objective(cycle, "e-below", title="Integrate the new team")
    _align(sales, parent_objective=company)
    _align(nightingale, parent_objective=company)  # depth 1: drawn with the page
    _align(bluebird, parent_objective=sales)  # depth 2: read when Sales is expanded
    _align(below, parent_key_result=secret_kr)  # under the locked node's key result
    secrets = (
        "Project Nightingale acquisition",
        "Sign the Nightingale term sheet",
        "Operation Bluebird layoffs",
    )
    client = client_for(member)

    page = client.get(f"/alignment/?cycle={cycle.pk}").content.decode()
    assert "Company grows" in page
    assert "Sales win deals" in page
    assert page.count("Private objective") == 1  # Nightingale, as a locked node
    # Expand every node drawn so far (roots and their children), as the page's htmx would.
    partials = [client.get(f"/alignment/{cycle.pk}/children/0.{n}/") for n in range(2)]
    assert [p.status_code for p in partials] == [200, 200]
    expanded = "".join(p.content.decode() for p in partials)
    assert expanded.count("Private objective") == 1  # Bluebird, under Sales
    assert "Integrate the new team" in expanded  # a visible child of the locked node
    for html in (page, expanded):
        for title in secrets:
            assert title not in html
    # The owner sees the titles: the test would notice them if they were drawn.
    owner_page = client_for(actor_for(stranger, org)).get(f"/alignment/?cycle={cycle.pk}")
    assert "Project Nightingale acquisition" in owner_page.content.decode()
