"""Read models: dashboards, the alignment tree, timeline, plan health, exports.

The shared queries are in `milepost.reports.queries` (used by the web app and the API)."""
