/**
 * Low-contrast detectability: does the denoiser keep a model observer's ability to detect the lcd
 * phantom's faint disks? A channelized Hotelling observer (Laguerre–Gauss channels, src/metrics/
 * detectability.ts) detects each disk kind, signal known exactly, at the disk places of the lcd
 * fixture, signal-present on one slice of each pair and signal-absent on the other, over the
 * fixture's noise realisations. The value is d'(denoised) / d'(its own input), both estimated on
 * the same samples, cross-validated by realisation; `measured` holds the three d' (input,
 * denoised, full dose), the ratio's jackknife standard error, and the disk contrast each image
 * keeps, so a reader can tell a loss of contrast from a change in noise (docs/qa.md).
 */
import { channelResponses, dPrimeRatio, hotellingDPrime, laguerreGaussChannels, type ObserverSample, type RoiChannels } from '../../metrics/index.js';
import type { LcdGeometry } from '../../phantoms/index.js';
import type { QaConfig } from '../config.js';
import { pixelAt } from '../fixtures.js';
import { fmt, judge } from '../judge.js';
import { realisationsOf } from '../realisations.js';
import type { FamilyResult, QaCase, QaCheck, QaRealisation, QaSlice, SliceStack } from '../types.js';

/**
 * Ten channels: enough for a rotationally symmetric disk and its surround (in white noise they
 * keep 96 % of the ideal observer's d'^2 for both disk kinds at a = R), few enough for a 10 x 10
 * covariance from about 110 samples per class.
 */
export const LCD_CHANNELS = 10;
/**
 * Channel width a as a multiple of the disk radius. a = R puts the first channel's half maximum at
 * 0.47 R and the tenth channel's outermost lobe near 2 R, so the channels span the disk, its edge
 * and a background ring of one radius around it, all inside the 15 mm ROI for both disk kinds.
 */
export const LCD_CHANNEL_WIDTH_PER_RADIUS = 1;
/** The disk-contrast ROI (reported in `measured`, not judged): the central 0.8 of the radius, as contrast-retention's. */
const CONTRAST_ROI_FRACTION = 0.8;

export function detectabilityChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks['detectability-ratio'];
  if (!settings.enabled || c.phantom !== 'lcd') return { checks: [] };
  const g = c.geometry as unknown as LcdGeometry;
  const realisations = realisationsOf(c);
  const checks: QaCheck[] = [];
  for (const [kindIndex, kind] of g.kinds.entries()) {
    const task = lcdTask(g, kindIndex);
    const samples = (pick: (r: QaRealisation) => SliceStack) => realisations.flatMap((r) => taskSamples(pick(r), task, r.index));
    const input = samples((r) => r.low);
    const denoised = samples((r) => r.denoised);
    const full = samples((r) => r.full);
    const ratio = dPrimeRatio(denoised, input);
    const fullEstimate = hotellingDPrime(full);
    const contrast = (pick: (r: QaRealisation) => SliceStack) => diskContrast(realisations.map(pick), task);
    const contrastInput = contrast((r) => r.low);
    const contrastDenoised = contrast((r) => r.denoised);
    const contrastFull = contrast((r) => r.full);
    const contrastKept = contrastInput === null || contrastDenoised === null ? null : 1 + (contrastDenoised - contrastInput) / kind.contrastHu;
    const dIn = ratio.denominator.dPrime;
    const dOut = ratio.numerator.dPrime;
    const unmeasured =
      realisations.length < 2
        ? `not measurable on ${realisations.length} noise realisation: the template of each realisation is trained on the others, so it needs at least 2 (run without --realisations 1). `
        : '';
    checks.push(
      judge(
        {
          check: 'detectability-ratio',
          phantom: c.phantom,
          dose: c.dose,
          subject: kind.name,
          unit: 'ratio',
          detail:
            unmeasured +
            `channelized Hotelling d' of ${kind.name} disks (${LCD_CHANNELS} Laguerre-Gauss channels, a = ${fmt(task.channels.widthMm)} mm, ` +
            `${ratio.numerator.present} signal-present / ${ratio.numerator.absent} signal-absent ROIs over ${realisations.length} noise realisations, cross-validated by realisation): ` +
            `denoised ${fmt(dOut)}, input ${fmt(dIn)}, full dose ${fmt(fullEstimate.dPrime)}; ratio standard error ${fmt(ratio.standardError, 2)}; ` +
            `disk contrast kept ${fmt(contrastKept)}`,
          measured: {
            input: dIn,
            denoised: dOut,
            full: fullEstimate.dPrime,
            standardError: ratio.standardError,
            inputStandardError: ratio.denominator.standardError,
            denoisedStandardError: ratio.numerator.standardError,
            fullStandardError: fullEstimate.standardError,
            inputResubstitution: ratio.denominator.resubstitution,
            denoisedResubstitution: ratio.numerator.resubstitution,
            present: ratio.numerator.present,
            absent: ratio.numerator.absent,
            realisations: realisations.length,
            channels: LCD_CHANNELS,
            channelWidthMm: task.channels.widthMm,
            contrastInput,
            contrastDenoised,
            contrastFull,
            contrastNominal: kind.contrastHu,
            contrastKept,
          },
        },
        ratio.ratio,
        settings,
      ),
    );
  }
  return { checks };
}

/** One disk kind's detection task: its places and the channels. */
export interface LcdTask {
  readonly places: ReadonlyArray<{ readonly index: number; readonly centre: readonly [number, number] }>;
  readonly disks: LcdGeometry['disks'];
  readonly radiusMm: number;
  readonly roiRadiusMm: number;
  readonly channels: { readonly count: number; readonly widthMm: number };
}

export function lcdTask(g: LcdGeometry, kindIndex: number): LcdTask {
  const kind = g.kinds[kindIndex];
  if (!kind) throw new RangeError(`lcd phantom has no disk kind ${kindIndex}`);
  const radiusMm = kind.diameter / 2;
  return {
    places: g.places.flatMap((p, index) => (p.kind === kindIndex ? [{ index, centre: p.centre }] : [])),
    disks: g.disks,
    radiusMm,
    roiRadiusMm: g.roiRadius,
    channels: { count: LCD_CHANNELS, widthMm: LCD_CHANNEL_WIDTH_PER_RADIUS * radiusMm },
  };
}

/** Whether place `index` holds its disk on `slice` (the disk's z extent contains the slice centre). */
function diskOn(task: LcdTask, index: number, slice: QaSlice): boolean {
  const z = slice.position[2];
  return task.disks.some((d) => d.place === index && z >= d.z[0] && z < d.z[1]);
}

/** Channel vectors of every place of the task on every slice of `stack`, all in group `group`. */
export function taskSamples(stack: SliceStack, task: LcdTask, group: number): ObserverSample[] {
  const out: ObserverSample[] = [];
  for (const slice of stack.slices) {
    for (const place of task.places) {
      const channels = channelsAt(slice, place.centre, task);
      out.push({ v: channelResponses(slice.data, channels), present: diskOn(task, place.index, slice), group });
    }
  }
  return out;
}

const channelCache = new WeakMap<LcdTask, Map<string, RoiChannels>>();

/** The channels at a place on a slice's grid; slices of one grid share them. */
function channelsAt(slice: QaSlice, centre: readonly [number, number], task: LcdTask): RoiChannels {
  const key = `${slice.rows}x${slice.columns}@${slice.pixelSpacing.join(',')}@${slice.position[0]},${slice.position[1]}@${centre.join(',')}`;
  let cache = channelCache.get(task);
  if (!cache) {
    cache = new Map();
    channelCache.set(task, cache);
  }
  let channels = cache.get(key);
  if (!channels) {
    channels = laguerreGaussChannels(slice, pixelAt(slice, centre), { count: task.channels.count, widthMm: task.channels.widthMm, radiusMm: task.roiRadiusMm });
    cache.set(key, channels);
  }
  return channels;
}

/**
 * Mean disk contrast of a set of stacks: mean over signal-present places of the central ROI's mean,
 * minus the same over signal-absent places (the same places on the other slice): local and paired
 * by place, so the cylinder's radial profile does not count as contrast.
 */
export function diskContrast(stacks: readonly SliceStack[], task: LcdTask): number | null {
  let present = 0;
  let absent = 0;
  let nPresent = 0;
  let nAbsent = 0;
  for (const stack of stacks) {
    for (const slice of stack.slices) {
      for (const place of task.places) {
        const mean = discMean(slice, pixelAt(slice, place.centre), task.radiusMm * CONTRAST_ROI_FRACTION);
        if (diskOn(task, place.index, slice)) {
          present += mean;
          nPresent++;
        } else {
          absent += mean;
          nAbsent++;
        }
      }
    }
  }
  return nPresent === 0 || nAbsent === 0 ? null : present / nPresent - absent / nAbsent;
}

function discMean(slice: QaSlice, centre: readonly [number, number], radiusMm: number): number {
  const [dy, dx] = slice.pixelSpacing;
  let sum = 0;
  let n = 0;
  for (let r = Math.ceil(centre[0] - radiusMm / dy); r <= Math.floor(centre[0] + radiusMm / dy); r++) {
    for (let c = Math.ceil(centre[1] - radiusMm / dx); c <= Math.floor(centre[1] + radiusMm / dx); c++) {
      if (((r - centre[0]) * dy) ** 2 + ((c - centre[1]) * dx) ** 2 > radiusMm * radiusMm) continue;
      sum += slice.data[r * slice.columns + c]!;
      n++;
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}
