"""The demo organization's roadmap: initiatives, milestones, dependencies and task titles.

Days are offsets from the active cycle's start (the cycle runs from day 0 to day 91 and the
demo is loaded on day 55). What each piece is there to show:

- the critical chain: usage-metering → stripe-billing → upgrade-flow → self-serve-launch
  (three teams, finishing on the cycle's last day; nothing else ends later);
- late: android-app ends after the due date of the mobile launch plan it serves;
- over budget: website-relaunch (agency spend and more hours than planned);
- over capacity: Mobile builds three apps at once, the week of loading included;
- output without outcome: empty-dashboard and webinar-series are done, their key results
  are not moving;
- unaligned: brand-guidelines, hris, office-move;
- a dependency broken by the planned dates: latency-budget starts before managed-postgres
  (which it follows) ends;
- linked to a closed objective: community-forum still serves a cancelled objective.
"""

from __future__ import annotations

from milepost.demo.specs import DependencySpec, InitiativeSpec, MilestoneSpec

# fmt: off
INITIATIVES: tuple[InitiativeSpec, ...] = (
    # Platform
    InitiativeSpec(
        "managed-postgres", "Migrate to managed PostgreSQL", "platform", "Tomás", "done",
        -30, 20, "40", links=(("platform-reliable/uptime-core", "1"),),
        description="Move every database to the managed service with point-in-time recovery.",
        delivered="All 24 databases moved with four minutes of downtime in total; runbooks "
        "rewritten.",
        outcome="Failovers are automatic now, but the one we had still cost 41 minutes: the "
        "connection pool did not follow. Fix tracked under incident tooling.",
        expected_impacts=("keeps uptime above 99.95%",),
    ),
    InitiativeSpec(
        "latency-budget", "Caching layer and latency budgets", "platform", "Ravi", "in_progress",
        5, 65, "45", links=(("platform-reliable/p95-latency", "1"),),
        description="Read-through cache for plan reads and a latency budget per endpoint.",
        expected_impacts=("-200 ms p95",),
    ),
    InitiativeSpec(
        "reserved-instances", "Reserved instances and storage tiering", "platform", "Sofia",
        "planned", 60, 85, "12",
        links=(("platform-cost/reserved-coverage", "1"),
               ("platform-cost/cost-per-customer", "0.4")),
        expected_impacts=("coverage to 70%", "-€2.50 per customer"),
    ),
    InitiativeSpec(
        "usage-metering", "Usage metering service", "platform", "Erik", "done", 0, 33, "30",
        links=(("gtm-net-new/self-serve-upgrades", "0.3"),),
        description="Count seats and usage per workspace, the basis of self-serve pricing.",
        delivered="Metering runs for every workspace; daily usage exported to billing.",
        outcome="Unblocked billing; no customer impact by itself.",
        expected_impacts=("makes usage-based upgrades possible",),
    ),
    InitiativeSpec(
        "incident-tooling", "Incident response tooling and on-call revamp", "platform", "Zoe",
        "in_progress", 20, 60, "20",
        links=(("platform-reliable/mttr", "1"), ("pe-reliable-product/p1-incidents", "0.5")),
        expected_impacts=("MTTR to 30 min", "fewer repeat incidents"),
    ),
    # Growth
    InitiativeSpec(
        "stripe-billing", "Billing integration with Stripe", "growth", "Lukas", "in_progress",
        34, 62, "30", links=(("growth-self-serve/billing-live", "1"),), budget="28000",
        description="Subscriptions, invoices and VAT for every EU country.",
        expected_impacts=("billing live in the EU",),
    ),
    InitiativeSpec(
        "upgrade-flow", "In-app upgrade flow", "growth", "Daniel", "planned", 63, 80, "18",
        links=(("growth-self-serve/checkout-conversion", "1"),
               ("gtm-net-new/self-serve-upgrades", "0.7")),
        expected_impacts=("checkout conversion to 3%", "+80 upgrades a month"),
    ),
    InitiativeSpec(
        "onboarding-checklist", "Guided onboarding checklist", "growth", "Maya", "in_progress",
        3, 58, "35",
        links=(("growth-activation/signup-to-team", "1"),
               ("growth-activation/first-week-checkin", "1"),
               ("pe-effortless-onboarding/time-to-value", "0.5"),
               ("growth-activation/invites", "0.5"),
               ("growth-activation/onboarding-survey", "0.5")),
        expected_impacts=("+10 points team creation", "+15 points week-one check-ins",
                          "-2 days to first check-in", "+1 invite per workspace",
                          "+0.4 survey score"),
    ),
    InitiativeSpec(
        "starter-templates", "Starter templates gallery", "growth", "Chloé", "in_progress",
        20, 75, "20", links=(("growth-activation/templates-used", "1"),),
        expected_impacts=("30% of new teams start from a template",),
    ),
    InitiativeSpec(
        "empty-dashboard", "Redesign the empty dashboard", "growth", "Daniel", "done", 5, 30,
        "15", links=(("growth-activation/empty-dashboard-exits", "1"),),
        delivered="New empty state with a sample plan and a three-step guide, shipped to "
        "everyone in week 5.",
        outcome="Exits have not moved yet. Session recordings suggest people leave before the "
        "dashboard loads.",
        expected_impacts=("exits down to 25%",),
    ),
    InitiativeSpec(
        "ai-summaries", "AI summaries of weekly check-ins", "growth", "Amara", "proposed", 66, 88,
        "45", links=(("pe-effortless-onboarding/activation", "0.5"),),
        hypothesis="If every team lead gets a three-line summary of their team's check-ins on "
        "Monday, more new teams will come back in week two: we expect 14-day activation to "
        "rise by 5 points.",
        estimated_cost="55000", estimated_effort="45",
        expected_impacts=("+5 points activation",),
    ),
    # Mobile: three apps in flight for three people.
    InitiativeSpec(
        "ios-app", "iOS check-in app", "mobile", "Omar", "in_progress", 0, 62, "60",
        links=(("mobile-app/beta-users", "1"),), work="mobile",
        expected_impacts=("300 beta users",),
    ),
    InitiativeSpec(
        "android-app", "Android check-in app", "mobile", "Nina", "in_progress", 21, 88, "55",
        links=(("mobile-app/launch-plan", "1"), ("mobile-app/beta-users", "0.5")), work="mobile",
        expected_impacts=("the second half of the launch plan", "200 beta users"),
        end_was=80,  # slipped by a week when the push work landed on the same people
    ),
    InitiativeSpec(
        "push-reminders", "Push reminders for check-ins", "mobile", "Yuki", "in_progress", 29,
        62, "21", links=(("mobile-app/beta-users", "0.5"),), work="mobile",
        expected_impacts=("beta users check in weekly",),
    ),
    # Sales
    InitiativeSpec(
        "sales-playbook", "Mid-market sales playbook", "sales", "Sam", "done", -10, 25, "15",
        links=(("sales-repeatable/playbook", "1"), ("sales-repeatable/cycle-length", "0.3")),
        work="sales",
        delivered="Playbook published: ICP, discovery questions, mutual action plan, pricing "
        "guardrails. Every AE trained.",
        outcome="Discovery calls are more consistent; cycle length has started to move.",
        expected_impacts=("playbook published", "-5 days sales cycle"),
    ),
    InitiativeSpec(
        "partner-program", "Reseller partner programme", "sales", "Diego", "in_progress", 0, 87,
        "40",
        links=(("sales-partners/partners-signed", "1"), ("sales-partners/partner-pipeline", "1"),
               ("sales-partners/partner-reps", "1")),
        work="sales",
        expected_impacts=("8 partners", "€400k pipeline", "20 certified reps"),
    ),
    InitiativeSpec(
        "partner-portal", "Partner portal", "sales", "Jan", "in_progress", -40, 65, "25",
        links=(("sales-partners/partner-reps", "0.5"),), work="sales",
        description="Deal registration and co-selling material for partners. Started last "
        "quarter for the pilot partners.",
        expected_impacts=("self-serve certification for partner reps",),
    ),
    # Marketing
    InitiativeSpec(
        "webinar-series", "Webinar series: planning that works", "marketing", "Kwame", "done", 0,
        42, "20", links=(("marketing-pipeline/mqls", "1"),), work="marketing",
        delivered="Six webinars, 1,400 registrations, recordings on the site.",
        outcome="Attendance was good but few attendees matched our ICP; MQLs stayed flat.",
        expected_impacts=("+600 MQLs",),
    ),
    InitiativeSpec(
        "brand-guidelines", "Brand guidelines", "marketing", "Julia", "done", -14, 14, "12",
        work="marketing",
        delivered="Logo, colour, type and voice guidelines; templates for slides and social.",
        outcome="Used by the website relaunch and sales decks.",
    ),
    InitiativeSpec(
        "website-relaunch", "Website and brand relaunch", "marketing", "Isabel", "in_progress", -7,
        70, "35",
        links=(("marketing-brand/site-conversion", "1"), ("marketing-brand/relaunch", "1")),
        work="marketing", budget="40000", hours_factor=1.5, external_cost="26000",
        description="New site on the new brand, with an agency for design and copy.",
        expected_impacts=("conversion to 2.8%", "the relaunch plan"),
    ),
    InitiativeSpec(
        "seo-hub", "SEO content hub", "marketing", "Noah", "in_progress", 7, 84, "25",
        links=(("marketing-pipeline/organic-sessions", "1"),
               ("marketing-pipeline/cost-per-lead", "0.3")),
        work="marketing", expected_impacts=("+30k sessions", "cheaper leads"),
    ),
    InitiativeSpec(
        "paid-social", "Paid social experiment", "marketing", "Julia", "cancelled", 0, 28, "6",
        links=(("marketing-pipeline/cost-per-lead", "0.5"),), work="marketing",
        delivered="Two of four planned campaigns ran.",
        outcome="Cost per lead was €310, three times the target. Stopped to fund the SEO hub.",
        expected_impacts=("leads under €95",),
    ),
    InitiativeSpec(
        "community-forum", "Community forum", "marketing", "Noah", "planned", 60, 80, "4",
        links=(("marketing-community/members", "1"),), work="marketing",
        description="Still on the plan after its objective was cancelled in week 5.",
        expected_impacts=("500 members",),
    ),
    InitiativeSpec(
        "self-serve-launch", "Self-serve plans launch campaign", "marketing", "Kwame", "planned",
        81, 91, "8", links=(("gtm-net-new/self-serve-upgrades", "0.3"),), work="marketing",
        expected_impacts=("+30 upgrades in launch month",),
    ),
    # Customer Success
    InitiativeSpec(
        "success-plans-in-app", "Success plans in the product", "customer-success", "Aisha",
        "in_progress", 0, 60, "30",
        links=(("cs-early-churn/success-plan-coverage", "1"),
               ("cs-early-churn/early-churn", "0.5"), ("cs-early-churn/kickoff-calls", "0.5")),
        work="cs",
        expected_impacts=("every new account has a plan", "-2 points early churn",
                          "kickoff booked from the plan"),
    ),
    InitiativeSpec(
        "help-center", "Help center rebuild", "customer-success", "Felix", "in_progress", 14, 77,
        "25",
        links=(("cs-fast-support/self-service", "1"),
               ("pe-effortless-onboarding/setup-tickets", "0.5"), ("cs-fast-support/csat", "0.3")),
        work="cs",
        expected_impacts=("self-service to 50%", "-100 setup tickets a month", "+2 points CSAT"),
    ),
    InitiativeSpec(
        "support-bot", "Support answer bot", "customer-success", "Mateo", "planned", 58, 84, "15",
        links=(("cs-fast-support/first-response", "1"),), work="cs",
        expected_impacts=("first response under 4 h",),
    ),
    # People & Talent
    InitiativeSpec(
        "career-framework", "Career framework rollout", "people", "Leila", "done", -20, 35, "20",
        links=(("people-careers/framework-published", "1"), ("people-careers/growth-plans", "0.5")),
        work="people",
        delivered="Framework for engineering, product, design, sales, CS and operations; every "
        "manager trained.",
        outcome="Published on time; growth plans are following.",
        expected_impacts=("framework published", "growth plans started"),
    ),
    InitiativeSpec(
        "hiring-sprint", "Engineering hiring sprint", "people", "Ben", "in_progress", 0, 88, "45",
        links=(("people-hiring/engineering-hires", "1"), ("ops-hire-grow/hires", "0.5"),
               ("people-hiring/interviewers-trained", "0.5")),
        work="people",
        expected_impacts=("8 engineering hires", "8 of 12 hires", "30 trained interviewers"),
    ),
    InitiativeSpec(
        "hris", "New HR system (HRIS)", "people", "Clara", "planned", 56, 86, "15", work="people",
        description="Replace spreadsheets and the old payroll portal with one HR system.",
    ),
    # Finance & IT
    InitiativeSpec(
        "soc2-readiness", "SOC 2 readiness programme", "finance-it", "Arjun", "in_progress", -10,
        84, "40",
        links=(("it-soc2/soc2-plan", "1"), ("it-soc2/policy-acknowledged", "1"),
               ("ops-lean-company/audit-findings", "0.5")),
        work="finance", expected_impacts=("readiness plan complete", "100% acknowledged",
                                          "findings closed"),
    ),
    InitiativeSpec(
        "close-automation", "Automate the month-end close", "finance-it", "Olivia",
        "in_progress", 5, 70, "25", links=(("finance-close/close-days", "1"),), work="finance",
        expected_impacts=("close in 5 days",),
    ),
    InitiativeSpec(
        "office-move", "Move to the new Berlin office", "finance-it", "Henrik", "on_hold", 45,
        85, "20", work="finance", budget="120000",
        description="On hold until the landlord confirms the fit-out date.",
    ),
)

MILESTONES: tuple[MilestoneSpec, ...] = (
    MilestoneSpec("postgres-cutover", "Production database cut over", 12, "managed-postgres",
                  done=12),
    MilestoneSpec("ios-beta", "iOS beta on TestFlight", 28, "ios-app", "mobile-app/launch-plan",
                  "1", done=30),
    MilestoneSpec("ios-release", "iOS app in the App Store", 56, "ios-app",
                  "mobile-app/launch-plan", "2"),
    MilestoneSpec("android-beta", "Android beta", 70, "android-app", "mobile-app/launch-plan",
                  "1"),
    MilestoneSpec("android-release", "Android app in Google Play", 84, "android-app",
                  "mobile-app/launch-plan", "2"),
    MilestoneSpec("soc2-scope", "SOC 2 scope and auditor agreed", -5, "soc2-readiness",
                  "it-soc2/soc2-plan", "1", done=-3),
    MilestoneSpec("soc2-policies", "Security policies approved", 20, "soc2-readiness",
                  "it-soc2/soc2-plan", "2", done=24),
    MilestoneSpec("soc2-controls", "Controls implemented", 50, "soc2-readiness",
                  "it-soc2/soc2-plan", "1"),
    MilestoneSpec("soc2-evidence", "Evidence collected", 70, "soc2-readiness",
                  "it-soc2/soc2-plan", "2"),
    MilestoneSpec("soc2-audit-window", "Audit window opens", 84, "soc2-readiness",
                  "it-soc2/soc2-plan", "1"),
    MilestoneSpec("site-design-signoff", "Website design signed off", 0, "website-relaunch",
                  "marketing-brand/relaunch", "1", done=3),
    MilestoneSpec("site-content-freeze", "Website content frozen", 35, "website-relaunch",
                  "marketing-brand/relaunch", "1", done=45),
    MilestoneSpec("site-beta", "New website in beta", 50, "website-relaunch",
                  "marketing-brand/relaunch", "1"),
    MilestoneSpec("site-live", "New website live", 70, "website-relaunch",
                  "marketing-brand/relaunch", "2"),
    MilestoneSpec("billing-eu-live", "Billing live in the EU", 62, "stripe-billing"),
    MilestoneSpec("self-serve-ga", "Self-serve plans generally available", 91,
                  "self-serve-launch"),
    MilestoneSpec("framework-live", "Career framework published", 30, "career-framework",
                  done=33),
    MilestoneSpec("legacy-hr-contract-end", "Old payroll portal contract ends", 88),
)

DEPENDENCIES: tuple[DependencySpec, ...] = (
    # The critical chain: metering feeds billing feeds the upgrade flow feeds the launch.
    DependencySpec("usage-metering", "stripe-billing", "FS"),
    DependencySpec("stripe-billing", "upgrade-flow", "FS"),
    DependencySpec("upgrade-flow", "self-serve-launch", "FS"),
    DependencySpec("self-serve-launch", "self-serve-ga", "FS"),
    DependencySpec("site-live", "self-serve-launch", "FS", 3),
    DependencySpec("brand-guidelines", "website-relaunch", "SS", 7),
    DependencySpec("ios-app", "android-app", "SS", 21),
    DependencySpec("help-center", "support-bot", "FF"),
    DependencySpec("hris", "legacy-hr-contract-end", "SF"),
    DependencySpec("managed-postgres", "reserved-instances", "FS", 14),
    # Meant to follow the database migration, but planned to start before it ends.
    DependencySpec("managed-postgres", "latency-budget", "FS"),
    DependencySpec("soc2-policies", "soc2-evidence", "FS", 7),
)

# Task titles per kind of work, in the order the work usually happens.
TASK_TITLES: dict[str, tuple[str, ...]] = {
    "eng": (
        "Write the technical design", "Spike: compare the options", "Design review",
        "Set up the feature flag", "Build the data model and migrations", "Implement the core",
        "Write integration tests", "Add metrics and alerts", "Security review", "Load test",
        "Update the runbook", "Roll out to 10% of workspaces", "Roll out to everyone",
        "Remove the feature flag", "Write the changelog entry",
    ),
    "mobile": (
        "Agree the scope of v1", "Design the screens", "Set up the build pipeline",
        "Sign-in with single sign-on", "Key result list", "Check-in form", "Offline queue",
        "Push notification plumbing", "Accessibility pass", "Crash reporting",
        "Beta feedback round", "Store listing and screenshots", "Submit for review",
        "Release notes",
    ),
    "sales": (
        "Interview five top reps", "Draft the materials", "Review with product marketing",
        "Pilot with two deals", "Build the CRM fields", "Train the team", "Record demo videos",
        "Write objection handling", "Partner agreement template", "Partner onboarding call",
        "Quarterly review of results",
    ),
    "marketing": (
        "Write the brief", "Agree the message with sales", "Build the landing page",
        "Write the copy", "Design the assets", "Set up tracking and UTM links",
        "Launch the first batch", "Mid-flight review", "Send the follow-up e-mails",
        "Report the results", "Hand over leads to sales", "Retrospective",
    ),
    "cs": (
        "Map the current process", "Interview ten customers", "Write the content outline",
        "Build the first version", "Migrate existing articles", "Train the team",
        "Pilot with new accounts", "Add in-product links", "Measure and adjust",
        "Roll out to all accounts", "Write the internal guide",
    ),
    "people": (
        "Agree goals with the leadership team", "Benchmark with peers", "Draft the first version",
        "Review with managers", "Legal and works council review", "Train the managers",
        "Announce to the company", "Run the first cycle", "Collect feedback", "Publish v1.1",
    ),
    "finance": (
        "Document the current process", "Choose the vendor", "Sign the contract",
        "Configure the system", "Migrate the data", "Write the policies", "Collect the evidence",
        "Dry run", "Train the team", "Go live", "Review after the first month",
    ),
}
# fmt: on
