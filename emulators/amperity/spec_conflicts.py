"""Where Amperity's OpenAPI files contradict themselves or the vendor's prose.

Schemathesis (``tests/test_emulator_schemathesis.py``) runs every check against every
operation except exactly these (spec file, operationId, check) triples, each with the reason
the emulator cannot satisfy both readings. Everything else it finds is a bug to fix.
"""

from __future__ import annotations

CONTROL_2024 = "control-plane-2024-04-01-openapi.json"
CONTROL_UNSTABLE = "control-plane-unstable-openapi.json"
PROFILE_V2 = "openapi-profile-v2.json"

_SEVEN_DAYS = (
    "created_from/created_to are two free date-times in the schema, but the parameter prose "
    "says they define 'a 7-day time window'; the emulator refuses wider windows with 400 "
    "(GUESS, research 4.5), which the schema calls valid data."
)
_DRAFTS_VERSION = (
    "the api-version enum (shared by every operation of the unstable spec) allows "
    "2024-04-01 on /campaign-drafts, but the docs say campaign drafts exist only in the "
    "unstable API (research 4.3): api-version 2024-04-01 gets 400 there."
)
_PROFILE_400 = (
    "the versioning docs answer a missing or unsupported api-version with 400 (research "
    "2.2), but get-index and get-profile document no 400 (only 200/401/403/404/429/500)."
)

#: (spec file, operationId, schemathesis check) -> why it cannot pass.
KNOWN_CONFLICTS: dict[tuple[str, str, str], str] = {
    (CONTROL_2024, "list-ingest-jobs", "positive_data_acceptance"): _SEVEN_DAYS,
    (CONTROL_UNSTABLE, "list-ingest-jobs", "positive_data_acceptance"): _SEVEN_DAYS,
    (CONTROL_UNSTABLE, "list-campaign-draft", "positive_data_acceptance"): _DRAFTS_VERSION,
    (PROFILE_V2, "get-index", "status_code_conformance"): _PROFILE_400,
    (PROFILE_V2, "get-profile", "status_code_conformance"): _PROFILE_400,
}

#: Query parameters whose schema (any string) admits values the API cannot accept: the
#: test sends a token the emulator issued for that operation instead of generated strings.
OPAQUE_PARAMETERS: dict[str, str] = {
    "next_token": "an opaque cursor: the schema says 'string', but only tokens the server "
                  "issued for that list are valid; any other string is a 400.",
}
