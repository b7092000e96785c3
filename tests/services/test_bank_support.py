"""Helpers shared by the item bank tests (this module holds no tests of its own).

A small bank that exercises every corner of the formats (all item types and models, a shared
stimulus, a formula-like option, Markdown with a table, multi-line options, custom Likert labels,
calibrated parameters, every status), a snapshot of the bank tables to compare, and wiping the
items so a file can be imported into an empty bank again.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml
from sqlalchemy import delete, func, select

ROOT = Path(__file__).resolve().parents[2]
DEMO_BANK = ROOT / "item_bank"

CATALOG = {"batteries": [
    {"code": "alpha", "name_id": "Baterai Alfa", "name_en": "Battery Alpha", "source": "tes",
     "competencies": [
         {"code": "TA.01", "name_id": "Uji Pilihan Ganda", "name_en": "Test MC", "item_type": "mc", "model": "3pl"},
         {"code": "TA.02", "name_id": "Uji Situasional", "name_en": "Test SJT", "item_type": "sjt", "model": "grm",
          "cut_scores": [-1.0, -0.25, 0.25, 1.0]},
     ]},
    {"code": "beta", "name_id": "Baterai Beta", "name_en": "Battery Beta",
     "competencies": [
         {"code": "TB.01", "name_id": "Uji Likert", "name_en": "Test Likert", "item_type": "likert", "model": "grm"},
     ]},
]}

MC = {
    "competency": "TA.01",
    "stimuli": [{"id": "TA.01-S01", "title": "Tabel layanan", "body": "Data layanan:\n\n| Triwulan | Keluhan |\n|---|---:|\n| I | 40 |\n| II | 45 |"}],
    "items": [
        {"id": "TA.01-001", "type": "mc", "level": 2, "subdomain": "Aplikasi: SIASN", "status": "operational",
         "stimulus": "TA.01-S01", "stem": "Berdasarkan tabel, keluhan **terbanyak** terjadi pada ...",
         "options": [{"text": "Triwulan I"}, {"text": "Triwulan II", "key": True}, {"text": "Sama saja"},
                     {"text": "Tidak dapat ditentukan"}],
         "irt": {"model": "3pl", "a": 1.1, "b": -1.0, "c": 0.2}},
        {"id": "TA.01-002", "type": "mc", "level": 3, "status": "pilot",
         "stem": "Rumus lembar kerja untuk menjumlahkan C2 sampai C31 adalah ...\nPilih satu.",
         "options": [{"text": "=SUM(C2:C31)", "key": True}, {"text": "-COUNT(C2:C31)"}, {"text": "+C2+C31"},
                     {"text": "@C2"}, {"text": "'=tetap teks"}],
         "irt": {"model": "2pl", "a": 0.93, "b": 0.12}},
        {"id": "TA.01-003", "type": "mc", "level": 1, "status": "draft", "stem": "Soal Rasch tentang surel.",
         "options": [{"text": "Benar\nbaris kedua"}, {"text": "Salah", "key": True}, {"text": "Ragu: \"mungkin\""}],
         "irt": {"model": "rasch", "a": 1.0, "b": -2.05, "calibrated": True}},
    ],
}
SJT = {
    "competency": "TA.02",
    "items": [
        {"id": "TA.02-001", "type": "sjt", "level": 3, "subdomain": "Kejujuran", "status": "operational",
         "stem": "Rekan satu tim meminta Anda mengisi daftar hadir atas namanya. Apa yang Anda lakukan?",
         "options": [{"text": "Menolak dan menjelaskan aturannya", "score": 5}, {"text": "Mengisikannya", "score": 1},
                     {"text": "Menyarankan ia melapor", "score": 4}, {"text": "Diam saja", "score": 2},
                     {"text": "Bertanya kepada atasan", "score": 3}],
         "irt": {"model": "grm", "a": 1.2, "thresholds": [-1.8, -0.9, 0.2, 1.1]}},
        {"id": "TA.02-002", "type": "sjt", "level": 4, "status": "review",
         "stem": "Situasi kedua dengan empat pilihan.",
         "options": [{"text": "Satu", "score": 1}, {"text": "Dua", "score": 3}, {"text": "Tiga", "score": 5},
                     {"text": "Empat", "score": 4}],
         "irt": {"model": "gpcm", "a": 0.8, "thresholds": [0.5, -0.2, 1.4]}},
    ],
}
LIKERT = {
    "competency": "TB.01",
    "items": [
        {"id": "TB.01-001", "type": "likert", "level": 2, "status": "operational",
         "stem": "Saya lebih nyaman tetap memakai cara kerja lama.", "reverse": True,
         "irt": {"model": "grm", "a": 1.3, "thresholds": [-2.0, -1.0, 0.0, 1.0]}},
        {"id": "TB.01-002", "type": "likert", "level": 5, "status": "retired",
         "stem": "Saya menyelesaikan laporan tepat waktu.", "reverse": False,
         "options": [{"text": "Tidak pernah"}, {"text": "Jarang"}, {"text": "Kadang-kadang"}, {"text": "Sering"},
                     {"text": "Selalu"}],
         "irt": {"model": "grm", "a": 0.7, "thresholds": [0.3, 1.1, 1.9, 2.7], "calibrated": True}},
    ],
}
FILES = {"alpha/TA.01.yaml": MC, "alpha/TA.02.yaml": SJT, "beta/TB.01.yaml": LIKERT}


def docs() -> dict:
    """A fresh deep copy of the small bank's files, to mutate."""
    return {"catalog.yaml": copy.deepcopy(CATALOG), **copy.deepcopy(FILES)}


def write_bank(path: Path, files: dict | None = None) -> Path:
    """Write a bank directory (``files`` maps relative paths to documents or raw text)."""
    files = docs() if files is None else files
    path.mkdir(parents=True, exist_ok=True)
    for rel, doc in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(doc, (bytes, bytearray)):
            target.write_bytes(doc)
        elif isinstance(doc, str):
            target.write_text(doc, encoding="utf-8")
        else:
            target.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def snapshot() -> dict:
    """Everything that defines the bank, keyed by natural keys (no database ids)."""
    from assess.extensions import db
    from assess.models import Battery, Competency, Item, ItemStatusChange, ItemVersion, Stimulus
    from assess.services.bank import current_fields

    batteries = {b.code: (b.name_id, b.name_en, b.source) for b in db.session.execute(select(Battery)).scalars()}
    competencies = {
        c.code: (c.battery.code, c.name_id, c.name_en, c.item_type, c.irt_model, [float(x) for x in c.cut_scores],
                 c.description)
        for c in db.session.execute(select(Competency)).scalars()}
    stimuli = {s.code: (s.title, s.body) for s in db.session.execute(select(Stimulus)).scalars() if "@" not in s.code}
    items = {}
    for item in db.session.execute(select(Item)).scalars():
        fields = current_fields(item.current)
        stim = item.current.stimulus
        fields["stimulus"] = (stim.code, stim.title, stim.body) if stim else None
        items[item.code] = (item.competency.code, item.status, fields)
    counts = (db.session.scalar(select(func.count(ItemVersion.id))),
              db.session.scalar(select(func.count(ItemStatusChange.id))))
    return {"batteries": batteries, "competencies": competencies, "stimuli": stimuli, "items": items,
            "rows": counts}


def content_of(snap: dict) -> dict:
    """The snapshot without row counts: what an export must reproduce."""
    return {k: v for k, v in snap.items() if k != "rows"}


def wipe_items() -> None:
    """Delete every item, version, status change and stimulus (competencies stay)."""
    from assess.extensions import db
    from assess.models import CalibrationRun, Item, ItemStatusChange, ItemVersion, Stimulus

    for model in (CalibrationRun, ItemStatusChange, ItemVersion, Item, Stimulus):
        db.session.execute(delete(model))
    db.session.commit()


def import_dir(path: Path, **kw):
    from assess.extensions import db
    from assess.services import bank

    result = bank.import_bank(path, actor=kw.pop("actor", None), **kw)
    db.session.commit()
    return result
