"""Demo data for the embedded default: about twenty GAP contracts with PDFs, an admin user and,
outside production, a development API token for that admin.

Running it again changes nothing: PDFs are written only when missing or different, contracts go
through the idempotent importer, the admin user is created only when absent, and the development
token kept in DATA_DIR/dev-token is reused while it is still valid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from models import User
from models.session import session_scope
from pipeline.contracts.importer import ImportReport, import_rows
from pipeline.core.cache import get_cache
from pipeline.core.settings import Settings
from pipeline.identity import tokens
from pipeline.seed.demo import demo_contracts
from pipeline.core.pdf_render import render_text_pdf

logger = logging.getLogger(__name__)


DEV_TOKEN_NAME = "development token (flask seed)"
DEV_TOKEN_DAYS = 365


@dataclass
class SeedReport:
    contracts: ImportReport
    pdfs_written: int
    admin_created: bool
    dev_token: str | None = None
    dev_token_file: Path | None = None


def dev_token_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / "dev-token"


def ensure_dev_token(*, session: Session, settings: Settings) -> tuple[str, Path]:
    """The admin's development token: the one kept in DATA_DIR/dev-token while it still works,
    else a new one written there (readable by its owner only)."""
    path = dev_token_file(settings)
    admin = session.scalars(select(User).where(User.email == settings.admin_email)).one()
    kept = path.read_text().strip() if path.exists() else ""
    if kept and tokens.looks_like_token(kept):
        check = tokens.authenticate(session=session, token=kept)
        if check.user is not None and check.user.id == admin.id:
            return kept, path
    new = tokens.create(session=session, user=admin, name=DEV_TOKEN_NAME, expires_days=DEV_TOKEN_DAYS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(new.token + "\n")
    return new.token, path


def write_pdfs(pdf_dir: Path, contracts: list[dict]) -> int:
    """Render each demo contract's PDF; return how many files were (re)written."""
    pdf_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for contract in contracts:
        data = render_text_pdf(contract["document_text"], title=f"GAP Contract - Account {contract['account_number']}")
        path = pdf_dir / contract["pdf_path"]
        if path.exists() and path.read_bytes() == data:
            continue
        path.write_bytes(data)
        written += 1
    return written


def ensure_admin(*, session: Session, email: str) -> bool:
    """Create the admin user unless a user with that e-mail or username exists."""
    username = email.split("@", 1)[0] or "admin"
    existing = session.scalars(select(User).where(or_(User.email == email, User.username == username))).first()
    if existing is not None:
        return False
    session.add(User(email=email, username=username, full_name="Administrator", role="admin"))
    return True


def seed(*, settings: Settings, factory: sessionmaker[Session]) -> SeedReport:
    contracts = demo_contracts()
    pdfs_written = write_pdfs(Path(settings.pdf_dir), contracts)
    rows = [(n, {k: v for k, v in c.items() if k != "expected"}) for n, c in enumerate(contracts, start=1)]
    report = import_rows(factory=factory, rows=rows, source="seed", origin="seed", cache=get_cache(settings))
    token = token_path = None
    with session_scope(factory) as session:
        admin_created = ensure_admin(session=session, email=settings.admin_email)
        if settings.app_env != "production":
            session.flush()
            token, token_path = ensure_dev_token(session=session, settings=settings)
    logger.info(
        "seed finished",
        extra={"pdfs_written": pdfs_written, "admin_created": admin_created, **report.as_dict()},
    )
    return SeedReport(contracts=report, pdfs_written=pdfs_written, admin_created=admin_created, dev_token=token, dev_token_file=token_path)
