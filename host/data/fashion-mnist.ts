// Fashion-MNIST from the Debian package dataset-fashion-mnist (IDX files, gzipped).
// MORSEL_FASHION_MNIST_DIR overrides the directory.

import * as fs from 'fs';
import * as path from 'path';
import { ModelError } from '../ir/graph';
import { readIdxFile } from './idx';

export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export interface FashionMnist {
  /** count * 28 * 28 pixels, row-major, 0..255. */
  images: Uint8Array;
  /** count labels, 0..9. */
  labels: Uint8Array;
  count: number;
  height: 28;
  width: 28;
}

export function fashionMnistDir(): string {
  return process.env.MORSEL_FASHION_MNIST_DIR || FASHION_MNIST_DEFAULT_DIR;
}

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new ModelError(
    `Fashion-MNIST file ${base}(.gz) not found in ${dir}: install the Debian package dataset-fashion-mnist ` +
      `(apt-get install dataset-fashion-mnist) or set MORSEL_FASHION_MNIST_DIR to a directory holding the IDX files`,
  );
}

export function loadFashionMnist(split: 'train' | 'test', limit?: number): FashionMnist {
  const dir = fashionMnistDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const img = readIdxFile(findFile(dir, `${prefix}-images-idx3-ubyte`));
  const lab = readIdxFile(findFile(dir, `${prefix}-labels-idx1-ubyte`));
  if (img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new ModelError(`Fashion-MNIST ${split} images: expected dims [N, 28, 28], found [${img.dims}]`);
  }
  if (lab.dims.length !== 1 || lab.dims[0] !== img.dims[0]) {
    throw new ModelError(`Fashion-MNIST ${split}: ${img.dims[0]} images but labels have dims [${lab.dims}]`);
  }
  const count = Math.min(img.dims[0], limit ?? Infinity);
  return {
    images: img.data.subarray(0, count * 28 * 28),
    labels: lab.data.subarray(0, count),
    count,
    height: 28,
    width: 28,
  };
}
