"""The case page's timeline as a reader takes it in.

The upload page sends a study in batches of a few megabytes, and each batch is a
transaction with its own `attachment_added` event: a 300-slice CT is some forty
events. The record keeps every one (the audit trail and the API show them as
they are); the page shows one upload as one line, with what it added in total.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ..services.case_record import TimelineEntry

UPLOAD = "attachment_added"
ONE_UPLOAD = timedelta(minutes=30)  # the longest pause between two batches of one upload


def coalesce_uploads(events: list[TimelineEntry], gap: timedelta = ONE_UPLOAD) -> list[TimelineEntry]:
    """Runs of `attachment_added` by one person, nothing else in between and no pause longer than
    `gap`, become one entry at the run's first time, its payload the sum of theirs."""
    out: list[TimelineEntry] = []
    last_at = None
    for event in events:
        previous = out[-1] if out else None
        if (event.kind == UPLOAD and previous is not None and previous.kind == UPLOAD
                and previous.actor_id == event.actor_id and event.created_at - last_at <= gap):
            out[-1] = replace(previous, payload=_merged(previous.payload, event.payload))
        else:
            out.append(event)
        last_at = event.created_at
    return out


def _merged(a: dict, b: dict) -> dict:
    studies = {s.get("study_uid"): dict(s) for s in a.get("studies", [])}
    for s in b.get("studies", []):
        have = studies.get(s.get("study_uid"))
        if have is None:
            studies[s.get("study_uid")] = dict(s)
            continue
        have.update({k: v for k, v in s.items() if k not in ("instances_added", "duplicates") and v is not None})
        for count in ("instances_added", "duplicates"):
            have[count] = have.get(count, 0) + s.get(count, 0)
    return {**a, "files": [*a.get("files", []), *b.get("files", [])], "studies": list(studies.values()),
            "rejected": [*a.get("rejected", []), *b.get("rejected", [])]}
