import { describe, expect, it } from 'vitest';
import { formatValue, scoresLine, WIDEST_PSNR, widestValue } from '../../src/server/pane-text.js';

/** A text's width in tabular figures: digits (and signs) one unit each, a point less than a digit. */
const width = (text: string) => text.replace(/[^0-9−-]/g, '').length + 0.5 * (text.match(/\./g)?.length ?? 0);

/** Values from `lo` to `hi`, four a decade, and the decades' ends. */
function sweep(lo: number, hi: number): number[] {
  const values: number[] = [];
  for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e += 0.25) values.push(10 ** e, 10 ** e * 0.999);
  return values;
}

describe('the widest numbers a pane line reserves room for', () => {
  it('writes a noise σ or RMSE no wider than the sample of its units, over the values those units take', () => {
    const cases: Array<[string, number, number]> = [
      ['HU', 0.01, 99_999],
      ['SUV', 0.001, 999],
      ['BQML', 0.01, 999_999],
      ['CNTS', 0.01, 999_999],
    ];
    for (const [units, lo, hi] of cases) {
      const sample = width(formatValue(widestValue(units)));
      const wider = sweep(lo, hi).filter((v) => width(formatValue(v)) > sample);
      expect(wider, units).toEqual([]);
    }
  });

  it('writes a PSNR up to 999.9 dB and any SSIM no wider than the sample line', () => {
    const sample = width(scoresLine({ psnr: WIDEST_PSNR, ssim: -0.888, rmse: 1 }));
    for (const psnr of [null, 5, 35.21, 99.96, 100, 155.9, 999.94]) {
      for (const ssim of [-1, -0.5, 0, 0.912, 1]) expect(width(scoresLine({ psnr, ssim, rmse: 1 })), `${psnr} ${ssim}`).toBeLessThanOrEqual(sample);
    }
  });
});
