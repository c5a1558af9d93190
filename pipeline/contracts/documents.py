"""Contract PDFs: from S3 (bucket and key on the contract) or the local PDF folder.

PDFs up to PDF_CACHE_MAX_BYTES are read whole and cached in Redis for CACHE_TTL_PDF seconds,
so an agent's viewer asking for page ranges again and again costs S3 nothing. Larger ones are
streamed straight through, ranges passed on to S3, never held in memory.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from models import Contract
from pipeline.core.cache import Cache, count_lookup
from pipeline.core.errors import AppError, NotFound, UpstreamError, UpstreamTimeout
from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)

_MISSING_CODES = {"NoSuchKey"}


class RangeNotSatisfiable(AppError):
    status = 416
    code = "range_not_satisfiable"


@dataclass
class PdfBytes:
    """A whole PDF in memory (cached, or small enough to cache)."""

    data: bytes
    etag: str
    via: str


@dataclass
class PdfLocalFile:
    """A large PDF in the local folder, served from disk."""

    path: Path


@dataclass
class PdfStream:
    """A large PDF (or part of it) streamed from S3."""

    chunks: Iterator[bytes]
    length: int
    etag: str
    status: int
    content_range: str | None


PdfSource = PdfBytes | PdfLocalFile | PdfStream


def pdf_cache_key(contract_id: Any) -> str:
    return f"pdf:{contract_id}"


@functools.lru_cache(maxsize=8)
def _s3_client(endpoint_url: str, region: str) -> Any:
    # Clients are thread-safe and expensive to build: one per endpoint and process.
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=20),
    )


def s3_client(settings: Settings) -> Any:
    return _s3_client(settings.s3_endpoint_url, settings.aws_region)


def _local_path(settings: Settings, contract: Contract) -> Path:
    folder = Path(settings.pdf_dir).resolve()
    path = (folder / (contract.pdf_path or "")).resolve()
    if folder not in path.parents:
        # The importer refuses such paths; this guards rows written some other way.
        raise NotFound(f"the PDF of contract {contract.id} is not in the PDF folder")
    return path


def _s3_error(exc: Exception, contract: Contract) -> Exception:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            return NotFound(f"the PDF of contract {contract.id} is missing from S3")
        if code == "InvalidRange":
            size = str(exc.response.get("Error", {}).get("ActualObjectSize", ""))
            headers = {"Content-Range": f"bytes */{size}"} if size.isdigit() else {}
            return RangeNotSatisfiable("the requested range is outside the document", headers=headers)
        logger.warning("S3 refused a PDF: %s", code, extra={"contract_id": str(contract.id)})
        return UpstreamError(f"S3 refused to return the PDF ({code or 'error'})")
    if isinstance(exc, ReadTimeoutError):
        return UpstreamTimeout("S3 did not return the PDF in time")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return UpstreamError("S3 is unreachable")
    return UpstreamError(f"S3 failed: {type(exc).__name__}")


def open_pdf(*, contract: Contract, settings: Settings, cache: Cache, range_header: str | None = None) -> PdfSource:
    """Find the contract's PDF; NotFound when it has none or the object is missing."""
    if not contract.pdf_path and not contract.s3_key:
        raise NotFound(f"contract {contract.id} has no PDF")

    cached = cache.get(pdf_cache_key(contract.id))
    if cached is not None:
        count_lookup(cache, "pdf", hit=True)
        etag, _, data = cached.partition(b"\n")
        return PdfBytes(data=data, etag=etag.decode(), via="cache")
    count_lookup(cache, "pdf", hit=False)

    if contract.s3_key:
        return _open_s3(contract=contract, settings=settings, cache=cache, range_header=range_header)
    return _open_local(contract=contract, settings=settings, cache=cache)


def _remember(cache: Cache, settings: Settings, contract: Contract, data: bytes, etag: str) -> None:
    cache.set(pdf_cache_key(contract.id), etag.encode() + b"\n" + data, settings.cache_ttl_pdf)


def _open_local(*, contract: Contract, settings: Settings, cache: Cache) -> PdfSource:
    path = _local_path(settings, contract)
    if not path.is_file():
        raise NotFound(f"the PDF of contract {contract.id} is missing from the PDF folder")
    if path.stat().st_size > settings.pdf_cache_max_bytes:
        return PdfLocalFile(path=path)
    data = path.read_bytes()
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    _remember(cache, settings, contract, data, etag)
    return PdfBytes(data=data, etag=etag, via="local")


def _total_size(obj: dict[str, Any]) -> int:
    content_range = obj.get("ContentRange")  # "bytes 0-99/2989" when a range was asked for
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    return int(obj["ContentLength"])


def _open_s3(*, contract: Contract, settings: Settings, cache: Cache, range_header: str | None) -> PdfSource:
    bucket = contract.s3_bucket or settings.s3_bucket
    if not bucket:
        raise UpstreamError(f"contract {contract.id} names no S3 bucket and S3_BUCKET is not set")
    client = s3_client(settings)
    params: dict[str, Any] = {"Bucket": bucket, "Key": contract.s3_key}
    try:
        # One GET (with the viewer's range, if any) tells the size: small documents are then
        # read whole and cached, large ones streamed as S3 returned them.
        obj = client.get_object(**params, **({"Range": range_header} if range_header else {}))
        etag = str(obj.get("ETag", "")).strip('"')
        if _total_size(obj) <= settings.pdf_cache_max_bytes:
            if obj.get("ContentRange"):
                obj["Body"].close()
                obj = client.get_object(**params)
            data = obj["Body"].read()
            _remember(cache, settings, contract, data, etag)
            return PdfBytes(data=data, etag=etag, via="s3")
    except (ClientError, BotoCoreError) as exc:
        raise _s3_error(exc, contract) from None
    return PdfStream(
        chunks=obj["Body"].iter_chunks(chunk_size=64 * 1024),
        length=int(obj["ContentLength"]),
        etag=etag,
        status=206 if obj.get("ContentRange") else 200,
        content_range=obj.get("ContentRange"),
    )


def pdf_bytes(*, contract: Contract, settings: Settings, cache: Cache) -> bytes:
    """The whole PDF in memory (for text extraction)."""
    source = open_pdf(contract=contract, settings=settings, cache=cache)
    if isinstance(source, PdfBytes):
        return source.data
    if isinstance(source, PdfLocalFile):
        return source.path.read_bytes()
    return b"".join(source.chunks)


def text_from_pdf(data: bytes) -> str:
    """The text layer of a PDF (pypdf); empty when the PDF is a scan without one."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join((page.extract_text() or "") for page in reader.pages).strip()
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UpstreamError(f"the PDF cannot be read: {exc}") from None
