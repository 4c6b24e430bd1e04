"""Where IQM's OpenAPI files contradict themselves or the vendor's prose.

Schemathesis (``tests/test_emulator_schemathesis.py``) runs every check against every
operation the emulator serves except exactly these (spec file, operationId, check) triples,
each with the reason the emulator cannot satisfy both readings. Everything else it finds is
a bug to fix. ``mcp-master`` (timezones) and ``mcp-user`` (ow-id) pass every check.
"""

from __future__ import annotations

CMP, CREATIVE, AUDIENCE = "mcp-cmp.json", "mcp-creative.json", "mcp-audience.json"
CONVERSION, REPORTS = "mcp-conversion.json", "mcp-reports.json"

_STATUSES = (
    "the docs list 400 and 422 as API-wide status codes (rest-api-reference: 200, 201, 400, "
    "403, 408, 412, 422, 429, 500) and research 10 shows their bodies, but this operation "
    "documents only some of them: the emulator's 400 (a body or parameter of the wrong type, "
    "a missing required body) and 422 (page size, sortBy) are undocumented here."
)
_PAGE_SIZE = (
    "noOfEntries/limit is any int32 in the schema, but the prose caps pages (500 on "
    "cmp/basic/list, 1K rows elsewhere) and the audience list documents 422 'Invalid page "
    "size' for a negative size or an invalid page number: the emulator refuses sizes outside "
    "1..max with 422, which the schema calls valid data."
)
_SORT = (
    "sortBy is any string in the schema, but the prose allows only +/- prefixed field names "
    "and the spec's own 422 example is 'Invalid sortBy value.': the emulator refuses other "
    "strings, which the schema calls valid data."
)
_EXECUTE = (
    "executeReportData's schema requires nothing, but its prose makes dimensions, columns, "
    "startDate, endDate, timezoneId, requestType and reportAggregated required unless id is "
    "given, and documents 422 'Please select columns for report creation': schema-valid "
    "bodies without them are refused."
)
_FILTERS = (
    "executeReportData types `filters` as an object of arrays of objects, but its own "
    "description and example send arrays of integers and strings ({campaignIds: [123], "
    "campaignStatuses: ['running']}): the emulator accepts the documented example, which the "
    "schema calls invalid."
)

#: (spec file, operationId, schemathesis check) -> why it cannot pass.
KNOWN_CONFLICTS: dict[tuple[str, str, str], str] = {
    (CMP, "getCampaignBasicDetailList", "status_code_conformance"): _STATUSES,
    (CMP, "getCampaignBasicDetailList", "positive_data_acceptance"): _PAGE_SIZE,
    (CMP, "getIOBasicDetailsList", "status_code_conformance"): _STATUSES,
    (CMP, "getIOBasicDetailsList", "positive_data_acceptance"): _PAGE_SIZE,
    (CREATIVE, "getCreatives_1", "status_code_conformance"): _STATUSES,
    (CREATIVE, "getCreatives_1", "positive_data_acceptance"): _PAGE_SIZE,
    (AUDIENCE, "getAudienceList", "status_code_conformance"): _STATUSES,
    (AUDIENCE, "getAudienceList", "positive_data_acceptance"): _PAGE_SIZE,
    (CONVERSION, "getConversionList", "status_code_conformance"): _STATUSES,
    (CONVERSION, "getConversionList", "positive_data_acceptance"): _SORT,
    (REPORTS, "getReportList", "status_code_conformance"): _STATUSES,
    (REPORTS, "getReportList", "positive_data_acceptance"): _SORT,
    (REPORTS, "executeReportData", "status_code_conformance"): _STATUSES,
    (REPORTS, "executeReportData", "positive_data_acceptance"): _EXECUTE,
    (REPORTS, "executeReportData", "negative_data_rejection"): _FILTERS,
    (REPORTS, "fetchReportList", "status_code_conformance"): _STATUSES,
    (REPORTS, "fetchReportList", "positive_data_acceptance"): _SORT,
}
