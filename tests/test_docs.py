"""The README and docs link only inside the repository, and every notebook has its Colab badge."""

from __future__ import annotations

import re

import pytest

from tests.helpers import REPO_ROOT

COLAB = "https://colab.research.google.com/github/kser-project/kser/blob/main/notebooks/"
NOTEBOOKS = sorted(path.name for path in (REPO_ROOT / "notebooks").glob("*.ipynb"))
# Pages other branches write (linked from the README before they land).
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_opens_in_colab_from_the_readme_and_from_itself(notebook):
    assert f"({COLAB}{notebook})" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"({COLAB}{notebook})" in (REPO_ROOT / "notebooks" / notebook).read_text("utf-8")


DOC_PAGES = [
    "README.md",
    "CONTRIBUTING.md",
    *(f"docs/{p.name}" for p in sorted((REPO_ROOT / "docs").glob("*.md"))),
]


@pytest.mark.parametrize("page", DOC_PAGES)
def test_relative_links_point_at_files_in_the_repository(page):
    path = REPO_ROOT / page
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "#")):
            continue
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(REPO_ROOT), f"{page} links outside the repository: {target}"
        assert resolved.exists(), f"{page}: {target} is missing"


def test_the_readme_names_no_design_file_outside_the_repository():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "DESIGN.md" not in readme and "docs/architecture.md" in readme
