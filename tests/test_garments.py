"""Garment grouping (tryon/garments.py) on a figure drawn here: known garments, parts and masks."""
import numpy as np
import pytest

from fashionpedia_plugin import taxonomy

H, W = 120, 100


def attr(name, score):
    """An instance record's attribute entry, looked up by its official name."""
    j = taxonomy.ATTRIBUTE_NAMES.index(name)
    return dict(
        id=taxonomy.ATTRIBUTE_IDS[j],
        name=name,
        supercategory=taxonomy.ATTRIBUTE_SUPERCATEGORIES[j],
        score=score)


def rect(y1, y2, x1, x2):
    m = np.zeros((H, W), bool)
    m[y1:y2, x1:x2] = True
    return m


def figure():
    """``(instances, masks, ids)``: a top with two wrist-length sleeves (the left one sticks out
    past the top's outline) and a v-neck neckline, pants with a pocket, a zipper lying more on
    the pants than on the top, a bow on no garment and a shoe. ``ids``: name -> instance id."""
    parts = [
        ('top', 'top, t-shirt, sweatshirt', 0.9, rect(20, 70, 30, 70) | rect(20, 40, 15, 85),
         [attr('plain (pattern)', 0.8), attr('hip (length)', 0.3)]),
        ('sleeve_l', 'sleeve', 0.7, rect(20, 40, 10, 32), [attr('wrist-length', 0.6)]),
        ('sleeve_r', 'sleeve', 0.75, rect(20, 40, 68, 85), [attr('wrist-length', 0.7)]),
        ('neckline', 'neckline', 0.6, rect(20, 26, 44, 56), [attr('v-neck', 0.55)]),
        ('pants', 'pants', 0.8, rect(70, 115, 30, 70), [attr('straight', 0.5)]),
        ('pocket', 'pocket', 0.5, rect(80, 90, 35, 45), []),
        ('zipper', 'zipper', 0.4, rect(62, 80, 48, 52), []),
        ('bow', 'bow', 0.45, rect(100, 110, 80, 95), []),
        ('shoe', 'shoe', 0.5, rect(112, 120, 30, 45), []),
    ]
    instances, masks, ids = [], [], {}
    for k, (key, name, score, mask, attrs) in enumerate(parts):
        instances.append(
            dict(
                id=k,
                class_id=taxonomy.CLASSES.index(name),
                class_name=name,
                score=score,
                attributes=attrs))
        masks.append(mask)
        ids[key] = k
    return instances, np.stack(masks), ids


def by_class(groups, name):
    (g, ) = [g for g in groups.garments if g['class_name'] == name]
    return g


def test_sleeves_and_neckline_attach_to_their_top():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, ids = figure()
    groups = group_garments(instances, masks)
    assert [g['class_name'] for g in groups.garments] == ['top, t-shirt, sweatshirt', 'pants']
    top, pants = by_class(groups, 'top, t-shirt, sweatshirt'), by_class(groups, 'pants')
    assert {p['id'] for p in top['parts']} == {ids['sleeve_l'], ids['sleeve_r'], ids['neckline']}
    # the zipper lies 8 rows on the top and 10 on the pants: it goes to the pants
    assert {p['id'] for p in pants['parts']} == {ids['pocket'], ids['zipper']}
    left = [p for p in top['parts'] if p['id'] == ids['sleeve_l']][0]
    assert left['overlap'] == pytest.approx(17 / 22, abs=1e-3)


def test_part_outside_every_garment_is_reported_unattached():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, ids = figure()
    groups = group_garments(instances, masks)
    assert [u['id'] for u in groups.unattached] == [ids['bow']]
    assert groups.unattached[0]['best_overlap'] == 0
    out = groups.to_json()
    assert out['num_unattached_parts'] == 1 and out['unattached_parts'][0]['class_name'] == 'bow'
    # accessories stand alone: the shoe is no garment's part and not "unattached"
    assert [a['id'] for a in groups.accessories] == [ids['shoe']]
    assert all(p['id'] != ids['shoe'] for g in groups.garments for p in g['parts'])


def test_overlap_threshold_is_configurable():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, ids = figure()
    strict = group_garments(instances, masks, min_overlap=0.8)  # left sleeve: 17/22 = 0.77
    top = by_class(strict, 'top, t-shirt, sweatshirt')
    assert ids['sleeve_l'] not in {p['id'] for p in top['parts']}
    # the zipper (10/18 on the pants) and the bow stay unattached too
    assert {u['id'] for u in strict.unattached} == {ids['sleeve_l'], ids['zipper'], ids['bow']}


def test_merged_mask_is_the_union_of_garment_and_parts():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, ids = figure()
    groups = group_garments(instances, masks)
    k = [g['class_name'] for g in groups.garments].index('top, t-shirt, sweatshirt')
    union = masks[ids['top']] | masks[ids['sleeve_l']] | masks[ids['sleeve_r']] | masks[
        ids['neckline']]
    assert np.array_equal(groups.masks[k], union)
    assert not np.array_equal(union, masks[ids['top']])  # the left sleeve sticks out
    g = groups.garments[k]
    assert g['bbox_xyxy'] == [10, 20, 85, 70] and g['mask_area'] == int(union.sum())


def test_attributes_are_merged_with_their_source():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, ids = figure()
    top = by_class(group_garments(instances, masks), 'top, t-shirt, sweatshirt')
    attrs = {(a['name'], a['source_class']): a for a in top['attributes']}
    wrist = attrs[('wrist-length', 'sleeve')]
    assert wrist['source'] == ids['sleeve_r'] and wrist['score'] == 0.7  # the higher of two
    assert sorted(wrist['sources']) == [ids['sleeve_l'], ids['sleeve_r']]
    assert attrs[('v-neck', 'neckline')]['source'] == ids['neckline']
    own = attrs[('plain (pattern)', 'top, t-shirt, sweatshirt')]
    assert own['source'] == ids['top'] and own['supercategory'] == 'textile pattern'


def test_categories_come_from_the_label_file():
    import copy
    import json

    from fashionpedia_plugin.tryon import TryonLabels, group_garments, load_tryon_labels
    instances, masks, _ = figure()
    groups = group_garments(instances, masks)
    assert by_class(groups, 'top, t-shirt, sweatshirt')['category'] == 'upper_body'
    assert by_class(groups, 'pants')['category'] == 'lower_body'
    with open(load_tryon_labels().path) as f:
        spec = json.load(f)
    edited = copy.deepcopy(spec)
    edited['categories']['upper_body'].remove('top, t-shirt, sweatshirt')
    edited['categories']['dresses'].append('top, t-shirt, sweatshirt')
    groups = group_garments(instances, masks, labels=TryonLabels(edited))
    assert by_class(groups, 'top, t-shirt, sweatshirt')['category'] == 'dresses'
    assert groups.best('dresses') == 0 and groups.best('upper_body') is None


def test_records_and_masks_must_match():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, _ = figure()
    with pytest.raises(ValueError, match='9 instance records but 8 masks'):
        group_garments(instances, masks[:8])
