/**
 * Shapes of `lowdose qa`: one check result (the `checks[]` entry of docs/contract.md plus
 * fields that say what was measured where), the images a check family works on, and the curves
 * the HTML report plots.
 */
import type { Image2D } from '../image.js';
import type { ModelFingerprint } from '../models/fingerprint.js';
import type { DenoiseOptions } from '../pipeline/types.js';

export type PhantomName = 'water' | 'acr' | 'body' | 'iec' | 'lcd';
export const PHANTOM_NAMES: readonly PhantomName[] = ['water', 'acr', 'body', 'iec', 'lcd'];

/** Every kind of check; also the keys of `checks` in a QA config. */
export type CheckKind =
  | 'noise-reduction'
  | 'hu-error'
  | 'cnr-ratio'
  | 'contrast-retention'
  | 'detectability-ratio'
  | 'mtf50-ratio'
  | 'nps-peak-shift'
  | 'psnr'
  | 'ssim'
  | 'hallucination'
  | 'suvmean-bias'
  | 'suvmax-recovery'
  | 'denoise';

/** How `value` is compared with `threshold`. */
export type Comparison = '>=' | '<=' | 'in';

export interface QaCheck {
  /** Stable id: `<phantom>/dose<pct>/<check>[/<subject>]`, e.g. `acr/dose25/hu-error/bone`. */
  readonly name: string;
  /** null when the quantity could not be measured (the check then fails). */
  readonly value: number | null;
  /** A bound for '>=' / '<=', or [lo, hi] for 'in'. */
  readonly threshold: number | readonly [number, number];
  readonly pass: boolean;
  readonly op: Comparison;
  readonly check: CheckKind;
  readonly phantom: PhantomName;
  /** Dose fraction of the input, e.g. 0.25. */
  readonly dose: number;
  readonly unit: string;
  /** One line for humans: how the value came about. */
  readonly detail: string;
  /** The numbers behind the value (input, denoised, full dose, ...), for scripts and the report. */
  readonly measured: Readonly<Record<string, number | null>>;
  /**
   * Whether the verdict stands whatever the noise realisations: the value lies at least 2 standard
   * errors from the nearest limit (`measured.limitMarginSe`, src/qa/margin.ts). null for a check
   * with no standard error. `pass` is the verdict either way.
   */
  readonly firm: boolean | null;
}

/** One slice of a fixture series with where it is (ImagePositionPatient of its first pixel). */
export interface QaSlice extends Image2D {
  readonly position: readonly [number, number, number];
}

/** A fixture series read into memory (fixtures are small: 2 to 4 slices). */
export interface SliceStack {
  readonly modality: string;
  readonly units: string;
  /** Sorted by increasing z. */
  readonly slices: readonly QaSlice[];
}

/**
 * What a check family sees for one phantom at one dose: the phantom's geometry (fixture.json),
 * the noise-free truth, the full-dose scan (the reference), the low-dose input and its denoised
 * output, all on the same grid and slice positions.
 */
export interface QaCase {
  readonly phantom: PhantomName;
  readonly dose: number;
  /** `geometry` of fixtures/<phantom>/fixture.json. */
  readonly geometry: Record<string, unknown>;
  readonly truth: SliceStack;
  readonly full: SliceStack;
  readonly low: SliceStack;
  readonly denoised: SliceStack;
  /**
   * Further noise realisations of the same phantom and dose (index 1, 2, ...), each with its own
   * low-dose scan, denoised output and full-dose scan; the fields above are realisation 0. The
   * bias checks average over all of them (docs/qa.md, "Expected bias over noise realisations");
   * a realisation's stacks may hold only the slices its checks read (ACR: modules 1 and 2).
   */
  readonly realisations?: readonly QaRealisation[];
}

/** One noise realisation of a case: the same truth scanned with other noise seeds. */
export interface QaRealisation {
  readonly index: number;
  readonly low: SliceStack;
  readonly denoised: SliceStack;
  readonly full: SliceStack;
}

/** A sampled curve over spatial frequency (cycles/mm). */
export interface Curve {
  readonly frequency: readonly number[];
  readonly value: readonly number[];
}

/** One curve for each image of a case (NPS or MTF), for the report's plots. */
export interface CaseCurves {
  readonly phantom: PhantomName;
  readonly dose: number;
  readonly low: Curve;
  readonly denoised: Curve;
  readonly full: Curve;
}

export interface FamilyResult {
  readonly checks: QaCheck[];
  readonly nps?: CaseCurves;
  readonly mtf?: CaseCurves;
}

/** The denoiser settings, as `denoise` takes them; `petModel` overrides `model` for PET fixtures. */
export type QaDenoiseSettings = Pick<
  DenoiseOptions,
  'method' | 'model' | 'device' | 'steps' | 'sampler' | 'seed' | 'samples' | 'guidance' | 'orientations' | 'consistency' | 'consistencyPilot' | 'lowBand' | 'texture' | 'batch' | 'threads' | 'memoryBudget'
> & { readonly petModel?: string };

/** settings.toolkit: the version, and `commit` with `dirty` only when run from a git checkout of lowdose. */
export interface QaToolkit {
  readonly version: string;
  readonly commit?: string;
  readonly dirty?: boolean;
}

/** settings.modelFingerprint: the fingerprint of each model that denoised a phantom. */
export interface QaModelFingerprints {
  readonly model?: ModelFingerprint;
  readonly petModel?: ModelFingerprint;
}

export interface QaResult {
  /** The CONTRACT shape: checks and whether all passed. */
  readonly checks: QaCheck[];
  readonly pass: boolean;
  readonly summary: {
    readonly total: number;
    readonly passed: number;
    readonly failed: number;
    /** Of the passed / failed checks, those whose `firm` is false (within 2 SE of a limit). */
    readonly passedNotFirm: number;
    readonly failedNotFirm: number;
  };
  readonly settings: {
    readonly method: string;
    readonly model: string | null;
    readonly petModel: string | null;
    readonly device: string | null;
    readonly steps: number | null;
    /** The `--sampler` asked for; null = each model card's default. Absent in a qa.json written before it was recorded. */
    readonly sampler?: string | null;
    /** The `--guidance` asked for; null = each model card's default. Absent in a qa.json written before it was recorded. */
    readonly guidance?: number | null;
    readonly seed: number;
    readonly samples: number;
    /** The `--consistency` strength asked for; null = each model card's default. */
    readonly consistency: number | null;
    /** The `--consistency-pilot` asked for; null = each model card's default. Absent in a qa.json written before it was recorded. */
    readonly consistencyPilot?: number | null;
    /** The `--orientations` asked for; null = each model card's default. */
    readonly orientations?: number | null;
    /** The `--low-band` strength asked for; null = each model card's default. */
    readonly lowBand: number | null;
    readonly texture: string;
    /** Noise realisations per fixture asked for (`--realisations`); null = all the fixtures have. */
    readonly realisations: number | null;
    /**
     * Noise realisations each phantom's fixture gave (its realisation folders, at most
     * `realisations`): what its averaged checks used. Absent in a qa.json written before it was recorded.
     */
    readonly realisationsUsed?: Readonly<Partial<Record<PhantomName, number>>>;
    /** Whether the denoiser was told each fixture's dose (false: `--dose-unknown`, the path of a denoise without --dose). */
    readonly doseDeclared: boolean;
    readonly phantoms: PhantomName[];
    readonly doses: number[];
    readonly fixtures: string;
    readonly config: string;
    /**
     * The model files the run used, hashed when it started (src/models/fingerprint.ts): `model` when
     * a CT phantom ran, `petModel` when the PET one did; null for a classical filter. Absent in
     * results written before it was recorded.
     */
    readonly modelFingerprint?: QaModelFingerprints | null;
    /**
     * The lowdose that ran: its version, and where the package root is a git checkout (and git
     * answers) the commit and whether tracked files differed from it (src/util/toolkit.ts).
     * Absent in results written before it was recorded.
     */
    readonly toolkit?: QaToolkit;
    /**
     * sha256 of the bytes of the thresholds file QA read (`config`); absent for a config not read
     * from a file (a library caller's parseConfigObject) and in results written before it.
     */
    readonly thresholdsSha256?: string;
    /** With `--config` merged over the shipped defaults: sha256 of the qa/thresholds.json read with it. */
    readonly defaultThresholdsSha256?: string;
  };
  readonly curves: { readonly nps: CaseCurves[]; readonly mtf: CaseCurves[] };
  /** Fixture series that could not be denoised or read. */
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
  readonly outDir: string;
  readonly report: string;
}
