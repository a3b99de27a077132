# Web demo image: TensorFlow (CPU), the library and the Streamlit app.
#   docker build -f docker/Dockerfile.app -t ilsvrc-keras-app .
#   docker run -p 8501:8501 -v /path/to/weights:/weights ilsvrc-keras-app
# Weights: mount a folder of keras weight files at /weights (ILSVRC_KERAS_WEIGHTS_DIR), or bake
# some in at build time: --build-arg BAKE_WEIGHTS="mobilenet_0.25_128 resnet50" (keras downloads
# them into its cache inside the image). Fine-tuned model folders: mount them at /models; photos
# to offer as samples at /samples.
FROM tensorflow/tensorflow:2.21.0

WORKDIR /opt/ilsvrc_keras
COPY requirements.txt pyproject.toml README.md ./
# The base image brings TensorFlow; install the rest of the pinned stack beside it.
RUN grep -v '^tensorflow==' requirements.txt > /tmp/req.txt && pip install --no-cache-dir -r /tmp/req.txt
COPY LICENSE ./
COPY ilsvrc_keras ./ilsvrc_keras
# The page ships inside the package; `ilsvrc-keras app` starts it with its server settings.
RUN pip install --no-cache-dir --no-deps .

ARG BAKE_WEIGHTS=""
RUN if [ -n "$BAKE_WEIGHTS" ]; then \
      python -c "import sys, ilsvrc_keras; [ilsvrc_keras.create_model(n, weights='imagenet') for n in sys.argv[1:]]" \
        $BAKE_WEIGHTS; \
    fi

# MALLOC_ARENA_MAX: Streamlit serves each visitor from a thread; capping glibc's per-thread
# arenas keeps the server's memory flat under concurrent visitors (docs/benchmarks.md).
ENV ILSVRC_KERAS_WEIGHTS_DIR=/weights \
    ILSVRC_KERAS_MODELS_DIR=/models \
    ILSVRC_KERAS_SAMPLES_DIR=/samples \
    MALLOC_ARENA_MAX=2 \
    TF_CPP_MIN_LOG_LEVEL=2
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["ilsvrc-keras", "app", "--address", "0.0.0.0", "--port", "8501"]
