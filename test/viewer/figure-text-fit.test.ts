/**
 * The browser figure's text (viewer/src/figure.ts, the PNG / 2× buttons): a text the page cuts with
 * an ellipsis (a pane's name beside a narrow pane's link button) is drawn whole a size smaller where
 * that fits, and cut with an ellipsis only below three quarters of the page's size.
 */
import { describe, expect, it } from 'vitest';
import { fitText, SMALLEST_TEXT } from '../../viewer/src/text-fit.js';

/** Every character 0.6 em wide. */
const measure = (text: string, size: number) => text.length * size * 0.6;

describe('figure text in its box', () => {
  it('keeps a text that fits at the page size', () => {
    expect(fitText('Low-dose', 100, 14, measure)).toEqual({ text: 'Low-dose', size: 14 });
  });

  it('draws a name cut on the page whole, a size smaller, when that fits its box', () => {
    // "Denoised (gaussian)": 19 characters, 159.6 px at 14 px, in a 130 px box.
    const fitted = fitText('Denoised (gaussian)', 130, 14, measure);
    expect(fitted.text).toBe('Denoised (gaussian)');
    expect(fitted.size).toBe(11);
    expect(measure(fitted.text, fitted.size)).toBeLessThanOrEqual(130);
    expect(measure(fitted.text, fitted.size + 0.5)).toBeGreaterThan(130);
  });

  it('cuts with an ellipsis, at the smallest size, what does not fit even there', () => {
    const fitted = fitText('Difference (denoised − reference)', 120, 14, measure);
    expect(fitted.size).toBe(14 * SMALLEST_TEXT);
    expect(fitted.text.endsWith('…')).toBe(true);
    expect('Difference (denoised − reference)'.startsWith(fitted.text.slice(0, -1))).toBe(true);
    expect(measure(fitted.text, fitted.size)).toBeLessThanOrEqual(120);
    expect(measure(`${fitted.text.slice(0, -1)}x…`, fitted.size)).toBeGreaterThan(120);
  });

  it('draws nothing, not a stray "…" or "·", for a frame timing with no room for a letter or digit', () => {
    // The timing beside "t2 / 3" in a narrow pane: " · 0–60 s", a few pixels left for it.
    for (const room of [3, 6, 12, 18]) expect(fitText(' · 0–60 s', room, 12, measure)).toEqual({ text: '', size: 12 * SMALLEST_TEXT });
  });

  it('drops the separator before the ellipsis where a timing is cut after one of its parts', () => {
    // " · 0–60 s · 5 min" with room for " · 0–60 s · …" (13 characters at 9 px, 70.2 px): the cut ends at the seconds.
    const fitted = fitText(' · 0–60 s · 5 min', 72, 12, measure);
    expect(fitted.text).toBe(' · 0–60 s…');
  });
});
