"""The Streamlit app through streamlit.testing (AppTest): classify, localize, bad inputs, model choice."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import ilsvrc_keras  # noqa: E402
from ilsvrc_keras.app.page import md  # noqa: E402  (the escaping the page applies to file names)

from conftest import ROOT, flower_subset  # noqa: E402

APP = str(ROOT / "app" / "streamlit_app.py")
PHOTO = "ILSVRC2012_val_00000010.JPEG"


@pytest.fixture
def app_env(monkeypatch, mobilenet_weights, val_sample, tmp_path):
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(mobilenet_weights.parent))
    monkeypatch.setenv("ILSVRC_KERAS_SAMPLES_DIR", str(val_sample / "images"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # keras' own cache: empty
    monkeypatch.delenv("ILSVRC_KERAS_MODELS_DIR", raising=False)


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=180).run()


def _texts(at) -> str:
    return "\n".join([m.value for m in at.main.markdown] + [c.value for c in at.main.caption])


def _shown(at) -> list:
    """The names of the photos classified on the page, in order (as a visitor reads them: the page
    escapes Markdown in file names)."""
    return [re.sub(r"\\(.)", r"\1", m.value.split("**")[1]) for m in at.main.markdown
            if m.value.startswith("**") and "**:" in m.value]


def _clean(at):
    assert not at.exception, [e.value for e in at.exception]  # never a traceback in the page
    return at


def _upload(at, files):
    at.file_uploader(key="uploads").set_value(files)
    return _clean(at.run())


def _jpeg(photo: Path) -> tuple:
    return (photo.name, photo.read_bytes(), "image/jpeg")


def _encoded(array, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_default_model_offline_is_the_available_one_with_its_card(app_env, mobilenet_weights):
    at = _clean(_app())
    model = at.sidebar.selectbox(key="model")
    assert model.options == ["mobilenet_0.25_128 (2017, 41.5% top-1)"] and model.index == 0  # the published figure
    card = "\n".join(m.value for m in at.sidebar.markdown)
    assert "MobileNets" in card and "58.5% top-1" in card and "0.5 M" in card and "128 px" in card
    # where the weights came from, in words; never the server's absolute path
    assert "from the weights folder" in card and str(mobilenet_weights.parent) not in card
    assert not at.error and len(at.info) == 1 and "top-5" in at.info[0].value  # only the open view runs


def test_upload_real_jpeg_shows_the_libraries_top5(app_env, val_sample, mobilenet):
    photo = val_sample / "images" / PHOTO
    expected = mobilenet.classify(photo, top=5)
    at = _upload(_app(), [_jpeg(photo)])
    text = _texts(at)
    assert f"**{md(PHOTO)}**: {expected[0].name} ({expected[0].probability:.1%})" in text
    for i, p in enumerate(expected, 1):
        assert f"{i}. {p.name}: {p.probability:.1%}" in text
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the bar chart is there


def test_every_upload_format_gives_the_same_answer(app_env, val_sample, mobilenet):
    photo = val_sample / "images" / PHOTO
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    expected = mobilenet.classify(rgb, top=1)[0].name
    files = [("a.png", _encoded(rgb, "PNG"), "image/png"), ("b.webp", _encoded(rgb, "WEBP", lossless=True), "image/webp"),
             ("c.bmp", _encoded(rgb, "BMP"), "image/bmp"), ("d.gif", _encoded(rgb, "GIF"), "image/gif"),
             ("e.tif", _encoded(rgb, "TIFF"), "image/tiff")]
    at = _upload(_app(), files)
    assert not at.error
    tops = [m.value for m in at.main.markdown if m.value.startswith("**") and "**:" in m.value]
    assert _shown(at) == ["a.png", "b.webp", "c.bmp", "d.gif", "e.tif"]
    # Lossless formats give the photo's class; the GIF's 256-colour palette may move it, not break it.
    assert all(expected in t for t in tops[:3] + tops[4:]), tops


def test_sample_photos_classify(app_env, val_sample, mobilenet, monkeypatch):
    import matplotlib.cbook

    hopper = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    at = _clean(_app())
    sample = at.selectbox(key="sample")
    assert {PHOTO, "grace_hopper.jpg"} <= set(sample.options) and len(sample.options) == 51  # 50 + Hopper
    for name, path in ((PHOTO, val_sample / "images" / PHOTO), ("grace_hopper.jpg", hopper)):
        top = mobilenet.classify(path, top=1)[0]
        at = _clean(at.selectbox(key="sample").set_value(name).run())
        assert f"**{md(name)}**: {top.name} ({top.probability:.1%})" in _texts(at)
    # Without a samples folder, the photo installed with matplotlib is still offered.
    monkeypatch.delenv("ILSVRC_KERAS_SAMPLES_DIR")
    assert _clean(_app()).selectbox(key="sample").options == ["grace_hopper.jpg"]


@pytest.mark.slow
def test_localization_view_overlay_and_download(app_env, val_sample):
    photo = val_sample / "images" / PHOTO
    at = _upload(_app(), [_jpeg(photo)])
    at.session_state["view"] = "Localization"
    at = _clean(at.run())
    assert not at.error
    classes = at.selectbox(key="loc_class")
    assert len(classes.options) == 5
    assert at.selectbox(key="loc_method").options == ["Grad-CAM", "Grad-CAM++", "Score-CAM"]
    assert at.get("image"), "no overlay image"
    download = at.get("download_button")
    assert download and "PNG" in download[0].proto.label
    # Another class, method and threshold: still an overlay, and the box follows the threshold.
    caption1 = _box_caption(at)
    x0, y0, x1, y1 = map(int, re.findall(r"-?\d+", caption1.split("box")[1]))
    width, height = Image.open(photo).size
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, caption1
    at = _clean(at.selectbox(key="loc_class").set_value(classes.options[1]).run())
    at = _clean(at.selectbox(key="loc_method").set_value("Grad-CAM++").run())
    caption2 = _box_caption(at)
    at = _clean(at.slider(key="loc_threshold").set_value(0.9).run())
    caption3 = _box_caption(at)
    assert classes.options[1].split(" (")[0] in caption2
    assert caption3 != caption2 and caption1
    assert not at.error


def _box_caption(at) -> str:
    return at.get("image")[-1].captions[0]


def test_bad_files_each_get_a_message_and_good_ones_still_classify(app_env, val_sample, tmp_path):
    photo = val_sample / "images" / PHOTO
    data = photo.read_bytes()
    buf = io.BytesIO()
    Image.open(photo).convert("CMYK").save(buf, format="JPEG")
    cmyk = buf.getvalue()
    sixteen = io.BytesIO()
    Image.fromarray((np.asarray(Image.open(photo).convert("L"), np.uint16) * 257)).save(sixteen, format="PNG")
    rgba = _encoded(np.dstack([np.asarray(Image.open(photo).convert("RGB")),
                               np.full(Image.open(photo).size[::-1], 200, np.uint8)]), "PNG")
    bomb = io.BytesIO()
    Image.new("1", (12_000, 9_000)).save(bomb, format="PNG")  # 108 megapixels in a few kB
    files = [
        ("notes.jpg", b"these are not pixels", "image/jpeg"),
        ("empty.png", b"", "image/png"),
        ("truncated.jpg", data[: len(data) // 3], "image/jpeg"),
        ("corrupt.jpg", data[:600] + bytes(range(256)) * 40, "image/jpeg"),
        ("bomb.png", bomb.getvalue(), "image/png"),
        ("cmyk.jpg", cmyk, "image/jpeg"),
        ("gray16.png", sixteen.getvalue(), "image/png"),
        ("rgba.png", rgba, "image/png"),
        (PHOTO, data, "image/jpeg"),
    ]
    at = _upload(_app(), files)
    errors = "\n".join(e.value for e in at.error)
    for name in ("notes.jpg", "empty.png", "truncated.jpg", "corrupt.jpg", "bomb.png"):
        assert name in errors, (name, errors)
    assert "megapixels" in errors or "pixels" in errors
    assert "Traceback" not in errors
    shown = _shown(at)
    assert shown == ["cmyk.jpg", "gray16.png", "rgba.png", PHOTO]
    # Localization with only the good photos offered.
    at.session_state["view"] = "Localization"
    at = _clean(at.run())
    assert at.selectbox(key="loc_photo").options == shown


def test_file_names_are_text_and_a_thin_strip_costs_no_memory(app_env, val_sample):
    """A visitor's file name is shown as itself (no Markdown: no bold, no link), and a 20000x1 PNG (a few
    hundred bytes whose resize to the network's input would take gigabytes) is refused from its header."""
    import psutil

    photo = val_sample / "images" / PHOTO
    strip = _encoded(np.full((1, 20_000, 3), 120, np.uint8), "PNG")
    assert len(strip) < 5_000
    at = _app()
    rss = psutil.Process().memory_info().rss
    at = _upload(at, [("**bold** [link](http://example.com).jpg", photo.read_bytes(), "image/jpeg"),
                      ("strip.png", strip, "image/png")])
    grown = psutil.Process().memory_info().rss - rss
    assert grown < 300 * 2**20, grown  # one photo classified; the strip decoded nothing
    errors = "\n".join(e.value for e in at.error)
    assert "strip.png" in errors and "strip, not a photo" in errors
    heading = next(m.value for m in at.main.markdown if m.value.startswith("**") and "**:" in m.value)
    assert heading.startswith(f"**{md('**bold** [link](http://example.com).jpg')}**:")  # escaped: shown as typed
    assert "\\*\\*bold\\*\\*" in heading and "\\[link\\](http\\://" in heading
    assert _shown(at) == ["**bold** [link](http://example.com).jpg"]


def test_upload_over_the_size_limit_is_refused(app_env, val_sample):
    from streamlit import config

    old = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        big = val_sample / "images" / PHOTO
        payload = big.read_bytes() + b"\0" * (1024 * 1024)  # a valid JPEG padded past 1 MB
        at = _upload(_app(), [("big.jpg", payload, "image/jpeg")])
    finally:
        config.set_option("server.maxUploadSize", old)
    assert any("over the upload limit of 1 MB" in e.value for e in at.error)
    assert _shown(at) == []


def test_config_sets_an_upload_limit_and_hides_tracebacks():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 1 <= config["server"]["maxUploadSize"] <= 50
    assert config["client"]["showErrorDetails"] == "none"


def test_a_fresh_install_offline_serves_the_network_inside_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("ILSVRC_KERAS_MODELS_DIR", raising=False)
    at = _clean(_app())
    assert at.sidebar.selectbox(key="model").options == ["mobilenet_0.25_128 (2017, 41.5% top-1)"]
    assert "inside the package" in "\n".join(m.value for m in at.sidebar.markdown) and not at.error


def test_no_weights_offline_names_the_file_and_where(monkeypatch, tmp_path):
    import ilsvrc_keras.weights

    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("ILSVRC_KERAS_MODELS_DIR", raising=False)
    monkeypatch.setattr(ilsvrc_keras.weights, "EMBEDDED_DIR", tmp_path / "removed")  # a package without its file
    at = _clean(_app())
    message = at.error[0].value
    assert "mobilenet_2_5_128_tf.h5" in message and "ILSVRC_KERAS_WEIGHTS_DIR" in message
    assert str(tmp_path) not in message  # the page is public: no server path
    assert "ILSVRC_KERAS_OFFLINE" in message
    assert "Milestones view works without one" in at.info[0].value
    # The challenge's story needs no model: both charts and the zoo's table, no weights here.
    at.session_state["view"] = "Milestones"
    at = _clean(at.run())
    assert len(_charts(at)) == 2
    table = at.dataframe[0].value
    assert "yes" not in set(table["here"]) and len(table) == len(ilsvrc_keras.list_models())


@pytest.mark.slow
def test_fine_tuned_folder_is_offered_and_names_its_classes(app_env, monkeypatch, flowers, mobilenet_weights,
                                                            tmp_path):
    data = flower_subset(flowers, tmp_path / "data", ("daisy", "tulip"), 10)
    out = tmp_path / "models" / "my-flowers"
    ilsvrc_keras.fine_tune(data, model="mobilenet_0.25_128", weights=mobilenet_weights, out=out,
                           head_epochs=1, epochs=0, batch_size=8, progress=False)
    (tmp_path / "models" / "half-written").mkdir()  # not a model folder: not offered
    monkeypatch.setenv("ILSVRC_KERAS_MODELS_DIR", str(tmp_path / "models"))
    at = _clean(_app())
    options = at.sidebar.selectbox(key="model").options
    assert options[0].startswith("mobilenet_0.25_128")  # ImageNet model stays the default
    assert options[1:] == ["my-flowers (mobilenet_0.25_128, 2 classes)"]
    at = _clean(at.sidebar.selectbox(key="model").set_value(options[1]).run())
    card = "\n".join(m.value for m in at.sidebar.markdown)
    assert "`my-flowers`: 2 classes" in card and "from **mobilenet_0.25_128**" in card
    assert "Reported ILSVRC error" not in card and "58.5" not in card and str(tmp_path) not in card
    photo = next((data / "tulip").iterdir())
    at = _upload(at, [(photo.name, photo.read_bytes(), "image/jpeg")])
    listing = [m.value for m in at.main.markdown if m.value.startswith("1. ")][0]
    assert {line.split(". ", 1)[1].split(":")[0] for line in listing.splitlines()} == {"daisy", "tulip"}
    json.loads((out / "labels.json").read_text())
    # The same folder given on the command line (`streamlit run app/streamlit_app.py -- --models-dir DIR`).
    import sys

    monkeypatch.delenv("ILSVRC_KERAS_MODELS_DIR")
    monkeypatch.setattr(sys, "argv", ["streamlit_app.py", "--models-dir", str(out)])
    assert _clean(_app()).sidebar.selectbox(key="model").options == options


def test_camera_shot_is_classified(app_env, val_sample, mobilenet):
    photo = val_sample / "images" / "ILSVRC2012_val_00000020.JPEG"
    expected = mobilenet.classify(photo, top=1)[0]
    at = _clean(_app())
    assert not at.camera_input  # the camera asks for permission only once the visitor opts in
    at = _clean(at.toggle[0].set_value(True).run())
    at.camera_input[0].set_value(("camera.jpg", photo.read_bytes(), "image/jpeg"))
    at = _clean(at.run())
    assert f"{expected.name} ({expected.probability:.1%})" in _texts(at)


def _charts(at):
    return at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_milestones_view_charts_the_zoo_and_measured_figures(app_env, val_sample, mobilenet_weights, tmp_path,
                                                            monkeypatch):
    import sys

    result = ilsvrc_keras.evaluate(val_sample / "images", labels=val_sample / "LOC_val_solution.csv",
                                   model="mobilenet_0.25_128", weights=mobilenet_weights, limit=20, progress=False)
    (tmp_path / "mobilenet.json").write_text(json.dumps(result))
    (tmp_path / "junk.json").write_text("{not json")
    monkeypatch.setattr(sys, "argv", ["streamlit_app.py", "--results", str(tmp_path / "mobilenet.json"),
                                      "--results", str(tmp_path / "junk.json")])
    at = _clean(_app())
    at.session_state["view"] = "Milestones"
    at = _clean(at.run())
    charts = _charts(at)
    assert len(charts) == 2
    year_chart = json.dumps(json.loads(charts[0].proto.spec))
    assert '"rule"' in year_chart and "ILSVRC year" in year_chart  # the human reference is drawn as a rule
    zoo_chart = json.dumps(json.loads(charts[1].proto.spec))
    assert "measured here" in zoo_chart and "mobilenet_0.25_128 (2017)" in zoo_chart
    table = at.dataframe[0].value.set_index("network")
    assert list(table.index) == ilsvrc_keras.list_models()  # every network, oldest first
    assert table.loc["resnet152", "depth"] == 152 and table.loc["vgg16", "top-5 err (%)"] == 7.2
    assert table.loc["mobilenet_0.25_128", "here"] == "yes" and table.loc["zfnet", "weights"] == "none published"
    assert table.loc["alexnet_owt", "weights"] == "alexnet.tv_in1k"
    assert table.loc["mobilenet_0.25_128", "measured with"] == "mobilenet_0.25_128"
    assert table.loc["mobilenet_0.25_128", "measured here top-1 err (%)"] == round(100 * result["top1_error"], 1)
    assert any("junk.json" in w.value for w in at.warning)  # a bad results file is named, not fatal


@pytest.mark.slow
def test_compare_view_runs_every_available_network(app_env, val_sample, mobilenet, mobilenet_weights, flowers,
                                                    tmp_path, monkeypatch):
    photo = val_sample / "images" / PHOTO
    at = _upload(_app(), [_jpeg(photo)])
    at.session_state["view"] = "Compare networks"
    at = _clean(at.run())
    rows = at.table[0].value
    top = mobilenet.classify(photo, top=1)[0]
    assert list(rows.index) == ["mobilenet_0.25_128"] and rows.loc["mobilenet_0.25_128", "year"] == 2017
    assert rows.iloc[0]["answer"] == f"{top.name} ({top.probability:.1%})" and rows.iloc[0]["latency (ms)"] > 0
    assert rows.iloc[0]["top-5"].count("%") == 5  # the whole top-5, in a table that does not cut it
    assert "resnet50" in at.info[0].value and "ILSVRC_KERAS_WEIGHTS_DIR" in at.info[0].value  # what else could run
    # A fine-tuned folder joins the comparison.
    data = flower_subset(flowers, tmp_path / "data", ("daisy", "tulip"), 8)
    ilsvrc_keras.fine_tune(data, weights=mobilenet_weights, out=tmp_path / "models" / "tiny", head_epochs=1,
                           epochs=0, batch_size=8, progress=False)
    monkeypatch.setenv("ILSVRC_KERAS_MODELS_DIR", str(tmp_path / "models"))
    at = _upload(_app(), [_jpeg(photo)])
    at.session_state["view"] = "Compare networks"
    at = _clean(at.run())
    rows = at.table[0].value
    assert list(rows.index) == ["mobilenet_0.25_128", "tiny (mobilenet_0.25_128, 2 classes)"]  # a name, no path
    assert rows.iloc[1]["answer"].split(" (")[0] in ("daisy", "tulip") and not at.info
    assert rows.iloc[1]["year"] in (None, "") or rows.iloc[1]["year"] != rows.iloc[1]["year"]  # not its base's year
    assert str(tmp_path) not in _texts(at)


@pytest.mark.slow
def test_explanations_view_shows_each_method_side_by_side(app_env, val_sample):
    at = _upload(_app(), [_jpeg(val_sample / "images" / PHOTO)])
    at.session_state["view"] = "Explanations"
    at = _clean(at.run())
    captions = [img.captions[0] for img in at.get("image")]  # only the open view renders: the overlays
    assert [c.split(":")[0] for c in captions] == ["Grad-CAM", "Grad-CAM++", "CAM"], captions
    at = _clean(at.checkbox(key="exp_scorecam").check().run())
    captions = [img.captions[0] for img in at.get("image")]
    assert [c.split(":")[0] for c in captions] == ["Grad-CAM", "Grad-CAM++", "CAM", "Score-CAM"]
    width, height = Image.open(val_sample / "images" / PHOTO).size
    for caption in captions:  # each method's own box, inside the photo
        x0, y0, x1, y1 = map(int, re.findall(r"-?\d+", caption.split("box")[1])[:4])
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, caption


def test_story_charts_carry_the_human_reference_and_every_reported_figure():
    from ilsvrc_keras.app import story

    spec = story.winners_chart().to_dict()
    data = [row for rows in spec["datasets"].values() for row in rows]
    assert {"top-5 err (%)": story.HUMAN_TOP5_ERROR, "label": f"{story.HUMAN_NOTE}: 5.1%"} in data
    winners = [r for r in data if "winner" in r]
    years = [r["year"] for r in winners]
    assert years == list(range(2010, 2018)) and len(set(years)) == len(years)  # one point a year: no two labels meet
    assert [r["top-5 err (%)"] for r in winners] == sorted([r["top-5 err (%)"] for r in winners], reverse=True)

    table = story.zoo_table(available=["mobilenet_0.25_128"],
                            measured={"resnet50.tv2_in1k": {"top1_error": 21.0, "top5_error": 5.0, "n": 100},
                                      "some/folder": {"top1_error": 1.0, "top5_error": 0.0, "n": 3}})
    zoo = story.zoo_chart(table).to_dict()
    bars = [row for rows in zoo["datasets"].values() for row in rows]
    reported = sum(v is not None and v == v for v in table["top-1 err (%)"])
    assert sum(r["kind"] == "paper" for r in bars) == reported  # one bar per reported figure, none invented
    published = {r["network"]: r["top-1 err (%)"] for r in bars if r["kind"] == "published weights"}
    assert published["resnet50b (2016)"] == pytest.approx(100 - 80.858, abs=0.01)
    assert published["googlenet_bn (2015)"] == pytest.approx(100 - 69.778, abs=0.01)
    measured = [r for r in bars if r["kind"] == "measured here"]
    assert [(r["network"], r["how"]) for r in measured] == [("resnet50b (2016)", "resnet50.tv2_in1k")]
    with_top1 = table[table[["top-1 err (%)", "published top-1 err (%)", "measured here top-1 err (%)"]].notna().any(
        axis=1)]
    labels = list(dict.fromkeys(r["network"] for r in bars))
    assert labels == [f"{n} ({y})" for n, y in zip(with_top1["network"], with_top1["year"])]  # one row each, in order
    assert "googlenet" not in with_top1["network"].tolist()  # its paper gives top-5 only: nothing is invented
