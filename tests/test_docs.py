"""The documents a newcomer reads: a short front page, manual pages that exist, and paths a user has."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) < 250


def test_every_link_to_a_file_exists():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_development_paths_only_on_the_developing_page():
    for page in PAGES:
        if page.name != "developing.md":
            assert "../shared" not in page.read_text(), page.name
