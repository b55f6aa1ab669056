"""Count which attributes occur with which category (the decoder's class prior).

  python tools/analysis_tools/build_attribute_prior.py TRAIN_ANN_JSON --out prior.json
      [--min-support 5]

Writes attribute counts per category and the exclusive groups (attributes of one
super-category never seen together on an instance of a category, on >= --min-support instances)
and prints a summary. Give the prior to the decoder: test_evaluator.attr_decoder.prior=prior.json
(or the train annotation file itself), or to tune_attributes.py --prior.
"""
import argparse
import sys

from fashionpedia_plugin.toolkit.cli import output_file, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file')
    p.add_argument('--out', required=True)
    p.add_argument('--min-support', type=int, default=5)
    a = p.parse_args(argv)
    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.datasets.attribute_prior import (build_attribute_prior,
                                                              save_attribute_prior)
    from fashionpedia_plugin.datasets.validation import load_annotation_json
    prior = build_attribute_prior(load_annotation_json(a.ann_file), a.ann_file, a.min_support)
    save_attribute_prior(prior, output_file(a.out))
    carrying = [c for c, counts in prior['attribute_counts'].items() if counts]
    print(f'{a.ann_file}: {sum(prior["num_instances"].values())} instances, '
          f'{len(carrying)} categories with attributes, '
          f'{len(prior["exclusive_groups"])} exclusive groups -> {a.out}')
    for g in prior['exclusive_groups']:
        print(f'  exclusive: {taxonomy.CLASSES[g["category_id"]].split(",")[0]:<12} '
              f'{g["supercategory"]:<18} {g["attribute_ids"]}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
