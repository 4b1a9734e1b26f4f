#!/usr/bin/python3
"""Independent audit of the viewer's ROI readout and of `metrics --lesions` (dev check, not run in CI).

Recomputes, from the DICOM files alone with pydicom and numpy and none of the toolkit's code, what
the viewer's ROI readout (mean, sample SD, min, max, pixels, area in mm², SUVmean / SUVmax and the
SUVpeak of a sphere of radius 6 mm centred on any ROI pixel) and `lowdose metrics --lesions`
(SUVmean, SUVmax, SUVpeak and voxel counts per lesion) print, and compares (docs/viewer.md and
docs/metrics.md, "Independent audit"). SUVbw = value × weight / (dose decayed from injection to
SeriesTime), DecayCorrection START. The ROI holds the pixels whose centres lie inside the ellipse
((x + 0.5 − cx) / rx)² + ((y + 0.5 − cy) / ry)² ≤ 1; a voxel is at IPP + column·Δc·X + row·Δr·Y;
SUVpeak is searched by brute force over every voxel of the series.

  prepare data-dir iec-dir             copies into data-dir a real PET slice, the real Mayo L192 B30f
                                      quarter-dose CT, the PET series in iec-dir, and copies of the CT
                                      and PET with anisotropic pixels (0.5 x 0.8 mm, 2.0 x 3.2 mm), and
                                      writes data-dir/cases.json: ten ellipses on them
  roi     cases.json viewer.json      cases: [{ uid, path (file or folder), index, roi }],
                                      viewer: scripts/dev/roi-audit.ts's output for the same cases
  lesions lesions.json metrics.json reference-dir test-dir
                                      metrics: `lowdose metrics --json --lesions lesions.json`

Tolerances, of max(|value|, 1): 1e-9 for CT (int16 stored values, exact); 1e-6 for PET in the
API's table and `metrics --lesions` (the toolkit holds SUV pixels in float32, 6e-8 relative); 1e-4
for the viewer's PET readout, which reads float32 slices quantised onto int16 over the slice's
range (`int16Pixels`, up to half a step of range / 65534 per pixel). Exit 1 on a disagreement. The
lesions mode also prints SUVpeak over a sphere of 6.2 mm radius (1 cm³, the other size PERCIST
names) beside the toolkit's 6 mm.
"""
import glob
import json
import os
import shutil
import sys

import numpy as np
import pydicom


def seconds(t):
    t = str(t)
    return int(t[0:2]) * 3600 + int(t[2:4]) * 60 + float(t[4:] or 0)


def suv_factor(d):
    if d.Modality != 'PT' or d.get('Units') != 'BQML':
        return 1.0
    r = d.RadiopharmaceuticalInformationSequence[0]
    assert d.DecayCorrection == 'START', d.DecayCorrection
    elapsed = seconds(d.SeriesTime) - seconds(r.RadiopharmaceuticalStartTime)
    return float(d.PatientWeight) * 1000.0 / (float(r.RadionuclideTotalDose) * 2 ** (-elapsed / float(r.RadionuclideHalfLife)))


def read_series(path):
    """Slices sorted along the normal, values in modality units (SUVbw for PET in Bq/ml), and each voxel's patient position."""
    paths = sorted(glob.glob(os.path.join(path, '*'))) if os.path.isdir(path) else [path]
    ds = [pydicom.dcmread(p) for p in paths]
    o = np.array(ds[0].ImageOrientationPatient, float)
    normal = np.cross(o[:3], o[3:])
    ds.sort(key=lambda d: float(normal @ np.array(d.ImagePositionPatient, float)))
    vol = np.stack([d.pixel_array * float(d.get('RescaleSlope', 1)) + float(d.get('RescaleIntercept', 0)) for d in ds]).astype(np.float64)
    vol *= np.array([suv_factor(d) for d in ds])[:, None, None]
    rows, cols = vol.shape[1:]
    r, c = np.mgrid[0:rows, 0:cols]
    pos = np.zeros(vol.shape + (3,))
    for k, d in enumerate(ds):
        ipp = np.array(d.ImagePositionPatient, float)
        o = np.array(d.ImageOrientationPatient, float)
        dr, dc = (float(v) for v in d.PixelSpacing)
        pos[k] = ipp + c[..., None] * dc * o[:3] + r[..., None] * dr * o[3:]
    return vol, pos, [float(v) for v in ds[0].PixelSpacing], ds[0].Modality


def peak(vol, pos, centres, radius):
    flat, p = vol.reshape(-1), pos.reshape(-1, 3)
    best, count = -np.inf, 0
    for centre in centres:
        inside = ((p - centre) ** 2).sum(1) <= radius ** 2 + 1e-9
        mean = flat[inside].mean()
        if mean > best:
            best, count = mean, int(inside.sum())
    return best, count


def roi_readout(case):
    vol, pos, (dr, dc), modality = read_series(case['path'])
    k, e = case['index'], case['roi']
    rows, cols = vol.shape[1:]
    y, x = np.mgrid[0:rows, 0:cols]
    mask = ((x + 0.5 - e['cx']) / e['rx']) ** 2 + ((y + 0.5 - e['cy']) / e['ry']) ** 2 <= 1
    v = vol[k][mask]
    out = dict(mean=v.mean(), sd=v.std(ddof=1), min=v.min(), max=v.max(), pixels=int(mask.sum()), areaMm2=mask.sum() * dr * dc)
    if modality == 'PT':
        out['peak'], out['peakVoxels'] = peak(vol, pos, pos[k][mask], 6.0)
    return out, modality


def compare(label, toolkit, reference, tolerance, failures):
    diff = abs(float(toolkit) - float(reference))
    ok = diff <= tolerance * max(abs(float(reference)), 1)
    failures += [] if ok else [label]
    print(f'  {label:24s} toolkit {float(toolkit):14.6f}  independent {float(reference):14.6f}  |d| {diff:.1e}  {"agrees" if ok else "DIFFERS"}')


def audit_roi(cases_file, viewer_file):
    cases, viewer = json.load(open(cases_file)), json.load(open(viewer_file))
    failures = []
    for case, seen in zip(cases, viewer):
        ref, modality = roi_readout(case)
        print(f"{case['path']} slice {case['index']} ellipse {case['roi']} ({seen['units']})")
        u, t = seen['uptake'], seen['table']
        pet_tolerance = 1e-4 if modality == 'PT' else 1e-9
        table_tolerance = 1e-6 if modality == 'PT' else 1e-9
        for key, name in (('mean', 'mean'), ('sd', 'std'), ('max', 'max'), ('pixels', 'count'), ('areaMm2', 'areaMm2')):
            compare(f'viewer {key}', u[name], ref[key], pet_tolerance, failures)
        for key, column in (('mean', 'mean'), ('sd', 'sd'), ('min', 'min'), ('max', 'max'), ('pixels', 'pixels'), ('areaMm2', 'area_mm2')):
            compare(f'API table {key}', t[column], ref[key], table_tolerance, failures)
        if modality == 'PT':
            compare('viewer SUVpeak', u['peak'], ref['peak'], pet_tolerance, failures)
            compare('viewer SUVpeak voxels', u['peakVoxels'], ref['peakVoxels'], 0, failures)
    return failures


def audit_lesions(lesions_file, metrics_file, reference_dir, test_dir):
    lesions, metrics = json.load(open(lesions_file))['lesions'], json.load(open(metrics_file))['lesions']
    series = {'reference': read_series(reference_dir), 'test': read_series(test_dir)}
    failures = []
    for lesion, measured in zip(lesions, metrics):
        for role, (vol, pos, _, _) in series.items():
            flat, p = vol.reshape(-1), pos.reshape(-1, 3)
            voi = ((p - np.array(lesion['centre'])) ** 2).sum(1) <= lesion['radius'] ** 2
            got = measured[role]
            print(f"{lesion.get('name', '')} {role}")
            compare('voxels', got['voxels'], int(voi.sum()), 0, failures)
            compare('SUVmean', got['mean'], flat[voi].mean(), 1e-6, failures)
            compare('SUVmax', got['max'], flat[voi].max(), 1e-6, failures)
            best, count = peak(vol, pos, p[voi], 6.0)
            compare('SUVpeak (6 mm)', got['peak'], best, 1e-6, failures)
            wide, wide_count = peak(vol, pos, p[voi], 6.2)
            print(f'  {"SUVpeak (6.2 mm, 1 cm³)":24s} {wide:.6f} over {wide_count} voxels, against {best:.6f} over {count} ({(wide / best - 1) * 100 if best else 0:+.1f} %)')
    return failures


SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared')


def prepare(data, iec):
    """The audit's data and ellipses: centre (cx, cy) and semi-axes in image pixels, (0, 0) the first pixel's corner."""
    os.makedirs(data, exist_ok=True)
    pet = os.path.join(data, 'pet-suyashkumar-1.dcm')
    shutil.copy(os.path.join(SHARED, 'dicom/suyashkumar__dicom/testdata/1.dcm'), pet)
    ct = os.path.join(data, 'mayo-L192-B30f-quarter')
    shutil.copytree(os.path.join(SHARED, 'ldct-mayo/L192/B30f/quarter'), ct, dirs_exist_ok=True)
    pt = os.path.join(data, 'iec')
    shutil.copytree(iec, pt, dirs_exist_ok=True)

    def anisotropic(source, target, spacing, files):
        os.makedirs(target, exist_ok=True)
        for f in files:
            d = pydicom.dcmread(f)
            d.PixelSpacing = spacing
            d.SeriesInstanceUID += '.9'
            d.SOPInstanceUID += '.9'
            d.save_as(os.path.join(target, os.path.basename(f)))
        return target
    ct_aniso = anisotropic(ct, os.path.join(data, 'ct-anisotropic'), [0.5, 0.8], sorted(glob.glob(os.path.join(ct, '*')))[2:4])
    pt_aniso = anisotropic(pt, os.path.join(data, 'iec-anisotropic'), [2.0, 3.2], sorted(glob.glob(os.path.join(pt, '*.dcm'))))
    uid = lambda path: pydicom.dcmread(path if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, '*')))[0], stop_before_pixels=True).SeriesInstanceUID
    e = lambda cx, cy, rx, ry: dict(cx=cx, cy=cy, rx=rx, ry=ry)
    cases = [
        (pet, 0, e(88.5, 95.5, 3, 3)),  # the hottest pixel, one slice: the sphere is cut
        (pet, 0, e(2, 2, 5, 5)),  # over the image's corner
        (pt, 11, e(45.86, 53.55, 6, 6)),  # the 37 mm sphere of `phantom iec`, z = -1.5
        (pt, 11, e(64, 43, 2.2, 2.2)),  # the 10 mm sphere
        (pt, 0, e(64, 64, 10, 10)),  # the first slice: the sphere is cut
        (pt, 12, e(82.15, 74.5, 3.1, 2.3)),
        (pt_aniso, 11, e(45.86, 53.55, 5, 8)),  # a 16 mm circle on 2.0 x 3.2 mm pixels
        (ct, 3, e(300.2, 260.7, 20, 20)),
        (ct, 5, e(200.5, 300, 30.5, 12.25)),
        (ct_aniso, 0, e(256, 256, 25, 40)),  # a 20 mm circle on 0.5 x 0.8 mm pixels: 1256.6 mm²
    ]
    out = [dict(uid=uid(path), path=os.path.abspath(path), index=index, roi=roi) for path, index, roi in cases]
    json.dump(out, open(os.path.join(data, 'cases.json'), 'w'), indent=1)
    print(f'{len(out)} cases in {os.path.join(data, "cases.json")}')
    return []


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'prepare':
        failed = prepare(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == 'roi':
        failed = audit_roi(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == 'lesions':
        failed = audit_lesions(*sys.argv[2:])
    else:
        sys.exit(__doc__)
    print(f'{len(failed)} disagreement(s)' + (': ' + ', '.join(failed) if failed else ''))
    sys.exit(1 if failed else 0)
