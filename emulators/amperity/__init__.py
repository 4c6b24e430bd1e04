"""The Amperity API and Profile API emulator.

Documented behaviour follows ``shared/research/amperity.md`` and the vendor's OpenAPI files;
where the docs and the spec disagree the emulator follows the spec (error bodies of the
control plane are ``{status, message}`` only; ``next_token`` is left out, never null on the
last page). Every guess is marked ``# GUESS`` in the code; in one place:

- default ``limit`` 100 on the control plane (Profile API: 25, documented); maximum 1000
  everywhere; a larger ``limit`` is clamped, not refused, and one below 1 counts as 1 (the
  spec's Limit is any integer);
- filtered lists page like the others; a filtered page scans at most 20,000 records and
  may come back short with a ``next_token``;
- each campaign (draft) uses one of four data templates, the first being the docs' example
  ``ptg-2QLLqXBEq`` (``destination_data_template_id`` filters on it);
- a missing tenant header gets 401; POST /workflow/runs answers a ``scheduled`` run of type
  ``courier.group/run``; stopping a running or scheduled run shows state ``stopping``;
- a known path with another method gets 405 with ``Allow`` (SWAGGER-2024 declared 405);
- the token endpoint's errors follow RFC 6749 section 5.2 (``invalid_client`` 401,
  ``invalid_request``/``unsupported_grant_type`` 400) and a missing tenant there is
  ``invalid_request``;
- list order: newest first; a page may be half full or empty while ``next_token`` continues
  (the docs only say a page may hold fewer records than ``limit``); ``--no-short-pages``;
- an invalid ``next_token`` gets 400; the token carries the original filters;
- a missing or unsupported api-version gets 400 (``--api-version-error-status 401`` for the
  other documented reading); a token used with another tenant gets 401;
- ingest-job windows longer than 7 days get 400;
- that the token endpoint is not rate-limited;
- 429s carry no ``Retry-After`` (none is documented) and are also sent on control-plane
  paths, whose spec lists no 429;
- three profile indexes with six string attributes; filter fields per index; a filter on a
  field that is not a filter field gets 400;
- workflow state ``running`` (the docs only give display names) for the newest 8% of runs;
- audit events always carry ``principal_email`` (the spec requires it; the docs say it can be
  NULL for API keys).

Where the vendor's own files contradict each other, ``spec_conflicts.py`` says which reading
the emulator follows and why.
"""
