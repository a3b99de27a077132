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


def test_app_image_runs_the_documented_command():
    lines = _instructions(ROOT / "docker" / "Dockerfile.app")
    cmd = [line for line in lines if line.startswith("CMD")][-1]
    argv = json.loads(cmd[3:].strip())  # the exec form is a JSON list
    assert argv[:2] == ["ilsvrc-keras", "app"]  # the page ships in the package
    readme = (ROOT / "docs" / "app.md").read_text()  # the web app's page of the manual
    assert "ilsvrc-keras app" in readme and "streamlit run app/streamlit_app.py" in readme
    assert "docker build -f docker/Dockerfile.app" in readme
    port = argv[argv.index("--port") + 1]
    assert f"-p {port}:{port}" in readme and f"EXPOSE {port}" in lines
    for env in ("ILSVRC_KERAS_WEIGHTS_DIR", "ILSVRC_KERAS_MODELS_DIR"):
        assert env in (ROOT / "docker" / "Dockerfile.app").read_text() and env in readme


def test_build_context_leaves_out_environments_and_runs():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", ".wheel-venv", "runs", "test-artifacts", "dist", ".git"):
        assert path in ignored, path
    for dockerfile in DOCKERFILES:  # nothing a Dockerfile copies is ignored
        for line in _instructions(dockerfile):
            if line.startswith("COPY"):
                assert not set(shlex.split(line)[1:-1]) & set(ignored), line


def _manifests(name):
    import yaml

    return list(yaml.safe_load_all((ROOT / "docker" / "k8s" / name).read_text()))


def test_plain_kubernetes_job_validates_and_derives_tf_config(tmp_path):
    import os
    import subprocess
    import sys

    kv = pytest.importorskip("kubernetes_validate")
    docs = _manifests("job-resnet50.yaml")
    assert [d["kind"] for d in docs] == ["Service", "Job"]
    for doc in docs:
        kv.validate(doc, kv.latest_version(), strict=True)  # raises on any unknown or mistyped field
    service, job = docs
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["completionMode"] == "Indexed" and pod["subdomain"] == service["metadata"]["name"]
    assert pod["containers"][0]["image"].startswith("REGISTRY/")
    # The pod's own shell script, run as each index would run it (its training command swapped for an
    # echo), names the whole cluster and the pod's place in it.
    script = pod["containers"][0]["args"][0]
    assert pod["containers"][0]["command"] == ["/bin/sh", "-c"] and "\nexec python recipes/" in script
    script = script.split("\nexec ")[0] + '\necho "$TF_CONFIG"\n'
    configs = []
    for index in range(job["spec"]["completions"]):
        env = {**os.environ, "WORKERS": str(job["spec"]["completions"]), "JOB_COMPLETION_INDEX": str(index),
               "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
        out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env, check=True)
        configs.append(json.loads(out.stdout))
    hosts = configs[0]["cluster"]["worker"]
    assert hosts == [f"resnet50-imagenet-{i}.resnet50-workers:2222" for i in range(4)]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(4)]


def test_tfjob_pod_template_validates_and_carries_what_kubeflow_needs():
    kv = pytest.importorskip("kubernetes_validate")
    (tfjob,) = _manifests("tfjob-resnet50.yaml")
    assert tfjob["apiVersion"] == "kubeflow.org/v1" and tfjob["kind"] == "TFJob"
    worker = tfjob["spec"]["tfReplicaSpecs"]["Worker"]
    assert worker["replicas"] >= 2 and worker["restartPolicy"] in ("Always", "OnFailure", "Never", "ExitCode")
    template = worker["template"]
    # The pod template is a core Kubernetes object: validated as one.
    kv.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "worker"}, "template": template},
                kv.latest_version(), strict=True)
    assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"  # Istio clusters
    container = template["spec"]["containers"][0]
    assert container["name"] == "tensorflow" and container["image"].startswith("REGISTRY/")
    readme = (ROOT / "docker" / "README.md").read_text()
    assert "docker push" in readme and "REGISTRY" in readme and "job-resnet50.yaml" in readme


def _crd_schema(kind: str) -> dict:
    import gzip

    path = ROOT / "tests" / "fixtures" / "kubeflow" / f"{kind.lower()}-v2.3.0.schema.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))


def test_trainer_v2_trainjob_validates_against_the_crds_and_derives_tf_config():
    """Kubeflow Trainer v2: the TrainingRuntime and the TrainJob validate against the v2.3.0 CRDs' schemas
    (tests/fixtures/kubeflow, made by make_schemas.py from kubeflow/trainer), the pod template against core
    Kubernetes, and the pods' script names the cluster from the JobSet's pod names."""
    import os
    import subprocess
    import sys

    import jsonschema

    kv = pytest.importorskip("kubernetes_validate")
    docs = _manifests("trainjob-resnet50.yaml")
    assert [d["kind"] for d in docs] == ["TrainingRuntime", "TrainJob"]
    for doc in docs:
        schema = _crd_schema(doc["kind"])
        assert doc["apiVersion"] == schema["apiVersion"] and "v2.3.0" in schema["source"]
        jsonschema.validate(doc, schema["openAPIV3Schema"])
    with pytest.raises(jsonschema.ValidationError):  # the schemas do refuse: a mistyped field
        jsonschema.validate({**docs[1], "spec": {**docs[1]["spec"], "trainer": {"numNodes": "four"}}},
                            _crd_schema("TrainJob")["openAPIV3Schema"])
    runtime, job = docs
    assert job["spec"]["runtimeRef"] == {"apiGroup": "trainer.kubeflow.org", "kind": "TrainingRuntime",
                                         "name": runtime["metadata"]["name"]}
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    (node,) = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    template = node["template"]["spec"]["template"]
    kv.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "node"}, "template": template},
                kv.latest_version(), strict=True)
    container = template["spec"]["containers"][0]
    assert container["image"].startswith("REGISTRY/")
    workers = job["spec"]["trainer"]["numNodes"]
    assert {"name": "WORKERS", "value": str(workers)} in job["spec"]["trainer"]["env"]
    script = container["args"][0].split("\nexec ")[0] + '\necho "$TF_CONFIG"\n'
    configs = []
    for index in range(workers):
        env = {**os.environ, "WORKERS": str(workers), "JOB_COMPLETION_INDEX": str(index),
               "JOBSET_NAME": job["metadata"]["name"], "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
        out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env, check=True)
        configs.append(json.loads(out.stdout))
    assert configs[0]["cluster"]["worker"] == [f"resnet50-imagenet-node-0-{i}.resnet50-imagenet:2222" for i in range(4)]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(4)]
