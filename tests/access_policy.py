"""Who may call what: one table for every route of the four services (docs/security.md, "The access matrix").

`tests/integration/test_access_matrix.py` builds every (route, caller) pair from the applications' own route
tables and asserts each answer against this table; a route without an entry here fails that test. A route is
keyed by its service, method and path as the application declares it.

Callers: each staff role (an account limited to one force area), `anonymous`, `reporter` (a report's follow-up
token), `centre` (a reporting centre's API key) and `service:<name>` (each Vigil service's own credential,
which opens only the internal routes that name it: staff routes are for people, and refuse it).
Vigil has no inbound partner credential: partners receive webhooks and call nothing.

A caller in `who` is admitted: its answer is neither 401 nor 403 (nor, for a page, a redirect to sign in),
and never a 5xx. Anyone else is refused: 401 without a credential the route knows, 403 with one that does not
carry the right role or service (a page sends a browser without a session to sign in, 303), or `refusal`
where the route answers otherwise (a follow-up route answers 404 to anyone without the report's token, so a
reference's existence is not revealed). `scoped` names the path parameter that names an object of a force
area: the matrix also asks, for each admitted member of staff, for that object in another area and for one
that does not exist, and expects the same answer to both (404, or `scoped_status`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.staffaccess import Role

R = Role
TO, DI, SUP, AN = R.triage_officer.value, R.duty_inspector.value, R.supervisor.value, R.analyst.value
ADMIN = R.admin.value
DPO, CW, NO, LEAD = (R.data_protection_officer.value, R.caseworker.value, R.neighbourhood_officer.value,
                     R.site_lead.value)
STAFF = frozenset(r.value for r in Role)
SERVICES = frozenset({"service:intake", "service:triage", "service:notify", "service:assessment"})
EVERYONE = STAFF | SERVICES | {"anonymous", "reporter", "centre"}
NOBODY: frozenset[str] = frozenset()

QUEUE = frozenset({TO, DI, SUP, AN, ADMIN, NO})  # triage's queue and incidents (access.py: view_queue)
HANDLERS = frozenset({TO, DI, SUP})  # acknowledge, assign, regrade, personal data
COMMAND = frozenset({DI, SUP})  # override, request a CIA, close
AREA_READERS = frozenset({AN, SUP, DI})  # assessment's area pages
SITE_READERS = frozenset({SUP, AN, NO, ADMIN, LEAD})
NOTIFY_VIEWERS = frozenset({DI, SUP, ADMIN})
NOTIFY_MANAGERS = frozenset({SUP, ADMIN})
DATA_PROTECTION = frozenset({DPO, ADMIN})
TASKING_READERS = frozenset({SUP, AN, NO})
SITE_RECORDING = frozenset({LEAD, NO, SUP})
VISITORS = frozenset({NO, SUP})


@dataclass(frozen=True)
class Rule:
    who: frozenset[str]
    json: dict[str, Any] | None = None  # a valid body, so an admitted caller is not stopped at validation
    form: dict[str, str] | None = None  # a page's form (the session's CSRF token is added)
    query: dict[str, str] = field(default_factory=dict)
    refusal: int | None = None
    scoped: str | None = None
    scoped_status: int = 404
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> the world's object (else PARAMS)
    answers: dict[str, int] = field(default_factory=dict)  # exact answers of some admitted callers
    fresh: bool = False  # ends the caller's session: sent with a sign-in of its own
    public_form: bool = False  # a public page's form: sent with the CSRF value its page gave
    unavailable_ok: bool = False  # may answer 503 (readiness, with no workers running here)
    staff_refusal: int = 403  # what a member of staff without the role gets (401 where no session counts)


def services(*names: str) -> frozenset[str]:
    return frozenset(f"service:{n}" for n in names)


PUBLIC = Rule(EVERYONE)
REGRADE = {"source": "2", "intelligence": "B", "handling": "P", "reason": "new information"}
RECORD = {"routine": "perimeter_walk", "outcome": "done"}
LEVELS = {"community_tension": "low", "risk_of_disorder": "low"}

POLICY: dict[tuple[str, str], Rule] = {}
SOMETIMES = {"GET /docs"}  # served in development only: a policy for it is not stale where it is absent


def _common(service: str) -> None:
    for route in ("GET /healthz", "GET /metrics", "GET /docs", "GET /openapi.json", "HEAD /openapi.json"):
        POLICY[(service, route)] = PUBLIC
    POLICY[(service, "GET /readyz")] = Rule(EVERYONE, unavailable_ok=True)


for _service in ("intake", "triage", "notify", "assessment"):
    _common(_service)

# --- intake ------------------------------------------------------------------------------------------------
POLICY |= {("intake", k): v for k, v in {
    "POST /v1/reports": Rule(EVERYONE, json={"$report": "own area"}),
    "POST /v1/reports:batch": Rule(frozenset({"centre"}), json={"reports": [{"$report": "own area"}]},
                                   staff_refusal=401),
    # Another report (or none) answers the reporter's token as an unknown reference does.
    "GET /v1/reports/{reference}": Rule(frozenset({"reporter"}), refusal=404, scoped="reference"),
    "POST /v1/reports/{reference}/updates": Rule(frozenset({"reporter"}), refusal=404, scoped="reference",
                                                 json={"information": "More happened."}),
    "POST /v1/reports/{reference}/withdrawal": Rule(frozenset({"reporter"}), refusal=404, scoped="reference",
                                                    json={}),
    "GET /internal/v1/reports/{report_id}/personal": Rule(services("triage", "notify"),
                                                          query={"purpose": "staff_view"}),
    # staff text sealed and opened with a report's key, for triage alone (ADR 0055)
    "POST /internal/v1/reports/{report_id}/staff-text:seal": Rule(services("triage"), json={"fields": {"reason": "r"}}),
    "POST /internal/v1/reports/{report_id}/staff-text:open": Rule(services("triage"), json={
        "sealed": [{"nonce": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAAAAAAAAAAAAAAAAAAAAAA"}]}),
    "POST /v1/reports/{reference}/erasure": Rule(DATA_PROTECTION, json={"reason": "Article 17 request"},
                                                 params={"reference": "report_other"}),
    "POST /v1/reports/{reference}/hold": Rule(DATA_PROTECTION, json={"kind": "legal", "reason": "court"}),
    "GET /v1/reports/{reference}/holds": Rule(DATA_PROTECTION),
    "POST /v1/reports/{reference}/hold/{hold_id}/release": Rule(DATA_PROTECTION, json={"reason": "done"}),
    "GET /v1/erasures": Rule(DATA_PROTECTION),
    "GET /": PUBLIC,
    "GET /{lang}/": PUBLIC,
    "POST /{lang}/": Rule(EVERYONE, form={}, public_form=True),
    "GET /{lang}/follow-up": PUBLIC,
    "POST /{lang}/follow-up": Rule(EVERYONE, form={}, public_form=True),
    "POST /{lang}/follow-up/information": Rule(EVERYONE, form={}, public_form=True),
    "POST /{lang}/follow-up/withdraw": Rule(EVERYONE, form={}, public_form=True),
    "POST /{lang}/follow-up/withdraw/confirmed": Rule(EVERYONE, form={}, public_form=True),
}.items()}

# --- triage ------------------------------------------------------------------------------------------------
_INCIDENT = {"scoped": "incident_id"}
POLICY |= {("triage", k): v for k, v in {
    "POST /v1/session": Rule(EVERYONE, json={"username": "$national", "password": "$password"}),
    "GET /v1/session": Rule(STAFF),
    "DELETE /v1/session": Rule(STAFF, fresh=True),
    "POST /internal/v1/sessions/introspect": Rule(services("intake", "notify", "assessment"),
                                                  json={"token": "not-a-session"}),
    "GET /v1/incidents": Rule(QUEUE),
    "GET /v1/held": Rule(frozenset({CW})),
    # A caseworker may open a report held for the reporting centre; a police incident is unknown to them.
    "GET /v1/incidents/{incident_id}": Rule(QUEUE | {CW}, answers={CW: 404}, **_INCIDENT),
    "GET /v1/incidents/{incident_id}/personal": Rule(HANDLERS, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/viewing": Rule(QUEUE, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/acknowledge": Rule(HANDLERS, json={}, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/assign": Rule(HANDLERS, json={"duty_inspector": "$duty_inspector_id"},
                                                    **_INCIDENT),
    "POST /v1/incidents/{incident_id}/override": Rule(COMMAND, json={
        "priority": "P2", "needs_duty_inspector": True, "reason": "more serious"}, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/regrade": Rule(HANDLERS, json=REGRADE, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/cia-requests": Rule(COMMAND, json={}, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/cia": Rule(COMMAND | {NO}, json={
        "community_tension": "low", "risk_of_disorder": "low"}, **_INCIDENT),
    "POST /v1/incidents/{incident_id}/close": Rule(COMMAND, json={"outcome": "no_further_action"}, **_INCIDENT),
    "GET /v1/duty-inspectors": Rule(QUEUE),
    "GET /v1/tension": Rule(QUEUE),
    "POST /v1/tension": Rule(frozenset({SUP}), json={"area": "$area", "reason": "a march"}),
    "POST /v1/tension/{tension_id}/lift": Rule(frozenset({SUP}), json={"reason": "calm"}, scoped="tension_id"),
    # An unknown proposal, and another area's, answer as one already decided.
    "POST /v1/tension/proposals/{proposal_id}/dismiss": Rule(frozenset({SUP}), scoped="proposal_id",
                                                             scoped_status=409),
    "GET /v1/rulesets": Rule(QUEUE),
    "GET /v1/audit/personal-data-views": Rule(frozenset({SUP, ADMIN})),
    "GET /v1/users": Rule(frozenset({ADMIN})),
    "POST /v1/users": Rule(frozenset({ADMIN}), json={"username": "$new_username", "display_name": "New",
                                                     "roles": [AN]}),
    "GET /v1/users/{user_id}": Rule(frozenset({ADMIN})),
    "POST /v1/users/{user_id}/disable": Rule(frozenset({ADMIN}), json={"reason": "left"}),
    "POST /v1/users/{user_id}/enable": Rule(frozenset({ADMIN}), json={"reason": "back"}),
    "PUT /v1/users/{user_id}/roles": Rule(frozenset({ADMIN}), json={"roles": [AN], "reason": "moved"}),
    "PUT /v1/users/{user_id}/areas": Rule(frozenset({ADMIN}), json={"areas": ["E23000001"], "reason": "moved"}),
    "PUT /v1/users/{user_id}/centre": Rule(frozenset({ADMIN}), json={"centre": "", "reason": "moved"}),
    "PUT /v1/users/{user_id}/contact": Rule(frozenset({ADMIN}), json={"email": "a@police.example"}),
    "POST /v1/users/{user_id}/password": Rule(frozenset({ADMIN}), json={}),
    # an account without a link answers 409 to an administrator: admitted, and refused to everyone else
    "DELETE /v1/users/{user_id}/sso-link": Rule(frozenset({ADMIN})),
    "GET /v1/groups": Rule(frozenset({SUP})),
    "GET /v1/groups/{group_id}": Rule(frozenset({SUP})),
    "POST /v1/groups/{group_id}/confirm": Rule(frozenset({SUP}), json={"reason": "one flood"}),
    "POST /v1/groups/{group_id}/split": Rule(frozenset({SUP}), json={"incident_ids": ["x"], "reason": "apart"}),
    # Community impact assessments of an area (area_cia_routes.py): the person's own areas only.
    "GET /v1/areas/{area}/cias": Rule(QUEUE, scoped="area"),
    "POST /v1/areas/{area}/cias": Rule(COMMAND | {NO}, json=LEVELS, scoped="area"),
    "GET /v1/areas/{area}/cias/{cia_id}": Rule(QUEUE, scoped="area"),
    "POST /v1/areas/{area}/cias/{cia_id}/reviews": Rule(COMMAND | {NO}, json=LEVELS, scoped="area"),
    "POST /v1/areas/{area}/cias/{cia_id}/closure": Rule(COMMAND | {NO}, json={"reason": "calm"}, scoped="area"),
    "POST /v1/areas/{area}/cias/{cia_id}/actions/{action_id}/done": Rule(QUEUE, scoped="area"),
    "GET /areas/{area}/cias/new": Rule(COMMAND | {NO}, scoped="area"),
    "POST /areas/{area}/cias": Rule(COMMAND | {NO}, form=LEVELS, scoped="area"),
    "GET /areas/{area}/cias/{cia_id}": Rule(QUEUE, scoped="area"),
    "POST /areas/{area}/cias/{cia_id}": Rule(COMMAND | {NO}, form={"op": "close", "reason": "calm"}, scoped="area"),
    "POST /internal/v1/incidents/{incident_id}/acknowledgements": Rule(services("notify"), json={
        "username": "national_di", "link_id": "link-1", "via": "email link"}),
    "POST /internal/v1/incidents/{incident_id}/escalations": Rule(services("notify"), json={
        "username": "national_di", "link_id": "link-2", "via": "email link"}),
    "GET /internal/v1/staff/{username}/contact": Rule(services("notify")),
    "GET /internal/v1/staff": Rule(services("notify")),
    # The staff pages. Anyone may see the sign-in page and try it.
    "GET /": Rule(STAFF),
    "GET /login": PUBLIC,
    # single sign-on (ADR 0060): anyone may begin and come back; 404 where it is not configured, never a 5xx
    "GET /login/oidc": PUBLIC,
    "GET /login/oidc/callback": PUBLIC,
    "POST /login": Rule(EVERYONE, form={"username": "$national", "password": "$password"}),
    # Signing out ends the session there is, if any, and sends everyone to the sign-in page.
    "POST /logout": Rule(EVERYONE, form={}, fresh=True, answers={k: 303 for k in EVERYONE}),
    "GET /queue": Rule(QUEUE),
    "GET /incidents": Rule(QUEUE),
    "GET /queue/rows": Rule(QUEUE),
    "GET /incidents/{incident_id}": Rule(QUEUE | {CW}, answers={CW: 404}, **_INCIDENT),
    "GET /held": Rule(frozenset({CW})),
    "GET /incidents/{incident_id}/personal": Rule(HANDLERS, **_INCIDENT),
    "POST /incidents/{incident_id}/personal": Rule(HANDLERS, form={}, **_INCIDENT),
    "GET /incidents/{incident_id}/{action}": Rule(HANDLERS, **_INCIDENT),
    "POST /incidents/{incident_id}/{action}": Rule(HANDLERS, form=REGRADE, **_INCIDENT),
    "GET /tension": Rule(QUEUE),
    "POST /tension": Rule(frozenset({SUP}), form={"op": "declare", "area": "$area", "reason": "a march"}),
    "GET /admin": Rule(frozenset({SUP, ADMIN})),
    "GET /admin/accounts": Rule(frozenset({ADMIN})),
    "GET /admin/accounts/new": Rule(frozenset({ADMIN})),
    "POST /admin/accounts/new": Rule(frozenset({ADMIN}), form={"username": "$new_username", "display_name": "New",
                                                             "roles": AN}),
    "GET /admin/accounts/{user_id}": Rule(frozenset({ADMIN})),
    "GET /admin/accounts/{user_id}/{change}": Rule(frozenset({ADMIN})),
    "POST /admin/accounts/{user_id}/{change}": Rule(frozenset({ADMIN}), form={"roles": AN, "reason": "moved"}),
    "GET /admin/audit": Rule(frozenset({SUP, ADMIN})),
    "GET /admin/rulesets": Rule(frozenset({SUP, ADMIN})),
}.items()}

# --- notify ------------------------------------------------------------------------------------------------
POLICY |= {("notify", k): v for k, v in {
    "GET /v1/notifications": Rule(NOTIFY_VIEWERS),
    "GET /v1/notifications/give-ups": Rule(NOTIFY_VIEWERS),
    "POST /v1/notifications/{notification_id}/retry": Rule(NOTIFY_MANAGERS, json={}, scoped="notification_id"),
    "POST /v1/notifications/{notification_id}/resolve": Rule(NOTIFY_MANAGERS, json={"reason": "phoned"},
                                                             scoped="notification_id"),
    "GET /v1/chases/{incident_id}": Rule(NOTIFY_VIEWERS, scoped="incident_id", params={"incident_id": "chase"}),
    "GET /v1/assessments": Rule(NOTIFY_VIEWERS),
    "GET /v1/rota/{area}": Rule(NOTIFY_VIEWERS, scoped="area"),
    "PUT /v1/rota/{area}/overrides": Rule(NOTIFY_MANAGERS, json={"person_id": "di-2", "starts_at": "$now",
                                                                 "ends_at": "$later"}, scoped="area"),
    "DELETE /v1/rota/{area}/overrides/{override_id}": Rule(NOTIFY_MANAGERS, scoped="area"),
    "GET /": Rule(NOTIFY_VIEWERS),
    "POST /rota/overrides": Rule(NOTIFY_MANAGERS, form={"area": "$area", "person_id": "di-2", "starts_at": "",
                                                        "ends_at": ""}),
    "GET /rota/overrides/{override_id}/remove": Rule(NOTIFY_MANAGERS, scoped="override_id"),
    "POST /rota/overrides/{override_id}/remove": Rule(NOTIFY_MANAGERS, form={"reason": "back"},
                                                      scoped="override_id"),
    "POST /notifications/{notification_id}/retry": Rule(NOTIFY_MANAGERS, form={}, scoped="notification_id"),
    "GET /notifications/{notification_id}/resolve": Rule(NOTIFY_MANAGERS, scoped="notification_id"),
    "POST /notifications/{notification_id}/resolve": Rule(NOTIFY_MANAGERS, form={"reason": "phoned"},
                                                          scoped="notification_id"),
    # Signed links in alerts: the link is the credential, whoever follows it (a bad one is refused to all).
    "GET /a/{token}": PUBLIC,
    "POST /a/{token}": PUBLIC,
    "GET /e/{token}": PUBLIC,
    "POST /e/{token}": PUBLIC,
    "GET /s/{token}": PUBLIC,  # a site routine recorded from a reminder
    "POST /s/{token}": PUBLIC,
    "GET /v/{token}": PUBLIC,  # a visit recorded from the morning's tasking message
    "POST /v/{token}": PUBLIC,
    # SMS replies: the gateway's signature is the credential; no caller here has it.
    "POST /v1/sms/inbound": Rule(NOBODY, form={"from": "+447700900001", "text": "ACK 123456"}, staff_refusal=401),
}.items()}

# --- assessment --------------------------------------------------------------------------------------------
POLICY |= {("assessment", k): v for k, v in {
    "GET /v1/areas": Rule(AREA_READERS),
    "GET /v1/areas/{area}": Rule(AREA_READERS, scoped="area"),
    "GET /v1/areas/{area}/timeline": Rule(AREA_READERS, scoped="area"),
    "GET /v1/strategic-assessment": Rule(frozenset({AN, SUP})),
    "GET /v1/strategic-assessment.pdf": Rule(frozenset({AN, SUP})),
    "GET /v1/sites": Rule(SITE_READERS),
    "POST /v1/sites": Rule(frozenset({SUP, NO, ADMIN}), json={"$site": "own area"}),
    "GET /v1/sites/{site_id}": Rule(SITE_READERS, scoped="site_id"),
    "GET /v1/sites/{site_id}/routines": Rule(SITE_READERS, scoped="site_id"),
    "POST /v1/sites/{site_id}/records": Rule(SITE_RECORDING, json=RECORD, scoped="site_id"),
    "POST /v1/sites/{site_id}/records/{outcome_id}/resolve": Rule(SITE_RECORDING, json={},
                                                                  scoped="site_id"),
    "GET /v1/sites/{site_id}/plan": Rule(SITE_READERS, scoped="site_id"),
    "PUT /v1/sites/{site_id}": Rule(frozenset({SUP, NO, ADMIN, LEAD}), json={"$site": "own area"},
                                    scoped="site_id"),
    "GET /v1/sites/{site_id}/contacts": Rule(frozenset({LEAD, NO, SUP, ADMIN}), scoped="site_id"),
    "POST /v1/sites/{site_id}/links": Rule(frozenset({SUP, AN, NO}),
                                           json={"report_id": "r-1", "decision": "dismiss"}, scoped="site_id"),
    "GET /v1/site-leads/{username}": Rule(frozenset({ADMIN})),
    "PUT /v1/site-leads/{username}": Rule(frozenset({ADMIN}), json={"site_ids": ["$site"]}),
    "POST /internal/v1/sites/{site_id}/records": Rule(services("notify"), json={
        **RECORD, "recorded_by": LEAD, "link_id": "link-0001"}),
    "GET /sites": Rule(SITE_READERS),
    "GET /sites/{site_id}": Rule(SITE_READERS, scoped="site_id"),
    "GET /sites/{site_id}/record": Rule(frozenset({LEAD, NO, SUP}), scoped="site_id"),
    "POST /sites/{site_id}/record": Rule(frozenset({LEAD, NO, SUP}), form={**RECORD}, scoped="site_id"),
    "POST /sites/{site_id}/records/{outcome_id}/resolve": Rule(frozenset({LEAD, NO, SUP}), form={},
                                                               scoped="site_id"),
    "POST /sites/{site_id}/links": Rule(frozenset({SUP, AN, NO}), form={"report_id": "r-1", "decision": "dismiss"},
                                        scoped="site_id"),
    # Patrol and visit tasking (sites/tasking_api.py, tasking_pages.py).
    "GET /v1/tasking": Rule(TASKING_READERS),
    "GET /v1/tasking.pdf": Rule(TASKING_READERS),
    "POST /v1/tasking/changes": Rule(frozenset({SUP}), query={"area": "E23000001"},
                                     json={"site_id": "$site", "change": "add", "reason": "a march nearby"}),
    "POST /v1/sites/{site_id}/visits": Rule(VISITORS, json={}, scoped="site_id"),
    "GET /v1/sites/{site_id}/visits": Rule(SITE_READERS, scoped="site_id"),
    "POST /internal/v1/sites/{site_id}/visits": Rule(services("notify"), json={
        "recorded_by": NO, "link_id": "link-0002"}),
    "POST /tasking/changes": Rule(frozenset({SUP}), form={"site_id": "$site", "change": "add", "reason": "a march",
                                                         "area": "E23000001"}),
    "GET /sites/{site_id}/visit": Rule(VISITORS, scoped="site_id"),
    "POST /sites/{site_id}/visit": Rule(VISITORS, form={}, scoped="site_id"),
    "GET /counts.csv": Rule(AREA_READERS),
    "GET /areas/{area}": Rule(AREA_READERS, scoped="area"),
    "GET /": Rule(AREA_READERS),
}.items()}
