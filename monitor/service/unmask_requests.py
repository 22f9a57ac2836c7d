"""Unmask requests on the dashboard: held in this process's memory only, never on disk.

An investigator asks; custodians approve by entering their share; once shares of the threshold
of custodians are in, the key is rebuilt and the shares are dropped; the requester downloads the
original once and the key is dropped. Everything expires ``originals.approval_minutes`` after the
request. A restart forgets every request (the custody log keeps what happened): nothing
secret survives the process.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from evidence.custodians import CustodianShare, ShareError, parse_share, rebuild_identity
from evidence.unmask import Approval, Disclosure


class RequestGone(Exception):
    """Unknown, expired or already downloaded."""


@dataclass
class UnmaskRequest:
    id: str
    clip_id: str
    disclosure: Disclosure
    request_seq: int
    recipient: str  # the age recipient the original is encrypted to
    custodians: tuple[str, ...]
    threshold: int
    expires: datetime
    shares: dict[int, CustodianShare] = field(default_factory=dict)
    approvals: list[Approval] = field(default_factory=list)
    identity: str | None = None  # rebuilt once enough shares are in; dropped after the download

    @property
    def ready(self) -> bool:
        return self.identity is not None

    def status(self) -> dict[str, object]:
        return {"id": self.id, "clip_id": self.clip_id, "requester": self.disclosure.by,
                "case": self.disclosure.case, "expires": self.expires.isoformat(), "threshold": self.threshold,
                "approved_by": [a.custodian for a in self.approvals], "ready": self.ready}


class UnmaskRequests:
    """The open requests of one service process."""

    def __init__(self) -> None:
        self._open: dict[str, UnmaskRequest] = {}
        self._lock = threading.Lock()

    def add(self, *, clip_id: str, disclosure: Disclosure, request_seq: int, recipient: str,
            custodians: tuple[str, ...], threshold: int, minutes: int) -> UnmaskRequest:
        request = UnmaskRequest(uuid.uuid4().hex, clip_id, disclosure, request_seq, recipient, custodians, threshold,
                                datetime.now(UTC) + timedelta(minutes=minutes))
        with self._lock:
            self._drop_expired()
            self._open[request.id] = request
        return request

    def get(self, request_id: str) -> UnmaskRequest:
        with self._lock:
            self._drop_expired()
            request = self._open.get(request_id)
        if request is None:
            raise RequestGone(f"unmask request {request_id} is unknown, expired or already downloaded")
        return request

    def check_share(self, request: UnmaskRequest, text: str) -> CustodianShare:
        """The share, if it may count towards this request; raises ShareError otherwise. At the
        threshold the key is rebuilt (and proven to be the recipient's) before it counts."""
        share = parse_share(text, "the share entered")
        with self._lock:
            if request.ready:
                raise ShareError("this request is already approved by enough custodians")
            given = [*request.shares.values(), share]
            if len(given) < request.threshold:
                if share.recipient != request.recipient:
                    raise ShareError(f"the share entered is a share of key {share.recipient}, not of "
                                     f"{request.recipient} to which this original is encrypted")
                _same_custodians(given, request.custodians)
                _same_split(given)
            else:
                request.identity = rebuild_identity(given, recipient=request.recipient, custodians=request.custodians)
                request.shares.clear()
                request.approvals.append(Approval(share.custodian, share.number))
                return share
            request.shares[share.number] = share
            request.approvals.append(Approval(share.custodian, share.number))
        return share

    def take(self, request: UnmaskRequest) -> str:
        """The key for the one download; the request is gone afterwards."""
        with self._lock:
            self._open.pop(request.id, None)
            identity, request.identity = request.identity, None
        if identity is None:
            raise RequestGone(f"unmask request {request.id} is not approved by enough custodians")
        return identity

    def _drop_expired(self) -> None:
        now = datetime.now(UTC)
        for key in [k for k, r in self._open.items() if r.expires <= now]:
            gone = self._open.pop(key)
            gone.shares.clear()
            gone.identity = None


def _same_custodians(shares: list[CustodianShare], custodians: tuple[str, ...]) -> None:
    numbers, names = set(), set()
    for share in shares:
        if share.number > len(custodians) or custodians[share.number - 1] != share.custodian:
            raise ShareError(f"the share entered says custodian {share.custodian!r} but share {share.number} "
                             "belongs to another custodian")
        if share.number in numbers or share.custodian in names:
            raise ShareError(f"custodian {share.custodian!r} has already approved; each custodian counts once")
        numbers.add(share.number)
        names.add(share.custodian)


def _same_split(shares: list[CustodianShare]) -> None:
    from shamir_mnemonic.share import Share

    identifiers = {Share.from_mnemonic(s.words).identifier for s in shares}
    if len(identifiers) > 1:
        raise ShareError("the share entered is not from the same split as the shares already entered")
