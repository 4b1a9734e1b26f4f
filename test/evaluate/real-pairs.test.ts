import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { findGroups, loadGroup, type PairGroup, type RealPair } from '../../scripts/evaluate/real-pairs/data.js';
import { margins, renderMarkdown, type GroupInfo, type MethodRow, type RealPairsResult } from '../../scripts/evaluate/real-pairs/report.js';
import { placeRois, scoreSlice, scoringMasks, summarize, type SliceScore } from '../../scripts/evaluate/real-pairs/score.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DATA = path.resolve(REPO, '../shared/ldct-mayo');

/** HU of a Siemens slice straight from its bytes with dicom-parser (not the toolkit's reader). */
function rawHu(file: string): Float64Array {
  const bytes = new Uint8Array(readFileSync(file));
  const ds = dicomParser.parseDicom(bytes);
  const el = ds.elements['x7fe00010']!;
  const slope = Number(ds.string('x00281053') ?? 1);
  const intercept = Number(ds.string('x00281052') ?? 0);
  const signed = ds.uint16('x00280103') === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, el.length);
  return Float64Array.from({ length: el.length / 2 }, (_, i) => (signed ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true)) * slope + intercept);
}

describe.runIf(existsSync(DATA))('real quarter-dose pairs (ldct-mayo)', () => {
  let group: PairGroup;
  let pair: RealPair;
  beforeAll(async () => {
    group = await loadGroup(DATA, { patient: 'L192', kernel: 'D45f' });
    pair = group.pairs.find((p) => p.name === '000.IMA')!;
  });

  it('pairs every quarter-dose slice with the full-dose slice of the same file name and location', () => {
    expect(group.pairs.map((p) => p.name).sort()).toEqual(['000.IMA', '001.IMA', '002.IMA', '003.IMA']);
    for (const p of group.pairs) expect(group.fullSeries.slices.some((s) => path.basename(s.file) === p.name)).toBe(true);
  });

  it("leaves out exactly the border-connected out-of-field pixels (scipy's connected components: 257)", () => {
    // scipy.ndimage.label of (quarter == min) & (full == min), the components touching the border.
    expect(pair.excluded).toBe(257);
    for (let i = 0; i < pair.valid.length; i++) {
      if (!pair.valid[i]) {
        expect(pair.quarter.data[i]).toBe(-1024);
        expect(pair.full.data[i]).toBe(-1024);
      }
    }
  });

  it("scores the input's PSNR as a direct computation over the in-field pixels, and SSIM as scikit-image", () => {
    const q = rawHu(path.join(DATA, 'L192/D45f/quarter/000.IMA'));
    const f = rawHu(path.join(DATA, 'L192/D45f/full/000.IMA'));
    const masks = scoringMasks(pair.full, pair.valid);
    const score = scoreSlice(pair.quarter.data, pair.full, masks, []);
    for (const [window, [lo, hi]] of [['hu', [-1000, 1000]], ['abdomen', [-160, 240]]] as const) {
      let sum = 0;
      let n = 0;
      for (let i = 0; i < q.length; i++) {
        if (!pair.valid[i]) continue;
        const d = Math.min(hi, Math.max(lo, q[i]!)) - Math.min(hi, Math.max(lo, f[i]!));
        sum += d * d;
        n++;
      }
      expect(n).toBe(512 * 512 - 257);
      expect(score.psnr[window]).toBeCloseTo(10 * Math.log10(((hi - lo) * (hi - lo)) / (sum / n)), 10);
    }
    // The patient windows: the same PSNR over the patient outline's pixels only.
    let sum = 0;
    let n = 0;
    for (let i = 0; i < q.length; i++) {
      if (!masks.patient[i]) continue;
      const d = Math.max(-1000, Math.min(1000, q[i]!)) - Math.max(-1000, Math.min(1000, f[i]!));
      sum += d * d;
      n++;
    }
    expect(score.psnr.huPatient).toBeCloseTo(10 * Math.log10((2000 * 2000) / (sum / n)), 10);
    expect(score.psnr.huPatient).toBeLessThan(score.psnr.hu);
    // pydicom + scikit-image 0.19.3 (structural_similarity(full, quarter, gaussian_weights=True, sigma=1.5,
    // use_sample_covariance=False, data_range=R, full=True), map cropped by 5 px, mean at the mask);
    // the PSNR from the same script: 34.15989133476381 / 23.70393971927647 dB.
    expect(score.psnr.hu).toBeCloseTo(34.15989133476381, 9);
    expect(score.psnr.abdomen).toBeCloseTo(23.70393971927647, 9);
    expect(score.ssim.hu).toBeCloseTo(0.8296830737775318, 9);
    expect(score.ssim.abdomen).toBeCloseTo(0.8340283017149038, 9);
  });

  it('places the noise and bias ROIs in flat tissue of the full-dose slice, and the reference scores zero bias there', () => {
    const rois = placeRois(pair.full, pair.valid);
    expect(rois.map((r) => r.tissue)).toEqual(['soft', 'soft', 'fat']);
    for (const r of rois) {
      if (r.tissue === 'soft') expect(r.referenceMean).toBeGreaterThan(0);
      else expect(r.referenceMean).toBeLessThan(-50);
    }
    const masks = scoringMasks(pair.full, pair.valid);
    const self = scoreSlice(pair.full.data, pair.full, masks, rois);
    expect(self.roiBias.every((b) => Math.abs(b) < 1e-9)).toBe(true);
    const input = scoreSlice(pair.quarter.data, pair.full, masks, rois);
    // Quarter dose is noisier than full dose in the same ROIs.
    expect(input.roiSd[0]!).toBeGreaterThan(self.roiSd[0]!);
  });

  it("outlines the patient exactly as scipy does (smoothed > -500 HU, largest component, holes filled), inside the field, on every pair", async () => {
    // /usr/bin/python3 with pydicom and scipy, per full-dose slice: gaussian_filter(full HU,
    // sigma = 2 mm / PixelSpacing, mode='reflect', truncate=4) > -500 (the smoothing of
    // src/filters/gaussian.ts), ndimage.label, the largest label, binary_fill_holes, within the
    // field: [pixels inside, of them below -500 HU (lungs and gas, filled)]. With mode='nearest'
    // 12 of these 22 slices differ by 6 to 24 pixels (L143/B30f 000.IMA: 142331 / 6184), so
    // equality tells the edge mode too.
    const scipy: Record<string, Record<string, [number, number]>> = {
      'L143/B30f': { '000.IMA': [142340, 6193], '001.IMA': [144413, 10701], '002.IMA': [162522, 39551], '003.IMA': [160605, 2719], '004.IMA': [162332, 1978], '005.IMA': [165977, 3235], '006.IMA': [159822, 4252] },
      'L143/D45f': { '000.IMA': [153896, 40568], '001.IMA': [161624, 53273], '002.IMA': [162123, 53762], '003.IMA': [160750, 3166] },
      'L192/B30f': { '000.IMA': [137750, 43287], '001.IMA': [118933, 1881], '002.IMA': [115448, 305], '003.IMA': [134521, 1293], '004.IMA': [137765, 2061], '005.IMA': [132033, 1540], '006.IMA': [129267, 251] },
      'L192/D45f': { '000.IMA': [124389, 33386], '001.IMA': [114548, 21560], '002.IMA': [116139, 238], '003.IMA': [103958, 329] },
    };
    const counted: Record<string, Record<string, [number, number]>> = {};
    for (const id of findGroups(DATA)) {
      const g = await loadGroup(DATA, id);
      const perSlice: Record<string, [number, number]> = {};
      for (const p of g.pairs) {
        const { patient } = scoringMasks(p.full, p.valid);
        let inside = 0;
        let filled = 0;
        let outOfField = 0;
        for (let i = 0; i < patient.length; i++) {
          if (!patient[i]) continue;
          inside++;
          if (p.full.data[i]! < -500) filled++;
          if (!p.valid[i]) outOfField++;
        }
        expect(outOfField).toBe(0);
        perSlice[p.name] = [inside, filled];
      }
      counted[`${id.patient}/${id.kernel}`] = perSlice;
    }
    expect(counted).toEqual(scipy);
  });

  it('the committed table covers every patient and kernel folder, with the split in its header', () => {
    const folders = findGroups(DATA).map((g) => `${g.patient}/${g.kernel}`);
    expect(folders).toEqual(['L143/B30f', 'L143/D45f', 'L192/B30f', 'L192/D45f']);
    const result = JSON.parse(readFileSync(path.join(REPO, 'models/eval/ct-real.json'), 'utf8')) as RealPairsResult;
    expect(result.groups.map((g) => `${g.patient}/${g.kernel}`)).toEqual(folders);
    expect(result.groups.reduce((n, g) => n + g.files.length, 0)).toBe(22);
    const md = renderMarkdown(result);
    expect(md).toContain('L192: validation');
    for (const key of folders) {
      expect(md).toContain(`${key} `);
      for (const m of result.methods) expect(m.groups[key]).toBeDefined();
    }
    for (const method of ['quarter-dose input', 'gaussian (tuned)', 'bilateral (tuned)', 'non-local means (tuned)']) expect(md).toContain(`| ${method} |`);
    expect(readFileSync(path.join(REPO, 'models/eval/ct-real.md'), 'utf8')).toBe(md);
  });
});

describe('real-pair margins and targets', () => {
  const score = (psnr: number, ssim: number): SliceScore => ({
    psnr: { hu: psnr, abdomen: psnr - 12, huPatient: psnr - 3, abdomenPatient: psnr - 13 },
    ssim: { hu: ssim, abdomen: ssim - 0.1, huPatient: ssim - 0.02, abdomenPatient: ssim - 0.12 },
    noiseEstimate: 10,
    roiSd: [10],
    roiBias: [0],
  });
  const row = (id: string, kind: MethodRow['kind'], psnr: number, ssim: number): MethodRow => ({
    id,
    kind,
    label: id,
    settings: {},
    groups: { 'P/K': summarize([score(psnr, ssim)], [[]]) },
    slices: { 'P/K': [score(psnr, ssim)] },
  });
  const groups: GroupInfo[] = [{ patient: 'P', kernel: 'K', role: 'validation', files: ['000.IMA'], excludedPixels: [0], pixelSpacingMm: 1, rois: [[]] }];

  it('needs +0.5 dB and +0.01 SSIM over the best filter of each column, and no loss against the input', () => {
    const filters = [row('gaussian', 'filter', 40, 0.95), row('nlm', 'filter', 41, 0.94)];
    const met = margins([row('input', 'input', 38, 0.9), ...filters, row('model', 'model', 41.6, 0.961)], groups).model!['P/K']!;
    expect(met.hu.bestFilterPsnr).toBe('nlm');
    expect(met.hu.bestFilterSsim).toBe('gaussian');
    expect(met.hu.psnrOverBestFilter).toBeCloseTo(0.6, 9);
    expect(met.hu.ssimOverBestFilter).toBeCloseTo(0.011, 9);
    expect(met.hu.meetsTarget).toBe(true);
    const short = margins([row('input', 'input', 38, 0.9), ...filters, row('model', 'model', 41.4, 0.99)], groups).model!['P/K']!;
    expect(short.hu.meetsTarget).toBe(false);
    const belowInput = margins([row('input', 'input', 42, 0.9), ...filters, row('model', 'model', 41.6, 0.99)], groups).model!['P/K']!;
    expect(belowInput.hu.psnrOverInput).toBeLessThan(0);
    expect(belowInput.hu.slicesBelowInputPsnr).toBe(1);
    expect(belowInput.hu.meetsTarget).toBe(false);
  });
});
