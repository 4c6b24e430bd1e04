r"""The Kissmetrics emulator (``tap-emulator kissmetrics``): Core API, Query API v2, S3 export.

Documented behaviour follows ``shared/research/kissmetrics.md`` (the "API Update June 29,
2015" and the Core API docs of kissmetrics/km-support, Kissmetrics' example scripts, the
KISSR client, the Data Export docs and its readers). One server carries both APIs:
``/core/...`` (``api.kissmetrics.com/core``) and ``/v2/...`` (``query.kissmetrics.com/v2``);
``Authorization: Bearer <token>`` on every request. The Data Export bucket is a real S3
server (moto's server mode, in-process, on a free loopback port; stopped at exit), filled
through boto3 at start.

Flags: ``--bare-lists`` (Core lists as whole bare arrays, as the docs draw them),
``--query-polls N`` (200 "not completed" answers before the 201; default 3),
``--results-limit-cap N`` (largest results page; default 1000), ``--problem-reports``
(adds two people_search_v2 reports on products 1 and 2: "Stuck query (emulator)" never
completes, "Failing query (emulator)" fails), ``--rate-limit`` (none by default: the 2015
API documents none).

``/counts`` (the first line's tap_config, every report selected by default):
- every Core stream: all its objects (``/core/{accounts,products,...}``);
- ``report_results``: every people_search_v2 report (not the problem ones) run once per
  local day of its product's ``timezone``, from the calendar date of ``start_date`` (read
  as a local date) through today's local date inclusive, each window
  ``[D 00:00 local, D+1 00:00 local - 1 s]``; plus every people_search_v3 report once (it
  ignores the window); the rows of each;
- ``raw_events``: non-empty lines of every ``revisions/N.json`` that parse as JSON after
  octal escapes are decoded (broken lines excluded; exact duplicate lines included).
``/mutate {count}``: renames ``count`` objects of each Core resource, adds ``count`` reports,
events, properties and metrics (new reports may be runnable: their results count), and adds
``count`` export revisions (with a new ``index.csv`` and ``status.csv``).
``/stats`` adds ``query_runs`` ("<report_id> <start UTC> <end UTC>" -> run requests the
server acted on, faulted ones that never reached the handler excluded; a truncated or reset
run did start a query), ``queries_started``, ``query_status_polls``, ``query_results_pages``.

Known unknowns: every guess is marked ``# GUESS`` in the code; in one place:

Core API
- lists are wrapped ``{data, pagination, links}`` (the clients' reading; the docs draw bare
  arrays: ``--bare-lists``, then unpaged so a one-page reading loses nothing, no ``Link``);
- maximum ``limit`` 100, a larger one cut to it (``pagination.limit`` says so); a limit
  below 1 counts as 1, a negative offset as 0; a non-integer is a 400;
- ``links`` carry first/last and prev/next only where they exist, no ``self``; the same
  links go in a ``Link`` header (``<href>; rel="x"; templated="false"``);
- details are bare objects; 401/403/404 and Core errors use the v2 ``{meta: {status,
  message}}`` envelope; texts of every error; writes get 405;
- report types other than the two people searches (``funnel``, ``cohort``); per product the
  reports cycle people_search_v2, funnel, people_search_v3, cohort;
- product time zones (``US/Pacific`` first, others with DST or half-hour offsets); about
  one event or property in 11 was never sent (null ``*_at``); metric ``status`` strings
  ``pending``/``active``; ids are version-1-looking UUIDs;
- the directory's rels after ``accounts`` and the contents of ``/core/rels``.

Query API v2
- run: 404 for a report unknown or not in the product (text modelled on v1); a body that is
  not JSON, without both dates, or with end before start or more than 366 days after it:
  400; integer Unix seconds are accepted; a time without an offset is read in the product's
  time zone; ``Content-Type`` is not enforced; the legacy ``/query/reports/{id}/run`` is not
  served (404);
- a window covers every product-local day it touches; days after today have no data;
  people_search_v3 reports use a saved range of the 7 local days ending today;
- progress is ``(k-1)/N`` on poll k (N = ``--query-polls``), the 201 on poll N+1 and on
  every later poll; queries never expire;
- a stuck query's progress creeps towards 0.9; a failing query answers 500 ``{meta:
  {status: 500, message: "Query failed: ..."}, data: {completed: false, progress, error}}``
  from the poll that would have completed it on, and its results the same 500;
- results before completion: 409; default limit 50 (seen), a larger limit is cut to
  ``--results-limit-cap`` silently (``pagination.limit`` shows it); results ``links`` are
  ``self`` and ``export`` only (as seen; no ``next``); rows ordered by KMID;
- columns: 0 to 3 per report, no ``columns`` block (none seen in v2): Total Times (int),
  First/Last Time (``YYYY-MM-DD HH:MM:SS`` product-local, no offset, never after now) and
  Last Value (string or null); people_search_v3 rows ``{identity, columns}`` have no KMID and
  write dates the same way (KISSR saw Unix seconds from the ad-hoc endpoint);
- about one local day in seven has nobody active (empty results);
- export: ``text/csv`` with a header row.

Data Export
- the bucket name, the ``status.csv`` header strings; revisions numbered from 1, one per 10
  of ``--scale`` (3 to 1500); every ``_t`` lies between ``start_date`` and the end of
  yesterday (UTC) for generated revisions, the last 12 hours for added ones; line kinds 70%
  event, 20% set, 10% alias (``_p2`` an ``anon-`` id); about 1 line in 40 is preceded by an
  empty line, 1 in 40 by a whitespace-only line, 3 in 40 are broken (cut mid-object or not
  JSON), 1 in 40 is duplicated; some UTF-8 text is written as octal escapes, some as ``\u``
  escapes, some raw;
- the S3 server accepts any credentials (moto does not check them).
"""
