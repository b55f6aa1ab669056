"""Compare resolved configs key by key; or compare one config with the paper's recipe.

  python tools/analysis_tools/config_diff.py A.py B.py [C.py ...] [--json]
      [--cfg-options key=value ...] [--ignore 'pattern' ...]
  python tools/analysis_tools/config_diff.py RUN.py --recipe [--gpus N] [--recipe-gpus 8]

Inheritance and --cfg-options are resolved first; keys are dotted paths (pipelines indexed).
Noise (work_dir, launcher, backend_args, visualizer, ...) is ignored. --recipe compares with
configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py (or --recipe-config) and
flags deviations that matter: lr vs total batch, schedule length and steps, RoIs per image,
frozen stages, input size and jitter, attribute loss weight. --gpus is the number of GPUs the
run used (total batch = batch_size x gpus). Exit code 0; 1 with --fail-on-deviation.
"""
import argparse
import json
import sys

from mmengine.config import DictAction

from fashionpedia_plugin.toolkit.cli import load_config, run_cli
from fashionpedia_plugin.toolkit.config_diff import (NOISE, RECIPE_CONFIG, diff_configs, flatten,
                                                     format_rows, recipe_deviations)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='applied to every config')
    p.add_argument('--ignore', nargs='*', default=[], help='extra fnmatch patterns to ignore')
    p.add_argument('--json', action='store_true')
    p.add_argument('--recipe', action='store_true', help='compare with the paper recipe config')
    p.add_argument('--recipe-config', default=RECIPE_CONFIG)
    p.add_argument('--gpus', type=int, default=1, help='GPUs of the compared run (--recipe)')
    p.add_argument('--recipe-gpus', type=int, default=8)
    p.add_argument('--fail-on-deviation', action='store_true')
    a = p.parse_args(argv)
    paths = list(a.configs)
    if a.recipe:
        if len(paths) != 1:
            p.error('--recipe takes exactly one config')
        paths = [a.recipe_config] + paths
    elif len(paths) < 2:
        p.error('give at least two configs (or one with --recipe)')
    cfgs = [load_config(path, a.cfg_options) for path in paths]
    rows = diff_configs([flatten(c.to_dict()) for c in cfgs], NOISE + tuple(a.ignore))
    devs = recipe_deviations(cfgs[1], cfgs[0], a.gpus, a.recipe_gpus) if a.recipe else []
    if a.json:
        print(
            json.dumps(
                dict(
                    configs=paths,
                    differences=[dict(key=k, values=v, status=s) for k, v, s in rows],
                    deviations=[dict(what=w, config=c, recipe=r) for w, c, r in devs]),
                indent=1,
                default=str))
    else:
        names = ['recipe' if a.recipe and i == 0 else f'[{chr(65 + i)}]' for i in range(len(paths))]
        for n, path in zip(names, paths):
            print(f'{n} {path}')
        counts = {
            s: sum(1 for r in rows if r[2] == s)
            for s in ('changed', 'added', 'removed', 'inserted')
        }
        print(f'{len(rows)} differences: ' + ', '.join(f'{n} {s}'
                                                       for s, n in counts.items()) + '\n')
        print(format_rows(rows, names))
        if a.recipe:
            print(f'\n{len(devs)} deviation(s) from the paper recipe known to matter:')
            for what, mine, recipe in devs:
                print(f'  DEVIATION {what}: {mine}   (recipe: {recipe})')
    return 1 if a.fail_on_deviation and devs else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
