"""Demo data for the embedded default: a hub, two member clinics, accounts, real recordings.

Recordings come from ../shared/data (PhysioNet MIT-BIH Arrhythmia Database and
LUDB; credits in that folder's README). They are stored through the same
upload service as a clinic upload; the in-process worker analyses them when
the server starts. Seeding is idempotent: a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TypeVar
from dataclasses import dataclass
from pathlib import Path

from app.auth import service as auth
from app.auth.principal import Principal
from app.context import AppContext
from app.settings import Settings
from app.uploads import service as uploads
from app.uploads.schemas import UploadMetadata
from storage.models import DicomPeer, Role, Site, SiteLevel
from storage.repositories import DicomRepository, Hl7Repository, ReadingRepository, SiteRepository, UserRepository

PASSWORD = "demo-heart-2026"

#: The demo's hospital systems: the county hospital's HIS sends HL7 orders as this sending facility
#: (MSH-4) and its ECG cart calls the DICOM listener with this AE title.
HL7_FACILITY = ("qingshan-county", "QINGSHAN_HIS")
DICOM_CART = ("qingshan-county", "QS_ECG_CART")
#: Listener ports the demo uses unless ECGHUB_HL7_LISTEN_PORT / ECGHUB_DICOM_LISTEN_PORT say otherwise.
DEMO_HL7_PORT, DEMO_DICOM_PORT = 2575, 11112


@dataclass(frozen=True)
class DemoStudy:
    record: str
    patient_id: str
    name: str
    sex: str
    birth_date: dt.date
    indication: str
    urgency: str = "routine"


SITES = [
    ("hub", "儿童医院心电诊断中心 (Hub ECG Centre)", SiteLevel.hub),
    ("qingshan-county", "青山县人民医院 (Qingshan County Hospital)", SiteLevel.county),
    ("shimen-township", "石门乡卫生院 (Shimen Township Health Centre)", SiteLevel.township),
]
USERS = [
    ("admin", "hub", Role.admin, []),
    ("dr-li", "hub", Role.reader, ["pediatric", "adult"]),
    ("dr-wang", "hub", Role.reader, ["adult"]),
    ("qingshan-tech", "qingshan-county", Role.clinic, []),
    ("shimen-tech", "shimen-township", Role.clinic, []),
]
STUDIES = {
    "qingshan-county": [
        DemoStudy("mitdb/100", "QS-0001", "张伟", "M", dt.date(1957, 5, 2), "胸闷，活动后加重"),
        DemoStudy("ludb/101", "QS-0002", "李娜", "F", dt.date(1950, 8, 9), "脉搏不齐，心悸", "urgent"),
    ],
    "shimen-township": [
        DemoStudy("ludb/145", "SM-0001", "王小明", "M", dt.date(2011, 3, 14), "学校体育课前筛查"),
        DemoStudy("ludb/189", "SM-0002", "陈静", "F", dt.date(2009, 6, 30), "头晕，乏力"),
    ],
}


Row = TypeVar("Row")


def _seeded(row: Row | None, what: str) -> Row:
    """A site or user the seeding has just made sure of (LookupError otherwise)."""
    if row is None:
        raise LookupError(f"demo seed: {what} is missing")
    return row


def _sites_and_users(ctx: AppContext) -> dict[str, tuple[int, int]]:
    """Create what is missing; returns site code -> (site id, id of its first clinic user)."""
    out: dict[str, tuple[int, int]] = {}
    with ctx.session_factory() as s:
        sites = SiteRepository(s)
        for code, name, level in SITES:
            if sites.by_code(code) is None:
                sites.add(Site(code=code, name=name, level=level, region="demo province"))
        users = UserRepository(s)
        for username, code, role, pools in USERS:
            site = _seeded(sites.by_code(code), code)
            user = users.by_username(username) or auth.create_user(
                s, site_id=site.id, username=username, password=PASSWORD, role=role, reader_pools=pools)
            out.setdefault(code, (site.id, user.id))
        clinics = [_seeded(sites.by_code(code), code).id for code, _, level in SITES if level != SiteLevel.hub]
        for username, _, role, _ in USERS:
            if role == Role.reader:  # the hub's readers cover every member clinic
                ReadingRepository(s).set_coverage(_seeded(users.by_username(username), username).id, clinics)
        s.commit()
    return out


def _integration_peers(ctx: AppContext) -> None:
    """Map the demo county hospital's HIS (HL7 sending facility) and ECG cart (AE title) to its site."""
    with ctx.session_factory() as s:
        site_id = _seeded(SiteRepository(s).by_code(HL7_FACILITY[0]), HL7_FACILITY[0]).id
        hl7 = Hl7Repository(s)
        if hl7.facility(HL7_FACILITY[1]) is None:
            hl7.set_facilities(site_id, [f.sending_facility for f in hl7.facilities(site_id)] + [HL7_FACILITY[1]])
        dicom = DicomRepository(s)
        if dicom.peer(DICOM_CART[1]) is None:
            cart_site = _seeded(SiteRepository(s).by_code(DICOM_CART[0]), DICOM_CART[0]).id
            dicom.add_peer(DicomPeer(ae_title=DICOM_CART[1], site_id=cart_site, description="demo ECG cart"))
        s.commit()


def _upload(ctx: AppContext, site_id: int, user_id: int, study: DemoStudy, root: Path) -> None:
    base = root / study.record
    files = [uploads.UploadedFile(base.with_suffix(ext).name, base.with_suffix(ext).read_bytes())
             for ext in (".hea", ".dat")]
    meta = UploadMetadata(patient_id=study.patient_id, patient_name=study.name, patient_sex=study.sex,
                          patient_birth_date=study.birth_date, indication=study.indication, urgency=study.urgency)
    principal = Principal("user", user_id, site_id, Role.clinic)
    with ctx.session_factory() as s:
        uploads.upload_study(ctx, s, principal, meta, files, f"demo:{study.record}")
        s.commit()


def default_data_dir() -> Path:
    """$ECGHUB_DATA_DIR, else ../shared/data beside the checkout."""
    return Path(os.environ.get("ECGHUB_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def seed_demo(settings: Settings, root: Path | None = None) -> str:
    """Seed the demo and return the text to print (URL-independent credentials)."""
    ctx = AppContext.from_settings(settings)
    root = root or default_data_dir()
    ids = _sites_and_users(ctx)
    _integration_peers(ctx)
    for code, studies in STUDIES.items():
        for study in studies:
            if root.joinpath(study.record + ".hea").exists():
                _upload(ctx, *ids[code], study, root)
    ctx.engine.dispose()
    lines = [f"Demo accounts (password for all: {PASSWORD}):"]
    lines += [f"  {u:<14} {role.value:<7} at {code}" for u, code, role, _ in USERS]
    if settings.hl7_listen_port is not None:
        lines.append(f"HL7 orders (MLLP): {settings.hl7_listen_host}:{settings.hl7_listen_port}, "
                     f"sending facility {HL7_FACILITY[1]} = {HL7_FACILITY[0]}")
    if settings.dicom_listen_port is not None:
        lines.append(f"DICOM worklist and ECG C-STORE: {settings.dicom_ae_title}@{settings.dicom_listen_host}:"
                     f"{settings.dicom_listen_port}, calling AE title {DICOM_CART[1]} = {DICOM_CART[0]}")
    return "\n".join(lines)
