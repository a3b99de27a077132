"""ilsvrc_keras web demo: classify photos and localize the object, with any model the library can open.

    ilsvrc-keras app [--port 8501] [-- --models-dir DIR ...]
    streamlit run app/streamlit_app.py [-- --models-dir DIR ...]     # from a checkout of the repository

The page ships inside the package (``pip install ilsvrc-keras[app]``); both entries run :func:`run`.

A thin layer over the library's public functions (``available_models``, ``load``,
``load_image``, ``Classifier.classify``, ``Localizer.localize``, ``plots.localization_overlay``):
no model code, preprocessing or box logic lives here. Models are loaded once per process and shared
by every session (``st.cache_resource``). Every failure is shown as a message, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from pathlib import Path

import streamlit as st

import ilsvrc_keras
from ilsvrc_keras import localization, plots
from ilsvrc_keras.datasets.ground_truth import IMAGE_EXTENSIONS
from ilsvrc_keras.presets import get_preset, imagenet_preset
from ilsvrc_keras.weights import EMBEDDED_DIR, OFFLINE_ENV, WEIGHTS_DIR_ENV, keras_cache_dir

SAMPLES_ENV = "ILSVRC_KERAS_SAMPLES_DIR"  # a folder of photos offered as samples
MAX_SAMPLES = 50
# What the library reads (ilsvrc_keras.datasets' image extensions), one list: the uploader and its hint agree.
UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in IMAGE_EXTENSIONS)
MAX_PHOTOS = 12  # per page view: more would make one rerun slow for everyone sharing the process
METHODS = {"Grad-CAM": "gradcam", "Grad-CAM++": "gradcam++", "Score-CAM": "scorecam"}
KERAS_CACHE = "keras' cache (`$KERAS_HOME/models`, `~/.keras/models` by default)"
FALLBACK_MODEL = "mobilenet_0.25_128"  # the smallest download (2 MB), named when nothing is available


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ilsvrc-keras app --")
    parser.add_argument("--models-dir", action="append", default=[],
                        help="a fine-tuned model folder, or a folder of them (repeatable)")
    parser.add_argument("--results", action="append", default=[],
                        help="an `ilsvrc-keras evaluate --json` output, shown beside the papers' figures (repeatable)")
    return parser.parse_known_args(sys.argv[1:])[0]


@st.cache_resource(show_spinner="Loading the model (once per server)...")
def get_classifier(key: str) -> "ilsvrc_keras.Classifier":
    return ilsvrc_keras.load(key)


@st.cache_resource(show_spinner="Preparing the localizer (once per server)...")
def get_localizer(key: str) -> localization.Localizer:
    return localization.Localizer(get_classifier(key))


def _upload_limit_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def _no_models_message() -> str:
    weights = get_preset(FALLBACK_MODEL).weights
    # Folders by the setting that names them, never by their path: the page is public on a served machine.
    return (
        f"No model is available on this machine. Put `{weights.file_name}` "
        f"({weights.url}) in the folder `${WEIGHTS_DIR_ENV}` names or in {KERAS_CACHE}"
        + (f", or unset `{OFFLINE_ENV}` to let keras download weights" if os.environ.get(OFFLINE_ENV) else "")
        + ", or give a fine-tuned model folder with `--models-dir`, then reload this page."
    )


def _model_card(choice: "ilsvrc_keras.ModelChoice") -> str:
    card = choice.card
    if choice.source == "folder":  # its own classes and figures; the base network's ILSVRC story is not its own
        lines = [f"Fine-tuned model folder `{Path(choice.key).name}`: {card.get('classes')} classes"
                 + (f", from **{card['fine_tuned_from']}**" if card.get("fine_tuned_from") else "")]
        if card.get("paper"):
            lines.append(f"Architecture: {card.get('family', '')}, from *{card['paper']}* ({card.get('year')})")
        if card.get("image_size") or card.get("input_size"):
            lines.append(f"Input: {card.get('image_size') or card.get('input_size')} px")
        return "\n\n".join(lines)
    lines = []
    if card.get("paper"):
        lines.append(f"**{card.get('family', '')} ({card.get('year')})**: *{card['paper']}*, {card.get('authors', '')}")
    if card.get("reported_top1_error") is not None:
        err = f"{card['reported_top1_error']:g}% top-1"
        if card.get("reported_top5_error") is not None:
            err += f", {card['reported_top5_error']:g}% top-5"
        lines.append(f"Reported ILSVRC error: {err}" + (f" ({card['reported_note']})" if card.get("reported_note") else ""))
    if card.get("params"):
        lines.append(f"Parameters: {card['params'] / 1e6:.1f} M")
    if card.get("input_size") or card.get("image_size"):
        lines.append(f"Input: {card.get('image_size') or card.get('input_size')} px")
    if choice.source == "local":
        lines.append(f"Weights: {_weights_source(choice.weights)}")
    elif choice.source == "download":
        lines.append("Weights: downloaded by keras on first use")
    return "\n\n".join(lines)


def _weights_source(path: str) -> str:
    """Where a weights file came from, in words (the page never shows a server's absolute paths)."""
    where, name = Path(path).parent, Path(path).name
    if os.environ.get(WEIGHTS_DIR_ENV) and where == Path(os.environ[WEIGHTS_DIR_ENV]):
        return f"ImageNet weights `{name}` from the weights folder (`${WEIGHTS_DIR_ENV}`)"
    if where == Path(keras_cache_dir()):
        return f"ImageNet weights `{name}` from keras' cache"
    if where == EMBEDDED_DIR:
        return f"ImageNet weights `{name}` inside the package (available offline)"
    return f"ImageNet weights `{name}`"


def _choices():
    try:
        return ilsvrc_keras.available_models(models_dirs=_args().models_dir)
    except Exception as exc:  # a broken models folder must not take the page down
        st.error(f"Could not list the models: {exc}")
        return []


def _choose_model():
    """The sidebar's model, loaded; None when no model can be opened here (the page then says how to
    get one, and the Milestones view still works)."""
    choices = _choices()
    if not choices:
        st.error(_no_models_message())
        return None
    by_title = {c.title: c for c in choices}
    title = st.sidebar.selectbox("Model", list(by_title), index=0, key="model",
                                 help="Default: the most accurate model whose weights are on this machine")
    choice = by_title[title]
    st.sidebar.markdown(_model_card(choice))
    try:
        get_classifier(choice.key)
        return choice
    except ilsvrc_keras.IlsvrcKerasError as exc:
        st.error(f"Cannot load {_shown(choice)}: {exc}")
    except Exception as exc:  # a damaged weights file or model folder
        st.error(f"Cannot load {_shown(choice)}: {type(exc).__name__}: {exc}")
    return None


def _samples() -> dict:
    """Sample photos by name: the first photos of ``$ILSVRC_KERAS_SAMPLES_DIR``, and matplotlib's
    public-domain photo of Grace Hopper (installed with the stack: the repository ships no photos)."""
    import matplotlib.cbook

    from ilsvrc_keras.datasets import list_images

    folder = os.environ.get(SAMPLES_ENV)
    found = {p.name: p for p in (list_images(folder)[:MAX_SAMPLES] if folder and Path(folder).is_dir() else [])}
    hopper = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    if hopper.is_file():
        found.setdefault(hopper.name, hopper)
    return found


def _gather_photos() -> list[tuple[str, bytes]]:
    """The photos of this page view: uploads, a camera shot, a sample, as ``(name, bytes)``."""
    uploads = st.file_uploader("Upload photos", type=UPLOAD_TYPES, accept_multiple_files=True, key="uploads",
                               help="JPEG, PNG, WebP, BMP, TIFF or GIF (first frame)")
    left, right = st.columns(2)
    samples = _samples()
    sample = left.selectbox("Or try a sample photo", sorted(samples), index=None,
                            placeholder="Pick a sample photo", key="sample")
    shot = right.camera_input("Or take a photo", key="camera") if right.toggle("Use the camera") else None
    photos, limit = [], _upload_limit_bytes()
    for f in list(uploads or []) + ([shot] if shot is not None else []):
        if f.size > limit:
            st.error(f"{md(f.name)}: {f.size / 2**20:.1f} MB is over the upload limit of {limit // 2**20} MB.")
        else:
            photos.append((f.name, f.getvalue()))
    if sample:
        photos.append((sample, samples[sample].read_bytes()))
    if len(photos) > MAX_PHOTOS:
        st.warning(f"{len(photos)} photos given; showing the first {MAX_PHOTOS}.")
    return photos[:MAX_PHOTOS]


THUMBNAIL = 480  # pixels on the longest side of the photo shown beside its classes


@st.cache_data(max_entries=512, show_spinner=False)
def _classified(key: str, data: bytes):
    """Top-5 and a display thumbnail of one photo, computed once per (model, photo) for all visitors.

    Reruns (a new upload, a widget change) then cost no decoding or inference for the photos
    already on the page. Bad images raise and are not cached."""
    array = ilsvrc_keras.load_image(io.BytesIO(data))
    preds = get_classifier(key).classify(array, top=5)
    return preds, plots.thumbnail(array, THUMBNAIL)


def _checked(key, photos):
    """``(name, bytes, top-5, thumbnail)`` of each readable photo; a bad file is reported and
    skipped, never fatal. A network that fails on a readable photo is reported as the network's
    fault, not the photo's."""
    good = []
    for name, data in photos:
        try:
            array = ilsvrc_keras.load_image(io.BytesIO(data))
        except ilsvrc_keras.ImageError as exc:
            st.error(f"{md(name)}: {md(str(exc).split(': ', 1)[-1])}")
            continue
        except Exception as exc:  # a decoder failure we did not foresee still gets a readable line
            st.error(f"{md(name)}: cannot read this image ({type(exc).__name__})")
            continue
        del array
        try:
            good.append((name, data, *_classified(key, data)))
        except Exception as exc:
            import logging

            logging.getLogger("ilsvrc_keras.app").exception("%s failed on %s", key, name)
            st.error(f"{md(key)} failed on {md(name)} ({type(exc).__name__}); the photo itself reads fine. "
                     "Try another network.")
    return good


# What makes inline Markdown (emphasis, code, links, HTML, strike-through, maths, tables, headings);
# "(", ")" and "!" only act after a "]" or before a "[", which are escaped; ":" stops bare-URL autolinks.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>~$|#:])")
_LIST_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-+])")


def md(text) -> str:
    """``text`` shown as itself where Streamlit renders Markdown (file names are the visitor's:
    ``**x**.jpg`` or ``[a](http://...)`` must not become formatting or links)."""
    out = _MARKDOWN.sub(r"\\\1", str(text))
    return _LIST_START.sub(lambda m: (m.group(1) or "") + (m.group(2) or "") + "\\" + m.group(3)
                           if m.group(2) else (m.group(4) or "") + "\\" + m.group(5), out)


def classify_view(photos) -> None:
    import pandas as pd

    for i, (name, _, preds, thumb) in enumerate(photos):
        if i:
            st.divider()
        pic, chart = st.columns([2, 3])
        pic.image(thumb, caption=name, width="stretch", output_format="JPEG")
        # The answer and its top-5 right under the photo's name; the chart below them.
        chart.markdown(f"**{md(name)}**: {preds[0].name} ({preds[0].probability:.1%})")
        chart.markdown("\n".join(f"{i}. {p.name}: {p.probability:.1%}" for i, p in enumerate(preds, 1)))
        frame = pd.DataFrame({"class": [p.name for p in preds], "probability": [p.probability for p in preds]})
        chart.bar_chart(frame, x="class", y="probability", horizontal=True, sort="-probability", height=180)


def localization_view(choice, photos) -> None:
    names = [n for n, *_ in photos]
    name = st.selectbox("Photo", names, key="loc_photo") if len(names) > 1 else names[0]
    _, data, preds, _ = photos[names.index(name)]
    options = {f"{p.name} ({p.probability:.1%})": p.label for p in preds}
    c1, c2, c3 = st.columns(3)
    picked = c1.selectbox("Class", list(options), key="loc_class")
    method = c2.selectbox("Method", list(METHODS), key="loc_method",
                          help="Score-CAM is the most faithful and about 20x slower")
    threshold = c3.slider("Box threshold", 0.05, 0.95, localization.DEFAULT_THRESHOLD, 0.05, key="loc_threshold",
                          help="The box covers the heat map at or above this fraction of its peak")
    try:
        array = ilsvrc_keras.load_image(io.BytesIO(data))
        localizer = get_localizer(choice.key)
        with st.spinner(f"{method} for {picked}..."):
            found = localizer.localize(array, method=METHODS[method], threshold=threshold,
                                       classes=[options[picked]])
    except ilsvrc_keras.IlsvrcKerasError as exc:
        st.error(f"Cannot localize with {_shown(choice)}: {exc}")
        return
    picture = plots.localization_overlay(array, found)
    x0, y0, x1, y1 = (round(v) for v in found[0].box)
    left, right = st.columns([3, 2])
    left.image(picture, caption=f"{found[0].name}: box ({x0}, {y0}) to ({x1}, {y1})", width="stretch")
    right.markdown(f"**{found[0].name}** ({found[0].probability:.1%})\n\n"
                   f"Box: x {x0} to {x1}, y {y0} to {y1} in the photo's {array.shape[1]} x {array.shape[0]} pixels; "
                   f"it covers the heat map at or above {threshold:.0%} of its peak ({method}).")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    right.download_button("Download the overlay (PNG)", buffer.getvalue(), mime="image/png",
                       file_name=f"{Path(name).stem}-{found[0].label}-{METHODS[method]}.png")


def _pick_photo(photos, key: str):
    names = [n for n, *_ in photos]
    name = st.selectbox("Photo", names, key=key) if len(names) > 1 else names[0]
    return photos[names.index(name)]


@st.cache_data(max_entries=256, show_spinner=False)
def _compared(key: str, data: bytes):
    """One network's top-5 for a photo and its latency (the second of two calls: no tracing, no load)."""
    import time

    clf = get_classifier(key)
    array = ilsvrc_keras.load_image(io.BytesIO(data))
    clf.classify(array, top=5)
    t = time.perf_counter()
    preds = clf.classify(array, top=5)
    return preds, (time.perf_counter() - t) * 1e3


def _shown(choice) -> str:
    """A model's name on the page: a folder by its title (its name, base and classes), never its path."""
    return choice.title if choice.source == "folder" else choice.key


def _year(choice):
    return None if choice.source == "folder" else choice.card.get("year")  # a fine-tuned model is not its base's year


def compare_view(photos) -> None:
    """Every network whose weights are here (and the fine-tuned folders) on one photo."""
    import pandas as pd

    choices = [c for c in _choices() if c.source in ("local", "folder")]
    name, data, *_ = _pick_photo(photos, "cmp_photo")
    rows = []
    for c in choices:
        try:
            with st.spinner(f"{_shown(c)}..."):
                preds, ms = _compared(c.key, data)
        except Exception as exc:  # one broken model must not hide the others
            rows.append({"network": _shown(c), "year": _year(c), "answer": f"cannot run: {exc}"})
            continue
        rows.append({"network": _shown(c), "year": _year(c),
                     "answer": f"{preds[0].name} ({preds[0].probability:.1%})",
                     "top-5": "; ".join(f"{p.name} {p.probability:.0%}" for p in preds),
                     "latency (ms)": round(ms, 1)})
    st.markdown(f"**{md(name)}** through every network available here ({len(rows)})")
    # A static table: every cell whole (a data grid cuts the top-5 column to its width).
    st.table(pd.DataFrame(rows).set_index("network"))
    if len(rows) <= 1:
        missing = [n for n in ilsvrc_keras.list_models()
                   if imagenet_preset(n) is not None and n not in {c.key for c in choices}]
        where = f"the folder `${WEIGHTS_DIR_ENV}` names"
        st.info(f"Only one network is available here. With their ImageNet weights, these would appear beside it: "
                f"{', '.join(missing)}. Fetch their files with `ilsvrc-keras weights download NAME...` on a machine "
                f"online, or put the published files (e.g. `{get_preset('resnet34').weights.file_name}` from "
                f"torchvision, `{get_preset('resnet50').weights.file_name}` from keras) in {where} or in {KERAS_CACHE}, "
                f"or start the app online so that keras downloads them "
                f"(`ilsvrc-keras app` without `{OFFLINE_ENV}`); fine-tuned folders come with `--models-dir`.")


EXPLAIN = {"Grad-CAM": "gradcam", "Grad-CAM++": "gradcam++", "CAM": "cam"}


@st.cache_data(max_entries=128, show_spinner=False)
def _explained(key: str, data: bytes, label: str, method: str, threshold: float):
    """One method's heat map and box for one class of a photo, as an overlay PNG, cached for all visitors."""
    import time

    array = ilsvrc_keras.load_image(io.BytesIO(data))
    t = time.perf_counter()
    found = get_localizer(key).localize(array, method=method, threshold=threshold, classes=[label])
    seconds = time.perf_counter() - t
    buffer = io.BytesIO()
    plots.localization_overlay(array, found).save(buffer, format="PNG")
    return buffer.getvalue(), tuple(round(v) for v in found[0].box), seconds


def explanations_view(choice, photos) -> None:
    """One photo and class through every class activation method, side by side."""
    name, data, preds, _ = _pick_photo(photos, "exp_photo")
    options = {f"{p.name} ({p.probability:.1%})": p.label for p in preds}
    left, right = st.columns([2, 1])
    picked = left.selectbox("Class", list(options), key="exp_class")
    slow = right.checkbox("Also Score-CAM", key="exp_scorecam",
                          help="One forward pass per feature channel: about 20x the time of Grad-CAM")
    methods = {**EXPLAIN, **({"Score-CAM": "scorecam"} if slow else {})}
    st.caption(f"{md(name)}: where {_shown(choice)} looks for **{picked}**, by each method; boxes cover the heat map at or "
               f"above {localization.DEFAULT_THRESHOLD:.0%} of its peak.")
    for column, (title, method) in zip(st.columns(len(methods)), methods.items()):
        try:
            with st.spinner(f"{title}..."):
                png, (x0, y0, x1, y1), seconds = _explained(choice.key, data, options[picked], method,
                                                          localization.DEFAULT_THRESHOLD)
        except ilsvrc_keras.IlsvrcKerasError as exc:
            column.warning(f"{title}: {exc}")
            continue
        column.image(png, caption=f"{title}: box ({x0}, {y0}) to ({x1}, {y1}), {seconds:.1f} s", width="stretch")


def milestones_view() -> None:
    """The challenge's story: the zoo's reported errors by year and by size, and the zoo's table."""
    from . import story

    measured = story.read_results(_args().results)
    for path in measured.pop("__unreadable__", []):
        st.warning(f"{Path(path).name}: not an `ilsvrc-keras evaluate --json` result")
    available = [c.key for c in _choices() if c.source == "local"]
    table = story.zoo_table(available, measured)
    st.markdown("From hand-designed features in 2010 to AlexNet's win in 2012 and SENet's in 2017, each year's "
                "winner cut the ImageNet challenge's error, until the top-5 error went below the human reference.")
    st.altair_chart(story.winners_chart(), width="stretch", key="chart_year")
    st.markdown("The zoo's networks: each paper's own top-1 error (protocols differ: see *how measured*), the "
                "strongest published weights' top-1 error (their publisher's evaluation)"
                + (", and `ilsvrc-keras evaluate` results given with `--results`." if measured else "."))
    st.altair_chart(story.zoo_chart(table), width="stretch", key="chart_size")
    st.dataframe(table, hide_index=True, width="stretch", key="zoo_table")


VIEWS = ("Classify", "Localization", "Explanations", "Compare networks", "Milestones")


def main() -> None:
    st.set_page_config(page_title="ILSVRC classify & localize", layout="wide")
    # Wherever the server was started (no .streamlit/config.toml beside it): never a traceback.
    st.set_option("client.showErrorDetails", "none")
    st.set_option("client.toolbarMode", "minimal")
    st.title("ILSVRC: classify, localize, and the challenge's story")
    choice = _choose_model()
    photos = _checked(choice.key, _gather_photos()) if choice else []
    tabs = dict(zip(VIEWS, st.tabs(list(VIEWS), key="view", on_change="rerun")))
    # Only the open tab runs: Grad-CAM is not paid for by visitors who only classify.
    for i, (name, tab) in enumerate(tabs.items()):
        if not (tab.open or (tab.open is None and i == 0)):
            continue
        with tab:
            if name == "Milestones":
                milestones_view()
            elif choice is None:
                st.info("No model is available here yet (see above); the Milestones view works without one.")
            elif not photos:
                st.info("Upload a photo, take one, or pick a sample to see "
                        + {"Classify": "its top-5 classes.", "Localization": "where the network looks.",
                           "Explanations": "how the explanation methods differ.",
                           "Compare networks": "every available network's answer."}[name])
            elif name == "Classify":
                classify_view(photos)
            elif name == "Localization":
                localization_view(choice, photos)
            elif name == "Explanations":
                explanations_view(choice, photos)
            else:
                compare_view(photos)


def run() -> None:
    """One run of the page (Streamlit reruns the entry script on every interaction)."""
    # st.stop() and reruns raise BaseExceptions, which pass through this net.
    try:
        main()
    except Exception as exc:  # last resort: a visitor sees a sentence, the log gets the details
        import logging

        logging.getLogger("ilsvrc_keras.app").exception("page failed")
        st.error(f"Something went wrong ({type(exc).__name__}); the details are in the server's log.")
