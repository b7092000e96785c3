"""Charts of a competency's items as inline SVG, drawn on the server (no chart library, no script).

* :func:`difficulty_histogram` - where the items sit on θ (b, or the mean of the thresholds),
  stacked by status, against the competency's level cut scores;
* :func:`information_curve` - the test information of the operational items (and of operational
  plus pilot items), with the standard error it implies, against the cut scores;
* :func:`item_curves` - the category response curves of one item.

Only presentation attributes are used (``fill``, ``stroke``...), never ``style``: the
Content-Security-Policy forbids inline styles.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
from markupsafe import Markup, escape

W, H = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 52, 28, 40
THETA_RANGE = (-4.0, 4.0)
COLORS = {"operational": "#0b4f8a", "pilot": "#e59f00", "other": "#9aa5b1", "all": "#7a3e9d"}
CATEGORY_COLORS = ["#0b4f8a", "#2f8f5b", "#e59f00", "#c2410c", "#7a3e9d", "#4b5563"]


def _x(theta: float) -> float:
    lo, hi = THETA_RANGE
    return LEFT + (min(max(theta, lo), hi) - lo) / (hi - lo) * (W - LEFT - RIGHT)


def _y(value: float, top: float) -> float:
    return H - BOTTOM - (value / top if top > 0 else 0.0) * (H - TOP - BOTTOM)


def _nice_top(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _frame(title: str, desc: str, body: list[str], y_label: str, top: float, y2: Optional[tuple[str, float]] = None,
           integer_ticks: bool = False) -> Markup:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="w-100 h-auto" role="img" '
        f'aria-labelledby="{{id}}-t {{id}}-d" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{{id}}-t">{escape(title)}</title><desc id="{{id}}-d">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
    ]
    # y grid and ticks
    for k in range(5):
        value = top * k / 4
        y = _y(value, top)
        label = f"{value:.0f}" if integer_ticks else f"{value:g}"
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#374151">{label}</text>')
    if y2 is not None:
        name, top2 = y2
        for k in range(5):
            value = top2 * k / 4
            parts.append(f'<text x="{W - RIGHT + 6}" y="{_y(value, top2) + 4:.1f}" fill="#6b7280">{value:g}</text>')
        parts.append(f'<text x="{W - 12}" y="{TOP + (H - TOP - BOTTOM) / 2:.1f}" fill="#6b7280" text-anchor="middle" '
                     f'transform="rotate(90 {W - 12} {TOP + (H - TOP - BOTTOM) / 2:.1f})">{escape(name)}</text>')
    # x axis
    for t in range(int(THETA_RANGE[0]), int(THETA_RANGE[1]) + 1):
        x = _x(t)
        parts.append(f'<line x1="{x:.1f}" y1="{H - BOTTOM}" x2="{x:.1f}" y2="{H - BOTTOM + 4}" stroke="#374151"/>')
        parts.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" fill="#374151">{t}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#374151"/>')
    parts.append(f'<text x="{(LEFT + W - RIGHT) / 2:.1f}" y="{H - 6}" text-anchor="middle" fill="#374151">θ</text>')
    parts.append(f'<text x="12" y="{TOP + (H - TOP - BOTTOM) / 2:.1f}" fill="#374151" text-anchor="middle" '
                 f'transform="rotate(-90 12 {TOP + (H - TOP - BOTTOM) / 2:.1f})">{escape(y_label)}</text>')
    parts += body
    parts.append("</svg>")
    return Markup("".join(parts))


def _cuts(cut_scores: Sequence[float], level_label: str) -> list[str]:
    parts = []
    edges = [THETA_RANGE[0]] + [float(c) for c in cut_scores] + [THETA_RANGE[1]]
    for c in cut_scores:
        x = _x(float(c))
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{H - BOTTOM}" stroke="#b91c1c" '
                     f'stroke-dasharray="4 3"/>')
    for level in range(1, len(edges)):
        mid = (edges[level - 1] + edges[level]) / 2
        parts.append(f'<text x="{_x(mid):.1f}" y="{TOP - 10}" text-anchor="middle" fill="#b91c1c">'
                     f'{escape(level_label)} {level}</text>')
    return parts


def _with_id(svg: Markup, chart_id: str) -> Markup:
    return Markup(str(svg).replace("{id}", chart_id))


def difficulty_histogram(values: dict[str, list[float]], cut_scores: Sequence[float], *, labels: dict[str, str],
                         title: str, level_label: str, y_label: str, chart_id: str = "difficulty",
                         bin_width: float = 0.5) -> Markup:
    """Stacked histogram of item locations by status group (``operational``, ``pilot``, ``other``)."""
    lo, hi = THETA_RANGE
    n_bins = int(round((hi - lo) / bin_width))
    groups = [g for g in ("operational", "pilot", "other") if values.get(g)]
    counts = {g: np.zeros(n_bins, dtype=int) for g in groups}
    for g in groups:
        for v in values[g]:
            k = min(n_bins - 1, max(0, int((v - lo) // bin_width)))
            counts[g][k] += 1
    total = sum(counts.values()) if groups else np.zeros(n_bins, dtype=int)
    top = max(4, 4 * math.ceil(float(np.max(total)) / 4)) if groups else 4
    body = []
    for k in range(n_bins):
        base = 0
        x0, x1 = _x(lo + k * bin_width) + 1, _x(lo + (k + 1) * bin_width) - 1
        for g in groups:
            n = int(counts[g][k])
            if not n:
                continue
            y0, y1 = _y(base + n, top), _y(base, top)
            body.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
                        f'fill="{COLORS[g]}"><title>{escape(labels[g])}: {n}</title></rect>')
            base += n
    body += _cuts(cut_scores, level_label)
    lx = LEFT + 8
    for g in groups:
        body.append(f'<rect x="{lx}" y="{TOP + 2}" width="10" height="10" fill="{COLORS[g]}"/>')
        body.append(f'<text x="{lx + 14}" y="{TOP + 11}" fill="#111827">{escape(labels[g])} ({sum(counts[g])})</text>')
        lx += 24 + 7 * len(labels[g]) + 20
    desc = "; ".join(f"{labels[g]}: {sum(counts[g])}" for g in groups) or "—"
    return _with_id(_frame(title, desc, body, y_label, top, integer_ticks=True), chart_id)


def _polyline(theta: np.ndarray, values: np.ndarray, top: float, color: str, dash: bool = False) -> str:
    points = " ".join(f"{_x(float(t)):.1f},{_y(float(min(v, top)), top):.1f}" for t, v in zip(theta, values))
    extra = ' stroke-dasharray="6 4"' if dash else ""
    return f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{extra}/>'


def information_curve(theta: np.ndarray, info: np.ndarray, cut_scores: Sequence[float], *, title: str,
                      label: str, level_label: str, y_label: str, se_label: str,
                      info_all: Optional[np.ndarray] = None, label_all: str = "",
                      chart_id: str = "information") -> Markup:
    """Test information (solid) and its standard error 1/√I (thin, right axis)."""
    top = _nice_top(float(max(np.max(info) if info.size else 0.0,
                              np.max(info_all) if info_all is not None and info_all.size else 0.0)))
    body = []
    if info_all is not None:
        body.append(_polyline(theta, info_all, top, COLORS["all"], dash=True))
    body.append(_polyline(theta, info, top, COLORS["operational"]))
    se = np.where(info > 0, 1 / np.sqrt(np.maximum(info, 1e-12)), np.inf)
    se_top = 2.0
    points = " ".join(f"{_x(float(t)):.1f},{_y(float(min(s, se_top)), se_top):.1f}" for t, s in zip(theta, se))
    body.append(f'<polyline points="{points}" fill="none" stroke="#6b7280" stroke-width="1"/>')
    body += _cuts(cut_scores, level_label)
    lx = LEFT + 8
    for color, text, dash in ((COLORS["operational"], label, False), (COLORS["all"], label_all, True),
                              ("#6b7280", se_label, False)):
        if not text or (dash and info_all is None):
            continue
        extra = ' stroke-dasharray="6 4"' if dash else ""
        body.append(f'<line x1="{lx}" y1="{TOP + 7}" x2="{lx + 18}" y2="{TOP + 7}" stroke="{color}" stroke-width="2"{extra}/>')
        body.append(f'<text x="{lx + 22}" y="{TOP + 11}" fill="#111827">{escape(text)}</text>')
        lx += 40 + 6 * len(text)
    peak = int(np.argmax(info)) if info.size else 0
    desc = (f"{label}: max {float(info[peak]):.2f} at θ = {float(theta[peak]):.1f}" if info.size and info[peak] > 0
            else f"{label}: 0")
    return _with_id(_frame(title, desc, body, y_label, top, y2=(se_label, se_top)), chart_id)


def item_curves(theta: np.ndarray, probs: np.ndarray, labels: Sequence[str], *, title: str, y_label: str,
                chart_id: str = "curves") -> Markup:
    """Category response curves: ``probs`` is (n_theta, K)."""
    body = []
    for k in range(probs.shape[1]):
        body.append(_polyline(theta, probs[:, k], 1.0, CATEGORY_COLORS[k % len(CATEGORY_COLORS)]))
    lx = LEFT + 8
    for k, text in enumerate(labels):
        color = CATEGORY_COLORS[k % len(CATEGORY_COLORS)]
        body.append(f'<line x1="{lx}" y1="{TOP + 7}" x2="{lx + 14}" y2="{TOP + 7}" stroke="{color}" stroke-width="2"/>')
        body.append(f'<text x="{lx + 18}" y="{TOP + 11}" fill="#111827">{escape(text)}</text>')
        lx += 30 + 7 * len(text)
    return _with_id(_frame(title, ", ".join(labels), body, y_label, 1.0), chart_id)


# ----------------------------------------------------------------------------- composed charts
def competency_charts(competency) -> dict:
    """Counts and both charts of a competency's bank (retired items left out)."""
    from flask_babel import gettext as _
    from sqlalchemy import select

    from assess.extensions import db
    from assess.irt import test_information
    from assess.models import Item
    from assess.services.bank import irt_bank, item_difficulty

    items = db.session.execute(select(Item).where(Item.competency_id == competency.id)
                               .order_by(Item.code)).scalars().all()
    counts: dict[str, dict[int, int]] = {}
    locations: dict[str, list[float]] = {"operational": [], "pilot": [], "other": []}
    operational, pilot = [], []
    for item in items:
        version = item.current
        counts.setdefault(item.status, {}).setdefault(version.level, 0)
        counts[item.status][version.level] += 1
        if item.status == "retired":
            continue
        group = item.status if item.status in ("operational", "pilot") else "other"
        location = item_difficulty(version)
        if location is not None:
            locations[group].append(location)
        if item.status == "operational":
            operational.append((item.code, version))
        elif item.status == "pilot":
            pilot.append((item.code, version))
    cuts = [float(c) for c in competency.cut_scores or []]
    level = _("Level")
    histogram = difficulty_histogram(
        locations, cuts, labels={"operational": _("Operational"), "pilot": _("Pilot"), "other": _("Draft or review")},
        title=_("Item locations of %(c)s against the level cut scores", c=competency.code),
        level_label=level, y_label=_("Items"))
    theta = np.linspace(THETA_RANGE[0], THETA_RANGE[1], 161)
    info = test_information(irt_bank(operational), theta) if operational else np.zeros_like(theta)
    info_all = test_information(irt_bank(operational + pilot), theta) if pilot else None
    curve = information_curve(
        theta, info, cuts, title=_("Test information of the operational items of %(c)s", c=competency.code),
        label=_("Operational items"), label_all=_("Operational and pilot items"), info_all=info_all,
        level_label=level, y_label=_("Information"), se_label=_("Standard error"))
    peak = int(np.argmax(info)) if operational else None
    return {
        "counts": counts, "histogram": histogram, "information": curve, "n_operational": len(operational),
        "n_pilot": len(pilot), "peak_theta": float(theta[peak]) if peak is not None else None,
        "peak_info": float(info[peak]) if peak is not None else None,
        "se_at_cuts": {c: (1 / float(np.sqrt(np.interp(c, theta, info))) if operational and np.interp(c, theta, info) > 0
                           else None) for c in cuts},
    }


def version_curves(code: str, version) -> Markup:
    """Category response curves of one item version."""
    from flask_babel import gettext as _

    from assess.irt import category_probabilities
    from assess.services.bank import irt_bank

    theta = np.linspace(THETA_RANGE[0], THETA_RANGE[1], 121)
    probs = category_probabilities(irt_bank([(code, version)]), theta)[:, 0, :]
    if version.item_type == "mc":
        labels = [_("wrong"), _("key")]
    elif version.item_type == "sjt":
        labels = [_("%(n)d points", n=s) for s in sorted(o["score"] for o in version.options)]
    else:
        labels = [_("%(n)d points", n=k + 1) for k in range(5)]
    probs = probs[:, : len(labels)]
    return item_curves(theta, probs, labels, title=_("Category response curves of %(c)s", c=code),
                       y_label=_("Probability"))
