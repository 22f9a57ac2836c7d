"""The sections of ``cameras.yaml``: one frozen dataclass per section, one for the whole file.

They are plain dataclasses, not pydantic models, so that a camera worker can hold a config
without loading pydantic; ``monitor.config.loader`` validates them with pydantic all the same.
Constraints sit in ``Annotated`` (``annotated_types`` and ``monitor.config.rules``); the
comment beside a field is what it means and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, time
from typing import Annotated, Any, ClassVar, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from annotated_types import Ge, Gt, Le, MinLen

from monitor.config.geometry import polygon_problem
from monitor.config.rules import Before, Check

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
EncoderPreset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]
DEFAULT_PRESET: EncoderPreset = "superfast"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


FIELD_MARK = "field "  # a model check's message that names its own field: "field <path>: <problem>"


def identifier_problem(value: str) -> str | None:
    if _IDENTIFIER.match(value):
        return None
    return "use lower-case letters, digits, '-' and '_', starting with a letter or digit (at most 63)"


def _timezone_problem(value: str) -> str | None:
    # a folder of the tz database ("America") is not a zone, and ZoneInfo raises OSError on it
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {value!r}; use an IANA name like America/Chicago"
    return None


def _clock_text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 15:30 as minutes
        value = f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, time):
        value = value.strftime("%H:%M")
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ValueError(f"{value!r} is not a time; use HH:MM from 00:00 to 24:00")
    return value


def _authority_problem(value: str) -> str | None:
    if re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        return None
    return f"{value!r} is not an http(s) URL of an RFC 3161 timestamp authority"


def _email_problem(value: str) -> str | None:
    local, _, domain = value.rpartition("@")
    if (not local or not domain or "@" in local or len(value) > 254
            or any(c.isspace() or not c.isprintable() for c in value)):
        return "use an e-mail address (like desk@school.example)"
    return None


Identifier = Annotated[str, Check(identifier_problem)]
EmailAddress = Annotated[str, Check(_email_problem)]
AlertKind = Literal["motion", "tamper", "camera-offline", "camera-online", "camera-moved", "storage", "database"]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)
Polygon = Annotated[list[tuple[float, float]], Check(polygon_problem)]
"""At least 3 [x, y] points, fractions of frame width and height in [0, 1]."""
Clock = Annotated[str, Before(_clock_text)]


def minutes_of(clock: str) -> int:
    """Minutes since midnight of an ``HH:MM`` string (``24:00`` is 1440)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class _Section:
    """Unknown fields are errors: a misspelt key must not silently fall back to a default."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}


@dataclass(frozen=True, kw_only=True)
class Site(_Section):
    name: str  # the site's name, shown on the dashboard and in export manifests
    timezone: Annotated[str, Check(_timezone_problem)] = "UTC"  # IANA name; schedules run on it
    holidays: list[date] = field(default_factory=list)  # days on which schedules follow on_holidays

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _bucket_problem(value: str) -> str | None:
    if re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", value):
        return None
    return f"{value!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)"


def _endpoint_problem(value: str) -> str | None:
    if re.match(r"^https?://[^\s/]+/?$", value):
        return None
    return f"{value!r} is not an http(s) URL of an S3 endpoint (like https://s3.example.org)"


@dataclass(frozen=True, kw_only=True)
class Objects(_Section):
    """S3-compatible object storage with Object Lock (docs/object-storage.md). Credentials come
    from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ``credentials_file``, never from here."""

    endpoint: Annotated[str, Check(_endpoint_problem)]  # the S3 endpoint URL, like https://s3.example.org
    bucket: Annotated[str, Check(_bucket_problem)]  # created by the operator with Object Lock enabled
    region: str = "us-east-1"  # the bucket's region
    prefix: str = ""  # key prefix inside the bucket, like "school-12/"; keys go on with clips/...
    # a file with AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines (or an AWS
    # shared-credentials [default] section); unset = the two environment variables
    credentials_file: str | None = None
    # keep the local copy after its upload is confirmed (retention removes it later); false
    # removes it as soon as the store has confirmed the upload and its checksum
    keep_local: bool = True


PER_CAMERA = "per-camera"
"""``storage.worker_user``: each camera's worker gets its own numeric uid and gid."""
UID_MAX = 2**31 - 2
"""Past this some tools read a uid as negative; 2**32 - 1 is (uid_t) -1."""
_SPECIAL_UIDS = (65534, 65535)  # nobody, and (uid16_t) -1


def _uid_range_problem(value: WorkerUids) -> str | None:
    last = value.first + value.count - 1
    if last > UID_MAX:
        return f"uids {value.first}-{last} go past {UID_MAX}; lower first or count"
    special = [uid for uid in _SPECIAL_UIDS if value.first <= uid <= last]
    if special:
        return f"uids {value.first}-{last} include {special[0]} (nobody, or -1 as a 16-bit uid); move the range"
    return None


@dataclass(frozen=True, kw_only=True)
class WorkerUids(_Section):
    """Numeric uids (each also a gid) for per-camera workers. No account needs to exist: each
    camera keeps the uid it was first given (``worker-uids.json`` in the storage folder)."""

    # the first uid of the range; the default lies in a block systemd leaves unused (60578-61183),
    # between its regular users (up to 60000) and DynamicUser= (61184-65519)
    first: Annotated[int, Ge(1000), Le(UID_MAX)] = 60600
    count: Annotated[int, Ge(1), Le(1_000_000)] = 500  # how many cameras can ever be given one


@dataclass(frozen=True, kw_only=True)
class Storage(_Section):
    path: str = "data"  # folder for clips, snapshots, keys and checkpoints
    # SQLAlchemy URL: SQLite, or PostgreSQL (postgresql://user:password@host/db, the 'postgres'
    # extra). While it is locked or unreachable, workers keep recording; alerts and seals wait
    # and are written, in order, once it answers again.
    database: str = "sqlite:///data/hotspot.db"
    # seconds a write waits for another process's SQLite lock before it is queued and retried
    busy_timeout: Annotated[float, Gt(0), Le(600)] = 30.0
    retention_days: Annotated[int, Ge(1), Le(3650)] = 30  # older clips go unless on legal hold
    min_free_mb: Annotated[int, Ge(0)] = 1024  # free-space floor under the storage path, MiB
    # A signed checkpoint (Merkle tree size and root) follows every seal at once; other entries
    # get one after checkpoint_every entries or checkpoint_interval seconds, whichever comes first.
    checkpoint_every: Annotated[int, Ge(1), Le(100000)] = 50
    checkpoint_interval: Annotated[float, Gt(0), Le(60)] = 60.0  # seconds an entry may wait for its checkpoint
    # a folder outside the storage folder that receives a copy of every checkpoint; `hotspot
    # verify` compares the log with it, which is what catches newest entries deleted with their files
    witness_path: str | None = None
    # started as root, who camera workers run as (docs/ARCHITECTURE.md): "per-camera" gives each
    # camera's worker its own uid and gid from worker_uids, so no worker can write or read another
    # camera's files; a user name makes every worker that one user (a compromised worker can then
    # reach the other cameras' open clips); null keeps them as the service's user. Either way
    # they cannot read the signing key or the database.
    worker_user: str | None = PER_CAMERA
    # the uid range "per-camera" takes from: {first: 60600, count: 500}; it must be one no
    # account on this machine uses (the supervisor checks at start)
    worker_uids: Annotated[WorkerUids, Check(_uid_range_problem)] = field(default_factory=lambda: WorkerUids())
    # Unix group that may read the storage folder and the config (files 0640, folders 2750,
    # the signing key stays 0600); unset = private to the service's user (0600 and 0700)
    group: Annotated[str | None, Check(_group_problem)] = None
    # S3 object storage with Object Lock beside the local folder; unset = the local folder only
    objects: Objects | None = None


def _group_problem(value: str | None) -> str | None:
    if value is None:
        return None
    import grp  # POSIX only, like the file modes it serves

    try:
        grp.getgrnam(value)
    except KeyError:
        return f"no Unix group {value!r} on this machine"
    return None


def _address_problem(value: str) -> str | None:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"{value!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)"
    return None


@dataclass(frozen=True, kw_only=True)
class Server(_Section):
    # proxies (IP addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto are
    # believed; empty (the default) = no forwarded header is believed, from anyone
    trusted_proxies: list[Annotated[str, Check(_address_problem)]] = field(default_factory=list)
    # host names (or addresses) the Host header may name; other hosts get 400, so a DNS
    # rebinding page cannot read the dashboard, /metrics or /healthz. "*" accepts any host.
    allowed_hosts: Annotated[list[str], MinLen(1)] = field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"])
    # when set, /metrics answers only "Authorization: Bearer <metrics_token>"; unset = public
    # (counts and camera states, no personal data; still behind the Host check)
    metrics_token: Annotated[str | None, Check(lambda v: None if v is None or len(v) >= 16 else
                                               "use at least 16 characters")] = None


_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


def _recipient_problem(value: str | None) -> str | None:
    if value is None or _RECIPIENT.match(value):
        return None
    return "expected an age X25519 recipient (age1 followed by 58 bech32 characters)"


@dataclass(frozen=True, kw_only=True)
class Originals(_Section):
    """The camera's own packets kept beside each masked clip, and who may unmask them."""

    keep: bool = True  # keep each clip's native original (the camera's packets, not re-encoded)
    # age X25519 recipient the originals of masked cameras are encrypted to; written by
    # `hotspot custodians init`, whose private key exists only as custodians' shares. Without
    # it, masked cameras keep no original (a plaintext one would undo the masking).
    recipient: Annotated[str | None, Check(_recipient_problem)] = None
    threshold: Annotated[int, Ge(2), Le(16)] = 2  # shares from this many custodians unmask a clip
    custodians: list[Identifier] = field(default_factory=list)  # share holders, in share order
    encrypt_unmasked: bool = False  # also encrypt originals of cameras recorded without masking
    approval_minutes: Annotated[int, Ge(1), Le(10080)] = 60  # dashboard: approvals expire after

    def __post_init__(self) -> None:
        if len(set(self.custodians)) != len(self.custodians):
            raise ValueError("custodians: each name may appear once")
        if self.recipient is not None and len(self.custodians) < self.threshold:
            raise ValueError(f"custodians: {len(self.custodians)} named, fewer than the threshold "
                             f"{self.threshold}")


@dataclass(frozen=True, kw_only=True)
class Evidence(_Section):
    # RFC 3161 timestamp authorities: each checkpoint gets a token (SHA-256) from every one of
    # them, so a third party attests when it existed. An authority that is down delays its
    # tokens (they are retried), never sealing.
    timestamp_authorities: list[Annotated[str, Check(_authority_problem)]] = field(default_factory=list)
    timestamp_timeout: Annotated[float, Gt(0), Le(60)] = 5.0  # seconds to wait for one authority's reply
    # PEM file of the authorities' root certificates, taken from each authority's own site: what
    # `hotspot verify` checks tokens against (and what exported bundles carry for the reader)
    timestamp_ca_file: str | None = None


_WINDOW_NAMES = {"start": "from", "end": "to"}  # "from" is a Python keyword


@dataclass(frozen=True, kw_only=True)
class Window(_Section):
    """Written ``{days: [...], from: "HH:MM", to: "HH:MM"}``; ``to`` before ``from`` crosses midnight."""

    yaml_names: ClassVar[dict[str, str]] = _WINDOW_NAMES
    """Fields that ``cameras.yaml`` spells differently."""
    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid", "validate_by_name": True, "validate_by_alias": True,
        "alias_generator": lambda name: _WINDOW_NAMES.get(name, name),
    }
    days: Annotated[list[Day], MinLen(1)]  # days the window starts on: mon..sun
    start: Clock  # local site time
    end: Clock  # HH:MM or 24:00

    def __post_init__(self) -> None:
        if minutes_of(self.start) == minutes_of(self.end) or self.start == "24:00":
            raise ValueError(f"window {self.start}-{self.end} is empty; use 00:00-24:00 for a whole day")


@dataclass(frozen=True, kw_only=True)
class Schedule(_Section):
    windows: Annotated[list[Window], MinLen(1)]  # when the schedule is active
    on_holidays: Literal["all-day", "inactive", "as-scheduled"] = "as-scheduled"


@dataclass(frozen=True, kw_only=True)
class Zone(_Section):
    id: Identifier
    name: str | None = None  # label shown on the dashboard
    polygon: Polygon
    schedule: str | None = None  # name of a schedule; omitted = always active
    min_area: Annotated[float, Gt(0.0), Le(1.0)] = 0.02  # fraction of the zone that must change


@dataclass(frozen=True, kw_only=True)
class PrivacyZone(_Section):
    id: str | None = None  # optional label
    polygon: Polygon


@dataclass(frozen=True, kw_only=True)
class PrivacySettings(_Section):
    mask: Literal["outside-zones", "privacy-zones-only"] = "outside-zones"  # what is hidden
    style: Literal["fill", "pixelate"] = "fill"  # fill is irreversible, the default
    zones: list[PrivacyZone] = field(default_factory=list)  # always masked, even inside a hotspot


@dataclass(frozen=True, kw_only=True)
class RecordingSettings(_Section):
    pre_roll: Annotated[float, Ge(0.0), Le(60.0)] = 5.0  # seconds kept before motion
    post_roll: Annotated[float, Ge(0.0), Le(600.0)] = 10.0  # seconds recorded after motion ends
    max_clip: Annotated[float, Ge(5.0), Le(3600.0)] = 300.0  # longest clip, seconds; longer events split
    # libx264 preset: faster ones cost less CPU per recorded frame and make larger files;
    # superfast keeps veryfast's quality at the same CRF for 12-23% larger clips and about
    # four fifths of its encoding CPU (docs/decode-gates.md)
    encoder_preset: EncoderPreset = DEFAULT_PRESET


@dataclass(frozen=True, kw_only=True)
class DetectionSettings(_Section):
    analysis_fps: Annotated[float, Gt(0.0), Le(60.0)] = 5.0  # frames analysed per second
    analysis_width: Annotated[int, Ge(64), Le(1920)] = 320  # width of the analysis frame, pixels
    threshold: Annotated[int, Ge(1), Le(255)] = 25  # luma difference that counts as change
    min_frames: Annotated[int, Ge(1), Le(100)] = 2  # consecutive analysed frames of motion needed
    idle_gate: bool = True  # while zones are still, decode only when packet sizes or a keyframe check show change


@dataclass(frozen=True, kw_only=True)
class TamperSettings(_Section):
    enabled: bool = True  # report a covered, turned, defocused or too dark view, whatever the schedules
    check_fps: Annotated[float, Gt(0.0), Le(5.0)] = 2.0  # checks per second
    hold_seconds: Annotated[float, Ge(1.0), Le(600.0)] = 5.0  # how long a condition lasts before it is reported
    dark_level: Annotated[int, Ge(0), Le(128)] = 18  # mean luma (0-255) below which a view is too dark to see


@dataclass(frozen=True, kw_only=True)
class DetectStream(_Section):
    """A second, smaller stream of the same camera that detection reads (docs/substream.md)."""

    source: Annotated[str, MinLen(1)]  # the camera's substream: rtsp://, http(s)://, a file path or a device
    # seconds the two streams' latest packets may lie apart before the substream is resynced
    max_drift: Annotated[float, Gt(0.0), Le(60.0)] = 2.0


@dataclass(frozen=True, kw_only=True)
class Camera(_Section):
    id: Identifier
    name: str | None = None  # label shown on the dashboard
    source: Annotated[str, MinLen(1)]  # rtsp://, http(s)://, a file path, or a device like /dev/video0
    enabled: bool = True  # false keeps the camera configured but stopped
    loop: bool = False  # replay a file source from the start when it ends (demo)
    zones: list[Zone] = field(default_factory=list)  # hotspot polygons
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    tamper: TamperSettings = field(default_factory=TamperSettings)
    node: Identifier | None = None  # with several recorder nodes: only this node records the camera
    # detection, alert snapshots and the live view read this stream; clips and originals the main one
    detect: DetectStream | None = None

    def __post_init__(self) -> None:
        if self.detect is not None and self.detect.source.strip() == self.source.strip():
            raise ValueError(f"{FIELD_MARK}detect.source: is the same stream as source; name the camera's "
                             "substream, or remove detect to detect on the main stream")
        seen: set[str] = set()
        for zone in self.zones:
            if zone.id in seen:
                raise ValueError(f"zone id {zone.id!r} is used twice")
            seen.add(zone.id)

    @property
    def label(self) -> str:
        return self.name or self.id


def _url_problem(value: str) -> str | None:
    return None if re.match(r"^https?://[^/\s]+", value) else "use an http:// or https:// URL"


def _env_problem(value: str) -> str | None:
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        return None
    return "name an environment variable (letters, digits, '_'); the secret itself never goes in this file"


EnvName = Annotated[str, Check(_env_problem)]


@dataclass(frozen=True, kw_only=True)
class Webhook(_Section):
    url: Annotated[str, Check(_url_problem)]  # receives a JSON POST per alert
    secret_env: EnvName  # environment variable holding the HMAC-SHA256 key for X-Hotspot-Signature
    name: Identifier | None = None  # how routes name this webhook (default webhook-1, webhook-2, ...)


@dataclass(frozen=True, kw_only=True)
class Mqtt(_Section):
    host: Annotated[str, MinLen(1)]  # broker host name or address
    port: Annotated[int, Ge(1), Le(65535)] = 1883
    topic_prefix: Annotated[str, Check(lambda v: None if re.match(r"^[A-Za-z0-9_/-]+$", v)
                                       and not v.endswith("/") else
                                       "use letters, digits, '_', '-' and '/', with no trailing '/'")] = "hotspot"
    username_env: EnvName | None = None  # environment variable holding the user name
    password_env: EnvName | None = None  # environment variable holding the password
    tls: bool = False  # connect with TLS (port 8883 is usual)
    ca_file: str | None = None  # CA bundle for a broker with a private CA; default: the system's


_EMAIL_NAMES = {"sender": "from"}


@dataclass(frozen=True, kw_only=True)
class Email(_Section):
    """Written ``{host, port, starttls, username_env, password_env, from, to}``."""

    yaml_names: ClassVar[dict[str, str]] = _EMAIL_NAMES
    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid", "validate_by_name": True, "validate_by_alias": True,
        "alias_generator": lambda name: _EMAIL_NAMES.get(name, name),
    }
    host: Annotated[str, MinLen(1)]  # SMTP server
    port: Annotated[int, Ge(1), Le(65535)] = 587
    starttls: bool = True  # upgrade the connection with STARTTLS before logging in
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    ca_file: str | None = None  # CA bundle for a server with a private CA; default: the system's
    sender: EmailAddress
    to: Annotated[list[EmailAddress], MinLen(1)]  # default recipients; a route may name others


_ROUTE_NAMES = {"start": "from", "end": "to"}


@dataclass(frozen=True, kw_only=True)
class Route(_Section):
    """Which alerts go where. Every condition left out matches everything."""

    yaml_names: ClassVar[dict[str, str]] = _ROUTE_NAMES
    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid", "validate_by_name": True, "validate_by_alias": True,
        "alias_generator": lambda name: _ROUTE_NAMES.get(name, name),
    }
    name: Identifier  # shown on the dashboard and in delivery failures
    cameras: list[Identifier] = field(default_factory=list)  # camera ids; empty = every camera
    zones: list[Identifier] = field(default_factory=list)  # zone ids; empty = any zone (and alerts without one)
    kinds: list[AlertKind] = field(default_factory=list)  # motion, tamper, camera-offline, ...
    days: list[Day] = field(default_factory=list)  # site-time days; empty = every day
    start: Clock | None = None  # site time the route starts (with ``to``; to before from crosses midnight)
    end: Clock | None = None
    channels: Annotated[list[Annotated[str, MinLen(1)]], MinLen(1)]  # webhook, webhook:<name>, mqtt, email
    email_to: list[EmailAddress] = field(default_factory=list)  # recipients instead of email.to

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both 'from' and 'to', or neither")


@dataclass(frozen=True, kw_only=True)
class Notify(_Section):
    webhooks: list[Webhook] = field(default_factory=list)
    mqtt: Mqtt | None = None
    email: Email | None = None
    routes: list[Route] = field(default_factory=list)  # empty: every alert to every channel
    dashboard_url: Annotated[str, Check(_url_problem)] | None = None  # for links in messages
    min_interval: Annotated[float, Ge(0.0), Le(86400.0)] = 60.0  # seconds between messages per route, channel, camera and zone; the rest are grouped into the next
    give_up_after: Annotated[float, Ge(10.0), Le(7 * 86400.0)] = 3600.0  # seconds a delivery is retried before it is marked failed

    def channel_names(self) -> list[str]:
        """Every channel a route may name."""
        names = [f"webhook:{hook.name or f'webhook-{n}'}" for n, hook in enumerate(self.webhooks, 1)]
        return names + (["mqtt"] if self.mqtt else []) + (["email"] if self.email else [])

    def __post_init__(self) -> None:
        known = self.channel_names()
        for route in self.routes:
            for channel in route.channels:
                if channel == "webhook" and self.webhooks:
                    continue
                if channel not in known:
                    raise ValueError(f"route {route.name!r}: channel {channel!r} is not configured "
                                     f"(channels: {', '.join(known + (['webhook'] if self.webhooks else [])) or 'none'})")


def _zone_ref_problem(value: str) -> str | None:
    camera, _, zone = value.partition("/")
    if _IDENTIFIER.match(camera) and _IDENTIFIER.match(zone):
        return None
    return f"{value!r} is not a zone; write camera-id/zone-id"


@dataclass(frozen=True, kw_only=True)
class PatrolPoint(_Section):
    name: Annotated[str, MinLen(1)]  # the place as officers know it ("Parking lot B")
    # the zones whose activity this place stands for, each as camera-id/zone-id
    zones: Annotated[list[Annotated[str, Check(_zone_ref_problem)]], MinLen(1)]


@dataclass(frozen=True, kw_only=True)
class PatrolSettings(_Section):
    # visits every patrol point gets in every plan, whatever its activity
    min_visits: Annotated[int, Ge(1), Le(50)] = 2
    # visits a plan holds per hour of shift in all (at least min_visits x points); the visits
    # beyond the minimum go where and when the heat map shows most activity
    visits_per_hour: Annotated[float, Gt(0), Le(30)] = 2.0
    # days of alert and clip history behind the heat map a plan is weighted by
    history_days: Annotated[int, Ge(1), Le(366)] = 28
    # width of the time slot in which two shifts' visits to a point count as "the same time"
    slot_minutes: Annotated[int, Ge(1), Le(120)] = 15
    # named places grouping zones; empty = every zone is its own patrol point
    points: list[PatrolPoint] = field(default_factory=list)


def patrol_point_problems(points: list[PatrolPoint], cameras: list[Camera]) -> list[str]:
    """What is wrong with a list of patrol points: names used twice, zones no camera has."""
    zones = {f"{c.id}/{z.id}" for c in cameras for z in c.zones}
    problems, names = [], set()
    for point in points:
        if point.name in names:
            problems.append(f"patrol point {point.name!r} is named twice")
        names.add(point.name)
        unknown = [z for z in point.zones if z not in zones]
        if unknown:
            problems.append(f"patrol point {point.name!r}: no zone {', '.join(unknown)} "
                            f"(zones: {', '.join(sorted(zones)) or 'none defined'})")
    return problems


@dataclass(frozen=True, kw_only=True)
class Nodes(_Section):
    """Camera leases between recorder nodes on one database (``hotspot serve --node``)."""

    heartbeat: Annotated[float, Gt(0.0), Le(60.0)] = 5.0  # seconds between a node's lease renewals
    # seconds a lease lasts without renewal: a dead node's cameras move after at most this
    # plus one heartbeat of the node taking them over
    lease: Annotated[float, Gt(0.0), Le(600.0)] = 20.0

    def __post_init__(self) -> None:
        if self.lease < 2 * self.heartbeat:
            raise ValueError(f"nodes.lease ({self.lease} s) must be at least twice nodes.heartbeat "
                             f"({self.heartbeat} s), or a slow renewal loses a live node's cameras")


@dataclass(frozen=True, kw_only=True)
class Config(_Section):
    site: Site
    storage: Storage = field(default_factory=Storage)
    evidence: Evidence = field(default_factory=Evidence)
    server: Server = field(default_factory=Server)  # the dashboard's network-facing settings
    originals: Originals = field(default_factory=Originals)
    schedules: dict[Identifier, Schedule] = field(default_factory=dict)
    cameras: list[Camera] = field(default_factory=list)
    notify: Notify = field(default_factory=Notify)  # alerts sent to webhooks, MQTT and e-mail
    patrol: PatrolSettings = field(default_factory=PatrolSettings)  # heat map and patrol plans
    node: Identifier | None = None  # this recorder node's name (``hotspot serve --node`` wins); none: one node
    nodes: Nodes = field(default_factory=Nodes)  # how recorder nodes share cameras

    def __post_init__(self) -> None:
        self._check_patrol_points()
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
            for zone in camera.zones:
                if zone.schedule is not None and zone.schedule not in self.schedules:
                    known = ", ".join(sorted(self.schedules)) or "none defined"
                    raise ValueError(
                        f"camera {camera.id!r} zone {zone.id!r}: schedule {zone.schedule!r} "
                        f"is not defined (schedules: {known})"
                    )

    def _check_patrol_points(self) -> None:
        problems = patrol_point_problems(self.patrol.points, self.cameras)
        if problems:
            raise ValueError("; ".join(problems))

    def camera(self, camera_id: str) -> Camera:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(camera_id)


def as_data(value: Any) -> Any:
    """``value`` as ``cameras.yaml`` writes it, in JSON types: the form that is hashed, sealed
    into clip metadata and sent to the dashboard."""
    if is_dataclass(value) and not isinstance(value, type):
        names = getattr(value, "yaml_names", {})
        return {names.get(f.name, f.name): as_data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [as_data(item) for item in value]
    if isinstance(value, dict):
        return {key: as_data(item) for key, item in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value
