"""Batch export as a service runs it: many photos, several formats, failures that stay alone.

:func:`run_batch` is what ``tools/infer.py`` runs (the tool only parses flags): photos are read
here (a photo that cannot be read fails alone, before the model sees it), predicted in batches by
``FashionpediaInferencer`` (a batch that fails is retried photo by photo, so one bad photo costs
one result), grouped (:mod:`.garments`) and written in the requested formats
(:data:`FORMATS`). After the last file of a photo, one line is appended to
``<out>/manifest.jsonl`` (photo, formats, files written): ``resume=True`` skips a photo whose
line lists the requested formats and whose files all exist, so a killed run continues where it
stopped, and a photo that failed is tried again.
"""
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from .formats import (DEFAULT_AGNOSTIC_MARGIN, label_map, write_dresscode, write_garments,
                      write_pair_lists, write_parse, write_vitonhd)
from .garments import DEFAULT_MIN_OVERLAP, group_garments
from .instances import decode_prediction, read_image, write_instances
from .labels import TRYON_CATEGORIES, load_tryon_labels
from .tags import write_tagged_json, write_tags

FORMATS = ('instances', 'parse', 'vitonhd', 'dresscode', 'tags')
MANIFEST = 'manifest.jsonl'


def parse_formats(values):
    """``['instances', 'parse,tags']`` -> ``('instances', 'parse', 'tags')`` (FORMATS order);
    ``ValueError`` naming an unknown one."""
    names = {v.strip() for value in values for v in value.split(',') if v.strip()}
    bad = sorted(names - set(FORMATS))
    if bad:
        raise ValueError(f'unknown format {bad[0]!r}; choose from {", ".join(FORMATS)}')
    return tuple(f for f in FORMATS if f in names)


@dataclass
class BatchSummary:
    """What a run did: photos ``done``, ``skipped`` (resume) and ``failed`` (``(path, why)``),
    instances kept, and the seconds spent on the photos done (model loading excluded)."""
    done: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)
    instances: int = 0
    seconds: float = 0.0

    @property
    def rate(self):
        """Photos done per second."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def line(self, out_dir):
        return (f'done: {self.done} image(s), skipped: {self.skipped}, failed: '
                f'{len(self.failed)}; {self.instances} instance(s) in {self.seconds:.1f} s '
                f'({self.rate:.2f} images/s) -> {out_dir}')


def stem_of(path):
    return osp.splitext(osp.basename(path))[0]


def read_manifest(out_dir):
    """``{stem: last complete manifest line}`` (a line cut by a kill is ignored)."""
    entries = {}
    path = osp.join(out_dir, MANIFEST)
    if osp.isfile(path):
        with open(path) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                entries[entry['stem']] = entry
    return entries


def is_complete(entry, path, formats, out_dir):
    """Whether a manifest line says ``path`` was written in ``formats``, and its files exist."""
    return (entry is not None and osp.abspath(entry['image']) == osp.abspath(path)
            and set(formats) <= set(entry['formats'])
            and all(osp.isfile(osp.join(out_dir, f)) for f in entry['files']))


@dataclass
class _Writer:
    """The per-photo part of :func:`run_batch`: prediction -> files in every format."""
    out_dir: str
    formats: tuple
    class_names: tuple
    attr_decoder: object
    score_thr: float
    keep_classes: object
    category: str
    agnostic_margin: int
    min_overlap: float
    labels: object

    def __call__(self, path, img, pred):
        stem = stem_of(path)
        instances, masks = decode_prediction(pred, self.class_names, self.score_thr,
                                             self.keep_classes, self.attr_decoder)
        files, info = [], dict(instances=len(instances))
        out, fmt = self.out_dir, set(self.formats)
        if 'instances' in fmt:
            rec = write_instances(img, path, out, instances, masks)
            files += [f'{stem}/{stem}.json', f'{stem}/overlay.png']
            files += [
                f'{stem}/{r[k]}' for r in rec['instances'] for k in ('mask_file', 'cutout_file')
                if r.get(k)
            ]
        if fmt - {'instances'}:
            if masks is None:
                raise ValueError('the model predicts no masks; the try-on formats need them')
            groups = group_garments(instances, masks, self.min_overlap, self.labels)
            files += write_garments(out, stem, path, img, groups)[1]
            info.update(garments=len(groups.garments), unattached_parts=len(groups.unattached))
            parse = label_map(groups, img.shape[:2], self.labels.to_cihp)
            if 'parse' in fmt:
                files += write_parse(out, stem, parse, self.labels)
            if 'vitonhd' in fmt:
                files += write_vitonhd(out, stem, img, groups, parse, self.labels, self.category,
                                       self.agnostic_margin)
            if 'dresscode' in fmt:
                files += write_dresscode(out, stem, img, groups, self.labels)
            if 'tags' in fmt:
                files += write_tags(out, stem, groups, self.labels)
        with open(osp.join(out, MANIFEST), 'a') as f:  # last: the photo is complete
            f.write(
                json.dumps(
                    dict(image=path, stem=stem, formats=list(self.formats), files=files, **info)) +
                '\n')
        return len(instances)


def _predict(inferencer, items, batch_size):
    """``[(path, img, prediction or exception)]``: one batch, and photo by photo if it fails."""
    try:
        out = inferencer([img for _, img in items],
                         batch_size=batch_size,
                         return_datasamples=True,
                         no_save_vis=True)['predictions']
        return [(p, img, pred) for (p, img), pred in zip(items, out)]
    except Exception as e:  # a photo the model cannot take fails alone
        if len(items) == 1:
            return [(items[0][0], items[0][1], e)]
        return [r for item in items for r in _predict(inferencer, [item], 1)]


def run_batch(inferencer,
              paths,
              out_dir,
              formats=('instances', ),
              score_thr=0.3,
              keep_classes=None,
              batch_size=1,
              resume=False,
              html=False,
              category='upper_body',
              agnostic_margin=DEFAULT_AGNOSTIC_MARGIN,
              min_overlap=DEFAULT_MIN_OVERLAP,
              labels=None,
              progress=True,
              on_error=None):
    """Export ``paths`` with a ``FashionpediaInferencer``; returns a :class:`BatchSummary`.

    ``formats``: names of :data:`FORMATS` (layouts: :mod:`.instances`, :mod:`.formats`,
    :mod:`.tags`); ``html`` also writes ``index.html`` (:mod:`.gallery`) and, for its
    pictures, the ``instances`` and ``parse`` files. ``on_error(path, why)`` is called for each
    photo that fails (the others go on); ``progress`` shows a tqdm bar with rate and ETA.
    """
    formats = parse_formats(list(formats) + (['instances', 'parse'] if html else []))
    if category not in TRYON_CATEGORIES:
        raise ValueError(f'unknown category {category!r}; one of {", ".join(TRYON_CATEGORIES)}')
    stems = {}
    for p in paths:
        stems.setdefault(stem_of(p), []).append(p)
    clash = [v for v in stems.values() if len(v) > 1]
    if clash:
        raise ValueError(f'{len(clash[0])} photos named {stem_of(clash[0][0])!r} would write '
                         f'the same files: {", ".join(clash[0][:3])}')
    os.makedirs(out_dir, exist_ok=True)
    done = read_manifest(out_dir) if resume else {}
    todo = [p for p in paths if not is_complete(done.get(stem_of(p)), p, formats, out_dir)]
    summary = BatchSummary(skipped=len(paths) - len(todo))
    write = _Writer(out_dir, formats, inferencer.model.dataset_meta.get('classes'),
                    inferencer.attr_decoder, score_thr, keep_classes, category, agnostic_margin,
                    min_overlap, labels or load_tryon_labels())

    def fail(path, why):
        summary.failed.append((path, why))
        if on_error:
            on_error(path, why)

    show, inferencer.show_progress = inferencer.show_progress, False
    start = time.perf_counter()
    try:
        with tqdm(total=len(todo), desc='infer', unit='img', disable=not progress) as bar:
            for i in range(0, len(todo), batch_size):
                items = []
                for path in todo[i:i + batch_size]:
                    try:
                        items.append((path, read_image(path)))
                    except ValueError as e:
                        fail(path, str(e))
                for path, img, pred in (_predict(inferencer, items, batch_size) if items else []):
                    try:
                        if isinstance(pred, Exception):
                            raise pred
                        summary.instances += write(path, img, pred)
                        summary.done += 1
                    except Exception as e:  # one photo's failure stays its own
                        fail(path, f'{e.__class__.__name__}: {e}')
                bar.update(len(todo[i:i + batch_size]))
    finally:
        inferencer.show_progress = show
        summary.seconds = time.perf_counter() - start
    if {'vitonhd', 'dresscode'} & set(formats):
        write_pair_lists(out_dir)
    if 'tags' in formats:
        write_tagged_json(out_dir, category, 'vitonhd' if 'vitonhd' in formats else 'tags')
    if html:
        from .gallery import write_gallery
        write_gallery(out_dir, [stem_of(p) for p in paths])
    return summary
