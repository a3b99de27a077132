"""The entry script Streamlit runs for ``ilsvrc-keras app`` (the page itself is :mod:`ilsvrc_keras.app.page`)."""

from ilsvrc_keras.app.page import run

run()
