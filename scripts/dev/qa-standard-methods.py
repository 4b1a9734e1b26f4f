#!/usr/bin/python3
"""QA's noise texture and MTF against textbook implementations (dev check, not run in CI; docs/qa.md, "Independent audit").

scripts/dev/qa-audit.py re-implements each check as docs/qa.md defines it. This script asks the other
question: what the standard methods, written from their papers with numpy and none of the toolkit's
code, read on the same images. Run after a QA run that kept its outputs (`-o`):

  node bin/lowdose.js qa --method gaussian --phantoms water,acr --threads 1 -o /tmp/qa-audit
  /usr/bin/python3 scripts/dev/qa-standard-methods.py fixtures /tmp/qa-audit

- NPS (ICRU Report 87; AAPM TG-233): 64-pixel square ROIs at a 16-pixel stride wholly inside the
  water column less 15 mm, on the slices more than 15 mm from its ends, each less its least-squares
  2nd-order polynomial, NPS = Δx Δy / (Nx Ny) <|DFT|²>, averaged over annuli one frequency step wide;
  the mean frequency f_av = Σ f NPS(f) / Σ NPS(f) (TG-233's). Compared with `nps-peak-shift`'s
  `measured` mean frequencies (exit 1 beyond 1e-6 cycles/mm); its Parseval integral with the ROIs'
  mean variance; the raw arg-max of the radial NPS printed beside QA's fitted peak.
- MTF by the circular-edge method (Richard et al., Med Phys 39(7):4115, 2012; Friedman et al., Med Phys
  40(5):051907, 2013): the rod's centre as the centroid of its pixels above 500 HU (three rounds), an
  ESF of bin means over radial distance (bins of 0.1 or 0.25 pixel, ±6 or ±10 mm about the 12.5 mm
  edge, empty bins interpolated), LSF = −dESF/dr, with or without a Hann window, |FFT| normalised at
  zero frequency, MTF50 by linear interpolation. Printed for each variant beside `mtf50-ratio`.
"""
import glob
import json
import os
import sys

import numpy as np
import pydicom

if len(sys.argv) != 3:
    sys.exit(__doc__)
FIX, OUT = sys.argv[1], sys.argv[2]
qa = {c['name']: c for c in json.load(open(os.path.join(OUT, 'qa.json')))['checks']}


def read(d):
    ds = sorted((pydicom.dcmread(f) for f in glob.glob(os.path.join(d, '*.dcm'))), key=lambda x: float(x.ImagePositionPatient[2]))
    return [(x.pixel_array * float(x.RescaleSlope) + float(x.RescaleIntercept), x) for x in ds]


def denoised_of(low):
    """The denoised folder of low-dose series folder `low` (realisation 0), from the report.json QA's denoise wrote."""
    for report in glob.glob(os.path.join(OUT, 'denoised', '*', '*', 'report.json')):
        for s in json.load(open(report))['series']:
            if os.path.realpath(os.path.dirname(s['input']['files'][0])) == os.path.realpath(low):
                return s['output']['dir']
    raise SystemExit(f'no denoised output of {low} under {OUT}')


def nps(d, geometry, n=64, stride=16, margin=15.0):
    tiles, variances = [], []
    for image, x in read(d):
        z = float(x.ImagePositionPatient[2])
        if not geometry['waterZ'][0] + margin < z < geometry['waterZ'][1] - margin:
            continue
        dy, dx = (float(v) for v in x.PixelSpacing)
        ox, oy = float(x.ImagePositionPatient[0]), float(x.ImagePositionPatient[1])
        reach = geometry['waterRadius'] - margin
        cx, cy = geometry['centre']
        yy, xx = np.mgrid[0:n, 0:n].astype(float)
        basis = np.stack([np.ones(n * n), xx.ravel(), yy.ravel(), xx.ravel() ** 2, xx.ravel() * yy.ravel(), yy.ravel() ** 2], 1)
        for r0 in range(0, image.shape[0] - n + 1, stride):
            for c0 in range(0, image.shape[1] - n + 1, stride):
                corners = [(ox + c * dx - cx, oy + r * dy - cy) for c in (c0, c0 + n - 1) for r in (r0, r0 + n - 1)]
                if max(np.hypot(*p) for p in corners) > reach:
                    continue
                roi = image[r0:r0 + n, c0:c0 + n].astype(float)
                coefficients, *_ = np.linalg.lstsq(basis, roi.ravel(), rcond=None)
                rest = roi - (basis @ coefficients).reshape(n, n)
                tiles.append(np.abs(np.fft.fftshift(np.fft.fft2(rest))) ** 2 * dx * dy / (n * n))
                variances.append(rest.var())
    spectrum = np.mean(tiles, 0)
    f = np.fft.fftshift(np.fft.fftfreq(n, dx))
    step = 1 / (n * dx)
    ring = np.round(np.hypot(*np.meshgrid(f, f)) / step).astype(int)
    radial = np.array([spectrum[ring == k].mean() for k in range(n // 2 + 1)])
    frequency = np.arange(n // 2 + 1) * step
    return dict(rois=len(tiles), integral=spectrum.sum() * step * step, variance=float(np.mean(variances)),
                mean=(frequency * radial).sum() / radial.sum(), rawPeak=frequency[1:][radial[1:].argmax()])


def mtf50(d, z_centre, radius, bin_px, hann, half_mm):
    image, x = min(read(d), key=lambda t: abs(float(t[1].ImagePositionPatient[2]) - z_centre))
    dy, dx = (float(v) for v in x.PixelSpacing)
    ox, oy = float(x.ImagePositionPatient[0]), float(x.ImagePositionPatient[1])
    rr, cc = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    X, Y = ox + cc * dx, oy + rr * dy
    cx, cy = 0.0, 0.0
    for _ in range(3):
        rod = (image > 500) & (np.hypot(X - cx, Y - cy) < radius + 6)
        cx, cy = X[rod].mean(), Y[rod].mean()
    r = np.hypot(X - cx, Y - cy)
    near = np.abs(r - radius) < half_mm
    distance, value = r[near] / dx, image[near]
    edges = np.arange((radius - half_mm) / dx, (radius + half_mm) / dx + bin_px, bin_px)
    index = np.digitize(distance, edges) - 1
    esf = np.array([value[index == k].mean() if np.any(index == k) else np.nan for k in range(len(edges) - 1)])
    centres = (edges[:-1] + edges[1:]) / 2
    have = ~np.isnan(esf)
    lsf = -np.gradient(np.interp(centres, centres[have], esf[have]))
    if hann:
        lsf = lsf * np.hanning(len(lsf))
    m = np.abs(np.fft.rfft(lsf))
    m /= m[0]
    f = np.fft.rfftfreq(len(lsf), bin_px * dx)
    k = int(np.argmax(m < 0.5))
    return f[k - 1] + (0.5 - m[k - 1]) * (f[k] - f[k - 1]) / (m[k] - m[k - 1])


failures = 0
water = json.load(open(os.path.join(FIX, 'water', 'fixture.json')))['geometry']
for pct in (25, 10):
    check = qa.get(f'water/dose{pct}/nps-peak-shift')
    if not check:
        continue
    low = os.path.join(FIX, 'water', f'dose{pct}')
    series = {'full': os.path.join(FIX, 'water', 'dose100'), 'input': low, 'denoised': denoised_of(low)}
    for role, d in series.items():
        got = nps(d, water)
        qa_mean = check['measured'][f'{role}Mean']
        ok = abs(got['mean'] - qa_mean) <= 1e-6
        failures += not ok
        print(f"water dose{pct} {role:8s} NPS over {got['rois']} ROIs: integral {got['integral']:.4f} HU² (ROI variance {got['variance']:.4f}); "
              f"mean frequency {got['mean']:.6f} cycles/mm (qa.json {qa_mean:.6f}, {'agrees' if ok else 'DIFFERS'}); "
              f"raw arg-max {got['rawPeak']:.4f}, QA's fitted peak {check['measured'][role]:.4f}")

acr = json.load(open(os.path.join(FIX, 'acr', 'fixture.json')))['geometry']
rod = next(i for i in acr['inserts'] if i['kind'] == 'edge-rod')
z_centre = next(m['zCentre'] for m in acr['modules'] if m['module'] == 4)
for pct in (25, 10):
    check = qa.get(f'acr/dose{pct}/mtf50-ratio')
    if not check:
        continue
    low = os.path.join(FIX, 'acr', f'dose{pct}')
    series = {'full': os.path.join(FIX, 'acr', 'dose100'), 'input': low, 'denoised': denoised_of(low)}
    m = check['measured']
    print(f"acr dose{pct} mtf50-ratio {check['value']:.4f} (rodMtf: denoised {m['denoised']:.4f}, input {m['input']:.4f}, full {m['full']:.4f} cycles/mm)")
    for bin_px in (0.1, 0.25):
        for hann in (True, False):
            for half in (6.0, 10.0):
                v = {role: mtf50(d, z_centre, rod['radius'], bin_px, hann, half) for role, d in series.items()}
                print(f"  bins {bin_px} px, {'Hann' if hann else 'no window'}, ±{half:g} mm: denoised {v['denoised']:.4f}, input {v['input']:.4f}, "
                      f"full {v['full']:.4f}; ratio {v['denoised'] / v['full']:.4f} (input / full {v['input'] / v['full']:.4f})")
print(f'{failures} disagreement(s)')
sys.exit(1 if failures else 0)
