"""Plan files for the import/export tests (every date is in the past, so check-ins import)."""

from __future__ import annotations

SMALL_PLAN = """\
version: 1
organization:
  name: Initech
  timezone: Europe/Berlin
settings:
  stale_after_days: 21
teams:
  - key: company
    name: Initech
  - key: web
    name: Web team
    parent: company
    capacity_days_per_week: 12.5
cycles:
  - key: fy2025
    name: Year 2025
    start: 2025-01-01
    end: 2025-12-31
  - key: q3
    name: Q3 2025
    start: 2025-07-01
    end: 2025-09-30
    state: closed
objectives:
  - key: grow
    title: Grow revenue
    cycle: fy2025
    team: company
    owner: boss@initech.test
    description: The company objective.
    key_results:
      - key: arr
        title: ARR from 1.0M to 1.5M
        kind: increase
        start: 1000000
        target: 1500000
        unit: EUR
        checkins:
          - {date: 2025-03-31, value: 1100000, confidence: 7}
          - {date: 2025-06-30, value: 1250000, confidence: 6, note: Two deals slipped.}
  - key: site
    title: A faster website
    cycle: q3
    team: web
    state: closed
    aligns_to:
      - {key_result: grow/arr, weight: 0.5}
    key_results:
      - key: speed
        title: p95 load time from 3.0 s to 1.5 s
        kind: decrease
        start: 3.0
        target: 1.5
        weight: 2
        checkins:
          - {date: 2025-07-15, value: 2.6}
          - {date: 2025-08-15, value: 1.9, confidence: 8}
      - key: launch
        title: New site launched
        kind: milestones
        milestones:
          - {milestone: beta, weight: 1}
          - {milestone: ga, weight: 2}
initiatives:
  - key: cdn
    title: Move to a CDN
    team: web
    status: done
    start: 2025-07-01
    end: 2025-07-31
    effort_days: 10
    budget: 5000
    actual_cost: 4200.50
    key_results:
      - {key_result: site/speed}
    tasks:
      - {key: pick, title: Pick a vendor, status: done, estimate_hours: 4}
      - {key: switch, title: Switch DNS, status: done, estimate_hours: 2.5}
  - key: redesign
    title: Redesign
    team: web
    status: cancelled
    start: 2025-08-01
    end: 2025-09-15
    effort_days: 20
    key_results:
      - {key_result: site/speed, weight: 0.5}
    milestones:
      - {key: beta, name: Beta, date: 2025-08-20, done_on: 2025-08-22}
      - {key: ga, name: Launch, date: 2025-09-15}
    depends_on:
      - {initiative: cdn, type: FS, lag_days: 2}
    tasks:
      - {key: mock, title: Mock-ups, status: done}
      - {key: build, title: Build it, status: cancelled}
"""
