"""Read mmengine run logs, plot curves, summarise runs and flag bad trends.

Reads ``<work_dir>/<timestamp>/vis_data/scalars.json`` (one JSON per line; train lines carry
``iter``/``step``, validation lines carry the metrics and ``step``), falling back to the text log
``<timestamp>/<timestamp>.log``. Unlike mmdet's ``analyze_logs.py``, iteration-based runs are
plotted against iterations instead of collapsing into one epoch.
"""
import difflib
import glob
import json
import math
import os.path as osp
import re

import numpy as np

DEFAULT_KEYS = ('loss', 'loss_attr', 'lr', 'val_loss', 'segm_mAP', 'bbox_mAP', 'segm_iouf1_AP')
# the summary's default columns: what a run is judged by (best and last where it matters)
HEADLINE = (('loss', 'last'), ('segm_mAP', 'best'), ('segm_mAP', 'last'), ('segm_iouf1_AP', 'best'),
            ('segm_iouf1_AP', 'last'), ('bbox_mAP', 'last'))


class Run:
    """One training run: ``train`` and ``val`` are lists of dicts with an ``x`` (iteration, or
    epoch for epoch-based validation)."""

    def __init__(self, name, train, val, by_epoch=False, source=''):
        self.name, self.train, self.val = name, train, val
        self.by_epoch, self.source = by_epoch, source

    def series(self, key):
        """(xs, ys, 'train'|'val') for a key, matched exactly or as the last path part."""
        for rows, kind in ((self.train, 'train'), (self.val, 'val')):
            pts = [(r['x'], r[k]) for r in rows for k in r
                   if k != 'x' and (k == key or k.split('/')[-1] == key)]
            if pts:
                xs, ys = zip(*pts)
                return np.array(xs, float), np.array(ys, float), kind
        return np.array([]), np.array([]), None

    def keys(self):
        return sorted({k for r in self.train + self.val for k in r if k != 'x'})


def _split(records):
    train, val, by_epoch = [], [], False
    last_iter = 0
    for r in records:
        if 'loss' in r or 'lr' in r:
            by_epoch = by_epoch or ('epoch' in r and 'iter' in r and r.get('step') == r['epoch'])
            x = last_iter = r.get('iter', r.get('step'))
            train.append(
                dict(
                    {
                        k: v
                        for k, v in r.items()
                        if isinstance(v, (int, float)) and k not in ('step', 'iter')
                    },
                    x=x))
        else:
            # LoggerHook(log_metric_by_epoch=True), mmengine's default, writes step=epoch=0 for
            # iteration-based runs: place such a validation at the last train iteration.
            step = r.get('step')
            x = last_iter if not by_epoch and (not step or step < last_iter / 1e3) else step
            val.append(
                dict({
                    k: v
                    for k, v in r.items() if isinstance(v, (int, float)) and k != 'step'
                },
                     x=x))
    return train, val, by_epoch


_KV = re.compile(r'([\w/@.+-]+): (-?[0-9.]+(?:e[-+]?\d+)?|nan|inf)')


def parse_text_log(path):
    """Fallback parser for mmengine's text log (``Iter(train) [ 20/400] lr: ... loss: ...``)."""
    records = []
    last_iter = 0
    with open(path, errors='replace') as f:
        for line in f:
            m = re.search(r'(Iter|Epoch)\((train|val)\)\s*(\[\d+\])?\s*\[\s*(\d+)/(\d+)\]\s*(.*)',
                          line)
            if not m:
                continue
            kind, phase, epoch, cur, _, rest = m.groups()
            values = {k: float(v) for k, v in _KV.findall(rest)}
            if phase == 'train':
                last_iter = int(cur) if kind == 'Iter' else last_iter + 1
                values.setdefault('iter', last_iter)
                if epoch:
                    values['epoch'] = int(epoch.strip('[]'))
                records.append(values)
            elif any(k not in ('time', 'data_time') for k in values):
                values['step'] = int(epoch.strip('[]')) if epoch else last_iter
                records.append(values)
    return records


def _records(path):
    """The logged records of one run directory (its scalars.json, else its .log) or file."""
    if osp.isdir(path):
        scal = osp.join(path, 'vis_data', 'scalars.json')
        logs = glob.glob(osp.join(path, '*.log'))
        path = scal if osp.isfile(scal) else (logs[0] if logs else scal)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: not found')
    if not path.endswith('.json'):
        return path, parse_text_log(path)
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    raise ValueError(f'{path}:{n}: not a JSON line') from None
    return path, records


def _join(segments):
    """Train and val rows of a run's segments in time order (a run and its ``--resume`` runs):
    a later segment replaces what an earlier one logged from its first iteration on (the
    iterations an interrupted segment ran past its last checkpoint)."""
    train, val, by_epoch = [], [], False
    for seg_train, seg_val, seg_by_epoch in segments:
        by_epoch = by_epoch or seg_by_epoch
        start = min((r['x'] for r in seg_train), default=None)
        if start is not None:
            train = [r for r in train if r['x'] < start]
            val = [r for r in val if r['x'] < start]
        train += seg_train
        val += seg_val
    return train, val, by_epoch


def _validated(stamp_dir):
    """Does the run's text log show a validation (``Iter(val)``/``Epoch(val)``)?"""
    for log in glob.glob(osp.join(stamp_dir, '*.log')):
        with open(log, errors='replace') as f:
            if any('Iter(val)' in line or 'Epoch(val)' in line for line in f):
                return True
    return False


def load_run(path, name=None):
    """``path``: a work_dir (its training runs joined in time order: the first run and every
    ``--resume``; test-only runs beside them are passed over), a timestamp dir, a scalars.json
    or a .log."""
    if osp.isdir(path) and not osp.isdir(osp.join(path, 'vis_data')):
        stamps = sorted(
            d for d in glob.glob(osp.join(path, '2*'))
            if re.fullmatch(r'\d{8}_\d{6}', osp.basename(d)) and osp.isdir(d) and (osp.isfile(
                osp.join(d, 'vis_data', 'scalars.json')) or glob.glob(osp.join(d, '*.log'))))
        if not stamps:
            raise FileNotFoundError(f'{path}: no <timestamp>/vis_data/scalars.json or log inside')
        segments = [_split(_records(d)[1]) for d in stamps]
        # a training run logged a train line, or (shorter than its logging interval) only its
        # validation; a test run (tools/test.py) logs neither "(train)" nor "(val)"
        trained = [seg for d, seg in zip(stamps, segments) if seg[0] or seg[1] and _validated(d)]
        if not trained:
            raise ValueError(f'{path}: none of its {len(stamps)} runs logged a training value')
        train, val, by_epoch = _join(trained)
        name = name or osp.basename(osp.normpath(path))
        source = f'{path} ({len(trained)} training run(s) joined'
        skipped = len(segments) - len(trained)
        source += f', {skipped} test-only run(s) passed over)' if skipped else ')'
        return Run(name, train, val, by_epoch, source)
    path, records = _records(path)
    if not records:
        raise ValueError(f'{path}: no logged values')
    train, val, by_epoch = _split(records)
    if name is None:
        parts = osp.abspath(path).split(osp.sep)
        stamp_i = next(
            (i for i in range(len(parts) - 1, -1, -1) if re.fullmatch(r'\d{8}_\d{6}', parts[i])),
            len(parts) - 1)
        name = parts[stamp_i - 1] if stamp_i > 0 else osp.basename(path)
    return Run(name, train, val, by_epoch, path)


def check_keys(runs, keys):
    """Every key of ``keys`` (``--keys``) must be logged by some run, exactly or as the last part
    of a logged key; else a ValueError naming the close matches (a misspelt key would otherwise
    drop its column and its panel without a word). Returns the warnings for a key that some
    runs did not log (``loss_attr`` beside a run without the attribute head): its column and
    curve are empty there, said rather than silent."""

    def names_of(keys_logged):
        return set(keys_logged) | {k.split('/')[-1] for k in keys_logged}

    logged = sorted({k for r in runs for k in r.keys()})
    names = sorted(names_of(logged))
    missing = [k for k in keys or () if k not in names]
    if not missing:
        per_run = [(r.name, names_of(r.keys())) for r in runs]
        return [
            f'--keys {k}: not logged by {", ".join(n for n, has in per_run if k not in has)} '
            '(empty there)' for k in keys or () if any(k not in has for _, has in per_run)
        ]
    said = []
    for k in missing:
        near = difflib.get_close_matches(k, names, n=3, cutoff=0.6)
        said.append(k + (f' (did you mean {" or ".join(near)}?)' if near else ''))
    shown = ' '.join(logged[:40]) + (f' ... ({len(logged) - 40} more)' if len(logged) > 40 else '')
    raise ValueError(f'--keys {", ".join(said)}: logged by none of the runs; logged: {shown}')


def smooth(ys, window):
    """Centred moving average over ``window`` points (shrinking at the ends): a trailing one
    would draw the curve ``window / 2`` logging intervals late."""
    if window <= 1 or len(ys) < 2:
        return ys
    half = window // 2
    out = np.empty(len(ys))
    for i in range(len(ys)):
        lo, hi = max(0, i - half), min(len(ys), i + half + 1)
        out[i] = np.mean(ys[lo:hi])
    return out


def trend_warnings(run, patience=3, diverge_factor=3.0):
    """Metrics that fell for ``patience`` evaluations after their best; NaN/diverging losses."""
    warns = []
    for key in run.keys():
        xs, ys, kind = run.series(key)
        if kind == 'val' and ('AP' in key or 'AR' in key) and len(ys) > patience:
            best = int(np.argmax(ys))
            after = ys[best:]
            falls = 0
            for a, b in zip(after[:-1], after[1:]):
                falls = falls + 1 if b < a else 0
                if falls >= patience:
                    warns.append(f'{run.name}: {key} fell for {falls} consecutive evaluations '
                                 f'after its best {ys[best]:.4f} at {int(xs[best])}')
                    break
        if key.split('/')[-1].startswith('loss') or key.startswith('val_loss'):
            bad = [x for x, y in zip(xs, ys) if not math.isfinite(y)]
            if bad:
                warns.append(f'{run.name}: {key} is NaN/inf at {int(bad[0])}')
                continue
            if kind == 'train' and len(ys) >= 10:
                s = smooth(ys, 5)
                if s[-1] > diverge_factor * max(s.min(), 1e-12) and s[-1] > s[len(s) // 2]:
                    warns.append(f'{run.name}: {key} diverges: {s[-1]:.4g} now vs min '
                                 f'{s.min():.4g} (x{s[-1] / max(s.min(), 1e-12):.1f})')
    return warns


def summarize(run):
    """Dict per run: iterations, train time (s), peak memory (MB) and per metric best/last."""
    t_xs, t_ys, _ = run.series('time')
    total = 0.0
    prev = 0
    for x, y in zip(t_xs, t_ys):  # 'time' is s/iter averaged over the logging window
        total += y * (x - prev)
        prev = x
    _, mem, _ = run.series('memory')
    row = dict(
        run=run.name,
        # the last iteration the log shows: a validation logged at its iteration
        # (log_metric_by_epoch=False, every config here) after the last train line (logging
        # interval 50, max_iters 520: train lines end at 500) counts
        iterations=int(
            max([r['x'] for r in run.train] + ([] if run.by_epoch else [r['x'] for r in run.val]),
                default=0)),
        train_time_s=round(total, 1),
        peak_memory_mb=int(mem.max()) if len(mem) else None,
        metrics={})
    row['final'] = {}
    for key in run.keys():
        kind = run.series(key)[2]
        if kind == 'train' and key not in ('time', 'data_time', 'memory', 'iter', 'step'):
            row['final'][key] = float(run.series(key)[1][-1])
        if kind != 'val' or key in ('time', 'data_time'):
            continue
        xs, ys, _ = run.series(key)
        lower_better = 'loss' in key
        i = int(np.argmin(ys) if lower_better else np.argmax(ys))
        row['metrics'][key] = dict(best=float(ys[i]), best_at=int(xs[i]), last=float(ys[-1]))
    return row


def _columns(rows, keys=None, all_metrics=False):
    """[(key as logged, 'best'|'last'|'final')] of the summary table."""

    def full(short, pool):
        return next((k for k in pool if k == short or k.split('/')[-1] == short), None)

    metrics = sorted({k for r in rows for k in r['metrics']})
    finals = sorted({k for r in rows for k in r.get('final', {})})
    if all_metrics:
        return [(k, w) for k in metrics for w in ('best', 'last')]
    if keys is None:
        spec = HEADLINE
    else:
        spec = [(k, w) for k in keys
                for w in (('best', 'last') if full(k, metrics) else ('final', ))]
    cols = []
    for short, what in spec:
        key = full(short, metrics) if what in ('best', 'last') else None
        if key is None and what in ('last', 'final'):
            key, what = full(short, finals), 'final'
        if key is not None and (key, what) not in cols:
            cols.append((key, what))
    return cols


def _render(header, lines, fmt):
    """A table as Markdown or CSV (commas inside cells become semicolons)."""
    if fmt == 'csv':
        return '\n'.join(','.join(c.replace(',', ';') for c in row) for row in [header] + lines)
    out = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    out += ['| ' + ' | '.join(row) + ' |' for row in lines]
    return '\n'.join(out)


def summary_table(rows, fmt='md', keys=None, all_metrics=False):
    """One row per run: iterations, train time, peak memory, then the headline metrics (best
    with its iteration, and last), or ``keys``, or every validation metric (``all_metrics``)."""
    cols = _columns(rows, keys, all_metrics)
    header = ['run', 'iters', 'time (min)', 'peak MB']
    header += [f'{k.split("/")[-1]} {"final" if w == "final" else w}' for k, w in cols]
    lines = []
    for r in rows:
        cells = [
            r['run'],
            str(r['iterations']), f'{r["train_time_s"] / 60:.1f}',
            '-' if r['peak_memory_mb'] is None else str(r['peak_memory_mb'])
        ]
        for k, what in cols:
            if what == 'final':
                v = r.get('final', {}).get(k)
                cells.append('-' if v is None else f'{v:.4g}')
                continue
            m = r['metrics'].get(k)
            if m is None:
                cells.append('-')
            elif what == 'best':
                cells.append(f'{m["best"]:.4f} @{m["best_at"]}')
            else:
                cells.append(f'{m["last"]:.4f}')
        lines.append(cells)
    return _render(header, lines, fmt)


def group_table(rows, groups, fmt='md', keys=None, all_metrics=False):
    """One row per group of runs sharing a config (seeds): runs, then mean +- std (n) of each
    summary column over the group's runs."""
    cols = _columns(rows, keys, all_metrics)
    header = ['group', 'runs'] + [f'{k.split("/")[-1]} {w}' for k, w in cols]
    lines = []
    for members in groups:
        cells = [
            rows[members[0]]['run'] + (f' +{len(members) - 1}' if len(members) > 1 else ''),
            str(len(members))
        ]
        for k, what in cols:
            if what == 'final':
                vals = [rows[i].get('final', {}).get(k) for i in members]
            else:
                vals = [rows[i]['metrics'].get(k, {}).get(what) for i in members]
            vals = np.array([v for v in vals if v is not None], float)
            if not len(vals):
                cells.append('-')
            elif len(vals) == 1:
                cells.append(f'{vals[0]:.4f} (n=1)')
            else:
                cells.append(f'{vals.mean():.4f} +- {vals.std(ddof=1):.4f} (n={len(vals)})')
        lines.append(cells)
    return _render(header, lines, fmt)


def _group_series(runs, key, smooth_window):
    """Mean and std over runs of one key, on the x values every run logged."""
    series = [r.series(key) for r in runs]
    series = [(xs, smooth(ys, smooth_window) if kind == 'train' and 'loss' in key else ys, kind)
              for xs, ys, kind in series if kind]
    if not series:
        return None
    common = sorted(set.intersection(*(set(xs.tolist()) for xs, _, _ in series)))
    if not common:
        return None
    stack = np.array([[dict(zip(xs.tolist(), ys.tolist()))[x] for x in common]
                      for xs, ys, _ in series])
    return np.array(common), stack.mean(0), stack.std(0, ddof=1), series[0][2], len(series)


def plot_runs(runs, keys, out, smooth_window=5, groups=None):
    """One panel per key, one line per run; train losses smoothed. ``groups`` (lists of run
    indices, e.g. seeds of one config): one mean line with a +-1 std band per group of 2+ runs.
    Headless (Agg)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import seaborn as sns
    sns.set_theme(style='whitegrid', context='notebook')
    present = [k for k in keys if any(r.series(k)[2] for r in runs)]
    if not present:
        raise ValueError(f'none of the keys {list(keys)} is in the logs; available: '
                         f'{sorted({k for r in runs for k in r.keys()})}')
    cols = min(3, len(present))
    rows = math.ceil(len(present) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    groups = groups or [[i] for i in range(len(runs))]
    palette = sns.color_palette('tab10', len(groups))
    for ax, key in zip(axes.flat, present):
        kind = None
        for colour, members in zip(palette, groups):
            if len(members) > 1:
                got = _group_series([runs[i] for i in members], key, smooth_window)
                if got is None:
                    continue
                xs, mean, std, kind, n = got
                label = f'{runs[members[0]].name} (mean of {n}, band +-1 std)'
                ax.plot(xs, mean, color=colour, label=label, marker='o' if kind == 'val' else None)
                ax.fill_between(xs, mean - std, mean + std, color=colour, alpha=0.2)
                continue
            run = runs[members[0]]
            xs, ys, kind = run.series(key)
            if kind is None:
                continue
            if kind == 'train' and 'loss' in key:  # raw (faint) + moving average
                ax.plot(xs, ys, color=colour, alpha=0.25, linewidth=0.8, label=f'{run.name} (raw)')
                ax.plot(
                    xs,
                    smooth(ys, smooth_window),
                    color=colour,
                    label=f'{run.name} (mean of {smooth_window})')
            elif kind == 'train':
                ax.plot(xs, ys, color=colour, label=run.name)
            else:
                ax.plot(xs, ys, marker='o', color=colour, label=run.name)
        ax.set_title(key)
        ax.set_xlabel('epoch' if runs[0].by_epoch and kind == 'val' else 'iteration')
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(present):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return present
