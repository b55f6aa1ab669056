"""The vendored taxonomy is the official one; its groups."""
from fashionpedia_plugin import taxonomy


def test_taxonomy_is_official():
    assert len(taxonomy.CLASSES) == 46 and len(taxonomy.ATTRIBUTE_IDS) == 294
    assert taxonomy.CLASSES[0] == 'shirt, blouse' and taxonomy.CLASSES[45] == 'tassel'
    assert min(taxonomy.ATTRIBUTE_IDS) == 0 and max(taxonomy.ATTRIBUTE_IDS) == 340
    assert taxonomy.ATTRIBUTE_IDS == tuple(sorted(taxonomy.ATTRIBUTE_IDS))
    assert len(taxonomy.CATEGORIES_WITH_ATTRIBUTES) == 18
    row = taxonomy.indices_to_multihot([taxonomy.attribute_ids_to_indices([340, 0])])[0]
    assert taxonomy.multihot_to_attribute_ids(row) == [0, 340]
