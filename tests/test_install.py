"""Foundation: the installed stack has mmcv's compiled ops and the plugin imports."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import zipfile

import pytest
import torch


def test_mmcv_compiled_ops_run_on_cpu():
    import mmcv._ext  # noqa: F401  (absent when mmcv was built without ops)
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    feat = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    out = RoIAlign((1, 1), 1.0, 1)(feat, torch.tensor([[0, 0, 0, 2, 2]], dtype=torch.float32))
    # aligned RoIAlign: the one bin's centre is pixel (0.5, 0.5), the mean of the top-left 2x2
    assert out.shape == (1, 1, 1, 1) and out.item() == pytest.approx((0 + 1 + 4 + 5) / 4)


def test_issue_import_line_and_selfcheck():
    code = 'from mmcv.ops import RoIAlign, nms; import mmdet, mmengine, fashionpedia_plugin'
    subprocess.run([sys.executable, '-c', code], check=True)
    out = subprocess.run([sys.executable, '-m', 'fashionpedia_plugin.toolkit.selfcheck'],
                         check=True,
                         capture_output=True,
                         text=True).stdout
    assert '[selfcheck] OK' in out
    # the versions printed are the ones imported, at least the minimums this plugin supports
    # (minimums, not pins: an upgrade of the stack keeps this test meaningful)
    import mmcv
    import mmdet
    import mmengine
    from packaging.version import Version
    for lib, minimum in ((mmcv, '2.0.0rc4'), (mmdet, '3.3.0'), (mmengine, '0.10.7')):
        printed = re.search(rf'\b{lib.__name__} (\S+)', out)
        assert printed and printed.group(1) == lib.__version__, (lib.__name__, out)
        assert Version(printed.group(1)) >= Version(minimum), (lib.__name__, printed.group(1))


def test_plugin_registers_components():
    from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS

    import fashionpedia_plugin  # noqa: F401
    assert DATASETS.get('FashionpediaDataset') is not None
    assert METRICS.get('FashionpediaMetric') is not None
    assert MODELS.get('AttributeRoIHead') is not None
    assert MODELS.get('AttributeConvFCBBoxHead') is not None
    for t in ('LoadFashionpediaAttributes', 'PackFashionpediaInputs', 'AlignInstanceFields'):
        assert TRANSFORMS.get(t) is not None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_ops_match_cpu():
    from mmcv.ops import RoIAlign, nms
    feat = torch.randn(1, 4, 16, 16)
    rois = torch.tensor([[0, 1.5, 2.0, 9.0, 12.5], [0, 0, 0, 15, 15]])
    align = RoIAlign((3, 3), 1.0, 2)
    assert torch.allclose(align(feat, rois), align(feat.cuda(), rois.cuda()).cpu(), atol=1e-5)
    boxes = torch.rand(50, 4) * 50
    boxes[:, 2:] += boxes[:, :2]
    scores = torch.rand(50)
    assert nms(boxes, scores, 0.5)[1].tolist() == nms(boxes.cuda(), scores.cuda(), 0.5)[1].tolist()


ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """``python -m build --wheel`` of this checkout (no isolation: no network needed)."""
    out = tmp_path_factory.mktemp('dist')
    res = subprocess.run(
        [sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir',
         str(out), ROOT],
        capture_output=True,
        text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (whl, ) = glob.glob(osp.join(out, '*.whl'))
    return whl


def test_wheel_holds_the_data_and_every_config(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ('fashionpedia_categories_attributes.json', 'LICENSE-fashionpedia-api.txt',
              'toolkit/official_recipe.json', 'tryon/tryon_labels.json', '.mim/model-index.yml'):
        assert f'fashionpedia_plugin/{f}' in names, f
    configs = sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True))
    assert len(configs) >= 12
    missing = [c for c in configs if f'fashionpedia_plugin/.mim/{c}' not in names]
    assert not missing
    assert not [n for n in names if n.startswith(('tests/', 'tools/', 'work_dirs/'))]


def test_non_editable_install_finds_configs_and_data(wheel, tmp_path):
    """``pip install`` of the wheel (not editable), used from another folder: the taxonomy,
    a config by ``fashionpedia_plugin::`` (the tools), a user's config inheriting from an
    installed one by path, the recipe check."""
    target = tmp_path / 'site'
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-compile', '--target',
        str(target), wheel
    ],
                   check=True)
    code = '\n'.join([
        'import fashionpedia_plugin, sys',
        'from fashionpedia_plugin import taxonomy',
        'from fashionpedia_plugin.toolkit.cli import load_config',
        'from fashionpedia_plugin.toolkit.recipe_check import check',
        'print(fashionpedia_plugin.__file__)',
        'print(len(taxonomy.CLASSES), len(taxonomy.ATTRIBUTE_IDS))',
        "cfg = load_config('fashionpedia_plugin::attr-mask-rcnn/"
        "attr-mask-rcnn_r50_fpn_lsj-3x_fashionpedia.py')",
        'print(cfg.model.roi_head.type)',
        "print(sorted({r[3] for r in check(cfg)}))",
        # a user's config inherits by path (mmengine's _base_ 'pkg::' takes OpenMMLab packages only)
        "from fashionpedia_plugin.toolkit.cli import resolve_config",
        "base = resolve_config('fashionpedia_plugin::attr-mask-rcnn/"
        "attr-mask-rcnn_r50_fpn_lsj-3x_fashionpedia.py')",
        "open('my_config.py', 'w').write(f'_base_ = {base!r}\\n'",
        "                                'train_dataloader = dict(batch_size=4)')",
        "mine = load_config('my_config.py')",
        'print(mine.train_dataloader.batch_size, mine.model.roi_head.bbox_head.attr_target)',
    ])
    env = dict(os.environ, PYTHONPATH=str(target))
    res = subprocess.run([sys.executable, '-W', 'ignore', '-c', code],
                         cwd=tmp_path,
                         env=env,
                         capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    assert lines[0].startswith(str(target))  # the installed copy, not this checkout
    assert lines[1] == '46 294'
    assert lines[2] == 'AttributeRoIHead'
    assert 'match' in lines[3] and 'deviates' not in lines[3]
    assert lines[4] == '4 official'
