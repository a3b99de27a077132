"""The challenge's story as data and charts: the zoo's reported errors by year and against size.

Everything comes from the registry (year, paper, depth, parameters, reported errors and how they were
measured) and, where this machine has them, from ``ilsvrc-keras evaluate --json`` results; the
charts are Altair (Vega-Lite), which Streamlit renders natively and which scale to a phone's width.
Nothing here imports Streamlit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional

from ..errors import IlsvrcKerasError

# The human reference the literature quotes: one trained annotator's top-5 error on 1,500 ILSVRC-2012
# test images (Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge", IJCV 2015).
HUMAN_TOP5_ERROR = 5.1
HUMAN_NOTE = "human, top-5 (Russakovsky et al. 2015)"


def read_results(paths: Iterable) -> dict:
    """``ilsvrc-keras evaluate --json`` outputs by model name: ``{name: {"top1_error", "top5_error", "n"}}``.
    Files that are not such results are skipped (the page says which)."""
    out, bad = {}, []
    for path in paths:
        try:
            r = json.loads(Path(path).read_text())
            out[str(r["model"])] = {"top1_error": 100 * float(r["top1_error"]),
                                    "top5_error": 100 * float(r["top5_error"]), "n": int(r["n"])}
        except (OSError, ValueError, KeyError, TypeError):
            bad.append(str(path))
    if bad:
        out["__unreadable__"] = bad
    return out


# The challenge's own story: the winning classification entry's top-5 error on the test set, each year.
# 2010-2014: Russakovsky et al. (IJCV 2015), table 6 / figure 9; 2015-2017: the ILSVRC results pages
# (image-net.org/challenges/LSVRC/<year>/results). Entries that used extra training data are not counted
# (SuperVision 15.3% and Clarifai 11.2% with it).
WINNERS = [
    (2010, "NEC-UIUC", 28.2, "sparse coding + SVMs"),
    (2011, "XRCE", 25.8, "Fisher vectors + SVMs"),
    (2012, "SuperVision (AlexNet)", 16.4, "the first CNN winner"),
    (2013, "Clarifai (ZFNet)", 11.7, "ZFNet's visualized AlexNet"),
    (2014, "GoogLeNet", 6.7, "Inception; VGG second"),
    (2015, "MSRA (ResNet)", 3.57, "residual learning, 152 layers"),
    (2016, "Trimps-Soushen", 2.99, "an ensemble of Inception/ResNet variants"),
    (2017, "WMW (SENet)", 2.25, "squeeze-and-excitation; the last ILSVRC"),
]


def winners_table():
    """The winning entry of each ILSVRC classification challenge, 2010-2017."""
    import pandas as pd

    return pd.DataFrame([{"year": y, "winner": w, "top-5 err (%)": e, "note": n} for y, w, e, n in WINNERS])


def zoo_table(available: Iterable[str] = (), measured: Optional[dict] = None):
    """One row per network of the zoo, oldest first: its paper's figures, the strongest published
    weights' figures, and what ``ilsvrc-keras evaluate`` measured here (``--results``) with any of its
    presets."""
    import pandas as pd

    from ..presets import get_preset, list_presets, zoo_preset
    from ..registry import get_spec, list_models

    available, measured = set(available), measured or {}
    by_arch: dict = {}
    for key, m in measured.items():
        try:
            by_arch.setdefault(zoo_preset(key)[1], []).append((key, m))
        except (IlsvrcKerasError, KeyError):
            continue  # a fine-tuned folder's result has no place in the zoo's table
    rows = []
    for name in list_models():
        card = get_spec(name).card()
        presets = [get_preset(p) for p in list_presets() if get_preset(p).arch == name]
        best = max(presets, key=lambda p: p.published_top1 or 0, default=None)
        mine = sorted(by_arch.get(name, []), key=lambda km: km[1]["top1_error"])
        rows.append({
            "network": name, "year": card["year"], "paper": card["paper"], "depth": card["depth"],
            "params (M)": round(card["params"] / 1e6, 1), "input (px)": card["input_size"],
            "top-1 err (%)": card["reported_top1_error"], "top-5 err (%)": card["reported_top5_error"],
            "how measured": card["reported_note"],
            "weights": ", ".join(p.name for p in presets) or "none published",
            "published top-1 err (%)": round(100 * (1 - best.published_top1), 2)
            if best and best.published_top1 else None,
            "measured here top-1 err (%)": round(mine[0][1]["top1_error"], 1) if mine else None,
            "measured here top-5 err (%)": round(mine[0][1]["top5_error"], 1) if mine else None,
            "measured with": mine[0][0] if mine else None,
            "here": "yes" if name in available or any(p.name in available for p in presets) else "",
        })
    return pd.DataFrame(rows)


def winners_chart():
    """The challenge's story: the winning entry's top-5 error each year, 2010-2017, against the human
    reference. One point per year, so no two labels can meet."""
    import altair as alt
    import pandas as pd

    data = winners_table()
    x = alt.X("year:O", title="ILSVRC year", axis=alt.Axis(labelAngle=0))
    y = alt.Y("top-5 err (%):Q", title="winning top-5 error (%)", scale=alt.Scale(zero=True))
    tooltip = ["year", "winner", "top-5 err (%)", "note"]
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(filled=True, size=80)).encode(
        x=x, y=y, tooltip=tooltip)
    labels = alt.Chart(data).mark_text(dy=-12, fontSize=11).encode(x=x, y=y, text="winner:N")
    values = alt.Chart(data).mark_text(dy=14, fontSize=10, color="gray").encode(x=x, y=y, text="top-5 err (%):Q")
    human = pd.DataFrame({"top-5 err (%)": [HUMAN_TOP5_ERROR], "label": [f"{HUMAN_NOTE}: {HUMAN_TOP5_ERROR}%"]})
    rule = alt.Chart(human).mark_rule(strokeDash=[6, 4], color="gray").encode(y="top-5 err (%):Q")
    note = alt.Chart(human).mark_text(align="right", dy=-7, color="gray", fontSize=11).encode(
        y="top-5 err (%):Q", text="label:N", x=alt.value(600))
    return (line + labels + values + rule + note).properties(
        height=360, title="ILSVRC classification: the winning entry's top-5 error (test set)")


def _zoo_long(table):
    """The zoo's top-1 errors in long form, one row per (network, source), for the bar chart."""
    import pandas as pd

    rows = []
    for _, r in table.iterrows():
        label = f"{r['network']} ({int(r['year'])})"
        for kind, column in (("paper", "top-1 err (%)"), ("published weights", "published top-1 err (%)"),
                             ("measured here", "measured here top-1 err (%)")):
            v = r[column]
            if v is not None and v == v:
                rows.append({"network": label, "order": len(rows), "kind": kind, "top-1 err (%)": float(v),
                             "how": r["how measured"] if kind == "paper" else (
                                 r["weights"] if kind == "published weights" else r["measured with"])})
    return pd.DataFrame(rows)


def zoo_chart(table):
    """The zoo's networks apart from the winners: per network (oldest first), its paper's top-1 error,
    its strongest published weights' and what was measured here, as grouped bars. Names sit on the
    axis, one row each, so they never overlap."""
    import altair as alt

    data = _zoo_long(table)
    networks = list(dict.fromkeys(data["network"]))
    y = alt.Y("network:N", sort=networks, title=None)
    kinds = ["paper", "published weights", "measured here"]
    color = alt.Color("kind:N", title=None, sort=kinds, legend=alt.Legend(orient="bottom"))
    base = alt.Chart(data).encode(y=y, yOffset=alt.YOffset("kind:N", sort=kinds), color=color,
                                  tooltip=["network", "kind", "top-1 err (%)", "how"])
    bars = base.mark_bar().encode(x=alt.X("top-1 err (%):Q", title="top-1 error (%), single model"))
    values = base.mark_text(align="left", dx=3, fontSize=9).encode(x="top-1 err (%):Q", text="top-1 err (%):Q")
    return (bars + values).properties(height=alt.Step(9), title="The zoo: each paper's top-1 error, its published "
                                      "weights', and what was measured here")
