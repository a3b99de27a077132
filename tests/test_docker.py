"""The Dockerfiles, checked without a Docker engine: what they copy exists, their base matches the
pinned TensorFlow, and the app image runs the command the README documents."""

import json
import re
import shlex

import pytest

from conftest import ROOT

DOCKERFILES = sorted((ROOT / "docker").glob("Dockerfile.*"))


def _instructions(path):
    text = re.sub(r"\\\n", " ", path.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_copied_path_exists_and_the_base_matches_the_pins(dockerfile):
    lines = _instructions(dockerfile)
    for line in lines:
        if line.startswith("COPY"):
            for src in shlex.split(line)[1:-1]:
                assert (ROOT / src).exists(), f"{dockerfile.name}: COPY {src} does not exist"
    tf_pin = re.search(r"^tensorflow==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    base = [line.split()[1] for line in lines if line.startswith("FROM")]
    assert base and all(b.startswith(f"tensorflow/tensorflow:{tf_pin}") for b in base), base
    assert any("requirements.txt" in line for line in lines if line.startswith("RUN"))  # the pinned stack


def test_app_image_runs_the_readmes_command():
    lines = _instructions(ROOT / "docker" / "Dockerfile.app")
    cmd = [line for line in lines if line.startswith("CMD")][-1]
    argv = json.loads(cmd[3:].strip())  # the exec form is a JSON list
    assert argv[:3] == ["streamlit", "run", "app/streamlit_app.py"]
    assert (ROOT / argv[2]).is_file()
    readme = (ROOT / "README.md").read_text()
    assert "streamlit run app/streamlit_app.py" in readme
    assert "docker build -f docker/Dockerfile.app" in readme
    port = argv[argv.index("--server.port") + 1]
    assert f"-p {port}:{port}" in readme and f"EXPOSE {port}" in lines
    for env in ("ILSVRC_KERAS_WEIGHTS_DIR", "ILSVRC_KERAS_MODELS_DIR"):
        assert env in (ROOT / "docker" / "Dockerfile.app").read_text() and env in readme
