"""The try-on export (tryon/instances.py) through tools/infer.py."""
import json
import os.path as osp

import numpy as np
import pytest
from conftest import DEMO_CONFIG, TOOLS, prior_options, tool, tool_in_process


def test_infer_writes_masks_cutouts_and_json(trained, synthetic_root, tmp_path):
    trained_ckpt = osp.join(trained[0], 'iter_2.pth')
    import cv2
    out = tmp_path / 'out'
    pattern = osp.join(synthetic_root, 'test', '*.jpg')
    res = tool(
        osp.join(TOOLS, 'infer.py'),
        pattern,
        DEMO_CONFIG,
        trained_ckpt,
        '--out-dir',
        out,
        '--score-thr',
        '0',
        '--classes',
        'garments',
        'sleeve',
        '--cfg-options',
        'model.test_cfg.rcnn.score_thr=0',  # an untrained model scores ~1/47
        *prior_options(synthetic_root))
    assert '6 image(s)' in res.stdout
    recs = [json.load(open(p)) for p in sorted(out.glob('*/*.json'))]
    assert len(recs) == 6
    from fashionpedia_plugin import taxonomy
    allowed = set(taxonomy.GARMENTS) | {31}
    n = 0
    for rec in recs:
        d = out / osp.splitext(osp.basename(rec['image']))[0]
        assert (d / 'overlay.png').exists()
        for inst in rec['instances']:
            n += 1
            assert inst['class_id'] in allowed and 'attributes' in inst
            mask = cv2.imread(str(d / inst['mask_file']), cv2.IMREAD_UNCHANGED)
            assert mask.shape == (rec['height'], rec['width'])
            assert int((mask > 0).sum()) == inst['mask_area']
            if inst['cutout_file']:
                cut = cv2.imread(str(d / inst['cutout_file']), cv2.IMREAD_UNCHANGED)
                assert cut.shape[2] == 4 and int((cut[..., 3] > 0).sum()) == inst['mask_area']
    assert n > 0


@pytest.mark.parametrize('args,needle', [
    (['/no/such/dir', DEMO_CONFIG, '/no.pth'], 'checkpoint not found'),
    (['/no/such/dir/*.jpg', DEMO_CONFIG, __file__], 'no images found'),
    (['x.jpg', DEMO_CONFIG, __file__, '--classes', 'tuxedo'], "unknown class 'tuxedo'"),
    (['x.jpg', DEMO_CONFIG, __file__, '--format', 'parse,viton'], "unknown format 'viton'"),
])
def test_infer_bad_inputs(args, needle):
    res = tool_in_process(osp.join(TOOLS, 'infer.py'), *args)
    assert res.returncode == 2 and needle in res.stderr and 'Traceback' not in res.stderr


def test_labels_of_overlapping_boxes_do_not_overlap():
    import cv2

    from fashionpedia_plugin.tryon.instances import place_labels
    labels = [(f'garment{i} 0.9{i}', 100 + i, 100 + 2 * i, None) for i in range(4)]
    boxes = []
    for text, x, y in place_labels(labels, (320, 320)):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        boxes.append((x, y, x + tw + 4, y + th + base + 4))
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= 320 and 0 <= a[1] and a[3] <= 320
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


# --- batch export in every format (tryon/batch.py) -----------------------------------

FORMAT_ARGS = ['--format', 'instances,parse', 'vitonhd', 'idm-vton', 'dresscode', 'tags']


def _infer(ckpt, synthetic_root, images, out, *extra):
    return tool(
        osp.join(TOOLS, 'infer.py'),
        images,
        DEMO_CONFIG,
        ckpt,
        '--out-dir',
        out,
        '--score-thr',
        '0',
        *FORMAT_ARGS,
        *extra,
        '--cfg-options',
        'model.test_cfg.rcnn.score_thr=0',  # an untrained model scores ~1/47
        *prior_options(synthetic_root),
        check=False)


@pytest.fixture(scope='module')
def batch_run(trained, synthetic_root, tmp_path_factory):
    """tools/infer.py on a .txt list of five photos (relative paths), the second one corrupt,
    in batches of two, every format and --html: ``(result, out, stems, run)``."""
    import glob
    import shutil
    root = tmp_path_factory.mktemp('batch')
    (root / 'imgs').mkdir()
    good = sorted(glob.glob(osp.join(synthetic_root, 'test', '*.jpg')))[:4]
    for p in good:
        shutil.copy(p, root / 'imgs')
    (root / 'imgs' / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    names = [osp.basename(good[0]), 'broken.jpg'] + [osp.basename(p) for p in good[1:]]
    (root / 'list.txt').write_text(''.join(f'imgs/{n}\n' for n in names))
    out = root / 'out'

    def run(*extra):
        return _infer(
            osp.join(trained[0], 'iter_2.pth'), synthetic_root, root / 'list.txt', out,
            '--batch-size', '2', '--html', '--cloth-min-score', '0', *extra)

    stems = [osp.splitext(osp.basename(p))[0] for p in good]
    return run(), out, stems, run


def _error_lines(res):
    return [ln for ln in res.stderr.splitlines() if ln.startswith('error:')]


def test_batch_corrupt_image_fails_alone(batch_run):
    res, out, stems, _ = batch_run
    assert res.returncode == 1, res.stdout[-2000:] + res.stderr[-2000:]
    errors = _error_lines(res)
    assert len(errors) == 1 and 'broken.jpg' in errors[0], res.stderr[-2000:]
    assert 'done: 4 image(s), skipped: 0, failed: 1' in res.stdout
    assert 'images/s' in res.stdout and 'Traceback' not in res.stderr
    assert sorted(p.parent.name for p in out.glob('*/*.json') if p.stem == p.parent.name) == \
        sorted(stems)
    assert not (out / 'broken').exists()
    assert len((out / 'manifest.jsonl').read_text().splitlines()) == 4


def test_batch_writes_each_format_layout(batch_run):
    """tools/infer.py with every format on real predictions: the grouping, the layouts of
    each consumer (their reading logic: tests/test_tryon_consumers.py), provenance and notes."""
    import cv2
    from PIL import Image

    from fashionpedia_plugin.tryon import load_tryon_labels
    res, out, stems, _ = batch_run
    labels = load_tryon_labels()
    palette = [v for c in labels.cihp_palette for v in c]
    n_garments, clothes = 0, []
    for stem in stems:
        rec = json.load(open(out / 'garments' / f'{stem}.json'))
        assert rec['num_unattached_parts'] == len(rec['unattached_parts'])
        assert rec['provenance']['checkpoint'] == 'iter_2.pth'
        assert len(rec['provenance']['checkpoint_sha256']) == 64
        assert rec['provenance']['format_version'] == 2
        n_garments += len(rec['garments'])
        name = rec['export_name']
        photo = cv2.imread(str(out / 'vitonhd' / 'test' / 'image' / f'{name}_00.jpg'))
        assert photo.shape[:2] == (1024, 768)
        im = Image.open(out / 'parse' / f'{stem}.png')
        assert im.mode == 'P' and im.getpalette()[:60] == palette
        assert im.size == (rec['width'], rec['height'])
        assert set(np.unique(np.array(im))) <= {0} | set(labels.to_cihp.values())
        cloth = out / 'vitonhd' / 'test' / 'cloth' / f'{name}_00.jpg'
        assert cloth.exists() == (rec['cloth']['upper_body'] is not None)
        if cloth.exists():
            clothes.append(name)
        for cat in ('upper_body', 'lower_body', 'dresses'):
            d = out / 'dresscode' / cat
            exported = rec['cloth'][cat] is not None
            assert (d / 'images' / f'{name}_1.jpg').exists() == exported, (stem, cat)
        tags = json.load(open(out / 'tags' / f'{stem}.json'))['data']
        assert len(tags) == len(rec['garments'])
        assert all(t['tag_info'][0]['tag_name'] == 'item' for t in tags)
    assert n_garments > 0  # at score 0 the untrained model finds garments in these photos
    pairs = (out / 'vitonhd' / 'test_pairs.txt').read_text().splitlines()
    assert pairs == [f'{n}_00.jpg {n}_00.jpg' for n in sorted(clothes)]
    tagged = json.load(open(out / 'idm-vton' / 'test' / 'vitonhd_test_tagged.json'))['data']
    assert sorted(e['file_name'] for e in tagged) == [f'{n}_00.jpg' for n in sorted(clothes)]
    # once per run: what each consumer needs that we do not write, and the missing body
    notes = [ln for ln in res.stdout.splitlines() if ln.startswith('note: ')]
    assert any('no body regions' in n and '--human-parse' in n for n in notes)
    for missing in ('openpose-json/SAFE_00_keypoints.json', 'image-densepose/SAFE_00.jpg',
                    'keypoints/SAFE_2.json'):
        assert sum(missing in n for n in notes) == 1, missing


def test_batch_html_gallery_links_only_existing_files(batch_run):
    from html.parser import HTMLParser
    from urllib.parse import unquote
    _, out, stems, _ = batch_run

    links = []

    class Links(HTMLParser):

        def handle_starttag(self, tag, attrs):
            assert tag != 'script'
            links.extend(v for k, v in attrs if k in ('src', 'href'))

    page = (out / 'index.html').read_text()
    Links().feed(page)
    assert links and not any('://' in u or u.startswith('/') for u in links)
    missing = [u for u in links if not (out / unquote(u)).is_file()]
    assert not missing, missing
    for stem in stems:  # each photo shows its overlay, parse map and photo
        for u in (f'{stem}/overlay.png', f'parse/{stem}.png', f'../imgs/{stem}.jpg'):
            assert u in links, u
    assert any(u.startswith('garments/') for u in links)  # the garment cut-outs
    assert page.count('<section') == len(stems) and 'broken' not in page


def test_batch_resume_does_not_redo_finished_images(batch_run, trained, synthetic_root):
    _, out, stems, run = batch_run
    done = [out / s / f'{s}.json' for s in stems]
    mtimes = [p.stat().st_mtime_ns for p in done]
    res = run('--resume')
    assert res.returncode == 1 and len(_error_lines(res)) == 1  # the corrupt one is retried
    assert 'done: 0 image(s), skipped: 4, failed: 1' in res.stdout, res.stdout
    assert [p.stat().st_mtime_ns for p in done] == mtimes
    (out / 'parse' / f'{stems[2]}.png').unlink()  # an incomplete photo is redone, alone
    res = run('--resume')
    assert 'done: 1 image(s), skipped: 3, failed: 1' in res.stdout, res.stdout
    assert (out / 'parse' / f'{stems[2]}.png').exists()
    assert [p.stat().st_mtime_ns for i, p in enumerate(done) if i != 2] == \
        [m for i, m in enumerate(mtimes) if i != 2]
    # another checkpoint (same weights, another file): the folder is not continued
    other = osp.join(trained[0], 'best_fashionpedia_segm_mAP_iter_2.pth')
    res = _infer(other, synthetic_root, out.parent / 'list.txt', out, '--resume')
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr[-2000:]
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith(f'error: cannot resume {out}: it was written with checkpoint '
                          "'iter_2.pth', this run has 'best_fashionpedia_segm_mAP_iter_2.pth'")


def test_batch_refuses_two_photos_of_one_name(tmp_path):
    from fashionpedia_plugin.tryon import parse_formats, run_batch
    with pytest.raises(ValueError, match="2 photos named 'x'"):
        run_batch(None, ['a/x.jpg', 'b/x.png'], str(tmp_path))
    assert parse_formats(['tags', 'parse,instances']) == ('instances', 'parse', 'tags')
    with pytest.raises(ValueError, match="unknown format 'viton'"):
        parse_formats(['viton'])


def test_a_list_of_paths_relative_to_another_folder_is_one_error(tmp_path, monkeypatch):
    """A .txt list written from the current folder (``data/x.jpg``) but kept elsewhere: every
    photo failed alone as "no such file"; now the list is refused with what it is relative to
    (one missing photo among others still fails alone, when it is read)."""
    from fashionpedia_plugin.tryon.instances import collect_images
    (tmp_path / 'data').mkdir()
    for n in ('a.jpg', 'b.jpg'):
        (tmp_path / 'data' / n).write_bytes(b'x')
    (tmp_path / 'lists').mkdir()
    listed = tmp_path / 'lists' / 'photos.txt'
    listed.write_text('# photos\ndata/a.jpg\ndata/b.jpg\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        collect_images(str(listed))
    assert str(e.value) == (
        f'{listed}: none of its 2 relative paths is a file relative to the list\'s folder '
        f'{tmp_path}/lists (e.g. {tmp_path}/lists/data/a.jpg); paths in a list are relative to '
        f'the list file, or absolute; 2 of them are files relative to the current folder '
        f'{tmp_path}: write them relative to the list, absolute, or move the list')
    listed.write_text('../data/a.jpg\n../data/missing.jpg\n')
    assert collect_images(str(listed)) == [
        f'{tmp_path}/lists/../data/a.jpg', f'{tmp_path}/lists/../data/missing.jpg'
    ]
