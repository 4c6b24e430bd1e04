"""The IQM REST API emulator (``tap-emulator iqm``).

Documented behaviour follows ``shared/research/iqm.md`` and IQM's per-service OpenAPI files
(``mcp-cmp``, ``mcp-creative``, ``mcp-audience``, ``mcp-conversion``, ``mcp-reports``,
``mcp-master``, ``mcp-user``); the token endpoint ``POST /api/v3/ua/oauth/token`` is in none
of them (only in the docs' authentication quickstart and user-api guide). ``--scale`` is the
number of campaigns; insertion orders are 1/5, creatives 3/2, audiences 1/2, conversions 1/4
and saved reports 1/20 (+2) of it. ``--token-response enveloped|raw|mixed`` picks the token
answer (``mixed``, the default: login enveloped with ``owId``, refresh raw, as the docs show).
Where the spec's schema and its examples disagree on a timestamp unit, the examples win.
Where IQM's files contradict themselves, ``spec_conflicts.py`` says which reading is kept.

Known unknowns: every guess is marked ``# GUESS`` in the code; in one place:

Auth and workspace
- token errors in the Spring OAuth2 shape: a bad or missing Basic header 401
  ``invalid_client``, a wrong password 400 ``invalid_grant`` "Bad credentials", an unknown
  or expired refresh token 400 ``invalid_grant``, another grant 400
  ``unsupported_grant_type``; refresh tokens last 30 days, a refresh keeps the refresh token
  (the docs' examples repeat it) and old access tokens stay valid until they expire;
- a missing bearer gets 401 "Unauthorized", an unknown or expired one 401 "Invalid token";
- a missing or non-numeric ``X-IAA-OW-ID`` gets the same 403 as another workspace's id;
  ``/ua/user/ow-id`` needs none; the second user's workspace (200002) holds no objects;
- 403 texts: "Forbidden!" on cmp paths, master and the v2 lists, "Forbidden !" elsewhere (as
  each spec writes it; master and v2 document none).

Rate limit
- one 20/min window for the whole account, the token endpoint included; refused requests
  do not use it up; the 429 body is ``{"success":false,"errorObjects":[{"error":"Too many
  requests"}]}`` with no ``Retry-After`` (none is documented); injected 429s look the same.

Lists
- default order: ascending id (cmp, io, creatives, audiences); conversions ``-created`` and
  saved reports ``-modifyDate`` as documented; ``sortBy`` takes ``+``/``-`` fields of the row
  (comma lists on every list); unknown fields get 422 "Invalid sortBy value.";
- page sizes: default 20; maxima 500 on ``cmp/basic/list`` (documented), 1000 on the others
  (the global 1K cap); above the maximum or below 1: 422 "Invalid page size" with
  ``errorObjects`` (``{"success":false,"error":{"message":...}}`` on ``audience/list``, as
  documented there); ``pageNo`` below 1 is the first page except on ``audience/list`` (422);
  ``reports/list`` ``pageNo=-1`` returns everything; the v2 lists clamp their sizes;
- a body field of the wrong type, invalid JSON, a missing body where the spec marks it
  required (all POSTs but ``crt/creatives/list``) or a bad comma id list: 400 with
  ``errorObjects`` (``field`` set); a known path with another method: 405 with ``Allow``;
  an unknown path: 404; ``POST /api/v3/ra/reports/list`` (``fetchReportList``) pages like
  the GET with ``noOfEntries``;
- filters: ``owIds`` without the workspace select nothing; ``searchField`` matches id or name;
  the creatives' ``startTime``/``endTime`` filter ``createdAt``; ``ids`` put those first;
  ``responseFields`` ``id`` is the campaign id; conversions filter ``typeIds`` 1 pixel / 2
  postback and ``statusIds`` 1 active / 2 pending;
- statuses' shares (campaigns 4% rejected, 5% deleted, 8% paused, the rest by their dates);
  names; conversion rows use the example's keys (``totalConversion``,
  ``attributedConversion``...) where the schema's differ; mutated records are renamed
  ``(edited)`` with modification time now; added campaigns are pending and never deliver.

Reports
- facts per (campaign, UTC day) over 48 half hours with a fixed diurnal profile; one UTC day
  in every 7..11 delivers nothing; rejected campaigns never deliver; the other statuses
  deliver over their run up to the half hour the emulator started in;
- dimensions below the campaign split each day's units over 8 cells per campaign (values
  from ``catalog.VALUES``, whose ids beyond the documented ones are guesses); a dimension's
  ``value`` list filters; ``reach`` adds up; ``CTR``, ``VCR``, ``winRate`` in percent;
- at most 5 dimensions; the window may not reach the local start day plus 3 calendar months
  (12 when every dimension is ``campaign``/``campaignId``): 422 "Date range cannot exceed
  ..."; start/end widened to half hours; weeks run Sunday..Saturday clipped to the window;
- other 422s ("Please provide <field>.", "Invalid columns: ...", "Invalid dimension: ...",
  "Invalid timezone id.", ...): texts and status; ``reportAggregated`` "0", "1" or "2" is
  required and has no effect; ``timezoneName`` is ignored (``timezoneId`` decides);
- rows hold the date fields, each dimension's fields and the requested metric columns
  (budget columns only with the campaign dimension); ``total`` holds every requested column,
  nulls for dimension fields; rows without any count are left out (a
  split cell may hold reach but no impressions); sort ties keep (date,
  dimension ids) order; ``id`` runs a saved report's stored definition;
- timezone ids from 500 on (the docs name no id for those zones); the dimension-metrics
  catalogue beyond the example's entries.

``/counts``: list streams count all records of the workspace; ``campaign_daily_report`` counts
(UTC day, campaign) pairs with impressions from the first line's ``start_date`` through today
(UTC) — what a tap reading that report in timezone UTC (id 11) gets. ``/mutate {count}``:
per stream ``count`` records renamed and ``count`` added, so every list count grows by
``count`` and the report count stays.
"""
