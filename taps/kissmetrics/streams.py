"""Kissmetrics Core API streams: short declarations on top of ``KissmetricsStream``."""

from __future__ import annotations

from taps.kissmetrics.client import KissmetricsStream


class Accounts(KissmetricsStream):
    """Accounts the token can access."""

    name = "accounts"
    path = "/accounts"


class Products(KissmetricsStream):
    """Products of every accessible account (their ``timezone`` dates report results)."""

    name = "products"
    path = "/products"


class Reports(KissmetricsStream):
    """Saved reports of every product; only people searches can be run for results."""

    name = "reports"
    path = "/reports"


class Events(KissmetricsStream):
    """Event-library definitions (not occurrences: those are ``raw_events``)."""

    name = "events"
    path = "/events"


class Properties(KissmetricsStream):
    """Property definitions of every product."""

    name = "properties"
    path = "/properties"


class Metrics(KissmetricsStream):
    """Metric definitions of every product."""

    name = "metrics"
    path = "/metrics"


CORE_STREAMS: tuple[type[KissmetricsStream], ...] = (Accounts, Products, Reports, Events,
                                                     Properties, Metrics)
