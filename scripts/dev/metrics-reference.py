#!/usr/bin/python3
"""Reference PSNR / SSIM / RMSE from scikit-image for test/metrics (dev script, not run in CI).

Builds image pairs (synthetic ones and crops of real CT / PET slices from ../shared with simulated
perturbations), writes them as little-endian raw files under test/data/metrics/, and records
scikit-image's numbers with the CONTRACT settings in test/data/metrics/index.json:

  both images clipped to [lo, hi], converted to float64, then
  psnr = peak_signal_noise_ratio(ref, test, data_range=hi - lo)
  ssim = structural_similarity(ref, test, gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False, data_range=hi - lo)
  rmse = sqrt(mean_squared_error(ref, test)) on the unclipped values (modality units)

Run from the repository root with Debian's python3 (python3-skimage, python3-nibabel):
  /usr/bin/python3 scripts/dev/metrics-reference.py
The output is deterministic (seeded) and small (about 1.3 MB).
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import scipy
import skimage
from scipy import ndimage
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
OUT = os.path.join(ROOT, 'test', 'data', 'metrics')
CT_RANGE = (-1000.0, 1000.0)

rng = np.random.default_rng(20240503)


def reference_metrics(ref, test, lo, hi):
    r = np.clip(ref.astype(np.float64), lo, hi)
    t = np.clip(test.astype(np.float64), lo, hi)
    data_range = hi - lo
    psnr = peak_signal_noise_ratio(r, t, data_range=data_range)
    ssim = structural_similarity(r, t, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=data_range)
    # The same SSIM computed the way a float32 caller of scikit-image would get it: recorded
    # to show how much float32 arithmetic alone moves the number.
    ssim32 = structural_similarity(r.astype(np.float32), t.astype(np.float32), gaussian_weights=True,
                                   sigma=1.5, use_sample_covariance=False, data_range=data_range)
    rmse = float(np.sqrt(mean_squared_error(ref.astype(np.float64), test.astype(np.float64))))
    return float(psnr), float(ssim), float(ssim32), rmse


def write_raw(name, array):
    path = os.path.join(OUT, name)
    if array.dtype == np.int16:
        array.astype('<i2').tofile(path)
    else:
        array.astype('<f4').tofile(path)
    return name


pairs = []


def add_pair(name, ref, test, lo, hi, description, ref_file=None):
    assert ref.shape == test.shape and ref.dtype == test.dtype
    dtype = 'int16' if ref.dtype == np.int16 else 'float32'
    ext = 'i16' if dtype == 'int16' else 'f32'
    if ref_file is None:
        ref_file = write_raw(f'{name}.ref.{ext}', ref)
    test_file = write_raw(f'{name}.test.{ext}', test)
    psnr, ssim, ssim32, rmse = reference_metrics(ref, test, lo, hi)
    pairs.append({
        'name': name,
        'description': description,
        'rows': int(ref.shape[0]),
        'columns': int(ref.shape[1]),
        'dtype': dtype,
        'reference': ref_file,
        'test': test_file,
        'range': [lo, hi],
        'psnr': psnr,
        'ssim': ssim,
        'ssimFloat32': ssim32,
        'rmse': rmse,
    })
    print(f'{name:28s} {ref.shape} psnr {psnr:.4f} ssim {ssim:.6f} rmse {rmse:.3f}', file=sys.stderr)
    return ref_file


def blobs(shape, count, lo, hi, width):
    """A smooth field: a sum of random Gaussian blobs."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    field = np.zeros(shape)
    for _ in range(count):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        s = rng.uniform(width / 2, width)
        field += rng.uniform(lo, hi) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return field


def shapes(shape):
    """Piecewise-constant CT-like scene: air, water disk, soft-tissue and bone inserts."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    cy, cx = shape[0] / 2, shape[1] / 2
    image = np.full(shape, -1000.0)
    image[(yy - cy) ** 2 / (0.42 * shape[0]) ** 2 + (xx - cx) ** 2 / (0.45 * shape[1]) ** 2 < 1] = 0.0
    for value, (oy, ox), r in [(60.0, (-0.2, -0.2), 0.08), (1500.0, (0.2, 0.15), 0.07),
                               (-100.0, (0.15, -0.22), 0.1), (-800.0, (-0.18, 0.2), 0.06)]:
        image[(yy - cy - oy * shape[0]) ** 2 + (xx - cx - ox * shape[1]) ** 2 < (r * shape[0]) ** 2] = value
    image[int(0.1 * shape[0]):int(0.16 * shape[0]), int(0.4 * shape[1]):int(0.6 * shape[1])] = 300.0
    return image


def synthetic_pairs():
    ref = blobs((128, 128), 12, -300, 400, 25).astype(np.float32)
    test = (ref + rng.normal(0, 30, ref.shape)).astype(np.float32)
    add_pair('smooth-noise', ref, test, *CT_RANGE, 'smooth blobs, test = ref + white noise sd 30')

    ref = shapes((128, 128)).astype(np.float32)
    test = (ndimage.gaussian_filter(ref.astype(np.float64), 1.0) + rng.normal(0, 10, ref.shape)).astype(np.float32)
    add_pair('edges-blur-noise', ref, test, *CT_RANGE,
             'piecewise-constant scene with values beyond the range (air -1000, bone 1500), test = blur 1 px + noise sd 10')

    ref = (blobs((67, 101), 6, -500, 800, 12) + rng.normal(0, 5, (67, 101))).astype(np.float32)
    test = (0.95 * ref + 20 + rng.normal(0, 40, ref.shape)).astype(np.float32)
    add_pair('odd-size-bias', ref, test, *CT_RANGE, '67x101 (odd, non-square), test = 0.95 ref + 20 + noise sd 40')

    ref = shapes((96, 96)).astype(np.float32) + rng.normal(0, 8, (96, 96)).astype(np.float32)
    test = (ndimage.gaussian_filter(ref.astype(np.float64), 0.7) + rng.normal(0, 15, ref.shape)).astype(np.float32)
    add_pair('soft-tissue-window', ref, test, -160.0, 240.0, 'custom range [-160, 240] (--range), blur 0.7 px + noise sd 15')

    ref = blobs((12, 11), 3, 0, 200, 4).astype(np.float32)
    test = (ref + rng.normal(0, 20, ref.shape)).astype(np.float32)
    add_pair('minimum-size', ref, test, *CT_RANGE, '12x11, the smallest size with a valid 11x11 window')

    ref = (blobs((96, 80), 5, 0.5, 12, 4) + 1.0).astype(np.float32)
    test = (rng.poisson(ref * 8) / 8).astype(np.float32)
    add_pair('pet-synthetic', ref, test, 0.0, float(ref.max()), 'PET-like SUV hot spots, Poisson noise, range [0, max ref]')


def crop_center(image, size, offset=(0, 0)):
    r0 = (image.shape[0] - size) // 2 + offset[0]
    c0 = (image.shape[1] - size) // 2 + offset[1]
    return image[r0:r0 + size, c0:c0 + size]


def ct_slice(name, z):
    volume = nib.load(os.path.join(SHARED, 'ct', f'{name}.nii.gz'))
    # NIfTI x-y-z; transpose to rows = y, columns = x (orientation does not matter for metrics).
    return np.asarray(volume.dataobj[:, :, z]).T.astype(np.int16)


def correlated_noise(shape, sd, blur):
    noise = ndimage.gaussian_filter(rng.normal(0, 1, shape), blur)
    return noise * (sd / noise.std())


def ct_pairs():
    for name, z, offset in [('lidc-0314-chest', 70, (0, -40)), ('crlm-1004-abdomen', 20, (10, 0)),
                            ('lungdx-a0001-chest-kernelL', 30, (0, 60))]:
        ref = crop_center(ct_slice(name, z), 192, offset)
        ref64 = ref.astype(np.float64)
        noisy = np.round(ref64 + correlated_noise(ref.shape, 25, 0.8)).astype(np.int16)
        ref_file = add_pair(f'ct-{name}-noise', ref, noisy, *CT_RANGE,
                            f'{name} slice {z}, 192x192 crop, test = ref + correlated noise sd 25 HU')
        smooth = np.round(ndimage.gaussian_filter(ref64, 1.2)).astype(np.int16)
        add_pair(f'ct-{name}-smooth', ref, smooth, *CT_RANGE,
                 f'{name} slice {z}, test = Gaussian blur 1.2 px (over-smoothed denoiser)', ref_file=ref_file)


def pet_pairs():
    volume = nib.load(os.path.join(SHARED, 'pet', 'sts-001-pet.nii.gz'))
    ref = np.asarray(volume.dataobj[:, :, 130]).T.astype(np.float32)
    # A quarter-count realisation: Poisson at a scale where the mean count per voxel is modest.
    scale = 0.02
    test = (rng.poisson(np.maximum(ref, 0) * scale * 0.25) / (scale * 0.25)).astype(np.float32)
    test = ndimage.gaussian_filter(test.astype(np.float64), 0.6).astype(np.float32)
    add_pair('pet-sts-001-quarter', ref, test, 0.0, float(ref.max()),
             'sts-001 PET slice 130 (Bq/ml), quarter-count Poisson + smoothing, range [0, max ref]')


def main():
    os.makedirs(OUT, exist_ok=True)
    synthetic_pairs()
    ct_pairs()
    pet_pairs()
    index = {
        'generator': 'scripts/dev/metrics-reference.py',
        'versions': {'skimage': skimage.__version__, 'scipy': scipy.__version__, 'numpy': np.__version__},
        'settings': 'clip to range, float64; structural_similarity(gaussian_weights=True, sigma=1.5, '
                    'use_sample_covariance=False, data_range=hi-lo); peak_signal_noise_ratio(data_range=hi-lo); '
                    'rmse unclipped',
        'byteOrder': 'little-endian, row-major',
        'pairs': pairs,
    }
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(index, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
