"""What the uncertainty scripts share: calibrate.ts's calibration groups and its raw cache.

`npx tsx scripts/uncertainty/calibrate.ts` writes, per series, .cache/uncertainty/<model>/raw/<set>/
slice-<k>.json + .f32: the input, its padding mask, the reference, the reference's noise variance and
the K ensemble members, each rows x columns float32. terms.py, model-forms.py and error-head.py read
it to study other forms of the calibration without rerunning the model.
"""
import glob
import json
import os
import re

import numpy as np

# calibrate.ts's calibration groups (the model's training side); every other series is held out.
CALIBRATION_GROUPS = {
    'L143': ['Mayo_L143_B30f', 'Mayo_L143_D45f'],
    'lidc-0001': ['lidc_0001_chest_dose25', 'lidc_0001_chest_dose10'],
    'crlm-1004': ['crlm_1004_abdomen_dose25', 'crlm_1004_abdomen_dose10'],
}
CALIBRATION_SERIES = [s for group in CALIBRATION_GROUPS.values() for s in group]


def series_dir(name):
    """A data set's name as calibrate.ts writes it in file names (every run of non-alphanumerics -> '_')."""
    return re.sub(r'[^A-Za-z0-9]+', '_', name)


def rerender_group(spec):
    """calibrate.ts --rerender 'volume:kernel' (e.g. lidc-0001-chest:sharp): (the calibration group of its
    source volume, its two series). Same patient, same group: leaving a group out leaves the patient out."""
    volume, kernel = spec.split(':')
    group = next(g for g, series in CALIBRATION_GROUPS.items() if series[0].startswith(series_dir(volume) + '_'))
    return group, [series_dir(f'{volume}-{kernel} dose{d}') for d in (25, 10)]


def is_rerendered(series):
    """A series calibrate.ts --rerender made (a training volume in another kernel): never held out."""
    return re.search(r'_(sharp|standard|smooth|siemens_b30f|siemens_d45f)(_pairref)?_dose\d+$', series) is not None


# calibrate.ts's run file version (its cache key ends -v3.json since the dose went into the key): bump both together.
RUN_FILE_VERSION = 'v3'


def saved_value(cache, name, key):
    """A number calibrate.ts saved in a series' run file (.cache/uncertainty/<model>/<set>-seed0-k2_4_8-s3-v3.json,
    CT's dose-unknown path), e.g. 'inputNoise'; None where it saved null."""
    file = os.path.join(cache, f'{name}-seed0-k2_4_8-s3-{RUN_FILE_VERSION}.json')
    if not os.path.exists(file):
        raise FileNotFoundError(f'{file}: run `npx tsx scripts/uncertainty/calibrate.ts --modality CT` first')
    m = re.search(rf'"{key}":([0-9.eE+-]+|null)', open(file).read())
    return None if m.group(1) == 'null' else float(m.group(1))


def slice_files(raw, setdir):
    """The slice-<k>.json files of one cached series, in slice order."""
    files = glob.glob(os.path.join(raw, setdir, 'slice-*.json'))
    return sorted(files, key=lambda p: int(re.search(r'slice-(\d+)\.json$', p).group(1)))


def read_planes(meta_file):
    """(meta, planes): a slice's metadata and its float32 planes (input, padding, reference, refVar, members...)."""
    meta = json.load(open(meta_file))
    return meta, np.fromfile(meta_file[:-5] + '.f32', dtype=np.float32).reshape(-1, meta['rows'], meta['columns'])


def load_series(raw, setdir):
    """Every slice of one cached series as float64 planes with a boolean padding mask."""
    out = []
    for meta_file in slice_files(raw, setdir):
        meta, a = read_planes(meta_file)
        out.append(dict(meta=meta, input=a[0].astype(np.float64), padding=a[1] > 0.5, reference=a[2].astype(np.float64),
                        refVar=a[3].astype(np.float64), members=a[4:].astype(np.float64)))
    return out


def tissue_patches(reference, padding, units='HU', size=16, max_padding_share=0.0):
    """sFRC's air rule (src/metrics/sfrc.ts patchIsTissue) on a size-px grid; a block whose padding
    share exceeds max_padding_share is left out (0: any padding)."""
    rows, columns = reference.shape
    if units == 'HU':
        pixel_floor, mean_floor = -824, -874
    else:
        top = reference[~padding].max()
        pixel_floor, mean_floor = 200 / 2686 * top, 150 / 2686 * top
    out = []
    for r in range(0, rows - size + 1, size):
        for c in range(0, columns - size + 1, size):
            b = reference[r:r + size, c:c + size]
            if padding[r:r + size, c:c + size].mean() > max_padding_share:
                continue
            if (b > pixel_floor).sum() > 0.1 * size * size and b.mean() > mean_floor:
                out.append((r, c))
    return out
