"""The load mix for `make load` (run by bench/load/run_load.py; usable on its own with
``locust -f bench/load/locustfile.py --host http://127.0.0.1:8000``).

Each simulated person signs in to the demo organization through the sign-in page, then, with a
think time of one to three seconds, does what a team does in a weekly review: opens My week,
the cycle dashboard, the alignment tree, an objective, the roadmap, records a check-in through
the key result's form, and a script reads the API lists. Every request name is one action in
the results (its p95 is reported).
"""

from __future__ import annotations

import os
import random
import re
from typing import Any

from locust import HttpUser, between, task

SLUG = os.environ.get("MILEPOST_LOAD_SLUG", "demo")
LOGINS = os.environ.get("MILEPOST_LOAD_LOGINS", "ada@demo.milepost.test").split(",")
PASSWORD = os.environ.get("MILEPOST_LOAD_PASSWORD", "northwind-demo")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WRITABLE_KINDS = {"increase", "decrease", "maintain"}


class Reviewer(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        page = self.client.get("/login/", name="sign in (page)")
        token = CSRF_INPUT.search(page.text)
        response = self.client.post(
            "/login/",
            {
                "username": random.choice(LOGINS),
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="sign in",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in failed: {response.status_code}")
        cycles = self._api(f"/api/v1/orgs/{SLUG}/cycles?limit=200", "setup")
        active = [c["id"] for c in cycles if c["state"] == "active"]
        cycle = active[0] if active else cycles[0]["id"]
        objectives = self._api(f"/api/v1/orgs/{SLUG}/objectives?cycle={cycle}&limit=200", "setup")
        key_results = self._api(f"/api/v1/orgs/{SLUG}/key-results?cycle={cycle}&limit=200", "setup")
        self.objectives = [o["id"] for o in objectives] or [0]
        self.key_results = [
            (kr["id"], float(kr["current_value"]))
            for kr in key_results
            if kr["kind"] in WRITABLE_KINDS
        ]

    def _api(self, url: str, name: str) -> list[dict[str, Any]]:
        response = self.client.get(url, name=name)
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    @task(2)
    def my_week(self) -> None:
        self.client.get("/", name="my week")

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="dashboard")

    @task(2)
    def alignment_tree(self) -> None:
        self.client.get("/alignment/", name="alignment tree")

    @task(3)
    def objective_page(self) -> None:
        self.client.get(f"/objectives/{random.choice(self.objectives)}/", name="objective page")

    @task(2)
    def roadmap(self) -> None:
        self.client.get("/roadmap/", name="roadmap")

    @task(2)
    def check_in(self) -> None:
        if not self.key_results:
            return
        kr_id, current = random.choice(self.key_results)
        page = self.client.get(f"/key-results/{kr_id}/", name="key result page")
        token = CSRF_INPUT.search(page.text)
        value = max(0.0, round(current * random.uniform(0.95, 1.1) + random.uniform(0, 2), 2))
        with self.client.post(
            f"/key-results/{kr_id}/check-in/",
            {
                "value": f"{value}",
                "confidence": str(random.randint(3, 9)),
                "note": "load test",
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="check-in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in (200, 302):
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(3)
    def api_lists(self) -> None:
        resource = random.choice(["objectives", "key-results", "initiatives"])
        self.client.get(f"/api/v1/orgs/{SLUG}/{resource}?limit=50", name=f"api: {resource}")
