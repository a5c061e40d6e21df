"""BibTeX entries for a release and for the study it is built on."""

from __future__ import annotations

from rmpredict.release._registry import Release

__all__ = ["STUDY_BIBTEX", "release_bibtex", "cite"]

STUDY_BIBTEX = """@inproceedings{ahrabian2025systematic,
  title     = {A Systematic Analysis of Base Model Choice for Reward Modeling},
  author    = {Ahrabian, Kian and Jandaghi, Pegah and Mokhberian, Negar and Karimireddy, Sai Praneeth and Pujara, Jay},
  booktitle = {Proceedings of the 2025 Conference on Empirical Methods in Natural Language Processing},
  pages     = {146--164},
  year      = {2025},
  note      = {ACL Anthology 2025.emnlp-main.8; arXiv:2505.10775}
}"""


def release_bibtex(release: Release) -> str:
    """A ``@software`` entry naming the exact release, its checksum and identity hash."""
    year = release.created[:4] if release.created[:4].isdigit() else "2026"
    return (
        f"@software{{{release.bibtex_key},\n"
        f"  title   = {{{release.full_name}: a fitted rmpredict model of RewardBench accuracy}},\n"
        f"  author  = {{{{rmpredict developers}}}},\n"
        f"  year    = {{{year}}},\n"
        f"  version = {{{release.version}}},\n"
        f"  note    = {{rmpredict {release.rmpredict_version}; model id {release.model_id}; "
        f"sha256 {release.sha256}}}\n"
        f"}}")


def cite(release: Release) -> str:
    """BibTeX for the release followed by the study it is built on."""
    return release_bibtex(release) + "\n\n" + STUDY_BIBTEX
