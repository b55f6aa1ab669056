"""The two floors: the registered core never imports the tool floor (``toolkit``)."""
import ast
import os
import os.path as osp

from conftest import REPO

PKG = osp.join(REPO, 'fashionpedia_plugin')


def _imports(path):
    """Absolute module names imported by a file of the package (relative imports resolved)."""
    rel = osp.relpath(path, REPO)[:-3].split(os.sep)
    package = rel[:-1] if rel[-1] != '__init__' else rel[:-1]
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = '.'.join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            yield mod
            yield from (f'{mod}.{a.name}' for a in node.names)


def _offenders(forbidden, skip):
    """``file imports module`` for every module under ``forbidden`` imported by a package file
    outside the ``skip`` folders."""
    out = []
    for root, _, files in os.walk(PKG):
        if root.startswith(tuple(osp.join(PKG, d) for d in skip)):
            continue
        for f in files:
            if f.endswith('.py'):
                path = osp.join(root, f)
                bad = [m for m in _imports(path) if m.startswith(forbidden)]
                out += [f'{osp.relpath(path, REPO)} imports {m}' for m in bad]
    return out


def test_core_does_not_import_the_tool_floor():
    offenders = _offenders('fashionpedia_plugin.toolkit', skip=('toolkit', ))
    assert not offenders, offenders


def test_import_checker_sees_relative_imports(tmp_path):
    # the checker must resolve `from ..toolkit import x` inside the package, or the test above
    # could pass vacuously
    path = osp.join(PKG, 'datasets', 'fashionpedia.py')
    mods = set(_imports(path))
    assert 'fashionpedia_plugin.taxonomy' in mods
    assert 'fashionpedia_plugin.datasets.validation' in mods


def test_importing_the_plugin_does_not_load_the_tool_floor():
    import subprocess
    import sys
    code = ('import sys, fashionpedia_plugin; '
            'print(sorted(m for m in sys.modules if m.startswith("fashionpedia_plugin.toolkit")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]'


def test_core_and_apis_do_not_import_the_tryon_room():
    """tryon/ is a product on top of apis/: the registered core and apis/ never import it."""
    offenders = _offenders('fashionpedia_plugin.tryon', skip=('tryon', 'toolkit'))
    assert not offenders, offenders
    tryon = {f[:-3] for f in os.listdir(osp.join(PKG, 'tryon')) if f.endswith('.py')}
    assert {'instances', 'garments', 'labels', 'formats', 'tags', 'batch', 'gallery'} <= tryon
    assert sorted(f for f in os.listdir(osp.join(PKG, 'apis')) if f.endswith('.py')) == \
        ['__init__.py', 'checkpoint.py', 'inferencer.py']
