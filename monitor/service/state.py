"""What the running service holds: the opened site, the workers, the live alert feed, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import Config
from monitor.service.alert_feed import AlertFeed
from monitor.service.config_edit import ConfigEditor
from monitor.service.throttle import AddressGate, RateLimit
from monitor.service.unmask_requests import UnmaskRequests
from monitor.service.views import ViewLog
from monitor.site.runtime import Runtime

if TYPE_CHECKING:
    from monitor.workers.supervisor import Supervisor


@dataclass(frozen=True)
class ServiceSettings:
    """Knobs a deployment (or a test) may change; the defaults suit a school site."""

    start_workers: bool = True
    rate_limit: RateLimit = field(default_factory=RateLimit)
    max_bundle_bytes: int = 2 * 1024**3
    alert_poll_seconds: float = 0.5
    node: str | None = None
    """This recorder node's name when several share the site's database (``serve --node``)."""


@dataclass
class ServiceState:
    config_path: Path
    runtime: Runtime
    settings: ServiceSettings
    feed: AlertFeed
    editor: ConfigEditor
    views: ViewLog
    supervisor: Supervisor | None = None
    login_gate: AddressGate = field(default_factory=AddressGate)
    unmask: UnmaskRequests = field(default_factory=UnmaskRequests)
    """Open unmask requests, in memory only (shares and rebuilt keys never reach the disk)."""
    recovered: bool = False
    """The start-up recovery pass has run (``hotspot serve`` runs it before workers start)."""

    @property
    def config(self) -> Config:
        return self.runtime.config
