/**
 * Task-based detectability: the channelized Hotelling observer (CHO) with Laguerre–Gauss channels
 * for a signal-known-exactly / background-known-exactly detection task (Barrett & Myers,
 * "Foundations of Image Science", ch. 13-14; Gallas & Barrett, JOSA A 20(9):1725, 2003; AAPM
 * TG-233, Samei et al., Med Phys 46(11):e735, 2019). Pure functions over images and channel
 * vectors; docs/qa.md ("Low-contrast detectability") says how `lowdose qa` uses them.
 *
 * d' is estimated honestly: the template w = S^-1 (mean_present - mean_absent) that a finite
 * training set gives fits that set's noise, so testing it on the same samples (resubstitution)
 * overstates d'. Here each group of samples (a noise realisation) is scored by a template trained
 * on the other groups only, and the standard error comes from the delete-one-group jackknife,
 * which also holds when the samples within a group are correlated (overlapping ROIs, one image).
 */
import { choleskySolve } from '../util/cholesky.js';

/** Laguerre–Gauss channels over a circular ROI. */
export interface LgChannelOptions {
  /** Number of channels (orders 0 .. count-1). */
  readonly count: number;
  /** Gaussian width a, mm: u_j(r) = (sqrt(2)/a) exp(-pi r^2/a^2) L_j(2 pi r^2/a^2). */
  readonly widthMm: number;
  /** ROI radius, mm: pixels whose centre is within it carry the channels. */
  readonly radiusMm: number;
}

/** A pixel grid: what the channels need to know of an image. */
export interface PixelGrid {
  readonly rows: number;
  readonly columns: number;
  /** [row spacing, column spacing], mm. */
  readonly pixelSpacing: readonly [number, number];
}

/** The channels sampled around one centre: the ROI's pixel indices and each channel's weight on them. */
export interface RoiChannels {
  readonly pixels: Int32Array;
  /** weights[j][k]: channel j at pixels[k], times the pixel area (mm^2), so responses are integrals. */
  readonly weights: readonly Float64Array[];
}

/** Laguerre polynomials L_0(x) .. L_{count-1}(x), by the three-term recurrence. */
export function laguerre(x: number, count: number): Float64Array {
  const out = new Float64Array(count);
  if (count > 0) out[0] = 1;
  if (count > 1) out[1] = 1 - x;
  for (let k = 1; k + 1 < count; k++) out[k + 1] = ((2 * k + 1 - x) * out[k]! - k * out[k - 1]!) / (k + 1);
  return out;
}

/**
 * The Laguerre–Gauss channels around `centre` (fractional [row, column]; the channels are evaluated
 * at each pixel centre's exact distance from it). Throws when the ROI leaves the image.
 */
export function laguerreGaussChannels(grid: PixelGrid, centre: readonly [number, number], options: LgChannelOptions): RoiChannels {
  const { count, widthMm: a, radiusMm } = options;
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`channel count must be an integer >= 1, got ${count}`);
  if (!(a > 0) || !(radiusMm > 0)) throw new RangeError('channel width and ROI radius must be > 0');
  const [dy, dx] = grid.pixelSpacing;
  const [cr, cc] = centre;
  const r0 = Math.ceil(cr - radiusMm / dy);
  const r1 = Math.floor(cr + radiusMm / dy);
  const c0 = Math.ceil(cc - radiusMm / dx);
  const c1 = Math.floor(cc + radiusMm / dx);
  if (r0 < 0 || c0 < 0 || r1 >= grid.rows || c1 >= grid.columns) {
    throw new RangeError(`ROI of radius ${radiusMm} mm at pixel (${cr.toFixed(1)}, ${cc.toFixed(1)}) leaves the ${grid.rows} x ${grid.columns} image`);
  }
  const pixels: number[] = [];
  const columns: number[][] = Array.from({ length: count }, () => []);
  const area = dx * dy;
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const rr = ((r - cr) * dy) ** 2 + ((c - cc) * dx) ** 2;
      if (rr > radiusMm * radiusMm) continue;
      const envelope = (Math.SQRT2 / a) * Math.exp((-Math.PI * rr) / (a * a));
      const l = laguerre((2 * Math.PI * rr) / (a * a), count);
      pixels.push(r * grid.columns + c);
      for (let j = 0; j < count; j++) columns[j]!.push(envelope * l[j]! * area);
    }
  }
  return { pixels: Int32Array.from(pixels), weights: columns.map((w) => Float64Array.from(w)) };
}

/** The channel responses v_j = sum_k u_j(k) g(k) of an image `data` (row-major, the channels' grid). */
export function channelResponses(data: ArrayLike<number>, channels: RoiChannels): Float64Array {
  const v = new Float64Array(channels.weights.length);
  const { pixels } = channels;
  channels.weights.forEach((w, j) => {
    let sum = 0;
    for (let k = 0; k < pixels.length; k++) sum += w[k]! * data[pixels[k]!]!;
    v[j] = sum;
  });
  return v;
}

/** One channel vector of the detection task. */
export interface ObserverSample {
  /** Channel responses. */
  readonly v: Float64Array;
  readonly present: boolean;
  /**
   * Which independent group it belongs to (a noise realisation): samples of one group are held
   * out together and deleted together, so correlation within a group does not leak.
   */
  readonly group: number;
}

export interface DPrimeEstimate {
  /** Cross-validated d' (each group scored by a template trained on the other groups); null when not estimable. */
  readonly dPrime: number | null;
  /** Delete-one-group jackknife standard error of dPrime; null with fewer than 3 groups. */
  readonly standardError: number | null;
  /** d' of the template trained and tested on all samples: biased upward, for comparison only. */
  readonly resubstitution: number | null;
  readonly present: number;
  readonly absent: number;
  readonly groups: number;
}

/** Per-group sums of one class: count, sum of v, sum of v v^T (row-major p x p). */
interface ClassSums {
  n: number;
  sum: Float64Array;
  outer: Float64Array;
}

interface GroupSums {
  readonly present: ClassSums;
  readonly absent: ClassSums;
}

function emptySums(p: number): ClassSums {
  return { n: 0, sum: new Float64Array(p), outer: new Float64Array(p * p) };
}

function addInto(into: ClassSums, from: ClassSums, sign: 1 | -1): void {
  into.n += sign * from.n;
  for (let i = 0; i < into.sum.length; i++) into.sum[i]! += sign * from.sum[i]!;
  for (let i = 0; i < into.outer.length; i++) into.outer[i]! += sign * from.outer[i]!;
}

function sumsByGroup(samples: readonly ObserverSample[], p: number): Map<number, GroupSums> {
  const groups = new Map<number, GroupSums>();
  for (const s of samples) {
    if (s.v.length !== p) throw new RangeError(`every sample needs ${p} channels, got ${s.v.length}`);
    let g = groups.get(s.group);
    if (!g) {
      g = { present: emptySums(p), absent: emptySums(p) };
      groups.set(s.group, g);
    }
    const c = s.present ? g.present : g.absent;
    c.n++;
    for (let i = 0; i < p; i++) {
      c.sum[i]! += s.v[i]!;
      for (let j = 0; j < p; j++) c.outer[i * p + j]! += s.v[i]! * s.v[j]!;
    }
  }
  return groups;
}

/** A trained Hotelling template: decision t(v) = w . (v - midpoint), scaled to unit SD on the training data. */
interface Template {
  readonly w: Float64Array;
  readonly midpoint: Float64Array;
}

/** The Hotelling template of the pooled training sums, or null when the covariance is not estimable. */
function train(present: ClassSums, absent: ClassSums, p: number): Template | null {
  if (present.n < 2 || absent.n < 2 || present.n + absent.n - 2 <= p) return null;
  const m1 = present.sum.map((v) => v / present.n);
  const m0 = absent.sum.map((v) => v / absent.n);
  // The two classes' covariances, averaged: the signal may change the noise (a nonlinear denoiser does).
  const s = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      const c1 = (present.outer[i * p + j]! - present.n * m1[i]! * m1[j]!) / (present.n - 1);
      const c0 = (absent.outer[i * p + j]! - absent.n * m0[i]! * m0[j]!) / (absent.n - 1);
      s[i * p + j] = (c1 + c0) / 2;
    }
  }
  const delta = m1.map((v, i) => v - m0[i]!);
  const w = choleskySolve(s, delta, p);
  if (!w) return null;
  let variance = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) variance += w[i]! * s[i * p + j]! * w[j]!;
  if (!(variance > 0)) return null;
  const scale = 1 / Math.sqrt(variance);
  return { w: w.map((v) => v * scale), midpoint: m1.map((v, i) => (v + m0[i]!) / 2) };
}

function score(t: Template, v: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += t.w[i]! * (v[i]! - t.midpoint[i]!);
  return sum;
}

/** d' of decision variables: (mean_1 - mean_0) / sqrt((var_1 + var_0) / 2). */
export function dPrimeOfScores(present: readonly number[], absent: readonly number[]): number | null {
  if (present.length < 2 || absent.length < 2) return null;
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = (xs: readonly number[], m: number) => xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
  const m1 = mean(present);
  const m0 = mean(absent);
  const pooled = (variance(present, m1) + variance(absent, m0)) / 2;
  return pooled > 0 ? (m1 - m0) / Math.sqrt(pooled) : null;
}

/**
 * Leave-one-group-out d' over the groups in `use`: each group's samples are scored by the template
 * trained on the others, the scores pooled. Each fold's scores are centred on its training
 * midpoint and scaled to its training SD, so folds are on one scale.
 */
function crossValidated(samples: readonly ObserverSample[], sums: Map<number, GroupSums>, use: readonly number[], p: number): number | null {
  if (use.length < 2) return null;
  const total = { present: emptySums(p), absent: emptySums(p) };
  for (const g of use) {
    addInto(total.present, sums.get(g)!.present, 1);
    addInto(total.absent, sums.get(g)!.absent, 1);
  }
  const present: number[] = [];
  const absent: number[] = [];
  for (const g of use) {
    const held = sums.get(g)!;
    const trainPresent = { n: total.present.n, sum: total.present.sum.slice(), outer: total.present.outer.slice() };
    const trainAbsent = { n: total.absent.n, sum: total.absent.sum.slice(), outer: total.absent.outer.slice() };
    addInto(trainPresent, held.present, -1);
    addInto(trainAbsent, held.absent, -1);
    const template = train(trainPresent, trainAbsent, p);
    if (!template) return null;
    for (const s of samples) if (s.group === g) (s.present ? present : absent).push(score(template, s.v));
  }
  return dPrimeOfScores(present, absent);
}

/** What every estimate needs: the channel count, the groups and their sums. */
function prepare(samples: readonly ObserverSample[]): { p: number; groups: number[]; sums: Map<number, GroupSums> } {
  const p = samples[0]?.v.length ?? 0;
  const sums = sumsByGroup(samples, p);
  return { p, groups: [...sums.keys()].sort((a, b) => a - b), sums };
}

/**
 * The channelized Hotelling observer's d' for `samples`, cross-validated over their groups, with
 * its jackknife standard error and the (optimistic) resubstitution value beside it.
 */
export function hotellingDPrime(samples: readonly ObserverSample[]): DPrimeEstimate {
  const { p, groups, sums } = prepare(samples);
  const present = samples.filter((s) => s.present).length;
  const counts = { present, absent: samples.length - present, groups: groups.length };
  if (p === 0) return { dPrime: null, standardError: null, resubstitution: null, ...counts };
  const dPrime = crossValidated(samples, sums, groups, p);
  const jack = jackknife(groups, (kept) => crossValidated(samples, sums, kept, p));
  return { dPrime, standardError: jack, resubstitution: resubstitution(samples, sums, groups, p), ...counts };
}

export interface DPrimeRatio {
  /** d'(numerator) / d'(denominator), each cross-validated; null when either is not estimable or the denominator is <= 0. */
  readonly ratio: number | null;
  /** Delete-one-group jackknife standard error of the ratio, the two deleted together (paired samples). */
  readonly standardError: number | null;
  readonly numerator: DPrimeEstimate;
  readonly denominator: DPrimeEstimate;
}

/**
 * d' of one set of samples over d' of another taken from the same groups (a denoised image and its
 * own input): the jackknife deletes a group from both at once, so the noise they share cancels in
 * the ratio's standard error as it does in the ratio.
 */
export function dPrimeRatio(numerator: readonly ObserverSample[], denominator: readonly ObserverSample[]): DPrimeRatio {
  const num = hotellingDPrime(numerator);
  const den = hotellingDPrime(denominator);
  const ratioOf = (a: number | null, b: number | null) => (a === null || b === null || !(b > 0) ? null : a / b);
  const pn = prepare(numerator);
  const pd = prepare(denominator);
  const groups = pn.groups.filter((g) => pd.sums.has(g));
  const standardError =
    pn.p === 0 || pd.p === 0
      ? null
      : jackknife(groups, (kept) => ratioOf(crossValidated(numerator, pn.sums, kept, pn.p), crossValidated(denominator, pd.sums, kept, pd.p)));
  return { ratio: ratioOf(num.dPrime, den.dPrime), standardError, numerator: num, denominator: den };
}

/** Delete-one-group jackknife SE of `estimate`: sqrt((G-1)/G sum (theta_-g - mean)^2); null with < 3 groups or any failure. */
function jackknife(groups: readonly number[], estimate: (kept: number[]) => number | null): number | null {
  if (groups.length < 3) return null;
  const values: number[] = [];
  for (const g of groups) {
    const v = estimate(groups.filter((h) => h !== g));
    if (v === null || !Number.isFinite(v)) return null;
    values.push(v);
  }
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(((n - 1) / n) * values.reduce((a, b) => a + (b - mean) ** 2, 0));
}

function resubstitution(samples: readonly ObserverSample[], sums: Map<number, GroupSums>, groups: readonly number[], p: number): number | null {
  const present = emptySums(p);
  const absent = emptySums(p);
  for (const g of groups) {
    addInto(present, sums.get(g)!.present, 1);
    addInto(absent, sums.get(g)!.absent, 1);
  }
  const template = train(present, absent, p);
  if (!template) return null;
  return dPrimeOfScores(
    samples.filter((s) => s.present).map((s) => score(template, s.v)),
    samples.filter((s) => !s.present).map((s) => score(template, s.v)),
  );
}
