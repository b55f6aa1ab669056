"""Batch export as a service runs it: many photos, several formats, failures that stay alone.

:func:`run_batch` is what ``tools/infer.py`` runs (the tool only parses flags): photos are read
here (a photo that cannot be read fails alone, before the model sees it), predicted in batches by
``FashionpediaInferencer`` (a batch that fails is retried photo by photo, so one bad photo costs
one result), grouped (:mod:`.garments`) and written in the requested formats
(:data:`FORMATS`, :func:`export_photo`: also callable without a model). After the last file of a
photo, one line is appended to ``<out>/manifest.jsonl`` (photo, formats, files written, the
provenance: checkpoint name and SHA-256, config, attribute decoder, format version):
``resume=True`` skips a photo whose line lists the requested formats and whose files all exist,
so a killed run continues where it stopped, and refuses a folder written by another checkpoint,
decoder or format version.

Cloth candidates (our choice): a category's best garment is exported as the cloth only when its
score is at least :data:`CLOTH_MIN_SCORE` and, with ``--human-parse``, at least half of it lies
on the person; a candidate below is reported in the summary, not exported.
"""
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from . import layouts
from .formats import DEFAULT_AGNOSTIC_MARGIN, label_map, write_garments, write_parse
from .garments import DEFAULT_MIN_OVERLAP, group_garments
from .geometry import Letterbox
from .human_parse import combine, person_fraction, read_human_parse, to_atr
from .instances import decode_prediction, read_image, write_instances
from .labels import TRYON_CATEGORIES, load_tryon_labels
from .tags import write_tagged_json, write_tags

FORMATS = ('instances', 'parse', 'vitonhd', 'idm-vton', 'dresscode', 'tags')
MANIFEST = 'manifest.jsonl'
CLOTH_MIN_SCORE = 0.5  # our choice: below it a garment is more often wrong than right
# what --resume compares (the config file may move; what it decodes with is compared)
RESUME_KEYS = ('checkpoint', 'checkpoint_sha256', 'attr_decoder', 'format_version')


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
    instances kept, the seconds spent on the photos done (model loading excluded), cloth
    candidates not exported (``held_back``: ``(photo, category, class, score, why)``) and the
    run's ``notes`` (what the consumers need that was not written)."""
    done: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)
    instances: int = 0
    seconds: float = 0.0
    held_back: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def rate(self):
        """Photos done per second."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def line(self, out_dir):
        held = f', {len(self.held_back)} cloth candidate(s) held back' if self.held_back else ''
        return (f'done: {self.done} image(s), skipped: {self.skipped}, failed: '
                f'{len(self.failed)}; {self.instances} instance(s){held} in {self.seconds:.1f} s '
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


def check_provenance(entries, provenance, out_dir):
    """``ValueError`` (one line) when ``out_dir`` was written by another checkpoint, attribute
    decoder or format version than this run: resuming would mix two models' outputs."""
    for entry in entries.values():
        old = entry.get('provenance') or {}
        for key in RESUME_KEYS:
            if key in provenance and old.get(key) != provenance.get(key):
                raise ValueError(
                    f'cannot resume {out_dir}: it was written with {key} {old.get(key)!r}, this '
                    f'run has {provenance.get(key)!r} (photo {entry["image"]}); write to another '
                    f'--out-dir or remove the folder')


def is_complete(entry, path, formats, out_dir):
    """Whether a manifest line says ``path`` was written in ``formats``, and its files exist."""
    return (entry is not None and osp.abspath(entry['image']) == osp.abspath(path)
            and set(formats) <= set(entry['formats'])
            and all(osp.isfile(osp.join(out_dir, f)) for f in entry['files']))


def choose_cloth(groups, human, min_score=CLOTH_MIN_SCORE):
    """``({category: garment index or None}, [held back: (category, class, score, why)])``."""
    chosen, held = {}, []
    for cat in TRYON_CATEGORIES:
        k = groups.best(cat)
        chosen[cat] = None
        if k is None:
            continue
        g = groups.garments[k]
        if g['score'] < min_score:
            held.append((cat, g['class_name'], g['score'], f'score below {min_score}'))
        elif human is not None and person_fraction(groups.masks[k], human) < 0.5:
            held.append((cat, g['class_name'], g['score'], 'less than half of it on the person '
                         '(human parse)'))
        else:
            chosen[cat] = k
    return chosen, held


def export_photo(out_dir,
                 path,
                 img,
                 instances,
                 masks,
                 formats,
                 labels,
                 category='upper_body',
                 agnostic_margin=DEFAULT_AGNOSTIC_MARGIN,
                 min_overlap=DEFAULT_MIN_OVERLAP,
                 human_parse=None,
                 provenance=None,
                 cloth_min_score=CLOTH_MIN_SCORE):
    """Write one photo's predicted ``instances``/``masks`` in ``formats``; returns
    ``(files, garment record or None)``. ``human_parse``: a folder of CIHP/LIP label maps
    (:mod:`.human_parse`)."""
    stem, fmt = stem_of(path), set(formats)
    files, record = [], None
    if 'instances' in fmt:
        rec = write_instances(img, path, out_dir, instances, masks)
        files += [f'{stem}/{stem}.json', f'{stem}/overlay.png']
        files += [
            f'{stem}/{r[k]}' for r in rec['instances'] for k in ('mask_file', 'cutout_file')
            if r.get(k)
        ]
    if not fmt - {'instances'}:
        return files, None
    if masks is None:
        raise ValueError('the model predicts no masks; the try-on formats need them')
    groups = group_garments(instances, masks, min_overlap, labels)
    human = read_human_parse(human_parse, stem, img.shape[:2]) if human_parse else None
    ours = label_map(groups, img.shape[:2], labels.to_cihp)
    cihp = combine(ours, human)
    atr = combine(
        label_map(groups, img.shape[:2], labels.to_dresscode),
        to_atr(human) if human is not None else None)
    cloth, held = choose_cloth(groups, human, cloth_min_score)
    photo = layouts.Photo(stem, layouts.export_name(stem), img, groups, cihp, atr, cloth,
                          Letterbox.fit((img.shape[1], img.shape[0])))
    extra = dict(
        export_name=photo.name,
        geometry=photo.box.to_json(),
        body_regions='human parse' if human is not None else 'none (garments only)',
        cloth={
            c: k
            for c, k in cloth.items()
        },
        held_back=[dict(category=c, class_name=n, score=s, why=w) for c, n, s, w in held],
        provenance=provenance or {})
    record, written = write_garments(out_dir, stem, path, img, groups, extra)
    files += written
    if 'parse' in fmt:
        files += write_parse(out_dir, stem, cihp, labels)
    if 'vitonhd' in fmt:
        files += layouts.write_vitonhd(out_dir, photo, labels, category)
    if 'idm-vton' in fmt:
        files += layouts.write_idm_vton(out_dir, photo, labels, category, agnostic_margin)
    if 'dresscode' in fmt:
        files += layouts.write_dresscode(out_dir, photo, labels)
    if 'tags' in fmt:
        files += write_tags(out_dir, stem, groups, labels, file_name=f'{photo.name}_00.jpg')
    return files, record


def finish_export(out_dir, formats, category='upper_body'):
    """What a run writes once, from what the folders hold: pairs files and IDM-VTON's tagged
    captions. Returns the files written."""
    written = layouts.write_pair_lists(out_dir) if {'vitonhd', 'idm-vton', 'dresscode'} & \
        set(formats) else []
    if 'tags' in formats:
        into = f'{layouts.ROOTS["idm-vton"]}/test' if 'idm-vton' in formats else 'tags'
        written.append(write_tagged_json(out_dir, category, into))
    return [w for w in written if w]


def run_notes(formats, human_parse):
    """What the consumers read that this run did not write (once per run)."""
    notes = []
    consumer = [f for f in formats if f in layouts.MISSING]
    if consumer and not human_parse:
        notes.append('parse maps hold garments only, no body regions (head, arms, legs, neck): '
                     'pass --human-parse DIR (CIHP/LIP label maps, e.g. from '
                     'Self-Correction-Human-Parsing) for the consumers that read them')
    for f in consumer:
        for rel, what, how in layouts.MISSING[f]:
            notes.append(f'{f}: not written, add it yourself: {layouts.ROOTS[f]}/{rel} ({what}; '
                         f'usually {how})')
    return notes


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


def _check_names(paths):
    """Two photos whose files would collide (same stem, or same exported name)."""
    for key, what in ((stem_of, 'named'), (lambda p: layouts.export_name(stem_of(p)),
                                           'exported as')):
        seen = {}
        for p in paths:
            seen.setdefault(key(p), []).append(p)
        clash = [v for v in seen.values() if len(v) > 1]
        if clash:
            raise ValueError(f'{len(clash[0])} photos {what} {key(clash[0][0])!r} would write '
                             f'the same files: {", ".join(clash[0][:3])}')


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
              on_error=None,
              human_parse=None,
              provenance=None,
              cloth_min_score=CLOTH_MIN_SCORE):
    """Export ``paths`` with a ``FashionpediaInferencer``; returns a :class:`BatchSummary`.

    ``formats``: names of :data:`FORMATS` (layouts: :mod:`.instances`, :mod:`.layouts`,
    :mod:`.tags`); ``html`` also writes ``index.html`` (:mod:`.gallery`) and, for its
    pictures, the ``instances`` and ``parse`` files. ``on_error(path, why)`` is called for each
    photo that fails (the others go on); ``progress`` shows a tqdm bar with rate and ETA.
    ``provenance``: what :func:`check_provenance` compares on ``resume``.
    """
    formats = parse_formats(list(formats) + (['instances', 'parse'] if html else []))
    if category not in TRYON_CATEGORIES:
        raise ValueError(f'unknown category {category!r}; one of {", ".join(TRYON_CATEGORIES)}')
    if human_parse and not osp.isdir(human_parse):
        raise ValueError(f'--human-parse {human_parse}: not a folder')
    _check_names(paths)
    provenance = dict(provenance or {}, format_version=layouts.FORMAT_VERSION)
    os.makedirs(out_dir, exist_ok=True)
    done = read_manifest(out_dir) if resume else {}
    check_provenance(done, provenance, out_dir)
    todo = [p for p in paths if not is_complete(done.get(stem_of(p)), p, formats, out_dir)]
    summary = BatchSummary(skipped=len(paths) - len(todo), notes=run_notes(formats, human_parse))
    labels = labels or load_tryon_labels()
    class_names = inferencer.model.dataset_meta.get('classes')

    def fail(path, why):
        summary.failed.append((path, why))
        if on_error:
            on_error(path, why)

    def write(path, img, pred):
        instances, masks = decode_prediction(pred, class_names, score_thr, keep_classes,
                                             inferencer.attr_decoder)
        files, rec = export_photo(out_dir, path, img, instances, masks, formats, labels, category,
                                  agnostic_margin, min_overlap, human_parse, provenance,
                                  cloth_min_score)
        info = dict(instances=len(instances))
        if rec is not None:
            info.update(
                garments=len(rec['garments']),
                export_name=rec['export_name'],
                unattached_parts=rec['num_unattached_parts'])
            summary.held_back += [(path, h['category'], h['class_name'], h['score'], h['why'])
                                  for h in rec['held_back']]
        with open(osp.join(out_dir, MANIFEST), 'a') as f:  # last: the photo is complete
            f.write(
                json.dumps(
                    dict(
                        image=path,
                        stem=stem_of(path),
                        formats=list(formats),
                        files=files,
                        provenance=provenance,
                        **info)) + '\n')
        return len(instances)

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
    finish_export(out_dir, formats, category)
    if html:
        from .gallery import write_gallery
        write_gallery(out_dir, [stem_of(p) for p in paths])
    return summary
