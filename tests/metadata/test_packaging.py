"""What the package index shows: project URLs in the metadata, and README links that work
there (absolute, and pointing at files that exist in this repository)."""

from __future__ import annotations

import re
from importlib.metadata import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "https://github.com/authmatech/authmatech-python"
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _project_urls() -> dict[str, str]:
    urls = metadata("authmatech").get_all("Project-URL") or []
    return dict(entry.split(", ", 1) for entry in urls)


def test_the_metadata_names_the_project_urls() -> None:
    urls = _project_urls()
    for label in ("Homepage", "Documentation", "Repository", "Issues", "Changelog"):
        assert urls.get(label, "").startswith("https://"), f"no {label} URL in the metadata"
    assert urls["Repository"] == REPOSITORY


def test_every_readme_link_is_absolute() -> None:
    links = _LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert links
    relative = [link for link in links if not re.match(r"(https?|mailto):|#", link)]
    assert not relative, f"relative links break on the package index: {relative}"


def test_readme_links_into_the_repository_name_files_that_exist() -> None:
    links = _LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    prefix = re.compile(re.escape(REPOSITORY) + r"/(?:blob|tree)/main/(?P<path>[^#]+)")
    inside = [match["path"] for link in links if (match := prefix.match(link))]
    assert inside
    missing = [path for path in inside if not (ROOT / path).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
