"""The roadmap timeline, drawn by the server as one SVG from the engine's output.

`build_timeline` lays out the plan: initiatives as bars (their planned dates, or the engine's
earliest dates when they have none) grouped by objective (theme) or by team, milestones as
diamonds, dependencies as arrows, the cycles as background bands, a today line, the critical
path (the engine's `Schedule.critical_paths`) highlighted, and every plan-health finding marked
on the bar it concerns. `render_svg` writes it out as one string — a list of f-strings joined
once, not a template.

Size matters: a cycle of 2,000 initiatives has ~20,000 milestones and ~6,000 dependencies.
So the milestones of one row are drawn as one ``<path>`` per state (done / not done /
critical), whose ``<title>`` (also its accessible name, ``role="img"``) lists every milestone
of the row with its date; an arrow is a short path whose head is a shared ``<marker>``
(inherited from the arrows' group); the side-panel target is set once on the ``<svg>`` (htmx
inherits it); what this module adds to the text is ASCII (see `_short`). The layout keeps the
plan's own milestone and dependency objects rather than a copy of each (see `Timeline`).

Every bar is a link to the initiative's page that htmx turns into "open in the side panel";
its accessible name says what the colours show (status, dates, critical, milestones,
findings). User text is escaped.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from django.utils.safestring import SafeString, mark_safe

from milepost.engine.model import (
    DependencyInput,
    DependencyType,
    InitiativeInput,
    MilestoneInput,
    Plan,
    Severity,
)
from milepost.engine.results import Finding, Schedule, ScheduledItem

ZOOMS: dict[str, int] = {"week": 18, "month": 6, "quarter": 2}  # pixels per day
LABEL_WIDTH = 250
HEADER = 46
ROW = 26
GROUP_ROW = 26
BAR_HEIGHT = 16
PAD_DAYS = 7
LABEL_CHARS = 36
# Bars drawn on one page of the timeline: a large organization's cycle holds 10,000
# initiatives, far more than a reader can scan; the page says how many there are in all and
# pages through them (or a team filter narrows them).
BARS_PER_PAGE = 2_000
NO_OBJECTIVE = "Not aligned to any objective"
_SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)  # most severe first
NO_TEAM = "No team"
PRIVATE = "Private objective (locked)"
_NO_FINDINGS: tuple[Finding, ...] = ()
_ON = operator.attrgetter("on")
_BAR_ORDER = operator.itemgetter(0, 1, 2)  # start, end, key
# A bar before it is laid out: start, end, key, planned, the initiative, its scheduled item.
type _Entry = tuple[dt.date, dt.date, str, bool, InitiativeInput, ScheduledItem | None]
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(slots=True)
class Bar:
    key: str
    id: int | None
    title: str
    status: str
    start: dt.date
    end: dt.date  # inclusive
    planned: bool  # False: drawn at the engine's earliest dates (no planned dates)
    critical: bool = False
    slack_days: int | None = None
    findings: Sequence[Finding] = _NO_FINDINGS
    row: int = 0
    milestones: int = 0  # its milestones on the timeline (drawn on its row)
    milestones_done: int = 0

    @property
    def severity(self) -> str:
        """The most severe of its findings' severities ("" when it has none)."""
        severities = {f.severity for f in self.findings}
        for severity in _SEVERITIES:
            if severity in severities:
                return severity.value
        return ""


@dataclass(slots=True)
class Group:
    label: str
    bars: list[Bar]
    row: int = 0


@dataclass(slots=True)
class Band:
    label: str
    start: dt.date
    end: dt.date


@dataclass
class Timeline:
    start: dt.date
    end: dt.date
    today: dt.date
    px_per_day: int
    groups: list[Group]
    # The plan's milestones by the row they are drawn on (a bar's row, or a row of their own
    # under "Milestones"), and the dependencies between drawn items. The plan's own objects,
    # not copies: a cycle has ~10 times as many milestones as initiatives, and objects made per
    # request and kept to its end are what sets off the garbage collector's full passes.
    milestones: dict[int, list[MilestoneInput]]
    dependencies: list[DependencyInput]
    critical: set[str]  # initiative and milestone keys on the critical path
    critical_pairs: set[tuple[str, str]]  # (predecessor, successor) of critical dependencies
    milestone_findings: Mapping[str, Sequence[Finding]]  # milestone key -> its findings
    bands: list[Band]
    rows: int
    unscheduled: list[str]  # initiative titles with no date at all
    total_bars: int = 0  # bars on every page together
    page: int = 1
    pages: int = 1

    @property
    def bar_count(self) -> int:
        """The bars drawn on this page."""
        return sum(len(g.bars) for g in self.groups)

    @property
    def first_bar(self) -> int:
        """The position (from 1) of this page's first bar among all the pages' bars."""
        return (self.page - 1) * BARS_PER_PAGE + 1 if self.total_bars else 0

    @property
    def last_bar(self) -> int:
        """The position of this page's last bar among all the pages' bars."""
        return self.first_bar + self.bar_count - 1 if self.total_bars else 0

    @property
    def width(self) -> int:
        return LABEL_WIDTH + ((self.end - self.start).days + 1) * self.px_per_day + 10

    @property
    def height(self) -> int:
        return HEADER + self.rows * ROW + 10

    def x(self, day: dt.date) -> int:
        return LABEL_WIDTH + (day - self.start).days * self.px_per_day


@dataclass(frozen=True, slots=True)
class FindingsOnTimeline:
    """The findings naming each initiative, and each milestone (the only objects drawn), by
    the object's key. A pure function of the findings: a page may keep it with them (a large
    plan has 60,000 findings; indexing them is a third of its roadmap page's work)."""

    initiatives: dict[str, list[Finding]]
    milestones: dict[str, list[Finding]]


def findings_on_timeline(findings: Iterable[Finding]) -> FindingsOnTimeline:
    initiatives: dict[str, list[Finding]] = {}
    milestones: dict[str, list[Finding]] = {}
    for finding in findings:
        for obj in finding.objects:
            if obj.startswith("initiative:"):
                index, key = initiatives, obj[11:]
            elif obj.startswith("milestone:"):
                index, key = milestones, obj[10:]
            else:
                continue
            found = index.get(key)
            if found is None:
                index[key] = [finding]
            else:
                found.append(finding)
    return FindingsOnTimeline(initiatives, milestones)


def _critical_pairs(schedule: Schedule | None) -> tuple[set[str], set[tuple[str, str]]]:
    if schedule is None:
        return set(), set()
    items: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for path in schedule.critical_paths:
        items.update(path)
        pairs.update(pairwise(path))
    return items, pairs


def _group_of_initiative(
    plan: Plan, group_by: str, hidden: set[str]
) -> tuple[dict[str, str], list[str]]:
    """Initiative key → group label, and the group labels in display order."""
    labels: dict[str, str] = {}
    if group_by == "team":
        names = {t.key: t.name for t in plan.teams}
        for i in plan.initiatives:
            labels[i.key] = names.get(i.team_key or "", NO_TEAM) if i.team_key else NO_TEAM
        order = sorted(set(labels.values()) - {NO_TEAM}, key=str.lower)
        return labels, [*order, NO_TEAM]
    objective_of = {kr.key: kr.objective_key for kr in plan.key_results}
    titles = {o.key: o.title for o in plan.objectives}
    position = {o.key: n for n, o in enumerate(plan.objectives)}
    first_seen: dict[str, int] = {}
    for i in plan.initiatives:
        # The objective of the heaviest link (the first of equal weights) that names a key
        # result of the plan.
        links = i.key_results
        if len(links) > 1:
            links = tuple(sorted(links, key=lambda link: -link.weight))
        objective = next(
            (objective_of[link.key_result] for link in links if link.key_result in objective_of),
            None,
        )
        if objective is None:
            labels[i.key] = NO_OBJECTIVE
            continue
        label = PRIVATE if objective in hidden else titles.get(objective, objective)
        labels[i.key] = label
        first_seen[label] = min(first_seen.get(label, 10**9), position.get(objective, 10**9))
    order = sorted(first_seen, key=lambda label: (first_seen[label], label))
    return labels, [*order, NO_OBJECTIVE]


def teams_within(plan: Plan, team_key: str) -> frozenset[str]:
    """The keys of the team and of every team below it in the plan's team tree."""
    children: dict[str, list[str]] = defaultdict(list)
    for team in plan.teams:
        if team.parent_key is not None:
            children[team.parent_key].append(team.key)
    found = {team_key}
    todo = [team_key]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


def build_timeline(
    plan: Plan,
    schedule: Schedule | None,
    findings: Iterable[Finding] | FindingsOnTimeline,
    *,
    today: dt.date,
    group_by: str = "objective",
    zoom: str = "month",
    ids: Mapping[str, int] | None = None,
    hidden_objectives: Iterable[str] = (),
    teams: Collection[str] | None = None,
    page: int = 1,
) -> Timeline:
    """Lay out the plan's initiatives, milestones and dependencies (see the module docstring).

    `hidden_objectives` are the keys of objectives the viewer may not see: initiatives under
    them are grouped as a locked "Private objective". `ids` maps initiative keys to row ids
    (for links). `teams`, when given, keeps only the initiatives of those teams (and their
    milestones). The bars are laid out in pages of `BARS_PER_PAGE`, in group order; `page`
    (from 1, clamped to the last) chooses one. Milestones of no initiative, or of one without
    a bar, get rows of their own on the last page; the dependencies drawn are those between
    items on the page."""
    hidden = set(hidden_objectives)
    if not isinstance(findings, FindingsOnTimeline):
        findings = findings_on_timeline(findings)
    critical_items, critical_pairs = _critical_pairs(schedule)
    scheduled = schedule.items if schedule is not None else {}
    labels, order = _group_of_initiative(plan, group_by, hidden)
    row_ids = ids if ids is not None else {}
    # Each group's bars as (start, end, key, planned, initiative, its scheduled item): a
    # `Bar` is made only for the bars of the page (a cycle may hold 10,000 initiatives).
    grouped: dict[str, list[_Entry]] = defaultdict(list)
    unscheduled: list[str] = []
    selected: set[str] = set()  # the initiatives the team filter keeps
    for i in plan.initiatives:
        if teams is not None and i.team_key not in teams:
            continue
        selected.add(i.key)
        item = scheduled.get(i.key)
        start, end = i.start, i.end
        planned = start is not None and end is not None
        if start is None and end is None and item is None:
            unscheduled.append(i.title)
            continue
        if start is None:
            start = item.earliest_start if item is not None else end
        if end is None:
            end = item.earliest_finish if item is not None else start
        if start is None or end is None:  # unreachable: one of them is set
            continue
        if end < start:
            end = start
        grouped[labels[i.key]].append((start, end, i.key, planned, i, item))
    with_bars = {entry[2] for entries in grouped.values() for entry in entries}
    total_bars = len(with_bars)
    pages = max(1, -(-total_bars // BARS_PER_PAGE))
    page = min(max(page, 1), pages)
    skip = (page - 1) * BARS_PER_PAGE
    room = BARS_PER_PAGE
    groups: list[Group] = []
    row = 0
    placed_bars: dict[str, Bar] = {}
    first: dt.date | None = None
    last: dt.date | None = None
    on_initiative = findings.initiatives
    for label in order:
        if room == 0:
            break
        in_group = grouped.get(label)
        if not in_group:
            continue
        if skip >= len(in_group):
            skip -= len(in_group)
            continue
        entries = sorted(in_group, key=_BAR_ORDER)[skip : skip + room]
        skip = 0
        room -= len(entries)
        group = Group(label=label, bars=[], row=row)
        row += 1
        for start, end, key, planned, i, item in entries:
            bar = Bar(
                key=key,
                id=row_ids.get(key),
                title=i.title,
                status=i.status.value,
                start=start,
                end=end,
                planned=planned,
                critical=key in critical_items,
                slack_days=item.slack_days if item is not None else None,
                findings=on_initiative.get(key, _NO_FINDINGS),
                row=row,
            )
            group.bars.append(bar)
            placed_bars[key] = bar
            row += 1
            if first is None or start < first:
                first = start
            if last is None or end > last:
                last = end
        groups.append(group)

    milestones: dict[int, list[MilestoneInput]] = {}
    drawn: list[MilestoneInput] = []
    own_rows: list[MilestoneInput] = []
    if page == pages:  # milestones of no initiative, or of one without a bar
        own_rows = [
            m
            for m in plan.milestones
            if m.initiative_key not in with_bars and (teams is None or m.initiative_key in selected)
        ]
    if own_rows:
        groups.append(Group(label="Milestones", bars=[], row=row))
        row += 1
    for m in own_rows:
        milestones[row] = [m]
        row += 1
    drawn.extend(own_rows)
    for m in plan.milestones:
        on_bar = placed_bars.get(m.initiative_key) if m.initiative_key is not None else None
        if on_bar is None:
            continue
        drawn.append(m)
        on_bar.milestones += 1
        if m.done_on is not None:
            on_bar.milestones_done += 1
        marks = milestones.get(on_bar.row)
        if marks is None:
            milestones[on_bar.row] = [m]
        else:
            marks.append(m)
    if drawn:
        early = min(m.on for m in drawn)
        late = max(m.on for m in drawn)
        first = early if first is None else min(first, early)
        last = late if last is None else max(last, late)
    placed = placed_bars.keys() | {m.key for m in drawn}
    dependencies = [
        d for d in plan.dependencies if d.predecessor in placed and d.successor in placed
    ]

    bands = [Band(c.name, c.start, c.end) for c in sorted(plan.cycles, key=lambda c: c.start)]
    start = (first if first is not None else today) - dt.timedelta(days=PAD_DAYS)
    end = (last if last is not None else today) + dt.timedelta(days=PAD_DAYS)
    if start <= today <= end + dt.timedelta(days=60):
        end = max(end, today + dt.timedelta(days=PAD_DAYS))
    for band in bands:
        if band.start <= end and band.end >= start:
            start, end = min(start, band.start), max(end, band.end)
    return Timeline(
        start=start,
        end=end,
        today=today,
        px_per_day=ZOOMS.get(zoom, ZOOMS["month"]),
        groups=groups,
        milestones=milestones,
        dependencies=dependencies,
        critical=critical_items,
        critical_pairs=critical_pairs,
        milestone_findings=findings.milestones,
        bands=[b for b in bands if b.start <= end and b.end >= start],
        rows=row,
        unscheduled=unscheduled,
        total_bars=total_bars,
        page=page,
        pages=pages,
    )


# --- rendering --------------------------------------------------------------------------------


def _text(text: str) -> str:
    """``text`` escaped for an element's content (a ``<text>`` or ``<title>``): ``&``, ``<``
    and ``>``. Quotes are literal there, and the engine's messages quote every title they
    name; attribute values are escaped with `escape` (quotes too)."""
    return escape(text, quote=False)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """The text, escaped (element content), cut to ``limit`` characters with an ellipsis.

    What this module adds to the drawing is plain ASCII (non-ASCII marks are character
    references): a string of ASCII only is stored one byte a character and encoded to UTF-8
    by a copy, which matters for a drawing of several megabytes."""
    if len(text) <= limit:
        return _text(text)
    return _text(text[: limit - 1].rstrip()) + "&#8230;"


@functools.lru_cache(maxsize=4096)
def _day(day: dt.date) -> str:
    """'3 Mar 2026' (what ``%-d %b %Y`` gives, without strftime's cost and locale)."""
    return f"{day.day} {_MONTHS[day.month]} {day.year}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ticks(t: Timeline) -> list[str]:
    """Grid lines and labels: every Monday at week zoom, every month start otherwise
    (quarter starts drawn stronger)."""
    parts: list[str] = []
    bottom = t.height
    top = HEADER - 14
    if t.px_per_day >= 12:
        day = t.start + dt.timedelta(days=(7 - t.start.weekday()) % 7)
        while day <= t.end:
            x = t.x(day)
            parts.append(
                f'<line class="tl-grid" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/>'
                f'<text class="tl-tick" x="{x + 3}" y="{HEADER - 4}">{day.day} '
                f"{_MONTHS[day.month]}</text>"
            )
            day += dt.timedelta(days=7)
        return parts
    day = t.start.replace(day=1)
    while day <= t.end:
        if day >= t.start:
            x = t.x(day)
            major = " major" if day.month in (1, 4, 7, 10) else ""
            text = f"{day:%b %Y}" if t.px_per_day >= 4 or major else f"{day:%b}"
            parts.append(
                f'<line class="tl-grid{major}" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/>'
                f'<text class="tl-tick" x="{x + 3}" y="{HEADER - 4}">{text}</text>'
            )
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return parts


def _bar_label(bar: Bar) -> str:
    bits = [bar.title, bar.status.replace("_", " "), f"{_day(bar.start)} to {_day(bar.end)}"]
    if not bar.planned:
        bits.append("no planned dates: shown at the earliest possible dates")
    if bar.critical:
        bits.append("on the critical path")
    elif bar.slack_days is not None:
        bits.append(f"slack {bar.slack_days} days")
    if bar.milestones:
        bits.append(f"{_plural(bar.milestones, 'milestone')} ({bar.milestones_done} done)")
    if bar.findings:
        bits.append(_plural(len(bar.findings), "finding"))
    return ", ".join(bits)


# The arrow heads: one marker each for ordinary and critical dependencies, turned to follow
# the arrow's last segment (it enters its successor from the left or the right).
_DEFS = (
    "<defs>"
    '<marker id="tl-head" viewBox="-5 -4 5 8" markerWidth="5" markerHeight="8" '
    'markerUnits="userSpaceOnUse" orient="auto"><path class="tl-arrow-head" d="M0 0-5-4v8z"/>'
    "</marker>"
    '<marker id="tl-head-critical" viewBox="-5 -4 5 8" markerWidth="5" markerHeight="8" '
    'markerUnits="userSpaceOnUse" orient="auto">'
    '<path class="tl-arrow-head critical" d="M0 0-5-4v8z"/></marker>'
    "</defs>"
)


def render_svg(
    t: Timeline,
    *,
    href: Callable[[int], str],
    panel_href: Callable[[int], str],
    today_label: str = "Today",
) -> SafeString:
    """The timeline as one SVG element (see the module docstring); `today_label` names the
    line at the timeline's day (an as-of view labels it with its date, not "Today")."""
    width, height = t.width, t.height
    ppd = t.px_per_day
    # x of a day: LABEL_WIDTH + (day - start) * px_per_day, as one multiply-add on ordinals.
    origin = LABEL_WIDTH - t.start.toordinal() * ppd
    out: list[str] = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="Roadmap timeline from {t.start:%-d %B %Y} to {t.end:%-d %B %Y}" '
        'hx-target="#side-panel" hx-swap="innerHTML">',
        _DEFS,
        f'<rect class="tl-head" x="0" y="0" width="{width}" height="{HEADER}"/>',
    ]
    for n, band in enumerate(t.bands):
        x0 = t.x(max(band.start, t.start))
        x1 = t.x(min(band.end, t.end) + dt.timedelta(days=1))
        out.append(
            f'<rect class="tl-cycle{" alt" if n % 2 else ""}" x="{x0}" y="{HEADER}" '
            f'width="{max(x1 - x0, 1)}" height="{height - HEADER}"/>'
            f'<text class="tl-cycle-label" x="{x0 + 4}" y="14">{_text(band.label)}</text>'
        )
    out.extend(_ticks(t))
    for group in t.groups:
        y = HEADER + group.row * ROW
        out.append(
            f'<rect class="tl-group" x="0" y="{y}" width="{width}" height="{GROUP_ROW - 2}"/>'
            f'<text class="tl-group-label" x="8" y="{y + 16}">'
            f"{_short(group.label, 60)}</text>"
        )
    # Arrows under the bars.
    if t.dependencies:
        out.append(_arrows(t, origin))
    # Each bar, then the milestones of its row (so that they follow it when read in order).
    drawn = t.milestones
    for group in t.groups:
        for bar in group.bars:
            out.append(_bar(bar, origin, ppd, href, panel_href))
            marks = drawn.get(bar.row)
            if marks:
                out.append(_milestones(t, marks, bar.row, origin, owner=bar.title))
    bar_rows = {bar.row for group in t.groups for bar in group.bars}
    for row, marks in drawn.items():  # milestones on rows of their own
        if row not in bar_rows:
            out.append(_milestones(t, marks, row, origin, owner=None))
    if t.start <= t.today <= t.end:
        x = t.x(t.today)
        label = _text(today_label)
        out.append(
            f'<line class="tl-today" x1="{x}" x2="{x}" y1="{HEADER - 14}" y2="{height}"/>'
            f'<text class="tl-today-label" x="{x + 3}" y="{HEADER - 18}">{label}</text>'
        )
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - user text is escaped  # nosec B308 B703


def _bar(
    bar: Bar, origin: int, ppd: int, href: Callable[[int], str], panel_href: Callable[[int], str]
) -> str:
    y = HEADER + bar.row * ROW
    x0 = origin + bar.start.toordinal() * ppd
    x1 = origin + (bar.end.toordinal() + 1) * ppd
    w = max(x1 - x0, 3)
    title = _text(bar.title)
    short = title if len(bar.title) <= LABEL_CHARS else _short(bar.title)
    top = y + (ROW - BAR_HEIGHT) // 2
    critical = ' critical" data-critical="true' if bar.critical else ""
    inner = (
        f'<text class="tl-row-label" x="8" y="{y + 17}">{short}</text>'
        f'<rect class="tl-bar {bar.status}{critical}" x="{x0}" y="{top}" width="{w}" '
        f'height="{BAR_HEIGHT}" rx="3" data-key="{escape(bar.key)}"><title>{title}</title></rect>'
    )
    if not bar.planned:
        inner += (
            f'<rect class="tl-slack" x="{x0}" y="{top}" width="{w}" height="{BAR_HEIGHT}" rx="3"/>'
        )
    if bar.findings:
        severity = bar.severity
        cx = x0 + w + 10
        cy = y + ROW // 2
        messages = _text("\n".join(f.message for f in bar.findings))
        inner += (
            f'<g class="tl-finding-group" data-finding="{severity}">'
            f'<circle class="tl-finding {severity}" cx="{cx}" cy="{cy}" r="7"><title>{messages}'
            f'</title></circle><text class="tl-finding-mark {severity}" x="{cx}" y="{cy + 4}" '
            f'text-anchor="middle">{"!" if severity != "info" else "i"}</text></g>'
        )
    if bar.id is None:
        return f"<g>{inner}</g>"
    # hx-target and hx-swap are inherited from the <svg>.
    return (
        f'<a href="{escape(href(bar.id))}" hx-get="{escape(panel_href(bar.id))}" '
        f'aria-label="{escape(_bar_label(bar))}">{inner}</a>'
    )


def _milestones(
    t: Timeline, marks: list[MilestoneInput], row: int, origin: int, *, owner: str | None
) -> str:
    """The milestones of one row: a diamond at the end of each one's day, one ``<path>`` per
    state (done or not, critical or not), its title listing the milestones it draws in date
    order. ``owner`` is the title of the row's initiative (None: a milestone's own row)."""
    ppd = t.px_per_day
    diamond = f" {HEADER + row * ROW + ROW // 2 - 7}l7 7-7 7-7-7z"  # from its top corner
    critical, milestone_findings = t.critical, t.milestone_findings
    if any(later.on < earlier.on for earlier, later in pairwise(marks)):
        marks = sorted(marks, key=_ON)  # (stable: plan order on a day)
    # (done, critical) -> the diamonds and the texts of the milestones in that state
    by_state: dict[tuple[bool, bool], tuple[list[str], list[str]]] = {}
    for m in marks:
        kind = (m.done_on is not None, m.key in critical)
        drawn = by_state.get(kind)
        if drawn is None:
            drawn = by_state[kind] = ([], [])
        drawn[0].append(f"M{origin + (m.on.toordinal() + 1) * ppd}{diamond}")
        found = milestone_findings.get(m.key)
        if found:
            drawn[1].append(f"{m.name}, {_day(m.on)}, {_plural(len(found), 'finding')}")
        else:
            drawn[1].append(f"{m.name}, {_day(m.on)}")
    parts: list[str] = []
    for (done, on_path), (diamonds, texts) in sorted(by_state.items()):
        state = "done" if done else "not done"
        if on_path:
            state += ", on the critical path"
        if owner is None and len(texts) == 1:
            label = f"Milestone {texts[0]}, {state}"
        else:
            whose = f" of {owner}" if owner is not None else ""
            listed = "; ".join(texts)
            label = f"{'Milestone' if len(texts) == 1 else 'Milestones'}{whose}, {state}: {listed}"
        css = "tl-milestone" + (" done" if done else "") + (" critical" if on_path else "")
        parts.append(
            f'<path class="{css}" role="img" d="{"".join(diamonds)}">'
            f"<title>{_text(label)}</title></path>"
        )
    return "".join(parts)


_FROM_START = frozenset({DependencyType.SS, DependencyType.SF})
_INTO_END = frozenset({DependencyType.FF, DependencyType.SF})


def _arrows(t: Timeline, origin: int) -> str:
    """Every dependency as ``<g class="tl-dependency">`` holding a path and a title; the head
    is the marker the group of arrows sets (critical ones set their own)."""
    ppd = t.px_per_day
    centres: dict[str, tuple[int, int, int]] = {}  # key -> (x start, x end, y centre)
    for group in t.groups:
        for bar in group.bars:
            centres[bar.key] = (
                origin + bar.start.toordinal() * ppd,
                origin + (bar.end.toordinal() + 1) * ppd,
                HEADER + bar.row * ROW + ROW // 2,
            )
    ends = {d.predecessor for d in t.dependencies} | {d.successor for d in t.dependencies}
    if not ends <= centres.keys():  # dependencies of milestones
        for row, marks in t.milestones.items():
            for m in marks:
                if m.key in ends:
                    x = origin + (m.on.toordinal() + 1) * ppd
                    centres[m.key] = (x, x, HEADER + row * ROW + ROW // 2)
    names: dict[str, str] = {}  # key -> escaped key
    parts = ['<g class="tl-dependencies" marker-end="url(#tl-head)">']
    step = 8
    for dependency in t.dependencies:
        before, after, kind = dependency.predecessor, dependency.successor, dependency.type
        p = centres[before]
        s = centres[after]
        x0 = p[0] if kind in _FROM_START else p[1]
        y0, y1 = p[2], s[2]
        # Leave the predecessor, run vertically between the rows, enter the successor from the
        # side the dependency names (the head follows that last segment).
        if kind in _INTO_END:
            x1 = s[1]
            xb = x1 + step
        else:
            x1 = s[0]
            xb = x1 - step
        mid = y0 + (y1 - y0) // 2 if y1 != y0 else y0 - ROW // 2
        name = names.get(before) or names.setdefault(before, _text(before))
        name += " &#8594; " + (names.get(after) or names.setdefault(after, _text(after)))
        if (before, after) in t.critical_pairs:
            parts.append(
                '<g class="tl-dependency" data-critical="true"><path class="tl-arrow critical" '
                f'marker-end="url(#tl-head-critical)" d="M{x0} {y0}h{step}V{mid}H{xb}V{y1}H{x1}"/>'
                f"<title>{name} ({kind.value})</title></g>"
            )
        else:
            parts.append(
                f'<g class="tl-dependency"><path class="tl-arrow" d="M{x0} {y0}h{step}V{mid}H{xb}'
                f'V{y1}H{x1}"/><title>{name} ({kind.value})</title></g>'
            )
    parts.append("</g>")
    return "".join(parts)
