import type { Image2D } from '../../src/image.js';
import { renderSlice } from '../../src/phantoms/raster.js';
import { sphere } from '../../src/phantoms/solids.js';
import type { Rng } from '../../src/util/random.js';

/**
 * PET training slices with synthetic hot lesions: the head-and-neck training patient has few small
 * hot structures, and the model trained on it shrank the IEC phantom's hot spheres (SUVmean -7 to
 * -22 % at 25 % counts). 1 to 3 spheres per slice (8 to 40 mm across, centre up to a radius off the
 * slice plane, so the cross-sections vary), 2 to 10 times the activity around them, placed inside
 * the body and rendered with partial volume (raster.ts) into the full-count image *before* the count
 * simulation, so the low-dose / reference pair stays physically paired. The IEC fixture itself is
 * never used: its spheres are 4:1 and 8:1 at fixed places. `coverage`, when given, receives each
 * pixel's largest lesion coverage (the export's lesion.f32, for train.py --lesion-weight).
 */
export function insertPetLesions(img: Image2D, rng: Rng, thicknessMm: number, coverage?: Float32Array): Image2D {
  const { rows, columns, data } = img;
  const [dy, dx] = img.pixelSpacing;
  let sum = 0;
  let n = 0;
  for (const v of data) if (v > 0) { sum += v; n++; }
  const floor = 0.3 * (n ? sum / n : 0);
  const body: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i]! > floor) body.push(i);
  const out = Float32Array.from(data);
  if (body.length === 0) return { ...img, data: out };
  const count = 1 + Math.floor(rng.uniform() * 3);
  for (let l = 0; l < count; l++) {
    const at = body[Math.floor(rng.uniform() * body.length)]!;
    const r = Math.floor(at / columns);
    const c = at % columns;
    const radius = 4 + 16 * rng.uniform();
    const zOff = (rng.uniform() * 2 - 1) * 0.5 * radius;
    // Activity around the centre (7x7 pixels), at least the body floor.
    let local = 0;
    let m = 0;
    for (let rr = Math.max(0, r - 3); rr <= Math.min(rows - 1, r + 3); rr++) {
      for (let cc = Math.max(0, c - 3); cc <= Math.min(columns - 1, c + 3); cc++) { local += data[rr * columns + cc]!; m++; }
    }
    const activity = Math.max(local / m, floor) * Math.exp(Math.log(2) + rng.uniform() * Math.log(5));
    const cover = renderSlice(
      { rows, columns, dx, dy, x0: 0, y0: 0 },
      [{ solid: sphere([c * dx, r * dy, zOff], radius), fill: 1 }],
      0,
      { background: 0, thickness: thicknessMm, zSamples: 3 },
    );
    for (let i = 0; i < out.length; i++) {
      if (cover[i]! <= 0) continue;
      out[i] = out[i]! * (1 - cover[i]!) + activity * cover[i]!;
      if (coverage) coverage[i] = Math.max(coverage[i]!, cover[i]!);
    }
  }
  return { ...img, data: out };
}
