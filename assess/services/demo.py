"""The demo data set: agencies of the five clusters, units, staff, 50 participants, the bank.

Everything is keyed by natural keys (agency code, unit code, NIP, username), so seeding twice
changes nothing. Participants are generated from a fixed random seed.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import select

from assess.extensions import db
from assess.models import Agency, Unit, User
from assess.services.accounts import new_session_token
from assess.services.identity import make_nip

DATA_DIR = Path(__file__).resolve().parent.parent / "demo_data"
DEMO_SEED = 20260424
N_PARTICIPANTS = 50
DEMO_PARTICIPANT_NIP = "198507142010011003"

FIRST_NAMES_M = ["Agus", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Irfan", "Joko", "Made", "Nyoman",
                 "Rizky", "Teguh", "Wahyu", "Yusuf", "Andi", "Daniel", "Gede", "Muhammad", "La Ode", "Yohanes"]
FIRST_NAMES_F = ["Ayu", "Dewi", "Fitri", "Indah", "Kartika", "Lestari", "Maria", "Nur", "Putri", "Ratna",
                 "Sari", "Siti", "Wulan", "Yuliana", "Rina", "Ni Luh", "Anisa", "Theresia", "Andi Nurul", "Margaretha"]
LAST_NAMES = ["Saputra", "Wijaya", "Siregar", "Nasution", "Hutapea", "Pratama", "Santoso", "Kurniawan",
              "Lubis", "Rahman", "Hidayat", "Simanjuntak", "Manurung", "Setiawan", "Wulandari",
              "Sembiring", "Tanjung", "Pakpahan", "Lumban Gaol", "Sinaga", "Mokodompit", "Pattiradjawane",
              "Rumbiak", "Daeng", "Suryani", "Purba", "Harahap", "Ginting"]

POSITIONS = {
    "jpt_pratama": ["Direktur Perencanaan", "Kepala Biro Sumber Daya Manusia", "Kepala Pusat Data dan Informasi"],
    "administrator": ["Kepala Bagian Umum", "Kepala Bagian Kepegawaian", "Kepala Subdirektorat Program"],
    "pengawas": ["Kepala Subbagian Tata Usaha", "Kepala Seksi Pelayanan", "Kepala Subbagian Keuangan"],
    "pelaksana": ["Pengadministrasi Perkantoran", "Pengelola Data", "Penata Layanan Operasional"],
    "ahli_madya": ["Analis Kebijakan Ahli Madya", "Auditor Ahli Madya"],
    "ahli_muda": ["Analis Sumber Daya Manusia Aparatur Ahli Muda", "Pranata Komputer Ahli Muda", "Perencana Ahli Muda"],
    "ahli_pertama": ["Analis Sumber Daya Manusia Aparatur Ahli Pertama", "Statistisi Ahli Pertama", "Arsiparis Ahli Pertama"],
    "terampil": ["Pranata Komputer Terampil", "Arsiparis Terampil"],
}
JOB_LEVEL_WEIGHTS = {"jpt_pratama": 2, "administrator": 6, "pengawas": 9, "pelaksana": 10,
                     "ahli_madya": 4, "ahli_muda": 8, "ahli_pertama": 7, "terampil": 4}


@dataclass
class DemoAccount:
    role: str
    login: str
    password: str
    name: str


@dataclass
class SeedReport:
    created: dict = field(default_factory=dict)
    accounts: list = field(default_factory=list)

    def bump(self, key: str, n: int = 1) -> None:
        self.created[key] = self.created.get(key, 0) + n


def demo_password(role: str) -> str:
    """Demo passwords: from DEMO_PASSWORD if set, else a per-role demo value (demo data only)."""
    return os.environ.get("DEMO_PASSWORD") or {
        "admin": "admin-demo-2026", "assessor": "asesor-demo-2026", "participant": "peserta-demo-2026",
    }[role]


def _user(report: SeedReport, *, role: str, name: str, password: str, **fields) -> User:
    key = {"nip": fields["nip"]} if role == "participant" else {"username": fields["username"]}
    user = db.session.execute(select(User).filter_by(**key)).scalar_one_or_none()
    if user is None:
        user = User(role=role, name=name, session_token=new_session_token(), **fields)
        user.set_password(password)
        db.session.add(user)
        report.bump("users")
    return user


def seed_agencies(report: SeedReport) -> dict[str, Agency]:
    data = yaml.safe_load((DATA_DIR / "agencies.yaml").read_text(encoding="utf-8"))
    agencies: dict[str, Agency] = {}
    existing = {a.code: a for a in db.session.execute(select(Agency)).scalars()}
    for cluster, entries in data["clusters"].items():
        for priority, entry in enumerate(entries, start=1):
            agency = existing.get(entry["code"])
            if agency is None:
                agency = Agency(code=entry["code"], name=entry["name"], name_en=entry.get("name_en"),
                                kind=entry["kind"], cluster=int(cluster), priority=priority)
                db.session.add(agency)
                report.bump("agencies")
            agencies[agency.code] = agency
            units = entry.get("units") or []
            secretariat = "Sekretariat Utama" if entry["kind"] in ("lpnk", "lns") else "Sekretariat Jenderal"
            inspectorate = "Inspektorat Utama" if entry["kind"] in ("lpnk", "lns") else "Inspektorat Jenderal"
            units = [{"code": "SET", "name": secretariat, "echelon": "Eselon I"},
                     {"code": "ITJ", "name": inspectorate, "echelon": "Eselon I"}, *units]
            have = {u.code for u in agency.units}
            for unit in units:
                if unit["code"] not in have:
                    agency.units.append(Unit(code=unit["code"], name=unit["name"],
                                             echelon=unit.get("echelon"), cluster=unit.get("cluster")))
                    report.bump("units")
    db.session.flush()
    return agencies


def seed_staff(report: SeedReport, agencies: dict[str, Agency]) -> None:
    bkn = agencies["BKN"]
    staff = [
        ("admin", "admin", "Administrator BKN"),
        ("assessor", "asesor1", "Dr. Rahmawati Siregar, M.Psi., Psikolog"),
        ("assessor", "asesor2", "Bambang Wicaksono, S.Psi., M.M."),
    ]
    for role, username, name in staff:
        password = demo_password(role)
        _user(report, role=role, name=name, password=password, username=username, agency_id=bkn.id)
        report.accounts.append(DemoAccount(role, username, password, name))


def _participants(agencies: dict[str, Agency]):
    """Yield the 50 demo participants' fields, the same on every run."""
    rng = random.Random(DEMO_SEED)
    codes = sorted(agencies)
    levels = list(JOB_LEVEL_WEIGHTS)
    weights = [JOB_LEVEL_WEIGHTS[k] for k in levels]
    serials: dict[tuple, int] = {}
    for i in range(N_PARTICIPANTS):
        sex = 1 if i % 2 == 0 else 2
        first = rng.choice(FIRST_NAMES_M if sex == 1 else FIRST_NAMES_F)
        name = f"{first} {rng.choice(LAST_NAMES)}"
        birth = date(rng.randint(1968, 1998), rng.randint(1, 12), rng.randint(1, 28))
        year = min(birth.year + rng.randint(22, 30), 2024)
        month = rng.randint(1, 12)
        job_level = rng.choices(levels, weights)[0]
        agency = agencies[codes[rng.randrange(len(codes))]] if i else agencies["BKN"]
        if i == 0:  # the documented demo participant
            name, birth, year, month, sex, job_level = "Andi Pratama", date(1985, 7, 14), 2010, 1, 1, "ahli_muda"
        key = (birth, year, month, sex)
        serials[key] = serials.get(key, 0) + 1
        nip = make_nip(birth, year, month, sex, serials[key] + (2 if i == 0 else 0))
        unit = rng.choice(sorted(agency.units, key=lambda u: u.code))
        position = rng.choice(POSITIONS[job_level])
        yield dict(nip=nip, name=name, birth_date=birth, sex=sex, job_level=job_level,
                   position=position, agency_id=agency.id, unit_id=unit.id)


def seed_participants(report: SeedReport, agencies: dict[str, Agency]) -> None:
    password = demo_password("participant")
    for fields in _participants(agencies):
        name = fields.pop("name")
        _user(report, role="participant", name=name, password=password, **fields)
    report.accounts.append(DemoAccount("participant", DEMO_PARTICIPANT_NIP, password, "Andi Pratama"))


def seed(bank_dir: Path | None = None) -> SeedReport:
    """Create the demo data that is missing; the caller commits."""
    report = SeedReport()
    agencies = seed_agencies(report)
    seed_staff(report, agencies)
    seed_participants(report, agencies)
    db.session.flush()
    if bank_dir is not None and bank_dir.is_dir() and any(bank_dir.glob("*/*.yaml")):
        from assess.services import bank

        result = bank.import_bank(bank_dir, actor=None, update_existing=False)
        for key, n in result.counts.items():
            report.bump(key, n)
        seed_demo_wave(report)
    return report


DEMO_SPEC = {
    "code": "DEMO-2026",
    "name": "Asesmen Kompetensi ASN Pemindahan IKN (demo)",
    "instructions": (
        "Asesmen ini terdiri atas tiga bagian. Kerjakan dengan jujur sesuai pengalaman dan "
        "penilaian Anda sendiri; tidak ada jawaban yang merugikan untuk dipilih apa adanya.\n\n"
        "- **Bagian 1, Integritas**: penilaian situasional, pilih tindakan yang paling tepat.\n"
        "- **Bagian 2, Keamanan Digital**: adaptif, soal berikutnya menyesuaikan jawaban Anda.\n"
        "- **Bagian 3, Adaptif (BerAKHLAK)**: pernyataan diri, pilih tingkat persetujuan Anda."
    ),
    "time_limit_minutes": 45,
    "sections": [
        {"competency": "M.01", "method": "random", "n_items": 6, "layout": "item"},
        {"competency": "DL.03", "method": "cat", "min_items": 5, "max_items": 10, "se_target": 0.45},
        {"competency": "BA.06", "method": "random", "n_items": 8, "layout": "section"},
    ],
}
DEMO_WAVE = {"code": "DEMO-GEL-1", "name": "Gelombang Demo 2026: seluruh klaster", "days_open": 60}


def seed_demo_wave(report: SeedReport) -> None:
    """A test spec with a fixed-style, an adaptive and a Likert part, and an open wave for all."""
    from datetime import timedelta

    from assess.models import Competency, TestSection, TestSpec, Wave, utcnow
    from assess.services import delivery

    spec = db.session.execute(select(TestSpec).filter_by(code=DEMO_SPEC["code"])).scalar_one_or_none()
    competencies = {c.code: c for c in db.session.execute(select(Competency)).scalars()}
    if spec is None:
        if not all(s["competency"] in competencies for s in DEMO_SPEC["sections"]):
            return  # no bank loaded: no demo test
        spec = TestSpec(code=DEMO_SPEC["code"], name=DEMO_SPEC["name"], instructions=DEMO_SPEC["instructions"],
                        time_limit_minutes=DEMO_SPEC["time_limit_minutes"], shuffle_options=True, is_active=True)
        for position, s in enumerate(DEMO_SPEC["sections"]):
            spec.sections.append(TestSection(
                competency_id=competencies[s["competency"]].id, position=position, method=s["method"],
                n_items=s.get("n_items"), min_items=s.get("min_items"), max_items=s.get("max_items"),
                se_target=s.get("se_target"), settings={"layout": s.get("layout", "item")}))
        db.session.add(spec)
        report.bump("test_specs")
    wave = db.session.execute(select(Wave).filter_by(code=DEMO_WAVE["code"])).scalar_one_or_none()
    if wave is None:
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        wave = Wave(code=DEMO_WAVE["code"], name=DEMO_WAVE["name"], spec=spec, cluster=None,
                    opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=DEMO_WAVE["days_open"]),
                    timezone="Asia/Jakarta", show_scores=False, targets={})
        db.session.add(wave)
        db.session.flush()
        report.bump("waves")
    added = delivery.enroll_by_rule(wave)
    if added:
        report.bump("enrollments", added)
