/** Measurements the edge-preservation and noise tests share. */

/** Column profile of a rows x columns image averaged over rows [r0, r1). */
export function columnProfile(data: ArrayLike<number>, columns: number, r0: number, r1: number): Float64Array {
  const profile = new Float64Array(columns);
  for (let r = r0; r < r1; r++) for (let c = 0; c < columns; c++) profile[c]! += data[r * columns + c]!;
  for (let c = 0; c < columns; c++) profile[c]! /= r1 - r0;
  return profile;
}

/**
 * 10-90 % rise distance (pixels) of a rising edge profile between plateaus `low` and `high`:
 * the first crossings of the two levels, linearly interpolated.
 */
export function riseWidth(profile: ArrayLike<number>, low: number, high: number): number {
  const crossing = (level: number): number => {
    for (let i = 1; i < profile.length; i++) {
      const a = profile[i - 1]!;
      const b = profile[i]!;
      if (a < level && b >= level) return i - 1 + (level - a) / (b - a);
    }
    throw new Error(`profile never reaches ${level}`);
  };
  return crossing(low + 0.9 * (high - low)) - crossing(low + 0.1 * (high - low));
}

/** Standard deviation of `values` at the indices where `mask` is set. */
export function maskedStd(values: ArrayLike<number>, mask: ArrayLike<number | boolean>): number {
  let n = 0;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    n++;
    s += values[i]!;
    s2 += values[i]! * values[i]!;
  }
  return Math.sqrt(s2 / n - (s / n) ** 2);
}

/** Pixels whose (2 radius + 1)^2 neighbourhood in `truth` is constant: flat regions away from edges. */
export function flatMask(truth: Float32Array, rows: number, columns: number, radius: number): Uint8Array {
  const mask = new Uint8Array(rows * columns);
  for (let r = radius; r < rows - radius; r++) {
    for (let c = radius; c < columns - radius; c++) {
      const v = truth[r * columns + c]!;
      let flat = true;
      for (let i = -radius; i <= radius && flat; i++) for (let j = -radius; j <= radius; j++) if (truth[(r + i) * columns + c + j] !== v) flat = false;
      mask[r * columns + c] = flat ? 1 : 0;
    }
  }
  return mask;
}
