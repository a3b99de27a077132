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


def zoo_table(available: Iterable[str] = (), measured: Optional[dict] = None):
    """One row per network of the zoo, oldest first: what the milestones table shows."""
    import pandas as pd

    from ..presets import imagenet_preset
    from ..registry import get_spec, list_models

    available, measured = set(available), measured or {}
    rows = []
    for name in list_models():
        card = get_spec(name).card()
        m = measured.get(name, {})
        rows.append({
            "network": name, "year": card["year"], "paper": card["paper"], "depth": card["depth"],
            "params (M)": round(card["params"] / 1e6, 1), "input (px)": card["input_size"],
            "top-1 err (%)": card["reported_top1_error"], "top-5 err (%)": card["reported_top5_error"],
            "how measured": card["reported_note"],
            "measured here top-1 err (%)": round(m["top1_error"], 1) if m else None,
            "measured here top-5 err (%)": round(m["top5_error"], 1) if m else None,
            "weights": "here" if name in available else ("published" if imagenet_preset(name) else "none published"),
        })
    return pd.DataFrame(rows)


def _long(table):
    """The table's errors in long form: one row per (network, kind), for the charts."""
    import pandas as pd

    rows = []
    for _, r in table.iterrows():
        for kind, column in (("top-5, paper", "top-5 err (%)"), ("top-1, paper", "top-1 err (%)"),
                             ("top-5, measured here", "measured here top-5 err (%)"),
                             ("top-1, measured here", "measured here top-1 err (%)")):
            if r[column] is not None and r[column] == r[column]:  # not None, not NaN
                rows.append({"network": r["network"], "year": int(r["year"]), "paper": r["paper"],
                             "params (M)": r["params (M)"], "error (%)": float(r[column]), "kind": kind,
                             "how measured": r["how measured"] if "paper" in kind else "ilsvrc-keras evaluate"})
    return pd.DataFrame(rows)


def _labelled_points(data, x, tooltip):
    """Filled points, one per (network, kind), each with its network's name beside it."""
    import altair as alt

    y = alt.Y("error (%):Q", title="error (%)", scale=alt.Scale(zero=True))
    color = alt.Color("kind:N", title=None, legend=alt.Legend(orient="bottom"))
    points = alt.Chart(data).mark_point(filled=True, size=90).encode(x=x, y=y, color=color, shape="kind:N",
                                                                      tooltip=tooltip)
    labels = alt.Chart(data).mark_text(align="left", dx=7, fontSize=10).encode(x=x, y=y, text="network:N",
                                                                                 color=color)
    return points + labels


def error_by_year_chart(table):
    """The classic chart: reported error by year, each point labelled with its network, the human
    reference marked."""
    import altair as alt
    import pandas as pd

    chart = _labelled_points(_long(table), alt.X("year:O", title="ILSVRC year"),
                             ["network", "year", "kind", "error (%)", "paper", "how measured"])
    human = pd.DataFrame({"error (%)": [HUMAN_TOP5_ERROR], "label": [f"{HUMAN_NOTE}: {HUMAN_TOP5_ERROR}%"]})
    rule = alt.Chart(human).mark_rule(strokeDash=[6, 4], color="gray").encode(y="error (%):Q")
    note = alt.Chart(human).mark_text(align="left", dy=-7, color="gray", fontSize=11).encode(
        y="error (%):Q", text="label:N", x=alt.value(4))
    return (chart + rule + note).properties(height=380, title="Reported ILSVRC error by year")


def error_by_size_chart(table):
    """Reported error against parameter count (log scale): what each year's accuracy cost."""
    import altair as alt

    x = alt.X("params (M):Q", title="parameters (millions, log scale)", scale=alt.Scale(type="log"))
    chart = _labelled_points(_long(table), x, ["network", "year", "kind", "error (%)", "params (M)", "paper"])
    return chart.properties(height=380, title="Reported error against network size")
