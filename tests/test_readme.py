"""Every code block of README.md and of the documentation site (docs/, its pages in the order
of mkdocs.yml's nav) runs as written, in order, after command 1 (in a copy of the repository's
configs/ and data/): Python blocks in one namespace, each shell line through nnbin's own
command line in this process, YAML blocks parsed. A block marked
`<!-- readme-test: not run (why) -->` is left out, and only those. The site itself builds with
`mkdocs build --strict` (no warning: no broken link, every API docstring found)."""
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from nnbin.cli import main
from nnbin.config import parse_yaml

ROOT = Path(__file__).parents[1]
SETUP = ("python3 -m venv", "pip install", ".venv/bin/pip install", ".venv/bin/python -m pytest")
NNBIN = (".venv/bin/nnbin", "nnbin")
TRAIN_SCRIPT = ".venv/bin/python scripts/train.py"
SHELL = ("head ",)  # plain shell tools, run by the shell


def pages() -> list[Path]:
    """README.md, then the site's pages in the order of mkdocs.yml's nav."""
    def walk(entries):
        for entry in entries:
            for value in (entry.values() if isinstance(entry, dict) else [entry]):
                yield from (walk(value) if isinstance(value, list) else [value])

    nav = parse_yaml((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    return [ROOT / "README.md", *(ROOT / "docs" / page for page in walk(nav))]


def readme_blocks() -> list[tuple[str, str, str | None, str]]:
    """(language, code, the reason it is not run or None, file:line) of each fenced block."""
    return [block for page in pages() for block in page_blocks(page)]


def page_blocks(page: Path) -> list[tuple[str, str, str | None, str]]:
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            marker = re.match(r"<!-- readme-test: not run \((.+)\) -->", lines[i - 1]) if i else None
            blocks.append((fence.group(1), "\n".join(lines[i + 1:end]), marker and marker.group(1),
                           f"{page.relative_to(ROOT)}:{i + 1}"))
            i = end
        i += 1
    return blocks


def run_shell_line(line: str) -> None:
    """One README shell line; `a && b` runs a, then b."""
    for part in (p.strip() for p in line.split("&&")):
        if part.startswith(SETUP):
            continue  # installing is what CI does before the suite; the suite is this run
        if part.startswith(SHELL):
            subprocess.run(part, shell=True, check=True)
            continue
        words = shlex.split(part, comments=True)
        if part.startswith(TRAIN_SCRIPT):
            arguments = ["train", *words[2:]]
        elif words[0] in NNBIN:
            arguments = words[1:]
        else:
            raise AssertionError(f"README command this test does not know how to run: {part}")
        assert main(arguments) == 0, part


BLOCKS = readme_blocks()
# a test per block that runs (Python or shell), in order, each after the ones before it; the
# last also runs whatever follows it
RUN = [i for i, (language, _, reason, _) in enumerate(BLOCKS) if language in ("python", "bash") and not reason]


class Readme:
    """README.md's blocks run in order in one namespace, in a copy of configs/ and data/."""

    def __init__(self, folder: Path):
        for name in ("configs", "data"):
            shutil.copytree(ROOT / name, folder / name)
        self.folder, self.blocks, self.done = folder, readme_blocks(), 0
        assert self.blocks[0][0] == "bash" and "# 1." in self.blocks[0][1]  # command 1 comes first
        self.namespace: dict = {}
        self.ran, self.not_run = 0, []

    def run_until(self, end: int, capfd) -> None:
        """Run the blocks before index `end` not run yet; no warning or traceback on stderr."""
        for language, code, reason, line in self.blocks[self.done:end]:
            self.done += 1
            if reason:
                self.not_run.append(line)
                continue
            if language == "python":
                exec(compile(code, line, "exec"), self.namespace)
            elif language == "bash":
                for command in code.splitlines():
                    if command.strip() and not command.lstrip().startswith("#"):
                        run_shell_line(command)
            elif language == "yaml":
                assert isinstance(parse_yaml(code), dict), line
            else:
                continue  # text: output shown, a layout
            self.ran += 1
            err = capfd.readouterr().err
            assert "Warning" not in err and "Traceback" not in err, (line, err[-2000:])


@pytest.fixture(scope="module")
def readme(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        yield Readme(folder)


@pytest.mark.parametrize("part", range(len(RUN)), ids=[BLOCKS[i][3] for i in RUN])
def test_every_readme_block_runs_in_order(readme, part, capfd):
    last = part == len(RUN) - 1
    readme.run_until(len(readme.blocks) if last else RUN[part] + 1, capfd)
    if last:
        assert len(readme.not_run) == 4 and readme.ran >= 12, (readme.ran, readme.not_run)
        assert (readme.folder / "scored.csv").is_file()
        assert (readme.folder / "results" / "compare_baselines_3_folds").is_dir()
        assert readme.namespace["search"].best_score_ > 0.9  # the README's FusedSearchCV ran on breast_cancer
        indented = [f"{page.name}:{n}" for page in pages()
                    for n, text in enumerate(page.read_text(encoding="utf-8").splitlines(), 1) if re.match(r"^\s+```", text)]
        assert not indented, indented  # every block is a fenced block at the margin, which this test runs
