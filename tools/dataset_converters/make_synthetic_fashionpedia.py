"""Generate the embedded synthetic Fashionpedia data (official format, real ids and names).

python tools/dataset_converters/make_synthetic_fashionpedia.py [OUT_DIR] [--train N] [--val N]
Default OUT_DIR: data/fashionpedia_synthetic (the demo config's data_root).
"""
import argparse
import time

from fashionpedia_plugin.toolkit import synthetic


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', nargs='?', default='data/fashionpedia_synthetic')
    p.add_argument('--train', type=int, default=300, help='number of train images')
    p.add_argument('--val', type=int, default=60, help='number of val images')
    p.add_argument('--size', type=int, default=320, help='image side in pixels')
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    t = time.time()
    files = synthetic.generate(a.out_dir, a.train, a.val, a.size, a.seed)
    print(f'synthetic Fashionpedia data in {a.out_dir} ({time.time() - t:.1f} s): ' +
          ', '.join(f'{k}: {v}' for k, v in files.items()))


if __name__ == '__main__':
    main()
