"""The front door: the docs build (``make docs``: MkDocs, warnings are errors), and no link or
file path that README.md or a guide in docs/ names is missing."""
import glob
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# what counts as a path of this repository inside `code` (inline or in a fenced block)
PATH_PREFIXES = ('configs/', 'tools/', 'tests/', 'fashionpedia_plugin/', 'docs/', '.ci/')
ROOT_FILES = ('Makefile', 'setup.cfg', 'README.md', 'LICENSE', 'CITATION.cff', 'mkdocs.yml')
FENCE = re.compile(r'^ {0,3}(```|~~~)')
# a code span may run over lines of one paragraph, never over a blank line
INLINE_CODE = re.compile(r'(`+)((?:(?!\n[ \t]*\n)[\s\S])+?)\1')
# [text](target) and ![alt](target); the target ends at a space (a title) or the bracket
MD_LINK = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
HTML_SRC = re.compile(r'<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"')


def markdown_files():
    return [osp.join(ROOT, 'README.md')] + sorted(glob.glob(osp.join(ROOT, 'docs', '*.md')))


def split_code(text):
    """(the prose with every fenced line blanked, so that offsets keep their line numbers;
    the lines of fenced code blocks as (line number, line))."""
    prose, code, fenced = [], [], False
    for i, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            prose.append('')
            continue
        prose.append('' if fenced else line)
        if fenced:
            code.append((i, line))
    return '\n'.join(prose), code


def line_of(text, offset):
    return text.count('\n', 0, offset) + 1


def words(code):
    for word in re.split(r'[\s=]+', code):
        word = word.strip('\'"(),;')
        if is_repo_path(word):
            yield word


def is_repo_path(token):
    return token.startswith(PATH_PREFIXES) or token in ROOT_FILES


def clean_path(token):
    """``tests/x.py::test_y[case]`` -> (``tests/x.py``, ``test_y``); None for a pattern
    (a glob, a placeholder, a shell variable, an elision)."""
    path, _, test = token.strip().strip('\'"').rstrip('.,;:)').partition('::')
    if any(c in path for c in '*<{[$') or '...' in path:
        return None
    return path, test.split('[')[0] or None


def named_paths(text):
    """Every repository path a markdown file names in code: the words of inline spans (a command
    with its arguments names each path; options are not paths) and of fenced blocks."""
    prose, code = split_code(text)
    for m in INLINE_CODE.finditer(prose):
        for word in words(m.group(2)):
            yield line_of(prose, m.start()), word
    for lineno, line in code:
        for word in words(line):
            yield lineno, word


def slug(heading):
    """The anchor MkDocs (Python-Markdown's ``toc``) gives a heading."""
    text = re.sub(r'[`*_]', '', heading).strip().lower()
    return re.sub(r'[-\s]+', '-', re.sub(r'[^\w\s-]', '', text))


def anchors(md):
    prose, _ = split_code(open(md, encoding='utf-8').read())
    return {slug(m.group(1)) for m in re.finditer(r'^#{1,6}\s+(.+?)\s*#*\s*$', prose, re.M)}


def named_links(text):
    """Every relative link or image target of the prose (not of code), as (line, path, anchor)."""
    prose, _ = split_code(text)
    prose = INLINE_CODE.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), prose)
    for pattern in (MD_LINK, HTML_SRC):
        for m in pattern.finditer(prose):
            target = m.group(1)
            if re.match(r'^[a-z][a-z0-9+.-]*:', target) or target.startswith(('#', '/')):
                continue  # a URL (http:, mailto:), an anchor of the same page, a site path
            path, _, anchor = target.split('?')[0].partition('#')
            if path:
                yield line_of(prose, m.start()), path, anchor


def defines(py_file, name):
    source = open(py_file, encoding='utf-8').read()
    return re.search(rf'^\s*(?:async\s+)?def {re.escape(name)}\(', source, re.M) is not None


def missing_names():
    missing = []
    for md in markdown_files():
        text = open(md, encoding='utf-8').read()
        where = osp.relpath(md, ROOT)
        for lineno, target, anchor in named_links(text):
            full = osp.normpath(osp.join(osp.dirname(md), target))
            if not osp.exists(full):
                missing.append(f'{where}:{lineno}: link {target}')
            elif anchor and full.endswith('.md') and anchor not in anchors(full):
                missing.append(f'{where}:{lineno}: link {target}#{anchor} (no such heading)')
        for lineno, token in named_paths(text):
            cleaned = clean_path(token)
            if cleaned is None:
                continue
            path, test = cleaned
            full = osp.join(ROOT, path.rstrip('/'))
            if not osp.exists(full):
                missing.append(f'{where}:{lineno}: path {path}')
            elif test and osp.isfile(full) and not defines(full, test):
                missing.append(f'{where}:{lineno}: test {path}::{test}')
    return missing


def test_every_link_and_path_named_in_readme_and_docs_exists():
    missing = missing_names()
    assert not missing, 'named but missing:\n' + '\n'.join(missing)


def test_the_check_finds_what_is_missing(tmp_path, monkeypatch):
    """The check itself, on a made-up repository: a missing picture, file (in a code span, in a
    code block), test function and heading are each reported with the file and line."""
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'tools').mkdir()
    (tmp_path / 'tools' / 'train.py').write_text('def test_here():\n    pass\n', encoding='utf-8')
    (tmp_path / 'README.md').write_text(
        '[guide](docs/a.md) and `tools/train.py --amp`, `tools/train.py::test_here[x]`\n'
        'across a line: `python\ntools/gone.py CONFIG`, `tools/train.py::test_gone`\n',
        encoding='utf-8')
    (tmp_path / 'docs' / 'a.md').write_text(
        '![x](gone.png) `tests/test_nothing_here.py::test_x` `configs/*.py` `tools/<name>.py`\n'
        '```bash\npython tools/not_a_tool.py CONFIG\n```\n'
        '# Top `x`\n[up](a.md#top-x) [gone](a.md#nope) [web](https://example.org/x.md)\n',
        encoding='utf-8')
    monkeypatch.setattr(sys.modules[__name__], 'ROOT', str(tmp_path))
    assert sorted(missing_names()) == [
        'README.md:2: path tools/gone.py', 'README.md:3: test tools/train.py::test_gone',
        'docs/a.md:1: link gone.png', 'docs/a.md:1: path tests/test_nothing_here.py',
        'docs/a.md:3: path tools/not_a_tool.py', 'docs/a.md:6: link a.md#nope (no such heading)'
    ]


def test_readme_is_a_landing_page():
    lines = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read().splitlines()
    assert len(lines) <= 250, f'README.md has {len(lines)} lines (at most 250)'
    first = '\n'.join(lines[:100])
    for needed in ('make demo', 'make test', 'tools/dist_train.sh'):
        assert needed in first, f'{needed!r} is not in the first 100 lines of README.md'


def test_docs_build_strict(tmp_path):
    pytest.importorskip('mkdocs')
    res = subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir',
         str(tmp_path / 'site')],
        cwd=ROOT,
        capture_output=True,
        text=True)
    assert res.returncode == 0, res.stderr[-5000:]
    assert osp.isfile(osp.join(tmp_path, 'site', 'index.html'))
