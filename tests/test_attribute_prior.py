"""The attribute prior learned from the synthetic annotations: what the generator draws."""
import json

from conftest import TOOLS, tool

from fashionpedia_plugin import taxonomy
from fashionpedia_plugin.datasets.attribute_prior import build_attribute_prior, load_attribute_prior
from fashionpedia_plugin.datasets.validation import load_annotation_json

PANTS, SHOE, POCKET, SLEEVE, NECKLINE = 6, 23, 32, 31, 33
STRAIGHT, WIDE_LEG = 128, 132


def test_prior_learns_class_specific_and_exclusive_attributes(synthetic_root):
    ann = f'{synthetic_root}/annotations/instances_attributes_train2020.json'
    prior = build_attribute_prior(load_annotation_json(ann), ann, min_support=2)
    counts = {int(c): {int(a) for a in v} for c, v in prior['attribute_counts'].items()}
    # a silhouette only pants carry
    assert {STRAIGHT, WIDE_LEG} & counts[PANTS]
    assert not any({STRAIGHT, WIDE_LEG} & v for c, v in counts.items() if c != PANTS)
    # categories that carry none
    assert not counts.get(SHOE) and not counts.get(POCKET)
    groups = {
        (g['category_id'], g['supercategory']): set(g['attribute_ids'])
        for g in prior['exclusive_groups']
    }
    assert groups[SLEEVE, 'length'] == {157, 160}  # short / wrist-length, one per sleeve
    assert groups[NECKLINE, 'neckline type'] == {182, 183}  # round / v-neck
    # attributes of different super-categories on one instance (pattern + length) never share
    # a group
    sup = dict(zip(taxonomy.ATTRIBUTE_IDS, taxonomy.ATTRIBUTE_SUPERCATEGORIES))
    assert all({sup[a]
                for a in g['attribute_ids']} == {g['supercategory']}
               for g in prior['exclusive_groups'])


def test_cli_writes_a_prior_the_decoder_loads(synthetic_root, tmp_path):
    ann = f'{synthetic_root}/annotations/instances_attributes_train2020.json'
    out = tmp_path / 'prior.json'
    res = tool(f'{TOOLS}/analysis_tools/build_attribute_prior.py', ann, '--out', out,
               '--min-support', '2')
    assert 'exclusive groups' in res.stdout
    saved = json.load(open(out))
    assert load_attribute_prior(str(out)) == saved
    # the annotation file itself works as a prior too
    assert load_attribute_prior(ann, min_support=2)['attribute_counts'] == \
        saved['attribute_counts']
