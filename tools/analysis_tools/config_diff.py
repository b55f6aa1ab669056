"""Compare resolved configs key by key; or compare one config with the official recipe.

  python tools/analysis_tools/config_diff.py A.py B.py [C.py ...] [--json]
      [--cfg-options key=value ...] [--ignore 'pattern' ...]
  python tools/analysis_tools/config_diff.py CONFIG.py --recipe [--schedule 1x|2x|3x|6x] [--gpus N]
      [--json] [--strict]

Inheritance and --cfg-options are resolved first; keys are dotted paths; lists of hooks or
transforms are matched by type (an inserted hook is one row). Noise (work_dir, launcher,
backend_args, visualizer, ...) is ignored. Long values wrap.

--recipe compares the config with the official Attribute-Mask R-CNN R50-FPN recipe itself
(fashionpedia_plugin/toolkit/official_recipe.json: each value with the official file it comes
from): norms, frozen stages, FPN levels, anchors, RoI level mapping, heads, losses, weight decay
and its scope, warm-up, lr per image, schedule length and drops in images seen (against the
official --schedule: by default the one the config's name says, lsj-1x -> 1x, else 3x), input
size and jitter, RoI sampling, test thresholds, attribute target. --gpus: GPUs of the run
(total batch = batch_size x gpus; default: the N of mmdet's NxbM in the config's name, else
the batch the config's lr is written for, auto_scale_lr.base_batch_size). Exit code 0, also
with deviations; 1 with --strict when something deviates beyond the documented deviations.
"""
import argparse
import json
import sys

from fashionpedia_plugin.toolkit.cli import OptionsAction, load_config, run_cli
from fashionpedia_plugin.toolkit.config_diff import NOISE, diff_configs, flatten, format_rows
from fashionpedia_plugin.toolkit.recipe_check import SCHEDULES, schedule_of


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--cfg-options', nargs='+', action=OptionsAction, help='applied to every config')
    p.add_argument('--ignore', nargs='*', default=[], help='extra fnmatch patterns to ignore')
    p.add_argument('--json', action='store_true')
    p.add_argument('--recipe', action='store_true', help='compare with the official recipe')
    p.add_argument(
        '--schedule',
        choices=SCHEDULES,
        help='official schedule to compare with (--recipe; default: the one the config\'s name '
        'says, lsj-1x -> 1x, else 3x, the released one)')
    p.add_argument(
        '--gpus',
        type=int,
        help='GPUs of the compared run, its schedule rescaled as tools/train.py does (--recipe; '
        'default: N of NxbM in the config name, else auto_scale_lr.base_batch_size / batch_size, '
        'the total batch the config is written for)')
    p.add_argument(
        '--strict',
        '--fail-on-deviation',
        action='store_true',
        help='exit code 1 when the config deviates from the recipe (--recipe)')
    a = p.parse_args(argv)
    if a.recipe:
        if len(a.configs) != 1:
            p.error('--recipe takes exactly one config')
        from fashionpedia_plugin.toolkit.recipe_check import check, format_check, gpus_of
        cfg = load_config(a.configs[0], a.cfg_options)
        schedule, why = (a.schedule, '') if a.schedule else schedule_of(a.configs[0])
        gpus, gpus_why = (a.gpus, '') if a.gpus else gpus_of(a.configs[0])
        if gpus:  # the schedule tools/train.py would run on that many processes
            from fashionpedia_plugin.toolkit.schedule_scaling import resolve_schedule
            resolve_schedule(cfg, gpus)
        rows = check(cfg, schedule=schedule, gpus=gpus)
        if a.json:
            print(
                json.dumps([
                    dict(entry=n, ours=m, official=o, status=s, source=src)
                    for n, m, o, s, src in rows
                ],
                           indent=1,
                           default=str))
        else:
            print(f'{a.configs[0]} vs the official recipe (R50-FPN, {schedule} schedule{why}'
                  f'{gpus_why})\n')
            print(format_check(rows))
        return 1 if a.strict and any(r[3] == 'deviates' for r in rows) else 0
    if len(a.configs) < 2:
        p.error('give at least two configs (or one with --recipe)')
    cfgs = [load_config(path, a.cfg_options) for path in a.configs]
    rows = diff_configs([flatten(c.to_dict()) for c in cfgs], NOISE + tuple(a.ignore))
    if a.json:
        print(
            json.dumps(
                dict(
                    configs=a.configs,
                    differences=[dict(key=k, values=v, status=s) for k, v, s in rows]),
                indent=1,
                default=str))
        return 0
    names = [f'[{chr(65 + i)}]' for i in range(len(a.configs))]
    for n, path in zip(names, a.configs):
        print(f'{n} {path}')
    counts = {
        s: sum(1 for r in rows if r[2] == s)
        for s in ('changed', 'added', 'removed', 'inserted')
    }
    print(f'{len(rows)} differences: ' + ', '.join(f'{n} {s}' for s, n in counts.items()) + '\n')
    print(format_rows(rows, names))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
