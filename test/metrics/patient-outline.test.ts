import { describe, expect, it } from 'vitest';
import { largestComponent, patientOutline } from '../../src/metrics/patient-outline.js';
import { generateBody } from '../../src/phantoms/body/index.js';

/** A 64 x 64 slice in HU: air, a body disc with a lung (-850 HU) inside it, a couch below, apart. */
function slice(): { rows: number; columns: number; data: Float32Array; pixelSpacing: [number, number] } {
  const rows = 64;
  const columns = 64;
  const data = new Float32Array(rows * columns).fill(-1000);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (Math.hypot(r - 28, c - 32) < 20) data[i] = 40;
      if (Math.hypot(r - 24, c - 26) < 6) data[i] = -850;
      if (r >= 54 && r < 58 && c >= 8 && c < 56) data[i] = 100;
    }
  }
  return { rows, columns, data, pixelSpacing: [1, 1] };
}

describe('patientOutline', () => {
  it('keeps the body with its lung filled, and leaves out the air and the separate couch', () => {
    const image = slice();
    const mask = patientOutline(image, { smoothMm: 0 });
    const at = (r: number, c: number) => mask[r * 64 + c];
    expect(at(28, 32)).toBe(1);
    expect(at(24, 26)).toBe(1); // the lung, enclosed
    expect(at(2, 2)).toBe(0);
    expect(at(56, 32)).toBe(0); // the couch
    let n = 0;
    for (let i = 0; i < mask.length; i++) n += mask[i]!;
    let disc = 0;
    for (let r = 0; r < 64; r++) for (let c = 0; c < 64; c++) if (Math.hypot(r - 28, c - 32) < 20) disc++;
    expect(n).toBe(disc);
  });

  it('is empty for an image of air', () => {
    const mask = patientOutline({ rows: 16, columns: 16, data: new Float32Array(256).fill(-1000), pixelSpacing: [1, 1] });
    expect(mask.every((v) => v === 0)).toBe(true);
  });

  it("outlines the body phantom's torso with its lungs inside", () => {
    const { volume } = generateBody({ size: 128, slices: 1, seed: 3, centreZ: 150 });
    const image = { rows: volume.rows, columns: volume.columns, data: volume.slices[0]!, pixelSpacing: [volume.spacing[0], volume.spacing[1]] as [number, number] };
    const mask = patientOutline(image);
    let air = 0;
    let lungInside = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i] && image.data[i]! > -500) air++;
      if (mask[i] && image.data[i]! < -500) lungInside++;
    }
    // Everything that is tissue is in the outline (but a thin rim the smoothing moves), and the
    // lungs it encloses are counted.
    expect(air).toBeLessThan(0.02 * mask.length);
    expect(lungInside).toBeGreaterThan(0);
  });
});

describe('largestComponent', () => {
  it('keeps the largest 4-connected region only (diagonal neighbours are apart)', () => {
    // 0 1 1 0
    // 0 1 0 1
    // 1 0 0 1
    const mask = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1]);
    expect([...largestComponent(mask, 3, 4)]).toEqual([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect([...largestComponent(new Uint8Array(4), 2, 2)]).toEqual([0, 0, 0, 0]);
  });
});
