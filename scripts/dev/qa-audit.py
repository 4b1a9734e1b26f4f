#!/usr/bin/python3
"""Independent audit of `lowdose qa` (dev check, not run in CI; docs/qa.md, "Independent audit").

Recomputes the QA checks from the DICOM series QA read and wrote, following docs/qa.md's
definitions, with numpy / scikit-image / pydicom and none of the toolkit's code, and compares them
with the qa.json QA printed. Run from the repository root with Debian's python3, after a QA run
that kept its outputs (`-o`):

  node bin/lowdose.js qa --method gaussian --threads 1 -o /tmp/qa-audit > /tmp/qa-audit.txt
  /usr/bin/python3 scripts/dev/qa-audit.py fixtures /tmp/qa-audit /tmp/qa-audit/qa.json /tmp/qa-audit.txt

It also recomputes each check's pass, limitMarginSe and firm from its value, standard error and
band, and the summary counts. With the optional fourth argument, the text table of the same run (qa without --json) is checked
against qa.json too: each row's value and standard error equal to qa.json's within the printed
digits, the unit, PASS / FAIL, and "not firm" exactly where qa.json's `firm` is false.

Checks recomputed (with the subjects each phantom that ran has): noise-reduction (water, acr module 3, iec background), hu-error per ACR insert
and contrast-retention (mean over the realisations, with their standard errors), cnr-ratio, psnr,
ssim, nps-peak-shift (docs/metrics.md's peak estimator; also a one-pass cubic around the raw
maximum, the raw arg-max and the mean frequency), mtf50-ratio (a circular-edge MTF from a
least-squares cubic-spline ESF with knots every 1/4 pixel, the rod refined as docs/metrics.md says
rodMtf does; also reported with the script's own centre refinement and with the binned ESF of
1/4-pixel bin means at their samples' mean distance), suvmean-bias and
suvmax-recovery per IEC sphere (SUVbw from the DICOM header), detectability-ratio per lcd disk kind
(the channelized Hotelling observer: 10 Laguerre-Gauss channels, leave-one-realisation-out, the
ratio's delete-one-realisation jackknife). Not recomputed: hallucination. Exit 1 when a value differs by more than its tolerance:
1e-5 of max(|value|, 1) (the toolkit holds pixels in float32), 1e-4 for the NPS peak shift and
the detectability ratio, 2e-4 for the MTF50 ratio (the ESF's quarter-pixel detail is sensitive to
the last digits of the refined rod centre).
"""
import glob
import json
import math
import os
import sys

import numpy as np
import pydicom
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

if len(sys.argv) not in (4, 5):
    sys.exit(__doc__)
FIX, OUT, QAJSON = sys.argv[1], sys.argv[2], sys.argv[3]
TABLE = sys.argv[4] if len(sys.argv) == 5 else None
qa = json.load(open(QAJSON))
checks = {c['name']: c for c in qa['checks']}


# ---------------------------------------------------------------- I/O
def suv_factor(ds):
    """SUVbw per Bq/ml from the header (DecayCorrection START: decay from injection to series start)."""
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    dose = float(rp.RadionuclideTotalDose)
    half = float(rp.RadionuclideHalfLife)
    def secs(t):
        t = str(t)
        return int(t[0:2]) * 3600 + int(t[2:4]) * 60 + float(t[4:])
    dt = secs(ds.SeriesTime) - secs(rp.RadiopharmaceuticalStartTime)
    assert ds.DecayCorrection == 'START'
    return float(ds.PatientWeight) * 1000.0 / (dose * 2 ** (-dt / half))


def read_series(d):
    files = sorted(glob.glob(os.path.join(d, '*.dcm')))
    sl = []
    for f in files:
        ds = pydicom.dcmread(f)
        a = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        if ds.Modality == 'PT':
            assert ds.Units == 'BQML'
            a = a * suv_factor(ds)
        pos = [float(v) for v in ds.ImagePositionPatient]
        assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        sp = [float(v) for v in ds.PixelSpacing]  # row spacing, column spacing
        sl.append(dict(a=a, pos=pos, sp=sp, z=pos[2]))
    sl.sort(key=lambda s: s['z'])
    return sl


def outputs_by_input(modality_dose):
    """map input series folder -> denoised output folder, from the denoise report.json QA wrote."""
    m = {}
    for rep in glob.glob(os.path.join(OUT, 'denoised', '*', modality_dose, 'report.json')):
        for s in json.load(open(rep))['series']:
            m[os.path.realpath(os.path.dirname(s['input']['files'][0]))] = s['output']['dir']
    return m


def realisation_dirs(phantom):
    base = os.path.join(FIX, phantom)
    dirs = [base]
    rj = os.path.join(base, '.realisations', 'realisations.json')
    if os.path.exists(rj):
        dirs += [os.path.join(base, '.realisations', r['dir']) for r in json.load(open(rj))['realisations']]
    return dirs


def load_case(phantom, dose, mod):
    pct = round(dose * 100)
    om = outputs_by_input(f'{mod}-dose{pct}')
    reals = []
    for d in realisation_dirs(phantom):
        low = os.path.realpath(os.path.join(d, f'dose{pct}'))
        reals.append(dict(low=read_series(low), den=read_series(om[low]), full=read_series(os.path.join(d, 'dose100'))))
    return reals


# ---------------------------------------------------------------- ROIs
def circle(s, centre_xy, r_mm):
    """pixel in ROI when its centre lies inside the circle (patient mm)."""
    rows, cols = s['a'].shape
    y = s['pos'][1] + np.arange(rows) * s['sp'][0]
    x = s['pos'][0] + np.arange(cols) * s['sp'][1]
    return (y[:, None] - centre_xy[1]) ** 2 + (x[None, :] - centre_xy[0]) ** 2 <= r_mm ** 2


def module_slice(stack, mod_info):
    z0, z1 = mod_info['z']
    cands = [(abs(s['z'] - (z0 + z1) / 2), i) for i, s in enumerate(stack) if z0 <= s['z'] < z1]
    return min(cands)[1]


def slug(text):
    """check-name subject as src/qa/judge.ts writes it: "10 mm +10 HU" -> "10mm-10-hu"."""
    import re
    t = re.sub(r'(\d)\s+mm', r'\1mm', text.lower())
    return re.sub(r'[^a-z0-9.]+', '-', t).strip('-')


def mean_se(v):
    v = np.asarray(v, float)
    return v.mean(), (v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else None)


rows_out = []
phase_rows = []


def compare(name, mine, se=None, note='', tol=1e-5, judged=True, label=None):
    """One row: the audit's value against qa.json's; `tol` relative to max(|value|, 1) (absolute near 0)."""
    c = checks.get(name)
    if c is None:
        rows_out.append((label or name, mine, None, None, 'MISSING in qa.json', judged, judged))
        return
    v = c['value']
    mse = c.get('measured', {}).get('standardError')
    diff = None if v is None or mine is None else mine - v
    ok = diff is not None and abs(diff) <= tol * max(abs(v), 1.0)
    if se is not None and mse is not None:
        ok = ok and abs(se - mse) <= tol * max(abs(mse), 1.0)
        note += f'; SE {se:.4g} (qa.json {mse:.4g})'
    rows_out.append((label or name, mine, v, diff, note, judged and not ok, judged))


# ---------------------------------------------------------------- noise reduction
def pooled_sd(stack, rois):
    return math.sqrt(np.mean([np.var(stack[i]['a'][circle(stack[i], c, r)], ddof=1) for i, c, r in rois]))


def noise_rois(phantom, stack, g):
    if phantom == 'water':
        d = g['waterRadius'] * 0.6
        cx, cy = g['centre']
        cs = [(cx, cy), (cx + d, cy), (cx - d, cy), (cx, cy + d), (cx, cy - d)]
        z0, z1 = g['waterZ']
        sl = [i for i, s in enumerate(stack) if z0 + 15 < s['z'] < z1 - 15]
        return [(i, c, 15) for i in sl for c in cs]
    if phantom == 'acr':
        i = module_slice(stack, [m for m in g['modules'] if m['module'] == 3][0])
        return [(i, r['centre'], r['radius']) for r in g['rois'] if r['module'] == 3]
    if phantom == 'iec':
        return [(i, c, 15) for i in range(len(stack)) for c in g['backgroundRois']]


# ---------------------------------------------------------------- NPS
def detrend_poly2(roi):
    n = roi.shape[0]
    u = np.linspace(-1, 1, n)
    U, V = np.meshgrid(u, u, indexing='ij')
    A = np.stack([np.ones_like(U), U, V, U * U, U * V, V * V], -1).reshape(-1, 6)
    coef, *_ = np.linalg.lstsq(A, roi.ravel(), rcond=None)
    return roi - (A @ coef).reshape(n, n)


def nps_radial(stack, g, size=64, stride=16):
    z0, z1 = g['waterZ']
    sl = [s for s in stack if z0 + 15 < s['z'] < z1 - 15]
    s0 = sl[0]
    disc = circle(s0, g['centre'], g['waterRadius'] - 15)
    rows, cols = disc.shape
    corners = [(r, c) for r in range(0, rows - size + 1, stride) for c in range(0, cols - size + 1, stride) if disc[r:r + size, c:c + size].all()]
    dy, dx = s0['sp']
    acc = np.zeros((size, size))
    n = 0
    for s in sl:
        for r, c in corners:
            roi = detrend_poly2(s['a'][r:r + size, c:c + size])
            acc += np.abs(np.fft.fft2(roi)) ** 2
            n += 1
    nps2 = acc * dx * dy / (size * size) / n
    f = np.fft.fftfreq(size, dx)
    FY, FX = np.meshgrid(np.fft.fftfreq(size, dy), f, indexing='ij')
    fr = np.hypot(FY, FX)
    df = 1 / (size * dx)
    nbins = int(np.floor((0.5 / dx) / df + 1e-9)) + 1
    k = np.rint(fr / df).astype(int)
    rad = np.array([nps2[k == b].mean() for b in range(nbins)])
    freq = np.arange(nbins) * df
    var = nps2.sum() * df * df
    return freq, rad, n, var


def cubic_peak_doc(freq, rad):
    """docs/qa.md's words alone: a cubic least-squares fit over 2h + 1 bins around the raw maximum, h = max(3, 0.6 x its bin), one pass."""
    k0 = 1 + int(np.argmax(rad[1:]))
    h = max(3, round(0.6 * k0))
    lo, hi = max(1, k0 - h), min(len(rad) - 1, k0 + h)
    x = np.arange(lo, hi + 1)
    p = np.polyfit(x - k0, rad[lo:hi + 1], 3)
    return (k0 + poly_max(p, lo - k0, hi - k0)) * (freq[1] - freq[0])


def poly_max(p, lo, hi):
    """where the polynomial p (numpy order) is largest on [lo, hi]: a real critical point inside, or an end."""
    xs = [lo, hi] + [r.real for r in np.roots(np.polyder(p)) if abs(r.imag) < 1e-12 and lo <= r.real <= hi]
    return max(xs, key=lambda z: np.polyval(p, z))


def cubic_peak_code_rule(freq, rad):
    """docs/metrics.md's estimator: start at the maximum of the 2-bin-Gaussian-smoothed curve, fit the cubic over
    2h + 1 bins (window kept inside bins 1..n-1), re-centre on the fit's maximum until it stays (at most 6 fits)."""
    n = len(rad)
    sm = np.full(n, np.nan)
    for k in range(1, n):
        j = np.arange(max(1, k - 6), min(n - 1, k + 6) + 1)
        w = np.exp(-0.5 * ((j - k) / 2) ** 2)
        sm[k] = (w * rad[j]).sum() / w.sum()
    c = 1 + int(np.nanargmax(sm[1:]))
    vertex = c
    for _ in range(6):
        h = max(3, int(math.floor(0.6 * c + 0.5)))
        hi = min(n - 1, max(1, c - h) + 2 * h)
        lo = max(1, hi - 2 * h)
        x = np.arange(lo, hi + 1)
        p = np.polyfit(x - c, rad[lo:hi + 1], 3)
        vertex = c + poly_max(p, lo - c, hi - c)
        nxt = min(n - 1, max(1, round(vertex)))
        if nxt == c:
            break
        c = nxt
    return vertex * (freq[1] - freq[0])


# ---------------------------------------------------------------- MTF (circular edge, own implementation)
def _tukey(t):
    t = np.minimum(t, 1)
    return np.where(t <= 0.5, 1, 0.5 * (1 + np.cos(np.pi * (2 * t - 1))))  # flat inner half


def _mtf50(a, R, sp, radius, estimator='spline'):
    """MTF50 of the radial profile (a: values, R: signed distance to the edge, mm).
    'spline' (as docs/metrics.md says rodMtf does): least-squares cubic B-spline ESF with knots every
    1/4 pixel, third-difference penalty 1e-3 x the normal matrix's mean diagonal, the LSF's exact
    Fourier transform sinc^3(f w) sum_m (c[m+1] - c[m]) exp(-2 pi i f mid_m), Tukey-windowed.
    'bins': 1/4-pixel bins, each mean at its samples' mean distance, interpolated back onto the grid,
    central differences, divided by the bin and difference sincs (rodMtf up to this audit's change)."""
    half = min(0.8 * radius, 15 * sp)
    w = sp / 4
    nb = int(half / w)
    npad = 1 << max(10, (4 * (2 * nb + 1) - 1).bit_length())  # as rodMtf: the next power of two of max(4 bins, 1024)
    f = np.arange(npad // 2 + 1) / (npad * w)
    if estimator == 'bins':
        sel = np.abs(R) <= (nb + 0.5) * w
        idx = np.rint(R[sel] / w).astype(int) + nb
        cnt = np.bincount(idx, None, 2 * nb + 1)
        ok = cnt > 0
        grid = (np.arange(2 * nb + 1) - nb) * w
        esf = np.interp(grid, np.bincount(idx, R[sel], 2 * nb + 1)[ok] / cnt[ok], np.bincount(idx, a[sel], 2 * nb + 1)[ok] / cnt[ok])
        lsf = np.gradient(esf, w)
        F = np.abs(np.fft.rfft(lsf * _tukey(np.abs(np.arange(len(lsf)) - nb) / (nb + 1)), npad))
        xx = np.pi * f * w
        with np.errstate(invalid='ignore', divide='ignore'):
            corr = np.where(f > 0, np.sinc(f * w) * np.sin(2 * xx) / (2 * xx), 1.0)  # bin box, central difference
        m = F / F[0] / corr
    else:
        H = nb * w
        sel = np.abs(R) <= H
        x, y = R[sel], a[sel]
        s = (x + H) / w
        j = np.minimum(np.floor(s).astype(int), 2 * nb - 1)
        t = s - j
        B = np.stack([(1 - t) ** 3, 3 * t ** 3 - 6 * t ** 2 + 4, -3 * t ** 3 + 3 * t ** 2 + 3 * t + 1, t ** 3], 1) / 6
        n = 2 * nb + 3  # basis function k centred at (k - 1) w - H
        G = np.zeros((n, n))
        rhs = np.zeros(n)
        for p in range(4):
            np.add.at(rhs, j + p, B[:, p] * y)
            for q in range(4):
                np.add.at(G, (j + p, j + q), B[:, p] * B[:, q])
        D3 = np.diff(np.eye(n), 3, axis=0)
        c = np.linalg.solve(G + 1e-3 * np.trace(G) / n * D3.T @ D3, rhs)
        mid = (np.arange(n - 1) - 0.5) * w - H
        F = np.abs(np.exp(-2j * np.pi * np.outer(f, mid)) @ (np.diff(c) * _tukey(np.abs(mid) / ((nb + 1) * w)))) * np.sinc(f * w) ** 3
        m = F / F[0]
    k = np.nonzero(m < 0.5)[0][0]
    return f[k - 1] + (m[k - 1] - 0.5) / (m[k - 1] - m[k]) * (f[k] - f[k - 1])


def refine_as_rodmtf(s, centre_xy, radius):
    """docs/metrics.md's rod refinement: two rounds of thresholding at the mid level between the core
    (< 0.5 r) and the outer half of the surround (out to r + the 10 mm profile), centroid of the
    rod's side within r + half the surround, radius from that area; then two rounds of the
    background-subtracted intensity centroid within the same circle, radius from the integrated
    contrast over (core - surround). Returns (cx, cy, r) in mm."""
    a = s['a']
    rows, cols = a.shape
    sr, sc = s['sp']
    y = s['pos'][1] + np.arange(rows) * sr
    x = s['pos'][0] + np.arange(cols) * sc
    Y, X = np.meshgrid(y, x, indexing='ij')
    reach = radius + min(0.8 * radius, 15 * min(sr, sc))
    cx, cy = centre_xy
    est = radius
    for round_ in range(4):
        D = np.hypot(X - cx, Y - cy)
        inner = a[D < 0.5 * est].mean()
        outer = a[(D > est + 0.5 * (reach - est)) & (D <= reach)].mean()
        win = D <= est + 0.5 * (reach - est)
        if round_ < 2:
            sign = 1 if inner > outer else -1
            sel = win & (sign * (a - (inner + outer) / 2) > 0)
            cx, cy = X[sel].mean(), Y[sel].mean()
            est = math.sqrt(sel.sum() * sr * sc / math.pi)
        else:
            wgt = a[win] - outer
            cx, cy = (X[win] * wgt).sum() / wgt.sum(), (Y[win] * wgt).sum() / wgt.sum()
            est = math.sqrt(wgt.sum() / (inner - outer) * sr * sc / math.pi)
    return cx, cy, est


def rod_mtf50(s, centre_xy, radius, estimator='spline', radius_offset=0.0, refine='own'):
    """circular-edge MTF50; refine='own': centre from the centroid of the pixels above the rod/background mid level, radius from their area."""
    a = s['a']
    rows, cols = a.shape
    sp = s['sp'][0]
    y = s['pos'][1] + np.arange(rows) * sp
    x = s['pos'][0] + np.arange(cols) * s['sp'][1]
    Y, X = np.meshgrid(y, x, indexing='ij')
    cx, cy = centre_xy
    if refine == 'rodMtf':
        cx, cy, rr = refine_as_rodmtf(s, centre_xy, radius)
    else:
        for _ in range(3):
            R = np.hypot(X - cx, Y - cy)
            inner = a[R < 0.5 * radius].mean()
            outer = a[(R > 1.5 * radius) & (R < 2 * radius)].mean()
            sel = (R < 1.4 * radius) & (a > (inner + outer) / 2)
            cx, cy = X[sel].mean(), Y[sel].mean()
            rr = math.sqrt(sel.sum() * sp * s['sp'][1] / math.pi)
    return _mtf50(a.ravel(), (np.hypot(X - cx, Y - cy) - rr - radius_offset).ravel(), sp, radius, estimator)


# ---------------------------------------------------------------- CHO (detectability-ratio)
def lg_channels(s, centre_xy, a, roi_r, count=10):
    """Laguerre-Gauss channels u_j(r) = (sqrt 2 / a) exp(-pi r^2 / a^2) L_j(2 pi r^2 / a^2) on the pixels within roi_r, times the pixel area."""
    from scipy.special import eval_laguerre
    rows, cols = s['a'].shape
    y = s['pos'][1] + np.arange(rows) * s['sp'][0]
    x = s['pos'][0] + np.arange(cols) * s['sp'][1]
    r2 = (y[:, None] - centre_xy[1]) ** 2 + (x[None, :] - centre_xy[0]) ** 2
    inside = r2 <= roi_r ** 2
    rr = r2[inside]
    env = math.sqrt(2) / a * np.exp(-math.pi * rr / a ** 2)
    u = np.stack([env * eval_laguerre(j, 2 * math.pi * rr / a ** 2) for j in range(count)]) * s['sp'][0] * s['sp'][1]
    return inside, u


def cho_samples(stacks, g, kind_index):
    """(v, present, group) over every slice, place of the kind and realisation (group = realisation)."""
    kind = g['kinds'][kind_index]
    a = kind['diameter'] / 2
    out = []
    for group, st in enumerate(stacks):
        for s in st:
            for k, place in enumerate(g['places']):
                if place['kind'] != kind_index:
                    continue
                inside, u = lg_channels(s, place['centre'], a, g['roiRadius'])
                present = any(d['place'] == k and d['z'][0] <= s['z'] < d['z'][1] for d in g['disks'])
                out.append((u @ s['a'][inside], present, group))
    return out


def _train(samples):
    p1 = np.array([v for v, pr, _ in samples if pr])
    p0 = np.array([v for v, pr, _ in samples if not pr])
    S = (np.cov(p1, rowvar=False) + np.cov(p0, rowvar=False)) / 2
    m1, m0 = p1.mean(0), p0.mean(0)
    w = np.linalg.solve(S, m1 - m0)
    w = w / math.sqrt(w @ S @ w)  # unit SD of the decision variable on the training data
    return w, (m1 + m0) / 2


def _dprime(t1, t0):
    return (np.mean(t1) - np.mean(t0)) / math.sqrt((np.var(t1, ddof=1) + np.var(t0, ddof=1)) / 2)


def cho_dprime(samples, groups):
    """leave-one-group-out: each group scored by the template trained on the other groups, scores pooled."""
    t1, t0 = [], []
    for gh in groups:
        w, mid = _train([x for x in samples if x[2] in groups and x[2] != gh])
        for v, pr, gg in samples:
            if gg == gh:
                (t1 if pr else t0).append(w @ (v - mid))
    return _dprime(t1, t0)


def cho_ratio(den, inp, groups):
    """ratio d'(denoised) / d'(input) and its delete-one-group jackknife standard error (both deleted together)."""
    ratio = cho_dprime(den, groups) / cho_dprime(inp, groups)
    jk = [cho_dprime(den, [h for h in groups if h != gd]) / cho_dprime(inp, [h for h in groups if h != gd]) for gd in groups]
    n = len(jk)
    return ratio, math.sqrt((n - 1) / n * sum((j - np.mean(jk)) ** 2 for j in jk)), cho_dprime(den, groups), cho_dprime(inp, groups)


# ---------------------------------------------------------------- run
for phantom, mod in [('water', 'ct'), ('acr', 'ct'), ('body', 'ct'), ('lcd', 'ct'), ('iec', 'pt')]:
    if not os.path.exists(os.path.join(FIX, phantom)):
        continue
    g = json.load(open(os.path.join(FIX, phantom, 'fixture.json')))['geometry']
    for dose in (0.25, 0.1):
        pct = round(dose * 100)
        pre = f'{phantom}/dose{pct}'
        if not any(k.startswith(pre + '/') for k in checks):
            continue
        reals = load_case(phantom, dose, mod)
        r0 = reals[0]
        if phantom == 'lcd':
            groups = list(range(len(reals)))
            for ki, kind in enumerate(g['kinds']):
                den = cho_samples([r['den'] for r in reals], g, ki)
                inp = cho_samples([r['low'] for r in reals], g, ki)
                ratio, se, dd, di = cho_ratio(den, inp, groups)
                m = checks.get(f'{pre}/detectability-ratio/{slug(kind["name"])}', {}).get('measured', {})
                compare(f'{pre}/detectability-ratio/{slug(kind["name"])}', ratio, se, tol=1e-4,
                        note=f"d' denoised {dd:.5f} input {di:.5f} (qa.json {m.get('denoised', float('nan')):.5f} {m.get('input', float('nan')):.5f}); "
                             f"{sum(1 for x in den if x[1])} present / {sum(1 for x in den if not x[1])} absent ROIs, {len(groups)} realisations")
            continue
        if phantom != 'body':
            rois = noise_rois(phantom, r0['low'], g)
            sdl, sdd, sdf = (pooled_sd(r0[k], rois) for k in ('low', 'den', 'full'))
            compare(f'{pre}/noise-reduction', 1 - sdd / sdl, note=f'{len(rois)} ROIs; SD input {sdl:.4g}, denoised {sdd:.4g}, full {sdf:.4g}')
        if mod == 'ct':
            # CONTRACT: both clipped to [-1000, 1000] HU, data range 2000, scikit-image SSIM (Gaussian 1.5), mean over slices
            def fidelity(test):
                p, q = [], []
                for ref, t in zip(r0['full'], test):
                    a = np.clip(ref['a'], -1000, 1000)
                    b = np.clip(t['a'], -1000, 1000)
                    p.append(peak_signal_noise_ratio(a, b, data_range=2000))
                    q.append(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2000))
                return np.mean(p), np.mean(q)
            (pd, sd_), (pi, si) = fidelity(r0['den']), fidelity(r0['low'])
            th = checks.get(f'{pre}/psnr', {}).get('threshold')
            compare(f'{pre}/psnr', pd, note=f'input {pi:.4f} dB, bar input + 1 dB = {pi + 1:.4f} (qa.json threshold {th})')
            compare(f'{pre}/ssim', sd_, note=f'input {si:.5f} (qa.json threshold {checks.get(f"{pre}/ssim", {}).get("threshold")})')
        if phantom == 'water':
            peaks = {}
            for k in ('low', 'den', 'full'):
                freq, rad, n, var = nps_radial(r0[k], g)
                peaks[k] = (cubic_peak_doc(freq, rad), cubic_peak_code_rule(freq, rad), (freq * rad).sum() / rad.sum(), freq[1 + np.argmax(rad[1:])])
            m = checks[f'{pre}/nps-peak-shift']['measured']
            compare(f'{pre}/nps-peak-shift', (peaks['den'][1] - peaks['full'][1]) / peaks['full'][1], tol=1e-4,
                    note=f'{n} ROIs; peaks denoised {peaks["den"][1]:.5f} full {peaks["full"][1]:.5f} input {peaks["low"][1]:.5f} cycles/mm '
                         f'(qa.json {m["denoised"]:.5f} {m["full"]:.5f} {m["input"]:.5f}); one-pass cubic around the raw maximum: '
                         f'{(peaks["den"][0] - peaks["full"][0]) / peaks["full"][0]:+.4f}; raw arg-max denoised {peaks["den"][3]:.4f} full {peaks["full"][3]:.4f}; '
                         f'mean frequency denoised {peaks["den"][2]:.5f} full {peaks["full"][2]:.5f} (qa.json {m["denoisedMean"]:.5f} {m["fullMean"]:.5f})')
        if phantom == 'acr':
            m1 = [m for m in g['modules'] if m['module'] == 1][0]
            for ins in [i for i in g['inserts'] if i['module'] == 1 and i['kind'] == 'hu']:
                errs = []
                for r in reals:
                    def mean_of(st):
                        s = st[module_slice(st, m1)]
                        return s['a'][circle(s, ins['centre'], 0.6 * ins['radius'])].mean()
                    errs.append(mean_of(r['den']) - mean_of(r['low']))
                mu, se = mean_se(errs)
                compare(f'{pre}/hu-error/{ins["name"]}', mu, se, note=f'{len(errs)} realisations')
            m2 = [m for m in g['modules'] if m['module'] == 2][0]
            rods_all = [i for i in g['inserts'] if i['module'] == 2 and i['kind'] == 'low-contrast']
            rod = [i for i in rods_all if abs(i['radius'] - 12.5) < 1e-6][0]
            nominal = rod['hu'] - rod['backgroundHu']
            bg = [r for r in g['rois'] if r['module'] == 2][0]

            def cnr(st):
                s = st[module_slice(st, m2)]
                sig = s['a'][circle(s, rod['centre'], max(0.6 * rod['radius'], 0.75 * min(s['sp'])))]
                b = s['a'][circle(s, bg['centre'], bg['radius'])]
                return abs(sig.mean() - b.mean()) / b.std(ddof=1)
            compare(f'{pre}/cnr-ratio/25mm', cnr(r0['den']) / cnr(r0['low']), note=f'CNR denoised {cnr(r0["den"]):.4f}, input {cnr(r0["low"]):.4f}')

            def contrast(st):
                s = st[module_slice(st, m2)]
                sig = circle(s, rod['centre'], max(0.8 * rod['radius'], 0.75 * min(s['sp'])))
                inner = rod['radius'] + 2
                outer = max(2 * rod['radius'], inner + 4)
                ring = circle(s, rod['centre'], outer) & ~circle(s, rod['centre'], inner)
                for o in rods_all:
                    ring &= ~circle(s, o['centre'], o['radius'] + 2)
                return s['a'][sig].mean() - s['a'][ring].mean()
            kept = [1 + (contrast(r['den']) - contrast(r['low'])) / nominal for r in reals]
            mu, se = mean_se(kept)
            compare(f'{pre}/contrast-retention/25mm', mu, se, note=f'{len(kept)} realisations')
            m4 = [m for m in g['modules'] if m['module'] == 4][0]
            er = [i for i in g['inserts'] if i['kind'] == 'edge-rod'][0]
            i4 = module_slice(r0['low'], m4)
            mt = {k: rod_mtf50(r0[k][i4], er['centre'], er['radius']) for k in ('low', 'den', 'full')}
            mp = {k: rod_mtf50(r0[k][i4], er['centre'], er['radius'], estimator='bins', refine='rodMtf') for k in ('low', 'den', 'full')}
            m = checks[f'{pre}/mtf50-ratio']['measured']
            # judged: this MTF with the rod centre and radius refined as docs/metrics.md says rodMtf does
            mr = {k: rod_mtf50(r0[k][i4], er['centre'], er['radius'], refine='rodMtf') for k in ('low', 'den', 'full')}
            compare(f'{pre}/mtf50-ratio', mr['den'] / mr['full'], tol=2e-4,
                    note=f'MTF50 denoised {mr["den"]:.5f} full {mr["full"]:.5f} input {mr["low"]:.5f} cycles/mm (qa.json {m["denoised"]:.5f} {m["full"]:.5f} {m["input"]:.5f})')
            if dose == 0.25:
                # The ESF sampling's phase: the same full-dose image, its edge radius moved across one 1/4-pixel interval.
                bw = r0['full'][i4]['sp'][0] / 4
                for estimator in ('bins', 'spline'):
                    v = [rod_mtf50(r0['full'][i4], er['centre'], er['radius'], estimator, o, refine='rodMtf') for o in np.linspace(-bw / 2, bw / 2, 11)]
                    phase_rows.append(f'acr full dose MTF50 as the edge radius moves across one {bw:.3f} mm interval, '
                                      f'{"spline ESF (as rodMtf)" if estimator == "spline" else "bin means at their mean distance, interpolated"}: '
                                      f'{min(v):.4f} to {max(v):.4f} cycles/mm ({" ".join(f"{x:.4f}" for x in v)})')
            compare(f'{pre}/mtf50-ratio', mt['den'] / mt['full'], judged=False, label=f'{pre}/mtf50-ratio (own centre)',
                    note=f'own centre refinement: MTF50 denoised {mt["den"]:.4f} full {mt["full"]:.4f} input {mt["low"]:.4f} cycles/mm (qa.json {m["denoised"]:.4f} {m["full"]:.4f} {m["input"]:.4f}); '
                         f'rodMtf\'s refinement with the binned ESF: ratio {mp["den"] / mp["full"]:.4f}, input/full {mp["low"] / mp["full"]:.4f} '
                         f'(MTF50 {mp["den"]:.4f} {mp["full"]:.4f} {mp["low"]:.4f})')
        if phantom == 'iec':
            truth = read_series(os.path.join(FIX, 'iec', 'truth'))
            bgmean = np.mean([s['a'][circle(s, c, 15)].mean() for s in truth for c in g['backgroundRois']])
            suv_per_bqml = bgmean / g['backgroundBqml']
            header = suv_factor(pydicom.dcmread(sorted(glob.glob(os.path.join(FIX, 'iec', 'dose25', '*.dcm')))[0]))
            for sph in sorted(g['spheres'], key=lambda s: -s['diameter']):
                if sph['diameter'] < 17:
                    continue
                cx, cy, cz = sph['centre']
                rad = sph['diameter'] / 2

                def stats(st):
                    vals = []
                    for s in st:
                        rows, cols = s['a'].shape
                        y = s['pos'][1] + np.arange(rows) * s['sp'][0]
                        x = s['pos'][0] + np.arange(cols) * s['sp'][1]
                        vals.append(s['a'][(y[:, None] - cy) ** 2 + (x[None, :] - cx) ** 2 + (s['z'] - cz) ** 2 <= rad ** 2])
                    v = np.concatenate(vals)
                    return v.mean(), v.max(), v.size
                true_suv = sph['activityBqml'] * suv_per_bqml
                bias, rc = [], []
                for r in reals:
                    dm, dmax, nvox = stats(r['den'])
                    fm = stats(r['full'])[0]
                    bias.append((dm - fm) / fm)
                    rc.append(dmax / true_suv)
                mu, se = mean_se(bias)
                compare(f'{pre}/suvmean-bias/{sph["diameter"]}mm', mu, se, note=f'{nvox} voxels, {len(bias)} realisations')
                mu, se = mean_se(rc)
                compare(f'{pre}/suvmax-recovery/{sph["diameter"]}mm', mu, se,
                        note=f'true SUV {true_suv:.5f} (truth background), {sph["activityBqml"] * header:.5f} from the header')

def check_table(path):
    """the text table against qa.json: value (and SE) within the printed digits, unit, verdict, "not firm"."""
    import re
    lines = {}
    for line in open(path).read().split('\n')[2:]:
        if line.strip() and not line.startswith(('PASS:', 'FAIL:')):
            lines[line.split()[0]] = line
    wrong = []
    for c in qa['checks']:
        line = lines.get(c['name'])
        m = line and re.match(r'(-?[\d.]+|n/a)(?: ± ([\d.]+))?\s*(%|HU|dB)?\s+(.*?)\s{2,}(PASS|FAIL)(.*)$', line[len(c['name']):].strip())
        if not m:
            wrong.append(f'{c["name"]}: no row or unreadable ({line})')
            continue
        val, se, unit, _, verdict, extra = m.groups()
        scale = 100 if c['unit'].startswith('fraction') else 1
        half_ulp = lambda t: 0.5 * 10 ** -(len(t.split('.')[1]) if '.' in t else 0) + 1e-12
        ok = (val == 'n/a') == (c['value'] is None)
        if c['value'] is not None and val != 'n/a':
            ok &= abs(float(val) - scale * c['value']) <= half_ulp(val)
        ok &= (verdict == 'PASS') == c['pass'] and ('not firm' in extra) == (c['firm'] is False)
        ok &= unit == {'fraction': '%', 'fraction of patches': '%', 'HU': 'HU', 'dB': 'dB'}.get(c['unit'])
        if se:
            ok &= abs(float(se) - scale * c['measured']['standardError']) <= half_ulp(se)
        if not ok:
            wrong.append(f'{c["name"]}: table "{line.strip()}" against value {c["value"]}, pass {c["pass"]}, firm {c["firm"]}')
    print(f'text table: {len(qa["checks"]) - len(wrong)} of {len(qa["checks"])} rows agree with qa.json')
    for w in wrong:
        print('  DIFFERS', w)
    return len(wrong)


def check_margins():
    """limitMarginSe, firm, pass and summary from each check's value, standard error and band (docs/qa.md, "Not firm")."""
    wrong = []
    for c in qa['checks']:
        v, t, m = c['value'], c['threshold'], c['measured']
        lo, hi = (t if c['op'] == 'in' else (t, None) if c['op'] == '>=' else (None, t))
        passed = v is not None and (lo is None or v >= lo) and (hi is None or v <= hi)
        ok = passed == c['pass']
        if 'standardError' in m:
            se = m['standardError']
            margin = None if v is None or se is None or not se > 0 else min(d for d in (None if lo is None else v - lo, None if hi is None else hi - v) if d is not None) / se
            firm = None if v is None or se is None else True if se == 0 else (None if margin is None else abs(margin) >= 2)
            ok &= (margin is None) == (m.get('limitMarginSe') is None) and (margin is None or abs(margin - m['limitMarginSe']) <= 1e-9 * max(1, abs(margin)))
            ok &= firm == c['firm']
        else:
            ok &= c['firm'] is None and 'limitMarginSe' not in m
        if not ok:
            wrong.append(c['name'])
    n = len(qa['checks'])
    failed = [c for c in qa['checks'] if not c['pass']]
    summary = {'total': n, 'passed': n - len(failed), 'failed': len(failed),
               'passedNotFirm': sum(1 for c in qa['checks'] if c['pass'] and c['firm'] is False),
               'failedNotFirm': sum(1 for c in failed if c['firm'] is False)}
    if summary != qa['summary'] or qa['pass'] != (not failed):
        wrong.append(f'summary {qa["summary"]} / pass {qa["pass"]}, recounted {summary}')
    print(f'verdicts: pass, limitMarginSe and firm of {n - len([w for w in wrong if not w.startswith("summary")])} of {n} checks and the summary '
          f'{"agree" if not any(w.startswith("summary") for w in wrong) else "DIFFER"} with the thresholds')
    for w in wrong:
        print('  DIFFERS', w)
    return len(wrong)


bad = 0
judged_of = {r[0]: r[6] for r in rows_out}
print(f'{"check":50s} {"audit":>13s} {"qa.json":>13s} {"diff":>10s}  verdict  note')
for name, mine, v, diff, note, wrong, _ in rows_out:
    bad += bool(wrong)
    fm = lambda z: 'None' if z is None else f'{z:.7g}'
    d = f'{diff:.2e}' if diff is not None else '-'
    print(f'{name:50s} {fm(mine):>13s} {fm(v):>13s} {d:>10s}  {"DIFFERS" if wrong else "report " if not judged_of[name] else "agrees "}  {note}')
audited = {r[0] for r in rows_out if r[6]}
left = [n for n in checks if n not in audited]
for line in phase_rows:
    print(line)
n_judged = sum(1 for r in rows_out if r[6])
print(f'\n{n_judged - bad} of {n_judged} judged checks agree ({len(rows_out) - n_judged} reported only); not audited: {", ".join(left) if left else "none"}')
bad += check_margins()
if TABLE:
    bad += check_table(TABLE)
sys.exit(1 if bad else 0)
