"""The Adnuntius admin API emulator (``tap-emulator adnuntius``).

Documented behaviour follows ``shared/research/adnuntius.md`` (the vendor's "API Requests"
conventions page, its endpoint pages and its Python client ``adnuntius``, api-tools), and
the client works against it unchanged. ``--scale`` is the number of line items; other
resources scale from it. ``--page-base 0|1`` is the first page number (0 per the current
docs, 1 as the client's own example assumes). Every guess is marked ``# GUESS`` in the code;
in one place:

Auth
- a wrong password, a used or unknown refresh token, a missing, unknown or expired
  credential: 401 with an ``ErrorMessage`` (codes ``error.authentication.*``); a missing
  ``scope`` is accepted, another scope than ``ng_api`` or another grant gets 400;
- refresh tokens last 30 days and work once (rotation); the previous access token stays
  valid until it expires; the temporary two-factor token lasts 300 s, opens nothing but
  ``POST /api/authenticate/2fa``, and one fixed ``code`` (in the first line) stands in for
  TOTP codes; ``auth.forced_two_factor`` is the FORCED_TWO_FACTOR_AUTH user;
- credentials are checked before ``context``; a missing ``context`` gets 400
  ``error.context.required``, an unknown network 403 ``error.context.unknown``;
- ``/api/authenticate`` is not rate-limited; the per-token limit is 20 requests/second;
  ``Retry-After`` is whole seconds (at least 1); the 429 text's wording; an injected 429
  fault looks the same with ``Retry-After: 1``;
- OPTIONS on a collection needs neither credentials nor context (empty 200, ``Allow``);
  HEAD needs both; writes (POST/PUT/DELETE) are not emulated: 405.

Lists
- default ``pageSize`` 100 (the 2018 docs), larger than 1000 clamped; a page below the first
  page number is the first page; a page past the end is empty;
- default order is creation order; ``orderBy`` sorts nulls last, ties in creation order;
- each of ``includeActive``/``includeInactive``/``includeHidden`` adds (bare or ``true``)
  or removes (``false``) its state from the default ACTIVE + INACTIVE; they also apply to
  ``id=a;b`` lists;
- ``where`` on a list field (labels) matches when any element does; a reference compares by
  its id; months are 30 days and years 365 in ``N months ago``; a relative time is fixed
  when a query is first seen (so its pages agree); an unreadable date-time compared with a
  timestamp field gets 400 (not a text comparison); a field the resource lacks gets 400
  ``error.filter.field.unknown``; a parent's name as a parameter (``creatives?lineItem=``,
  seen only in third-party code) filters on it;
- object shares 8% HIDDEN, 14% INACTIVE; ratios between resources; which object's
  timestamps have no seconds, seconds or milliseconds; advertisers carry ``team`` or (every
  third) ``ownerTeam``; line item ``type`` AUCTION; prices with up to six decimals; network
  currency NOK; every generated ``updateTime`` lies after the first line's ``start_date``
  (so counts hold whether or not a tap applies it to updateTime); error codes and texts of
  404s (``error.entity.not.found``) and the framework's plain errors.

Stats
- ``groupBy=daily`` chunks are ``{startDate, endDate, <metrics>}`` per UTC day clipped to
  the window, empty days only with ``includeChunkRange``;
- ``startDate``/``endDate`` are widened to half hours, windows over 3660 days get 400;
  ``lineItemId`` and ``advertiserId``
  filter like ``orderId``; unknown ids select nothing; ``includeAll`` adds every line item
  the filters keep; chunks come in creation order; currencies convert from NOK at fixed
  rates (unknown: 400); ``visibility``/``viewability`` divide by impressions;
  ``uniqueUsers`` add up over windows; groupings by creative or ad unit are not emulated
  (400);
- delivery: a diurnal half-hour profile; one day in every 7..11 of a run delivers nothing;
  data stops at the half hour the emulator started in (it does not grow while it runs);
  line items added by ``/mutate`` never deliver.

``/counts``: every list stream counts all its objects (a tap sends ``includeHidden``);
``line_item_daily_stats`` counts (UTC day, line item) pairs with impressions > 0 from the
``start_date``'s day through today. ``/mutate {count}``: per resource ``count`` objects get
``updateTime`` now (every second one set HIDDEN, the others renamed ``(edited)``) and
``count`` are added (every third HIDDEN), so every count grows by ``count``.
"""
