"""The case page's timeline as a reader takes it in.

The upload page sends a study in batches of a few seconds each (one slice over a
slow link, 16 MB over a fast one), and each batch is a transaction with its own
`attachment_added` event: a 300-slice CT is ten to a few hundred events. The
record keeps every one (the audit trail and the API show them as they are); the
page shows one upload as one line, with what it added in total.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ..services.case_record import TimelineEntry

UPLOAD = "attachment_added"
ONE_UPLOAD = timedelta(minutes=30)  # the longest pause between two batches of one upload
# Written by a batch's own transaction, right after its upload event: they do not end the upload.
_OF_A_BATCH = frozenset({"study_mismatch"})


def coalesce_uploads(events: list[TimelineEntry], gap: timedelta = ONE_UPLOAD) -> list[TimelineEntry]:
    """Runs of `attachment_added` by one person with no pause longer than `gap` become one entry at
    the run's first time, its payload the sum of theirs. Nothing else may come in between but what
    a batch itself recorded (a study flagged as another patient's), which stays after the entry."""
    out: list[TimelineEntry] = []
    run: int | None = None  # the index in `out` of the upload being gathered
    last: TimelineEntry | None = None  # its latest batch
    for event in events:
        if event.kind == UPLOAD and run is not None and last is not None and event.actor_id == last.actor_id \
                and event.created_at - last.created_at <= gap:
            out[run] = replace(out[run], payload=_merged(out[run].payload, event.payload))
            last = event
            continue
        out.append(event)
        if event.kind == UPLOAD:
            run, last = len(out) - 1, event
        elif not (event.kind in _OF_A_BATCH and last is not None and event.actor_id == last.actor_id
                  and event.created_at == last.created_at):
            run, last = None, None
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
    files = {f.get("id"): f for f in [*a.get("files", []), *b.get("files", [])]}  # a batch sent twice: once
    return {**a, "files": list(files.values()), "studies": list(studies.values()),
            "rejected": [*a.get("rejected", []), *b.get("rejected", [])],
            "duplicate_files": a.get("duplicate_files", 0) + b.get("duplicate_files", 0)}
