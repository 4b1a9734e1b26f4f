/**
 * The figure's words are read whole (`GET /api/figure.png`, src/server/figure-render.ts): a footer
 * or a metrics line longer than its pane wraps onto more lines instead of being cut, and every
 * character the figure's text helpers write has a glyph in the built-in font (none drawn as '?').
 */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { figureLayout, renderFigure, type FigurePane } from '../../src/server/figure-render.js';
import { differenceWindowText } from '../../src/server/pane-labels.js';
import { paneScoresLine, scoresLine } from '../../src/server/pane-text.js';
import { uncertaintyWindowText } from '../../src/server/uncertainty-pane.js';
import { missingGlyphs, textWidth, wrapText } from '../../src/trace/font.js';
import { drawnTextMismatches } from './figure-text.js';

const image = { rows: 512, columns: 512, data: new Float32Array(512 * 512), pixelSpacing: [0.7, 0.7] as [number, number] };
const options = { window: { lo: 0, hi: 1 }, scale: 1 };
const FOOTER: [number, number, number] = [150, 160, 172];
const METRICS: [number, number, number] = [255, 213, 74];
const TITLE: [number, number, number] = [230, 236, 243];

/** The refusal footer of a difference pane whose reference is turned: 91 characters, more than the 84 a 512-pixel pane holds on a line. */
const TURNED = 'no difference: the slices are flipped or turned against each other (ImageOrientationPatient)';

describe('wrapping figure text', () => {
  it('breaks at spaces into lines that fit, losing no character', () => {
    const lines = wrapText(TURNED, 504);
    expect(lines.join(' ')).toBe(TURNED);
    expect(lines.length).toBe(2);
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(504);
    expect(wrapText('short', 504)).toEqual(['short']);
    expect(wrapText('', 504)).toEqual(['']);
  });

  it('breaks a word longer than a line inside it', () => {
    const lines = wrapText('1.2.840.10008.5.1.4.1.1.2 and more', 59);
    expect(lines).toEqual(['1.2.840.10', '008.5.1.4.', '1.1.2 and', 'more']);
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(59);
    expect(wrapText('abc', 1)).toEqual(['a', 'b', 'c']);
  });
});

describe('figure panes with long text', () => {
  it('wraps a difference pane footer that does not fit on one line, every line drawn under the image', () => {
    const panes: FigurePane[] = [{ title: 'Difference (denoised − reference)', metrics: '', footer: TURNED, image }];
    const layout = figureLayout(panes, options);
    const png = PNG.sync.read(renderFigure(panes, options));
    expect(layout.footerHeight).toBe(2 * 10 + 6);
    expect(png.height).toBe(layout.titleHeight + 512 + layout.footerHeight);
    const lines = wrapText(TURNED, 512 - 8);
    for (const [k, line] of lines.entries()) {
      expect(drawnTextMismatches(png, 4, layout.images[0]!.y + 512 + 3 + 10 * k, line, FOOTER), line).toBe(0);
    }
    // The last words, cut off when the footer was one line.
    expect(lines.at(-1)).toContain('(ImageOrientationPatient)');
  });

  it('says on the metrics line why a pane is not scored, below its title when it does not fit beside it', () => {
    const reason = 'the in-plane origins (ImagePositionPatient) differ by 11.66 pixels';
    const metrics = paneScoresLine(null, { unscoredReason: reason });
    expect(metrics).toBe(`not scored: ${reason}`);
    const panes: FigurePane[] = [{ title: 'Denoised (gaussian)', metrics, footer: 'Im 3/5', image }];
    const layout = figureLayout(panes, options);
    const png = PNG.sync.read(renderFigure(panes, options));
    expect(layout.titleHeight).toBe(2 * 10 + 6);
    expect(drawnTextMismatches(png, 4, 3, 'Denoised (gaussian)', TITLE)).toBe(0);
    expect(drawnTextMismatches(png, 4, 13, metrics, METRICS)).toBe(0);
    // Scores, when there are some, stay on the title's line, on the right.
    const scored = { psnr: 35.2, ssim: 0.912, rmse: 20 };
    expect(paneScoresLine(scored, { unscoredReason: null })).toBe(scoresLine(scored));
    expect(figureLayout([{ ...panes[0]!, metrics: scoresLine(scored) }], options).titleHeight).toBe(16);
  });

  it('keeps a long title whole in a narrow pane: the scores go on a line of their own, a title longer than the pane wraps', () => {
    // A 300 x 300 slice is drawn at its own size: a 300-pixel pane, 50 characters across.
    const small = { rows: 300, columns: 300, data: new Float32Array(300 * 300), pixelSpacing: [0.7, 0.7] as [number, number] };
    const title = 'Denoised (diffusion lowdose-ct, 8 steps)';
    const metrics = scoresLine({ psnr: 35.2, ssim: 0.912, rmse: 20 });
    expect(textWidth(title) + textWidth(metrics)).toBeGreaterThan(300 - 14);
    const panes: FigurePane[] = [{ title, metrics, footer: 'Im 3/5', image: small }];
    const layout = figureLayout(panes, options);
    const png = PNG.sync.read(renderFigure(panes, options));
    expect(layout.imageWidth).toBe(300);
    expect(layout.titleHeight).toBe(2 * 10 + 6);
    expect(drawnTextMismatches(png, 4, 3, title, TITLE)).toBe(0);
    expect(drawnTextMismatches(png, 4, 13, metrics, METRICS)).toBe(0);
    // Longer than the pane: the title on two lines, every word drawn, the scores under them.
    const long = 'Denoised (diffusion lowdose-ct, 8 steps, 4 samples)';
    const lines = wrapText(long, 300 - 8);
    expect(lines).toHaveLength(2);
    const wrapped = PNG.sync.read(renderFigure([{ ...panes[0]!, title: long }], options));
    for (const [k, line] of lines.entries()) expect(drawnTextMismatches(wrapped, 4, 3 + 10 * k, line, TITLE), line).toBe(0);
    expect(drawnTextMismatches(wrapped, 4, 23, metrics, METRICS)).toBe(0);
    expect(figureLayout([{ ...panes[0]!, title: long }], options).titleHeight).toBe(3 * 10 + 6);
  });

  it('has a glyph for every character of the pane labels it writes', () => {
    const fmt = (v: number) => v.toFixed(1);
    const texts = [
      uncertaintyWindowText({ lo: 0, hi: 40 }, 10, 'HU', fmt),
      uncertaintyWindowText({ lo: 0, hi: 4.94 }, null, 'SUV', fmt),
      scoresLine({ psnr: null, ssim: 1, rmse: 0 }),
      differenceWindowText({ windowCenter: 0, windowWidth: 200 }, 'HU', fmt),
      'Uncertainty (σ)',
      'Difference (denoised − reference)',
      'Im 3/8 · Loc -12.5 mm · W 400 L 40 HU',
      paneScoresLine(null, { unscoredReason: 'matrix 384 x 384 against 512 x 512' }),
    ];
    for (const text of texts) expect(missingGlyphs(text), text).toEqual([]);
  });
});
