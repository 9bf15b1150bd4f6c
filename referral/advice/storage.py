"""Where signed advice PDFs live, and how the services find out.

Files: `<data dir>/advice/<sha256[:2]>/<sha256>.pdf`, named by the SHA-256 of
their bytes, written once (temporary file, fsync, hard link that fails if the
name exists) and made read-only. A stored PDF is never rewritten: the same
bytes get the same name, and different bytes cannot.

The services are Flask-free and do not know the data directory; the app binds
it to its session factory (`bind_pdf_store`), so every session the app opens
carries it in `session.info`. A session without it (the demo seeding run from
the command line) issues advice without a PDF; the app renders that PDF on
first request (see issuing.ensure_pdf).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

STORE_KEY = "referral.advice.store"
ADVICE_DIR = "advice"


@dataclass
class PdfStore:
    """The data directory, and the public address printed in the QR codes (None: a path only)."""

    data_dir: Path
    public_url: str | None = None

    @property
    def root(self) -> Path:
        return self.data_dir / ADVICE_DIR

    def path_of(self, relative: str) -> Path:
        """The absolute path of a stored PDF; refuses anything outside the store."""
        path = (self.data_dir / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"not a stored advice PDF: {relative}")
        return path

    def verify_url(self, code: str) -> str:
        base = (self.public_url or "").rstrip("/")
        return f"{base}/verify/{code}"


WRITTEN_KEY = "referral.advice.written"  # PDFs written for the session's open transaction


def bind_pdf_store(sessionmaker, store: PdfStore) -> None:
    """Make every session from `sessionmaker` carry `store` (in `session.info`), and take back the
    PDFs written for a transaction that rolls back (see `written_for`)."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[STORE_KEY] = store
    sessionmaker.configure(info=info)
    event.listen(sessionmaker, "after_commit", _kept)
    event.listen(sessionmaker, "after_soft_rollback", _dropped)


def written_for(session: Session, path: Path) -> None:
    """A PDF just created for the session's transaction. Should the transaction fail (a colleague
    signed the same case a moment earlier: 409), the PDF names nothing, and it names the patient: it
    goes with the rollback instead of lying in the store."""
    session.info.setdefault(WRITTEN_KEY, []).append(path)


def _kept(session: Session) -> None:
    session.info.pop(WRITTEN_KEY, None)


def _dropped(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:
        return  # a savepoint: the transaction that wrote the PDF goes on
    for path in session.info.pop(WRITTEN_KEY, []):
        path.unlink(missing_ok=True)


def pdf_store(session: Session) -> PdfStore | None:
    return session.info.get(STORE_KEY)


def write_pdf(store: PdfStore, data: bytes, session: Session | None = None) -> tuple[str, str]:
    """Store `data`; returns (path relative to the data dir, SHA-256). Idempotent for equal bytes.

    With `session`, a file this call created is removed again if the session's transaction rolls
    back (`written_for`); a file that was there already is never touched."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{ADVICE_DIR}/{digest[:2]}/{digest}.pdf"
    target = store.data_dir / relative
    if target.exists():
        if sha256_of(target) != digest:
            raise OSError(f"{target} exists with different bytes; the store is damaged (run `referral advice verify`)")
        return relative, digest
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, target)  # fails if the name exists: never replaces a stored file
            if session is not None:
                written_for(session, target)
        except FileExistsError:
            if sha256_of(target) != digest:
                raise
        _fsync_dir(target.parent)
    finally:
        os.unlink(tmp)
    return relative, digest


def read_pdf(store: PdfStore, relative: str) -> bytes:
    return store.path_of(relative).read_bytes()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
