"""One settings object for the whole service, read from ECGHUB_* environment variables."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.text_rules import checked_text

WorkerMode = Literal["inprocess", "broker", "off"]


class Settings(BaseSettings):
    """Deployment configuration.

    Embedded default: everything under ``var_dir`` (SQLite file, blob folder,
    generated signing secret) and analysis jobs run by a worker inside the API
    process. At scale: ``database_url`` on PostgreSQL, ``worker_mode=broker``
    with ``broker_url`` on RabbitMQ, and ``ecghub worker`` processes.
    """

    model_config = SettingsConfigDict(env_prefix="ECGHUB_", env_file=None, extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""
    blob_dir: Path | None = None
    blob_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = "ecghub"
    s3_endpoint_url: str | None = None
    s3_prefix: str = "blobs/"
    s3_region: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    secret_key: str = ""
    access_token_minutes: int = Field(60, ge=1, le=24 * 60)
    auth_cache_seconds: float = Field(
        5.0, ge=0, le=60,
        description="how long an API process trusts its last look at a user's token version; a token revoked "
                    "through another process is refused there within this bound (0: check every request)")

    max_upload_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    max_upload_files: int = Field(16, ge=1)

    # Admission control (app/uploads/admission.py): uploads answer 503 + Retry-After while the
    # oldest un-analysed study is older than the bound, or the backlog reaches the count; 0 disables.
    admission_max_backlog_age_s: float = Field(120.0, ge=0)
    admission_max_backlog: int = Field(5000, ge=0)
    admission_retry_after_s: int = Field(10, ge=1, le=3600)
    admission_check_interval_s: float = Field(1.0, ge=0, description="backlog measured at most this often")

    worker_mode: WorkerMode = "inprocess"
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    queue_name: str = Field("analysis", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    worker_threads: int = Field(2, ge=1)
    worker_max_rss_mib: int = Field(1024, ge=1, description="`ecghub worker` ends (exit 75, for its supervisor to "
                                    "restart it) once its resident memory passes this after a job; 0 is refused")
    analysis_max_retries: int = Field(3, ge=0)
    sweep_interval_s: float = Field(30.0, gt=0)
    sweep_grace_s: float = Field(60.0, ge=0)

    lease_minutes: float = Field(10.0, gt=0, description="reader's claim lease, renewed by the client")
    reader_stream_poll_s: float = Field(1.0, gt=0, le=60, description="how often the readers' live stream "
                                        "looks for new queue events (s)")
    reader_stream_heartbeat_s: float = Field(15.0, gt=0, le=300, description="comment line sent this often so "
                                             "proxies keep the readers' stream open (s)")
    reader_stream_max_s: float = Field(300.0, gt=0, le=3600, description="a readers' stream ends after this "
                                       "long (s); the browser reconnects with Last-Event-ID")
    putback_skip_minutes: float = Field(10.0, ge=0, description="a study a reader put back is not handed to that "
                                        "reader again by 'next' for this long, unless it is the only one left")
    housekeeping_interval_s: float = Field(15.0, gt=0)
    webhook_interval_s: float = Field(2.0, gt=0)
    share_link_default_hours: int = Field(72, ge=1)
    share_link_max_hours: int = Field(24 * 30, ge=1)
    public_base_url: str = Field("", description="e.g. https://ecg.example.org; used in share links and QR codes; "
                                 "`ecghub serve` refuses to start without it outside the demo")
    metrics_token: str = Field("", description="Bearer token Prometheus sends for /metrics; unset: /metrics "
                               "answers only clients on this machine (loopback)")
    notice_escalation_min: float = Field(15.0, ge=0, description="unacknowledged critical notice escalates and "
                                         "is listed as overdue for hub admins (min)")
    upload_max_acquisition_age_days: float = Field(30.0, gt=0, description="an upload acquired longer ago than "
                                                   "this (days) needs the clinic's confirmation (wrong device clock?)")
    stat_unclaimed_escalation_min: float = Field(5.0, ge=0, description="unclaimed stat study escalates")
    pediatric_age_years: int = Field(18, ge=1, le=25, description="younger patients go to the pediatric pool")

    hl7_listen_host: str = Field("127.0.0.1", description="address of the MLLP order listener")
    hl7_listen_port: int | None = Field(None, ge=0, le=65535,
                                        description="set: `serve` also runs the MLLP listener in-process")
    hl7_application: str = Field("ECGHUB", description="MSH-3 of our ACKs and results")
    hl7_facility: str = Field("ECGHUB", description="MSH-4 of our ACKs and results")
    hl7_local_utc_offset_min: int = Field(480, ge=-720, le=840,
                                          description="offset of HL7 times sent without one (China: +08:00)")
    hl7_max_message_bytes: int = Field(1024 * 1024, ge=1024)
    hl7_interval_s: float = Field(2.0, gt=0, description="result outbox: queue and send every so often")
    hl7_timeout_s: float = Field(10.0, gt=0, description="connect/answer timeout towards an MLLP peer")

    # DICOM (app/integration/dicom_*): worklist and C-STORE from ECG carts, results to a PACS.
    dicom_listen_host: str = Field("127.0.0.1", description="address of the DICOM listener (worklist, C-STORE)")
    dicom_listen_port: int | None = Field(None, ge=0, le=65535,
                                          description="set: `serve` also runs the DICOM listener in-process")
    dicom_ae_title: str = Field("ECGHUB", pattern=r"^[ -\[\]-~]{1,16}$",
                                description="our AE title: called by carts, calling towards a PACS")
    dicom_pacs: str = Field("", pattern=r"^$|^[ -\[\]-~]{1,16}@[A-Za-z0-9.\-]+:[0-9]{1,5}$",
                            description="the hub's PACS as AE_TITLE@host:port, for sites without their own")
    dicom_interval_s: float = Field(2.0, gt=0, description="PACS outbox: queue and send every so often")
    dicom_timeout_s: float = Field(10.0, gt=0, description="association/answer timeout towards a PACS")
    dicom_worklist_limit: int = Field(500, ge=1, description="at most this many worklist entries per C-FIND")
    # Branding of patient-facing reports (phone page /r/{token} and the PDF header).
    hub_name: str = Field("区域儿童医院心电诊断中心", min_length=1, max_length=60,
                          description="hub hospital name printed on every report")
    report_title: str = Field("心电图报告", min_length=1, max_length=30, description="title of the report")
    report_logo: Path | None = Field(None, description="PNG or SVG logo shown on the phone page and the PDF header")

    mains_hz: float = 50.0
    sla_stat_min: int = 10
    sla_urgent_min: int = 30
    sla_routine_min: int = 240

    @field_validator("hub_name", "report_title")
    @classmethod
    def _printable(cls, value: str) -> str:
        return checked_text(value)  # printed on every report: no control or direction characters

    @field_validator("report_logo")
    @classmethod
    def _logo(cls, value: Path | None) -> Path | None:
        """A readable .png or .svg file; refused at start-up rather than missing from every report."""
        if value is None:
            return None
        if value.suffix.lower() not in (".png", ".svg") or not value.is_file():
            raise ValueError(f"report_logo must be an existing .png or .svg file, got {str(value)!r}")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'ecghub.db').resolve()}"

    @cached_property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or (self.var_dir / "blobs")

    @cached_property
    def signing_key(self) -> str:
        """The token signing secret; generated once into ``var_dir`` for the embedded default.

        API replicas must share ``ECGHUB_SECRET_KEY``: a per-process secret would
        make tokens issued by one replica fail on another.
        """
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
