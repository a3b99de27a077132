"""The Streamlit web demo, shipped in the package: ``ilsvrc-keras app`` starts it (see :mod:`.page`).

Importing this package does not import Streamlit; :data:`SCRIPT` is the entry script Streamlit runs.
"""

from pathlib import Path

SCRIPT = Path(__file__).with_name("streamlit_app.py")

# The server settings the page is meant to run with, wherever it is started from
# (the repository's .streamlit/config.toml holds the same for `streamlit run app/streamlit_app.py`).
SERVER_OPTIONS = {
    "server.maxUploadSize": "25",  # megabytes per uploaded file; the page repeats the check readably
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
}
