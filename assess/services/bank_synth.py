"""Large synthetic banks for CAT and load benchmarks (``flask --app wsgi bank synth --items N``).

Clearly marked: a battery of its own (``synthetic``), competency codes starting with ``SYN.``,
and every stem begins with ``[SINTETIS]``. Items are operational, with parameters drawn by the
IRT engine's simulator (rounded to two decimals, as authors write them), so a CAT has a deep
bank and a load test has realistic pages. The same seed and size give the same bank, so
running it twice changes nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from assess.models import User
from assess.models.bank import DEFAULT_CUT_SCORES
from assess.services.bank import (
    A_MAX, B_MAX, BankContent, BankDoc, ImportResult, import_content, write_bank_dir,
)

BATTERY = {
    "code": "synthetic",
    "name_id": "Bank sintetis (uji CAT dan beban, bukan untuk asesmen)",
    "name_en": "Synthetic bank (CAT and load tests, not for assessment)",
    "source": "flask bank synth",
}
# code, item type, model, categories, Indonesian name, English name
COMPETENCIES = [
    ("SYN.01", "mc", "3pl", 2, "Sintetis pilihan ganda 3PL", "Synthetic multiple choice 3PL"),
    ("SYN.02", "sjt", "grm", 5, "Sintetis penilaian situasional GRM", "Synthetic situational judgement GRM"),
    ("SYN.03", "likert", "grm", 5, "Sintetis Likert GRM", "Synthetic Likert GRM"),
    ("SYN.04", "sjt", "gpcm", 4, "Sintetis penilaian situasional GPCM", "Synthetic situational judgement GPCM"),
    ("SYN.05", "mc", "2pl", 2, "Sintetis pilihan ganda 2PL", "Synthetic multiple choice 2PL"),
]
MARK = "[SINTETIS]"


def _level(location: float) -> int:
    return 1 + sum(location >= c for c in DEFAULT_CUT_SCORES)


def _increasing(values: np.ndarray, gap: float = 0.05) -> list[float]:
    out = []
    for v in values:
        v = round(float(np.clip(v, -B_MAX + 0.5, B_MAX - 0.5)), 2)
        if out and v <= out[-1]:
            v = round(out[-1] + gap, 2)
        out.append(v)
    return out


def generate(n_items: int, *, competencies: int = len(COMPETENCIES), seed: int = 2026) -> BankContent:
    """A synthetic bank of ``n_items`` items spread over the first ``competencies`` SYN scales."""
    from assess.irt import simulate_items

    if n_items < 1:
        raise ValueError("n_items must be at least 1")
    if not 1 <= competencies <= len(COMPETENCIES):
        raise ValueError(f"competencies must be between 1 and {len(COMPETENCIES)}")
    chosen = COMPETENCIES[:competencies]
    rng = np.random.default_rng(seed)
    sizes = [n_items // competencies + (1 if k < n_items % competencies else 0) for k in range(competencies)]
    digits = max(3, len(str(max(sizes))))
    catalog = [{**BATTERY, "competencies": [
        {"code": code, "name_id": name_id, "name_en": name_en, "item_type": itype, "model": model}
        for code, itype, model, _k, name_id, name_en in chosen]}]
    content = BankContent(catalog=catalog)
    for (code, itype, model, k, _name_id, _name_en), size in zip(chosen, sizes):
        if size == 0:
            continue
        params = simulate_items(model, size, n_categories=k, rng=rng)
        doc = BankDoc(file=f"synthetic/{code}.yaml", competency=code)
        for j in range(size):
            iid = f"{code}-{j + 1:0{digits}d}"
            a = round(float(np.clip(params.a[j], 0.3, A_MAX)), 2)
            irt: dict = {"model": model, "a": a}
            if itype == "mc":
                irt["b"] = round(float(np.clip(params.b[j], -B_MAX + 0.5, B_MAX - 0.5)), 2)
                if model == "3pl":
                    irt["c"] = round(float(params.c[j]), 2)
                location = irt["b"]
            else:
                irt["thresholds"] = _increasing(params.thresholds[j, : k - 1])
                location = sum(irt["thresholds"]) / len(irt["thresholds"])
            raw: dict = {"id": iid, "type": itype, "level": _level(location),
                         "subdomain": f"Blok {j % 10 + 1}", "status": "operational"}
            if itype == "likert":
                raw["stem"] = f"{MARK} Pernyataan {iid}: saya menyelesaikan tugas uji beban nomor {j + 1}."
                raw["reverse"] = bool(rng.random() < 0.3)
            elif itype == "mc":
                key = int(rng.integers(4))
                raw["stem"] = f"{MARK} Butir {iid}: soal buatan mesin untuk uji CAT dan beban. Pilih jawaban yang benar."
                raw["options"] = [{"text": f"Pilihan {'ABCD'[n]} butir {iid}", **({"key": True} if n == key else {})}
                                  for n in range(4)]
            else:
                scores = [1, 2, 3, 4, 5] if k == 5 else [1, 2, 4, 5]
                order = rng.permutation(len(scores))
                raw["stem"] = f"{MARK} Situasi {iid}: kasus buatan mesin untuk uji CAT dan beban. Apa yang Anda lakukan?"
                raw["options"] = [{"text": f"Tindakan {n + 1} pada situasi {iid}", "score": scores[order[n]]}
                                  for n in range(len(scores))]
            raw["irt"] = irt
            doc.items.append(raw)
        content.docs.append(doc)
    return content


def synth(n_items: int, *, competencies: int = len(COMPETENCIES), seed: int = 2026,
          out_dir: Optional[Path] = None, actor: Optional[User] = None,
          dry_run: bool = False) -> ImportResult | list[Path]:
    """Write the synthetic bank to ``out_dir`` (a bank directory), or import it into the database."""
    content = generate(n_items, competencies=competencies, seed=seed)
    if out_dir is not None:
        return write_bank_dir(content, Path(out_dir))
    return import_content(content, actor=actor, update_existing=True, dry_run=dry_run)
