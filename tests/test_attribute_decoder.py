"""AttributeDecoder: thresholds (global, per super-category, per attribute), class prior,
exclusive groups, config round trip and named errors."""
import json

import numpy as np
import pytest

from fashionpedia_plugin import taxonomy
from fashionpedia_plugin.datasets import FashionpediaDataError
from fashionpedia_plugin.models.task_modules import AttributeDecoder

IDX = taxonomy.ATTR_ID_TO_INDEX
SKIRT, SHOE = 8, 23
MINI, MIDI, PLAIN, STRIPE = 149, 153, 317, 328


def scores(**by_id):
    s = np.zeros((1, taxonomy.NUM_ATTRIBUTES), np.float32)
    for aid, v in by_id.items():
        s[0, IDX[int(aid[1:])]] = v
    return s


def prior():
    """Skirts carry lengths (never two at once) and patterns; shoes carry nothing."""
    return dict(
        format='fashionpedia-attribute-prior/1',
        attribute_counts={str(SKIRT): {
                              str(MINI): 9,
                              str(MIDI): 7,
                              str(PLAIN): 10,
                              str(STRIPE): 6
                          }},
        exclusive_groups=[
            dict(category_id=SKIRT, supercategory='length', attribute_ids=[MINI, MIDI])
        ])


def test_global_threshold_and_default():
    s = scores(a149=0.59, a153=0.93, a317=0.04)
    assert AttributeDecoder(score_thr=0.5).decode(s, [SKIRT]) == [[MINI, MIDI]]
    assert AttributeDecoder().decode(s, [SKIRT]) == [[MINI, MIDI]]  # default 0.05
    assert AttributeDecoder(score_thr=0.03).decode(s, [SKIRT]) == [[MINI, MIDI, PLAIN]]
    assert AttributeDecoder().decode(np.zeros((0, 294)), []) == []


def test_per_supercategory_and_per_attribute_thresholds():
    s = scores(a149=0.59, a153=0.93, a317=0.6)
    dec = AttributeDecoder(score_thr=dict(default=0.5, supercategory={'length': 0.95}))
    assert dec.decode(s, [SKIRT]) == [[PLAIN]]
    dec = AttributeDecoder(
        score_thr=dict(default=0.5, supercategory={'length': 0.95}, attribute={str(MIDI): 0.9}))
    assert dec.decode(s, [SKIRT]) == [[MIDI, PLAIN]]  # the most specific wins


def test_class_prior_drops_unseen_attributes_and_silent_categories():
    s = np.repeat(scores(a149=0.9, a317=0.9, a0=0.9), 2, axis=0)
    dec = AttributeDecoder(score_thr=0.5, prior=prior())
    assert dec.decode(s, [SKIRT, SHOE]) == [[MINI, PLAIN], []]
    off = AttributeDecoder(score_thr=0.5, prior=prior(), class_mask=False)
    assert off.decode(s, [SKIRT, SHOE]) == [[0, MINI, PLAIN]] * 2


def test_exclusive_group_keeps_the_best_member_only():
    s = scores(a149=0.59, a153=0.93, a317=0.6, a328=0.7)
    dec = AttributeDecoder(score_thr=0.5, prior=prior(), exclusive=True)
    # lengths are exclusive on skirts; patterns are not in a group of this prior
    assert dec.decode(s, [SKIRT]) == [[MIDI, PLAIN, STRIPE]]
    assert AttributeDecoder(
        score_thr=0.95, prior=prior(), exclusive=True).decode(s, [SKIRT]) == [[]]


def test_json_files_and_config_round_trip(tmp_path):
    p = tmp_path / 'prior.json'
    p.write_text(json.dumps(prior()))
    thr = tmp_path / 'thr.json'
    thr.write_text(json.dumps(dict(default=0.5, supercategory={'length': 0.95})))
    dec = AttributeDecoder(score_thr=str(thr), prior=str(p), exclusive=True)
    again = AttributeDecoder(**{k: v for k, v in dec.to_config().items() if k != 'type'})
    s = scores(a149=0.59, a153=0.96, a317=0.6)
    assert again.decode(s, [SKIRT]) == dec.decode(s, [SKIRT]) == [[MIDI, PLAIN]]


@pytest.mark.parametrize('spec,needle', [
    (dict(defualt=0.1), 'unknown key'),
    (dict(supercategory={'colour': 0.1}), "unknown super-category 'colour'"),
    (dict(attribute={'999': 0.1}), 'unknown attribute id 999'),
    ([0.1], 'must be a number'),
])
def test_bad_thresholds_are_named_errors(spec, needle):
    with pytest.raises(FashionpediaDataError, match=needle):
        AttributeDecoder(score_thr=spec)


def test_a_prior_file_that_is_neither_is_a_named_error(tmp_path):
    p = tmp_path / 'x.json'
    p.write_text('{"a": 1}')
    with pytest.raises(FashionpediaDataError, match='neither an attribute prior'):
        AttributeDecoder(prior=str(p))


def test_missing_prior_names_the_ways_out(tmp_path):
    """test.py/infer.py on a folder without the train annotations: the error says what the
    prior is for and how to give it or go without it (both ways run: docs/attributes.md)."""
    missing = str(tmp_path / 'annotations' / 'instances_attributes_train2020.json')
    with pytest.raises(FashionpediaDataError) as e:
        AttributeDecoder(prior=missing)
    msg = str(e.value)
    assert msg.startswith(f'{missing}: attribute prior not found.')
    for way in ('--train-ann FILE', 'build_attribute_prior.py',
                'test_evaluator.attr_decoder.prior=FILE visualizer.attr_decoder.prior=FILE',
                'the same keys =None'):
        assert way in msg
    assert AttributeDecoder(prior=None).class_mask is False  # the way without it
