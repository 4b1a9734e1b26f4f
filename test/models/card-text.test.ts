/** scripts/models/card-text.ts: one block of a card written, the rest of its text byte for byte. */
import { describe, expect, it } from 'vitest';
import { withCardBlock } from '../../scripts/models/card-text.js';

const CARD = '{\n  "name": "x",\n  "normalization": {\n    "offset": 0.0,\n    "scale": 4.0\n  },\n  "quality": {\n    "psnr": 1.0,\n    "old": [\n      1\n    ]\n  }\n}\n';

describe('withCardBlock', () => {
  it('appends a missing nested block to its parent and keeps Python floats elsewhere', () => {
    const out = withCardBlock(CARD, ['quality', 'lesionRecovery'], { sets: [1] });
    expect(JSON.parse(out).quality).toEqual({ psnr: 1, old: [1], lesionRecovery: { sets: [1] } });
    expect(out).toContain('"offset": 0.0');
    expect(out).toContain('    "lesionRecovery": {\n      "sets": [\n        1\n      ]\n    }\n  }\n}\n');
  });

  it('replaces a present block in place, nested or top-level, and is idempotent', () => {
    const once = withCardBlock(CARD, ['quality', 'old'], { a: 2 });
    expect(JSON.parse(once).quality).toEqual({ psnr: 1, old: { a: 2 } });
    expect(withCardBlock(once, ['quality', 'old'], { a: 2 })).toBe(once);
    const top = withCardBlock(CARD, ['name'], 'y');
    expect(top).toBe(CARD.replace('"name": "x"', '"name": "y"'));
    expect(() => withCardBlock(CARD, ['missing', 'x'], 1)).toThrow(/no "missing"/);
  });
});
