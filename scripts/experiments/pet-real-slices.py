#!/usr/bin/env python3
"""
What `lowdose denoise` does to real clinical PET slices, measured independently of the toolkit
(pydicom + numpy): the PET files of the shared DICOM corpus (../shared/dicom, REFERENCE.tsv
modality PT) that carry what SUVbw needs, each denoised as it is (a clinical full-count slice,
dose unknown) and as a simulated 25 % count copy (`lowdose simulate --dose 0.25`, seeds 1-3),
without and with `--dose 0.25`, and with `--consistency 0` (the network alone). Per output, against the full-count slice:
  - total activity (the slice mean) change, %;
  - the mean over the hot pixels (full-count value > 20 % of its maximum) change, %;
  - the share of pixels below zero (the input has none), and the lowest value over the maximum.
Single slices: the model sees no neighbouring slices (it runs per slice anyway).

  /usr/bin/python3 scripts/experiments/pet-real-slices.py [--out models/eval/pet-real-slices.md] [--model <candidate card> | --count-stages]

Needs `npx tsc -p tsconfig.json` (node bin/lowdose.js) and dcmtk's dcmdjpeg for compressed files.
"""
import argparse, csv, glob, json, os, shutil, subprocess, sys, tempfile
import numpy as np
import pydicom

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(REPO), 'shared', 'dicom')
CLI = ['node', os.path.join(REPO, 'bin', 'lowdose.js')]


def values(path, scratch):
    ds = pydicom.dcmread(path)
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        raw = os.path.join(scratch, 'raw.dcm')
        subprocess.run(['dcmdjpeg', path, raw], check=True)
        ds = pydicom.dcmread(raw)
    return ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def run(*args):
    done = subprocess.run([*CLI, *args], capture_output=True, text=True)
    return done.returncode, done.stderr


def one_output(folder):
    files = glob.glob(os.path.join(folder, '*', '*.dcm'))
    return files[0] if len(files) == 1 else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(REPO, 'models', 'eval', 'pet-real-slices.md'))
    parser.add_argument('--model', default=None, help='a candidate card (default: the shipped lowdose-pet)')
    parser.add_argument('--count-stages', action='store_true',
                        help="the shipped card with the consistency step's largeScale 24 mm and nonNegative 6 mm added "
                             '(models/eval/pet-count-fidelity.md)')
    args = parser.parse_args()
    model = ['--model', args.model] if args.model else []
    if args.count_stages:
        with open(os.path.join(REPO, 'models', 'lowdose-pet.json')) as f:
            card = json.load(f)
        card['onnx'] = os.path.join(REPO, 'models', card['onnx'])
        card['sampler']['consistency']['largeScale'] = {'scaleMm': 24, 'passes': 1}
        card['sampler']['consistency']['nonNegative'] = {'spreadMm': 6}
        candidate = os.path.join(tempfile.mkdtemp(prefix='lowdose-pet-card-'), 'lowdose-pet.json')
        with open(candidate, 'w') as f:
            json.dump(card, f)
        model = ['--model', candidate]
    with open(os.path.join(SHARED, 'REFERENCE.tsv')) as f:
        pet = [row['path'] for row in csv.DictReader(f, delimiter='\t') if row['modality'] == 'PT']
    rows = []
    skipped = []
    with tempfile.TemporaryDirectory(prefix='lowdose-pet-real-') as scratch:
        for rel in pet:
            name = rel.replace('/', '_')
            src = os.path.join(scratch, name, 'in')
            os.makedirs(src)
            shutil.copy(os.path.join(SHARED, rel), src)
            code, err = run('denoise', src, '-o', os.path.join(scratch, name, 'full-dn'), '--threads', '1', *model)
            if code != 0:
                skipped.append((rel, err.strip().splitlines()[-1] if err.strip() else f'exit {code}'))
                continue
            full = values(os.path.join(src, os.path.basename(rel)), scratch)
            hot = full > 0.2 * full.max()

            def measure(label, image):
                rows.append({
                    'file': rel, 'case': label,
                    'total': 100 * (image.mean() / full.mean() - 1),
                    'hot': 100 * (image[hot].mean() / full[hot].mean() - 1),
                    'negative': 100 * (image < 0).mean(),
                    'lowest': 100 * image.min() / full.max(),
                })

            measure('full count, dose unknown', values(one_output(os.path.join(scratch, name, 'full-dn')), scratch))
            for seed in (1, 2, 3):
                sim = os.path.join(scratch, name, f'sim{seed}')
                code, err = run('simulate', src, '--dose', '0.25', '--seed', str(seed), '-o', sim)
                if code != 0:
                    raise SystemExit(f'simulate {rel}: {err}')
                low_dir = glob.glob(os.path.join(sim, '*'))[0]
                measure(f'25 % input, seed {seed}', values(glob.glob(os.path.join(low_dir, '*.dcm'))[0], scratch))
                for label, extra in (('dose unknown', []), ('--dose 0.25', ['--dose', '0.25']), ('--dose 0.25 --consistency 0 (the network alone)', ['--dose', '0.25', '--consistency', '0'])):
                    out = os.path.join(scratch, name, f'dn{seed}-{len(extra)}')
                    code, err = run('denoise', low_dir, '-o', out, '--threads', '1', *model, *extra)
                    if code != 0:
                        raise SystemExit(f'denoise {rel}: {err}')
                    measure(f'25 %, seed {seed}, {label}', values(one_output(out), scratch))
    lines = [
        '# `lowdose-pet` on real clinical PET slices (the shared DICOM corpus)',
        '',
        f'Made by `/usr/bin/python3 scripts/experiments/pet-real-slices.py{" --count-stages" if args.count_stages else ""}`; measured with pydicom against each full-count slice. '
        'Total: the slice mean (total activity), %. Hot: the mean over pixels whose full-count value is above 20 % of the slice maximum, %. '
        'Negative: the share of pixels below zero (no input pixel is); lowest: the lowest value over the full-count maximum, %.',
        '',
        '| file | case | total % | hot % | negative % | lowest % of max |',
        '| --- | --- | --- | --- | --- | --- |',
        *[f"| {r['file']} | {r['case']} | {r['total']:+.1f} | {r['hot']:+.1f} | {r['negative']:.1f} | {r['lowest']:+.2f} |" for r in rows],
        '',
    ]
    if skipped:
        lines += ['Not denoised (the toolkit refused them):', '', *[f'- {f}: {why}' for f, why in skipped], '']
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
