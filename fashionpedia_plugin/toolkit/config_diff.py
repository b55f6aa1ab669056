"""Key-level comparison of resolved mmengine configs (the recipe check is recipe_check.py).

mmengine has ``Config.diff`` (a unified text diff of two dumped files); this flattens resolved
configs (inheritance and ``--cfg-options`` applied) to dotted keys, so differences read as
``optim_wrapper.optimizer.lr: 0.02 -> 0.0001`` whatever file each value came from.
"""
import fnmatch

NOISE = ('work_dir', 'launcher', 'filename', 'load_from', 'resume', 'experiment_name',
         '*.backend_args', 'custom_imports.*', 'visualizer.*', 'vis_backends.*')

ABSENT = '<absent>'


def _item_names(items):
    """Names of list items: ``Type`` for dicts with a ``type`` (``Type#2`` for repeats), else
    the index. Lists of hooks or transforms then match by type, not by position."""
    if not items or not all(isinstance(v, dict) and 'type' in v for v in items):
        return [str(i) for i in range(len(items))]
    seen, names = {}, []
    for v in items:
        t = str(v['type'])
        seen[t] = seen.get(t, 0) + 1
        names.append(t if seen[t] == 1 else f'{t}#{seen[t]}')
    return [f'[{n}]' for n in names]


def flatten(obj, prefix=''):
    """Nested dicts/lists -> {dotted.key: leaf}. Lists of typed dicts are keyed by type
    (``custom_hooks.[ValLossHook].type``), other lists of containers by index; each such list
    item also gets a ``key`` entry holding the whole item (to report insertions as one row)."""
    out = {}
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            out.update(flatten(v, f'{prefix}.{k}' if prefix else str(k)))
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in obj):
        for name, v in zip(_item_names(obj), obj):
            key = f'{prefix}.{name}'
            out[key + '.@item'] = v
            out.update(flatten(v, key))
    else:
        out[prefix] = list(obj) if isinstance(obj, tuple) else obj
    return out


def diff_configs(flats, ignore=NOISE):
    """``flats``: list of flattened configs. Returns rows ``(key, [values...], status)`` with
    status added/removed/changed relative to the first config (:data:`ABSENT` = key absent).
    A list item (hook, transform) present on one side only is one row, ``inserted`` or
    ``removed``, with the whole item as its value."""
    keys = sorted(set().union(*flats))
    missing = object()
    whole = set()  # list items inserted/removed as a whole
    rows = []
    for key in keys:
        if any(fnmatch.fnmatch(key, pat) for pat in ignore):
            continue
        if any(key.startswith(w + '.') for w in whole):
            continue
        vals = [f.get(key, missing) for f in flats]
        item = key.endswith('.@item')
        if item and all(v is not missing for v in vals):
            continue  # compared key by key
        if not item and all(v == vals[0] for v in vals[1:]):
            continue
        if item:
            key = key[:-len('.@item')]
            whole.add(key)
            status = 'inserted' if vals[0] is missing else 'removed'
        elif vals[0] is missing:
            status = 'added'
        elif any(v is missing for v in vals[1:]):
            status = 'removed'
        else:
            status = 'changed'
        rows.append((key, [ABSENT if v is missing else v for v in vals], status))
    return rows


def images(n):
    """Images seen, readable at any scale: 2,080 / 1.44 M."""
    return f'{n / 1e6:.2f} M images' if n >= 1e6 else f'{n:,} images'


def fmt(v, width=40):
    """A value as lines of at most ``width`` characters (wrapped, never cut): each line ends
    after a space, comma or bracket in its second half where there is one, so that a name
    (``AttributeConvFCBBoxHead``) is not split, else before a capital that follows a small
    letter (``AttributeConvFCBBox`` / ``Head`` in a narrow column); the lines joined are the
    value."""
    s = repr(v) if not isinstance(v, str) else v
    width, lines = max(2, width), []
    while len(s) > width:
        cut = max(s.rfind(c, width // 2, width) for c in ' ,([{') + 1 or max(
            (i for i in range(width // 2, width) if s[i].isupper() and s[i - 1].islower()),
            default=width)
        lines.append(s[:cut])
        s = s[cut:]
    return lines + [s] if s or not lines else lines


def format_rows(rows, names, width=40, columns=100):
    """The diff as a text table of at most ``columns`` characters a line; long values wrap onto
    continuation lines. When the keys and ``names`` columns of ``width`` do not fit, the value
    columns narrow (to no less than 20); if they still do not fit, each row is stacked: the
    status and key on one line, then one block per config (``[A] value``, wrapped)."""
    kw = max([len(k) for k, _, _ in rows] + [3])
    n = max(len(names), 1)
    width = min(width, (columns - 10 - kw) // n - 1)
    if width >= 20:
        lines = [f'{"status":<8} {"key":<{kw}} ' + ' '.join(f'{n:<{width}}' for n in names)]
        for key, vals, status in rows:
            cells = [fmt(v, width) for v in vals]
            for i in range(max(len(c) for c in cells)):
                head = f'{status:<8} {key:<{kw}} ' if i == 0 else ' ' * (10 + kw)
                lines.append(head + ' '.join(f'{(c[i] if i < len(c) else ""):<{width}}'
                                             for c in cells).rstrip())
        return '\n'.join(lines)
    lines = ['status   key', '           [config] value']
    indent = ' ' * 11
    for key, vals, status in rows:
        keys = fmt(key, columns - 9)
        lines.append(f'{status:<8} {keys[0]}')
        lines += [' ' * 9 + k for k in keys[1:]]
        for name, v in zip(names, vals):
            label = f'{name} '
            for i, chunk in enumerate(fmt(v, columns - len(indent) - len(label))):
                lines.append(indent + (label if i == 0 else ' ' * len(label)) + chunk)
    return '\n'.join(lines)
