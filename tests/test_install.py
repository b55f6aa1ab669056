"""Foundation: the installed stack has mmcv's compiled ops and the plugin imports."""
import subprocess
import sys

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
    assert out.shape == (1, 1, 1, 1) and torch.isfinite(out).all()


def test_issue_import_line_and_selfcheck():
    code = 'from mmcv.ops import RoIAlign, nms; import mmdet, mmengine, fashionpedia_plugin'
    subprocess.run([sys.executable, '-c', code], check=True)
    out = subprocess.run([sys.executable, '-m', 'fashionpedia_plugin.toolkit.selfcheck'],
                         check=True,
                         capture_output=True,
                         text=True).stdout
    assert '[selfcheck] OK' in out and 'mmcv 2.1.0' in out and 'mmdet 3.3.0' in out


def test_plugin_registers_components():
    from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS

    import fashionpedia_plugin  # noqa: F401
    assert DATASETS.get('FashionpediaDataset') is not None
    assert METRICS.get('FashionpediaMetric') is not None
    assert MODELS.get('AttributeRoIHead') is not None
    assert MODELS.get('AttributeConvFCBBoxHead') is not None
    for t in ('LoadFashionpediaAnnotations', 'PackFashionpediaInputs', 'AlignInstanceFields'):
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
