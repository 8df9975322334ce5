"""Web URLs. Names are ``web:<thing>-<action>``; templates ``web/<thing>_<action>.html``."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from milepost.accounts.signin import SignInView
from milepost.web.views import (
    account,
    admin,
    alignment,
    cycle_reports,
    cycles,
    dashboard,
    exports,
    health,
    home,
    imports,
    initiatives,
    integrations,
    key_results,
    notifications,
    objectives,
    roadmap,
    work,
)
from milepost.web.views.auth import PasswordChange
from milepost.web.views.unlock import member_unlock

app_name = "web"

urlpatterns = [
    # Signing in and out, passwords.
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="web/password_reset_form.html",
            email_template_name="web/password_reset_email.txt",
            subject_template_name="web/password_reset_subject.txt",
            success_url=reverse_lazy("web:password-reset-done"),
        ),
        name="password-reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="web/password_reset_done.html"),
        name="password-reset-done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="web/password_reset_confirm.html",
            success_url=reverse_lazy("web:password-reset-complete"),
        ),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="web/password_reset_complete.html"
        ),
        name="password-reset-complete",
    ),
    path("password/change/", PasswordChange.as_view(), name="password-change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="web/password_change_done.html"),
        name="password-change-done",
    ),
    path("organization/switch/", account.org_switch, name="org-switch"),
    # My week, dashboard, alignment.
    path("", home.home, name="home"),
    path("my-week/findings/", health.home_findings, name="home-findings"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("alignment/", alignment.alignment_tree_page, name="alignment-tree"),
    path(
        "alignment/<int:cycle_id>/children/<str:path>/",
        alignment.alignment_children,
        name="alignment-children",
    ),
    # Objectives and key results.
    path("objectives/", objectives.objective_list, name="objective-list"),
    path("objectives/new/", objectives.objective_create, name="objective-create"),
    path("objectives/<int:objective_id>/", objectives.objective_detail, name="objective-detail"),
    path("objectives/<int:objective_id>/edit/", objectives.objective_edit, name="objective-edit"),
    path(
        "objectives/<int:objective_id>/align/", objectives.objective_align, name="objective-align"
    ),
    path(
        "objectives/<int:objective_id>/archive/",
        objectives.objective_archive,
        name="objective-archive",
    ),
    path(
        "objectives/<int:objective_id>/restore/",
        objectives.objective_restore,
        name="objective-restore",
    ),
    path("alignments/<int:alignment_id>/edit/", objectives.alignment_edit, name="alignment-edit"),
    path(
        "alignments/<int:alignment_id>/remove/",
        objectives.alignment_remove,
        name="alignment-remove",
    ),
    path("key-results/new/", key_results.key_result_create, name="key-result-create"),
    path(
        "key-results/<int:key_result_id>/",
        key_results.key_result_detail,
        name="key-result-detail",
    ),
    path(
        "key-results/<int:key_result_id>/edit/",
        key_results.key_result_edit,
        name="key-result-edit",
    ),
    path(
        "key-results/<int:key_result_id>/archive/",
        key_results.key_result_archive,
        name="key-result-archive",
    ),
    path(
        "key-results/<int:key_result_id>/restore/",
        key_results.key_result_restore,
        name="key-result-restore",
    ),
    path(
        "key-results/<int:key_result_id>/check-in/",
        key_results.checkin_create,
        name="checkin-create",
    ),
    # Roadmap and initiatives.
    path("roadmap/", roadmap.roadmap, name="roadmap"),
    path("initiatives/", initiatives.initiative_list, name="initiative-list"),
    path("initiatives/new/", initiatives.initiative_create, name="initiative-create"),
    path(
        "initiatives/<int:initiative_id>/",
        initiatives.initiative_detail,
        name="initiative-detail",
    ),
    path(
        "initiatives/<int:initiative_id>/panel/",
        initiatives.initiative_panel,
        name="initiative-panel",
    ),
    path(
        "initiatives/<int:initiative_id>/edit/",
        initiatives.initiative_edit,
        name="initiative-edit",
    ),
    path(
        "initiatives/<int:initiative_id>/status/",
        initiatives.initiative_status,
        name="initiative-status",
    ),
    path(
        "initiatives/<int:initiative_id>/link/",
        initiatives.initiative_link,
        name="initiative-link",
    ),
    path(
        "initiative-links/<int:link_id>/edit/",
        work.initiative_link_edit,
        name="initiative-link-edit",
    ),
    path(
        "initiative-links/<int:link_id>/remove/",
        initiatives.initiative_unlink,
        name="initiative-unlink",
    ),
    path(
        "initiatives/<int:initiative_id>/archive/",
        initiatives.initiative_archive,
        name="initiative-archive",
    ),
    path(
        "initiatives/<int:initiative_id>/restore/",
        initiatives.initiative_restore,
        name="initiative-restore",
    ),
    path(
        "initiatives/<int:initiative_id>/milestones/new/",
        work.milestone_create,
        name="milestone-create",
    ),
    path("milestones/<int:milestone_id>/edit/", work.milestone_edit, name="milestone-edit"),
    path(
        "milestones/<int:milestone_id>/complete/",
        work.milestone_complete,
        name="milestone-complete",
    ),
    path(
        "milestones/<int:milestone_id>/archive/", work.milestone_archive, name="milestone-archive"
    ),
    path(
        "milestones/<int:milestone_id>/restore/", work.milestone_restore, name="milestone-restore"
    ),
    path(
        "initiatives/<int:initiative_id>/dependencies/new/",
        work.dependency_create,
        name="dependency-create",
    ),
    path("dependencies/<int:dependency_id>/edit/", work.dependency_edit, name="dependency-edit"),
    path(
        "dependencies/<int:dependency_id>/remove/",
        work.dependency_remove,
        name="dependency-remove",
    ),
    path("initiatives/<int:initiative_id>/tasks/new/", work.task_create, name="task-create"),
    path("tasks/<int:task_id>/edit/", work.task_edit, name="task-edit"),
    path("tasks/<int:task_id>/move/", work.task_move, name="task-move"),
    path("tasks/<int:task_id>/archive/", work.task_archive, name="task-archive"),
    path(
        "initiatives/<int:initiative_id>/time/new/",
        work.time_entry_create,
        name="time-entry-create",
    ),
    path("time/<int:entry_id>/edit/", work.time_entry_edit, name="time-entry-edit"),
    path("time/<int:entry_id>/remove/", work.time_entry_archive, name="time-entry-archive"),
    # Plan health and priorities.
    path("health/", health.plan_health, name="plan-health"),
    path("priorities/", health.priorities, name="priorities"),
    # The cycle's rhythm: states, close wizard, retrospectives, carry-over, report, lessons.
    path("cycles/", cycles.cycle_index, name="cycle-index"),
    path("cycles/<int:cycle_id>/", cycles.cycle_detail, name="cycle-detail"),
    path("cycles/<int:cycle_id>/activate/", cycles.cycle_activate, name="cycle-activate"),
    path("cycles/<int:cycle_id>/close/", cycles.cycle_close, name="cycle-close"),
    path("cycles/<int:cycle_id>/reopen/", cycles.cycle_reopen, name="cycle-reopen"),
    path("cycles/<int:cycle_id>/carry-over/", cycles.cycle_carry_over, name="cycle-carry-over"),
    path("cycles/<int:cycle_id>/next/", cycles.cycle_from_template, name="cycle-from-template"),
    path("cycles/<int:cycle_id>/report/", cycle_reports.cycle_report_page, name="cycle-report"),
    path(
        "cycles/<int:cycle_id>/report/print/",
        cycle_reports.cycle_report_print,
        name="cycle-report-print",
    ),
    path("lessons/", cycle_reports.lessons, name="lessons"),
    path(
        "objectives/<int:objective_id>/retrospective/",
        cycles.objective_retrospective,
        name="objective-retrospective",
    ),
    path(
        "objectives/<int:objective_id>/retrospective/skip/",
        cycles.objective_retrospective_skip,
        name="objective-retrospective-skip",
    ),
    path(
        "objectives/<int:objective_id>/recurring/",
        cycles.objective_recurring,
        name="objective-recurring",
    ),
    path(
        "key-results/<int:key_result_id>/retrospective/",
        cycles.key_result_retrospective,
        name="key-result-retrospective",
    ),
    # Settings.
    path("settings/", account.settings_profile, name="settings-profile"),
    path("settings/tokens/", account.token_list, name="token-list"),
    path("settings/tokens/<int:token_id>/revoke/", account.token_revoke, name="token-revoke"),
    path("settings/organization/", account.organization_edit, name="organization-edit"),
    path("settings/members/", account.member_list, name="member-list"),
    path("settings/members/<int:membership_id>/role/", account.member_role, name="member-role"),
    path(
        "settings/members/<int:membership_id>/remove/", account.member_remove, name="member-remove"
    ),
    path("settings/members/<int:membership_id>/unlock/", member_unlock, name="member-unlock"),
    path("settings/teams/", admin.team_list, name="team-list"),
    path("settings/teams/new/", admin.team_create, name="team-create"),
    path("settings/teams/<int:team_id>/", admin.team_edit, name="team-edit"),
    path("settings/teams/<int:team_id>/members/", admin.team_member_add, name="team-member-add"),
    path(
        "settings/teams/<int:team_id>/members/<int:user_id>/remove/",
        admin.team_member_remove,
        name="team-member-remove",
    ),
    path("settings/teams/<int:team_id>/archive/", admin.team_archive, name="team-archive"),
    path("settings/teams/<int:team_id>/restore/", admin.team_restore, name="team-restore"),
    path("settings/cycles/", admin.cycle_list, name="cycle-list"),
    path("settings/cycles/new/", admin.cycle_create, name="cycle-create"),
    path("settings/cycles/<int:cycle_id>/", admin.cycle_edit, name="cycle-edit"),
    path("settings/cycles/<int:cycle_id>/archive/", admin.cycle_archive, name="cycle-archive"),
    path("settings/cycles/<int:cycle_id>/restore/", admin.cycle_restore, name="cycle-restore"),
    # Integrations: allowed hosts, databases, webhooks; a key result's data source.
    path(
        "settings/integrations/",
        integrations.integration_settings,
        name="integration-settings",
    ),
    path(
        "settings/integrations/hosts/add/", integrations.allowed_host_add, name="allowed-host-add"
    ),
    path(
        "settings/integrations/hosts/<int:host_id>/remove/",
        integrations.allowed_host_remove,
        name="allowed-host-remove",
    ),
    path(
        "settings/integrations/databases/add/",
        integrations.db_connection_add,
        name="db-connection-add",
    ),
    path(
        "settings/integrations/databases/<int:connection_id>/test/",
        integrations.db_connection_test,
        name="db-connection-test",
    ),
    path(
        "settings/integrations/databases/<int:connection_id>/remove/",
        integrations.db_connection_remove,
        name="db-connection-remove",
    ),
    path("settings/integrations/webhooks/", integrations.webhook_list, name="webhook-list"),
    path(
        "settings/integrations/webhooks/<int:subscription_id>/",
        integrations.webhook_detail,
        name="webhook-detail",
    ),
    path(
        "settings/integrations/webhooks/<int:subscription_id>/state/",
        integrations.webhook_state,
        name="webhook-state",
    ),
    path(
        "settings/integrations/webhooks/<int:subscription_id>/rotate/",
        integrations.webhook_rotate,
        name="webhook-rotate",
    ),
    path(
        "settings/integrations/webhooks/<int:subscription_id>/delete/",
        integrations.webhook_delete,
        name="webhook-delete",
    ),
    path(
        "settings/integrations/deliveries/<int:delivery_id>/redeliver/",
        integrations.webhook_redeliver,
        name="webhook-redeliver",
    ),
    path(
        "key-results/<int:key_result_id>/data-source/",
        integrations.data_source_edit,
        name="data-source-edit",
    ),
    path(
        "key-results/<int:key_result_id>/data-source/run/",
        integrations.data_source_run,
        name="data-source-run",
    ),
    path(
        "key-results/<int:key_result_id>/data-source/remove/",
        integrations.data_source_remove,
        name="data-source-remove",
    ),
    path(
        "key-results/<int:key_result_id>/data-source/token/",
        integrations.data_source_token,
        name="data-source-token",
    ),
]

# Downloads and uploads (CSV of every list, plan files, spreadsheet imports).
urlpatterns += [*exports.urlpatterns, *imports.urlpatterns]

# Reminders and digests: a member's own settings, the organization's defaults.
urlpatterns += [
    path(
        "settings/notifications/",
        notifications.notification_preferences,
        name="notification-preferences",
    ),
    path(
        "settings/organization/notifications/",
        notifications.notification_defaults,
        name="notification-defaults",
    ),
]
