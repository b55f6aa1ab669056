"""Post-install self-check: ``python -m fashionpedia_plugin.toolkit.selfcheck``.

Fails loudly (exit 1) if mmcv was built without its compiled ops, and prints the versions users
quote in bug reports.
"""
import sys


def main():
    import torch
    try:
        import mmcv
        import mmcv._ext  # noqa: F401  (absent when mmcv was built with MMCV_WITH_OPS=0)
        from mmcv.ops import RoIAlign, batched_nms, nms  # noqa: F401
    except ImportError as e:
        print(
            f'[selfcheck] FAILED: mmcv compiled ops cannot be imported ({e}).\n'
            '  mmcv was probably built without ops (pip build isolation or MMCV_WITH_OPS=0).\n'
            '  Remove it (pip uninstall mmcv) and the cached wheel, then run `make install`.',
            file=sys.stderr)
        return 1
    import mmdet
    import mmengine

    import fashionpedia_plugin
    from fashionpedia_plugin import compat

    # One real op call: a RoIAlign over a 1x1x8x8 map, on CPU and on CUDA when present.
    feat = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    rois = torch.tensor([[0, 0, 0, 4, 4]], dtype=torch.float32)
    out = RoIAlign((2, 2), 1.0, 2)(feat, rois)
    devices = ['cpu']
    if torch.cuda.is_available():
        out_cuda = RoIAlign((2, 2), 1.0, 2)(feat.cuda(), rois.cuda())
        assert torch.allclose(out, out_cuda.cpu()), 'RoIAlign differs between CPU and CUDA'
        devices.append('cuda')
    print(f'[selfcheck] OK  python {sys.version.split()[0]}  torch {torch.__version__}  '
          f'cuda available: {torch.cuda.is_available()} (built for {torch.version.cuda})\n'
          f'[selfcheck]     mmcv {mmcv.__version__} (ops on {"+".join(devices)})  '
          f'mmdet {mmdet.__version__}  mmengine {mmengine.__version__}  '
          f'fashionpedia_plugin {fashionpedia_plugin.__version__}\n'
          f'[selfcheck]     process-wide patches applied: {", ".join(compat.applied()) or "none"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
