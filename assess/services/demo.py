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
    seed_demo_talent(report)
    return report


DEMO_SPEC = {
    "code": "DEMO-2026",
    "name": "Asesmen Kompetensi ASN Pemindahan IKN (demo)",
    "instructions": (
        "Asesmen ini terdiri atas tiga bagian. Kerjakan dengan jujur sesuai pengalaman dan "
        "penilaian Anda sendiri; tidak ada jawaban yang merugikan untuk dipilih apa adanya.\n\n"
        "- **Bagian 1, Integritas**: penilaian situasional, pilih tindakan yang paling tepat.\n"
        "- **Bagian 2, Keamanan Digital**: adaptif, soal berikutnya menyesuaikan jawaban Anda; "
        "bagian ini punya batas waktu sendiri, 15 menit.\n"
        "- **Bagian 3, Adaptif (BerAKHLAK)**: pernyataan diri, pilih tingkat persetujuan Anda."
    ),
    "time_limit_minutes": 45,
    "sections": [
        {"competency": "M.01", "method": "random", "n_items": 6, "layout": "item"},
        {"competency": "DL.03", "method": "cat", "min_items": 5, "max_items": 10, "se_target": 0.45,
         "time_limit_minutes": 15},
        {"competency": "BA.06", "method": "random", "n_items": 8, "layout": "section"},
    ],
}
DEMO_WAVE = {"code": "DEMO-GEL-1", "name": "Gelombang Demo 2026: seluruh klaster", "days_open": 60}

# The mapping wave that has already taken place: the whole battery, the source of the demo talent
# map (JPM over the eight managerial competencies and the sociocultural one, potential from the
# emerging skills, digital literacy and managerial scores, readiness from digital and BerAKHLAK).
DEMO_MAP_SPEC = {
    "code": "IKN-PK-2026",
    "name": "Pemetaan Kompetensi ASN Pemindahan IKN 2026",
    "instructions": "Pemetaan lengkap: manajerial, sosial kultural, literasi digital, emerging skills, BerAKHLAK.",
    "time_limit_minutes": 180,
    "sections": (
        [{"competency": f"M.0{i}", "method": "random", "n_items": 5} for i in range(1, 9)]
        + [{"competency": "SK.01", "method": "random", "n_items": 5}]
        + [{"competency": f"DL.0{i}", "method": "cat", "min_items": 4, "max_items": 8, "se_target": 0.5}
           for i in range(1, 5)]
        + [{"competency": f"ES.0{i}", "method": "random", "n_items": 4} for i in range(1, 6)]
        + [{"competency": f"BA.0{i}", "method": "random", "n_items": 4, "layout": "section"} for i in range(1, 8)]
    ),
}
DEMO_MAP_WAVE = {"code": "IKN-PK-G1", "name": "Gelombang 1 2026: pemetaan seluruh klaster (selesai)",
                 "opened_days_ago": 40, "closed_days_ago": 12}


def _demo_spec(report: SeedReport, doc: dict):
    """The spec described by ``doc`` (created active if missing); None without a bank."""
    from assess.models import Competency, TestSection, TestSpec

    spec = db.session.execute(select(TestSpec).filter_by(code=doc["code"])).scalar_one_or_none()
    if spec is not None:
        return spec
    competencies = {c.code: c for c in db.session.execute(select(Competency)).scalars()}
    if not all(s["competency"] in competencies for s in doc["sections"]):
        return None  # no bank loaded: no demo test
    spec = TestSpec(code=doc["code"], name=doc["name"], instructions=doc["instructions"],
                    time_limit_minutes=doc["time_limit_minutes"], shuffle_options=True, is_active=True)
    for position, s in enumerate(doc["sections"]):
        spec.sections.append(TestSection(
            competency_id=competencies[s["competency"]].id, position=position, method=s["method"],
            n_items=s.get("n_items"), min_items=s.get("min_items"), max_items=s.get("max_items"),
            se_target=s.get("se_target"), time_limit_minutes=s.get("time_limit_minutes"),
            settings={"layout": s.get("layout", "item")}))
    db.session.add(spec)
    report.bump("test_specs")
    return spec


def seed_demo_wave(report: SeedReport) -> None:
    """The open demo wave (a random, an adaptive and a Likert part) for everyone, and the mapping
    wave that has already closed (the whole battery) for everyone but the demo participant."""
    from datetime import timedelta

    from assess.models import Enrollment, Wave, utcnow
    from assess.services import delivery

    spec = _demo_spec(report, DEMO_SPEC)
    map_spec = _demo_spec(report, DEMO_MAP_SPEC)
    if spec is None or map_spec is None:
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    past = db.session.execute(select(Wave).filter_by(code=DEMO_MAP_WAVE["code"])).scalar_one_or_none()
    if past is None:
        past = Wave(code=DEMO_MAP_WAVE["code"], name=DEMO_MAP_WAVE["name"], spec=map_spec, cluster=None,
                    opens_at=now - timedelta(days=DEMO_MAP_WAVE["opened_days_ago"]),
                    closes_at=now - timedelta(days=DEMO_MAP_WAVE["closed_days_ago"]),
                    timezone="Asia/Jakarta", show_scores=False, targets={})
        db.session.add(past)
        db.session.flush()
        report.bump("waves")
        enrolled = 0
        for user in db.session.execute(select(User).where(User.role == "participant",
                                                          User.nip != DEMO_PARTICIPANT_NIP)).scalars():
            db.session.add(Enrollment(wave_id=past.id, user_id=user.id, source="rule"))
            enrolled += 1
        report.bump("enrollments", enrolled)
    wave = db.session.execute(select(Wave).filter_by(code=DEMO_WAVE["code"])).scalar_one_or_none()
    if wave is None:
        wave = Wave(code=DEMO_WAVE["code"], name=DEMO_WAVE["name"], spec=spec, cluster=None,
                    opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=DEMO_WAVE["days_open"]),
                    timezone="Asia/Jakarta", show_scores=False, targets={})
        db.session.add(wave)
        db.session.flush()
        report.bump("waves")
    added = delivery.enroll_by_rule(wave)
    if added:
        report.bump("enrollments", added)


# --------------------------------------------------------------------------------- talent demo
DEMO_SKP_YEAR = 2025
DEMO_TALENT_SEED = 20260425
DEMO_SCHEMES = [
    {"code": "SKEMA-118K", "name": "Skema 118.000 ASN (kapasitas skala demo)", "movers": 118_000,
     "description": "Hunian tahap awal terbatas. Kapasitas diperkecil sebanding dengan jumlah peserta demo.",
     "stage_labels": ["2025", "2026"],
     "capacities": {1: [3, 2], 2: [1, 1], 3: [1, 1], 4: [1, 1], 5: [1, 0]}},
    {"code": "SKEMA-180K", "name": "Skema 180.000 ASN (kapasitas skala demo)", "movers": 180_000,
     "description": "Hunian diperluas. Kapasitas diperkecil sebanding dengan jumlah peserta demo.",
     "stage_labels": ["2025", "2026"],
     "capacities": {1: [4, 4], 2: [2, 2], 3: [2, 2], 4: [2, 1], 5: [1, 1]}},
]
DEMO_STRATEGIC_ROLES = {
    "SETNEG": {"roles": ["importance", "decision_support"], "proximity": "high", "urgency": "high"},
    "KSP": {"roles": ["decision_support"], "proximity": "high", "urgency": "high"},
    "SETKAB": {"roles": ["decision_support"], "proximity": "high", "urgency": "high"},
    "KEMENKEU": {"roles": ["importance", "economic_independence"], "proximity": "high", "urgency": "medium"},
    "BAPPENAS": {"roles": ["decision_support", "strategic_enabler"], "proximity": "high", "urgency": "medium"},
    "KEMHAN": {"roles": ["defence_security"], "proximity": "high", "urgency": "high"},
    "BSSN": {"roles": ["defence_security", "strategic_enabler"], "proximity": "medium", "urgency": "high"},
    "KEMENPUPR": {"roles": ["strategic_enabler"], "proximity": "medium", "urgency": "high"},
    "BKN": {"roles": ["strategic_enabler"], "proximity": "medium", "urgency": "medium"},
}


def _demo_choice(version, category: int, rng: random.Random) -> int:
    """An option (canonical index) whose IRT category is ``category`` (inverse of category_of)."""
    if version.item_type == "likert":
        x = 5 - category if version.reverse_keyed else category + 1
        return x - 1
    scores = [int(o["score"]) for o in version.options]
    if version.item_type == "mc":
        matching = [i for i, s in enumerate(scores) if (s == 1) == (category == 1)]
        return rng.choice(matching)
    target = sorted(set(scores))[category]
    return scores.index(target)


def _simulate_section(section: dict, theta: float, rng: random.Random, np_rng) -> list[tuple[int, int, int]]:
    """Answer one drawn section at ability ``theta``: [(item_id, version_id, category)].

    Fixed and random forms answer their items; an adaptive section is run as the delivery runs it
    (maximum information at the interim EAP estimate, stopping at the SE target or the maximum).
    """
    import numpy as np

    from assess.irt import estimation
    from assess.irt.models import item_information
    from assess.irt.simulate import simulate_responses
    from assess.models import Item, ItemVersion
    from assess.services import scoring

    if section["method"] != "cat":
        versions = {v.id: v for v in db.session.execute(select(ItemVersion).where(
            ItemVersion.id.in_([e["version_id"] for e in section["items"]]))).scalars()}
        ordered = [versions[e["version_id"]] for e in section["items"]]
        categories = simulate_responses(scoring.bank_of(ordered), [theta], rng=np_rng)[0]
        return [(e["item_id"], e["version_id"], int(c)) for e, c in zip(section["items"], categories)]
    cat = section["cat"]
    items = {i.id: i for i in db.session.execute(select(Item).where(Item.id.in_(cat["pool"]))).scalars()}
    pool = [items[i] for i in cat["pool"] if i in items]
    answered: list[tuple] = []
    estimate, se = 0.0, 1.0
    while pool and len(answered) < cat["max"]:
        bank = scoring.bank_of([it.current for it in pool])
        info = item_information(bank, np.array([estimate]))[0]
        top = list(np.argsort(-info)[:3])
        item = pool.pop(int(rng.choice(top)))
        version = item.current
        category = int(simulate_responses(scoring.bank_of([version]), [theta], rng=np_rng)[0][0])
        answered.append((item.id, version.id, category, version))
        est = estimation.eap(np.array([[a[2] for a in answered]]), scoring.bank_of([a[3] for a in answered]))
        estimate, se = float(est.theta[0]), float(est.se[0])
        if len(answered) >= cat["min"] and se <= cat["se"]:
            cat["stop"] = "se_target"
            break
    cat["theta"], cat["se_now"] = estimate, se
    cat["stop"] = cat["stop"] or "max_items"
    section["items"] = [{"item_id": a[0], "version_id": a[1], "order": list(range(len(a[3].options) or 5)),
                         "locked": True} for a in answered]
    return [(a[0], a[1], a[2]) for a in answered]


def seed_demo_talent(report: SeedReport) -> None:
    """Demo talent data: SKP ratings for most participants, scored attempts for the demo wave
    (simulated through the IRT engine, scored by the scoring service), placements, two relocation
    schemes. Idempotent: ratings and schemes are keyed, attempts are made only when the wave has
    no scored attempt yet (the documented demo participant, who takes the test himself, aside)."""
    from datetime import timedelta

    import numpy as np
    from sqlalchemy import func

    from assess.models import (
        Attempt, Enrollment, ItemVersion, PerformanceRating, RelocationScheme, Response, Wave,
    )
    from assess.services import delivery, relocation, review, scoring, talent

    rng = random.Random(DEMO_TALENT_SEED)
    np_rng = np.random.default_rng(DEMO_TALENT_SEED)
    participants = list(db.session.execute(
        select(User).where(User.role == "participant").order_by(User.nip)).scalars())
    # One general ability per person drives the test answers and, loosely, the SKP rating.
    ability = {u.id: rng.gauss(0.0, 1.0) for u in participants}

    for agency in db.session.execute(select(Agency).where(Agency.code.in_(DEMO_STRATEGIC_ROLES))).scalars():
        if agency.strategic_role is None:
            agency.strategic_role = DEMO_STRATEGIC_ROLES[agency.code]

    have = {r.user_id for r in db.session.execute(
        select(PerformanceRating).where(PerformanceRating.year == DEMO_SKP_YEAR)).scalars()}
    for index, user in enumerate(participants):
        if index % 8 == 5 and user.nip != DEMO_PARTICIPANT_NIP:
            continue  # most, not all: these show "data incomplete" (no box)
        if user.id in have:
            continue
        z = 0.6 * ability[user.id] + 0.8 * rng.gauss(0.0, 1.0)
        predikat = ("sangat_baik" if z > 0.85 else "baik" if z > -1.0 else "butuh_perbaikan" if z > -1.9
                    else "kurang")
        db.session.add(PerformanceRating(user_id=user.id, year=DEMO_SKP_YEAR, predikat=predikat, score=None,
                                         source="demo: e-Kinerja BKN (fiktif)"))
        report.bump("performance_ratings")
    db.session.flush()

    wave = db.session.execute(select(Wave).filter_by(code=DEMO_MAP_WAVE["code"])).scalar_one_or_none()
    if wave is not None:
        scored = db.session.scalar(select(func.count(Attempt.id)).where(
            Attempt.wave_id == wave.id, Attempt.scored_at.is_not(None)))
        if not scored:
            enrolled = set(db.session.execute(select(Enrollment.user_id).where(Enrollment.wave_id == wave.id)).scalars())
            started = set(db.session.execute(select(Attempt.user_id).where(Attempt.wave_id == wave.id)).scalars())
            window = (wave.closes_at - wave.opens_at).total_seconds() / 3600.0
            for user in participants:
                if user.nip == DEMO_PARTICIPANT_NIP or user.id not in enrolled or user.id in started:
                    continue
                aberrant = len(started) % 12 == 3
                started.add(user.id)
                form = delivery.draw_form(wave.spec, rng)
                start = wave.opens_at + timedelta(hours=rng.uniform(1, window - 4))
                attempt = Attempt(wave_id=wave.id, user_id=user.id, number=1, status="submitted", started_at=start,
                                  deadline_at=start + timedelta(minutes=delivery.time_limit(wave.spec)),
                                  submitted_at=start + timedelta(minutes=rng.uniform(95, 170)), form=form,
                                  last_seen_at=start, position=0)
                db.session.add(attempt)
                db.session.flush()
                seq = 0
                for section in form["sections"]:
                    theta = 0.75 * ability[user.id] + 0.66 * rng.gauss(0.0, 1.0)
                    answers = _simulate_section(section, theta, rng, np_rng)
                    section["state"] = "done"
                    versions = {v.id: v for v in db.session.execute(select(ItemVersion).where(
                        ItemVersion.id.in_([a[1] for a in answers]))).scalars()}
                    for item_id, version_id, category in answers:
                        seq += 1
                        version = versions[version_id]
                        choice = _demo_choice(version, category, rng)
                        elapsed = int(rng.uniform(8_000, 70_000))
                        if aberrant:  # a few click through: "strongly agree" everywhere, too fast
                            choice = 4 if version.item_type == "likert" else 0
                            elapsed = int(rng.uniform(400, 1_200))
                        cat, points = scoring.category_of(version, choice)
                        db.session.add(Response(attempt_id=attempt.id, item_id=item_id, item_version_id=version_id,
                                                choice=choice, category=cat, points=points, seq=1,
                                                elapsed_ms=elapsed,
                                                answered_at=start + timedelta(seconds=30 * seq)))
                form["current"] = len(form["sections"])
                attempt.form = dict(form)
                db.session.flush()
                review.refresh_case(attempt, scoring.score_attempt(attempt))
                report.bump("attempts")

    for spec in DEMO_SCHEMES:
        if db.session.execute(select(RelocationScheme).filter_by(code=spec["code"])).scalar_one_or_none() is None:
            relocation.save_scheme(None, code=spec["code"], name=spec["name"], movers=spec["movers"],
                                   description=spec["description"], stage_labels=spec["stage_labels"],
                                   capacities={(c, s + 1): cap for c, caps in spec["capacities"].items()
                                               for s, cap in enumerate(caps)})
            report.bump("relocation_schemes")

    settings_existed = talent.latest_settings() is not None
    settings = talent.ensure_settings()
    if not settings_existed:
        report.bump("talent_settings")
    result = talent.compute(settings)
    if result.created:
        report.bump("talent_placements", result.created)
