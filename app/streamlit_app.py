"""The web demo's entry for `streamlit run app/streamlit_app.py [-- --models-dir DIR]` from the repository.

The page ships inside the package (ilsvrc_keras/app/page.py); `ilsvrc-keras app` starts the same page
from an installed wheel.
"""

from ilsvrc_keras.app.page import run

run()
