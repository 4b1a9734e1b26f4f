/**
 * The random patient: every choice the torso generator makes from its seed (body habitus, organ
 * sizes and positions, contrast phase, tissue HU, lesions' number) as plain data, drawn once so
 * that rendering is a pure function of it.
 */
import { Rng } from '../../util/random.js';

export type ContrastPhase = 'none' | 'arterial' | 'portal';
export const CONTRAST_PHASES: readonly ContrastPhase[] = ['none', 'arterial', 'portal'];

/** Mean HU of each tissue for one patient and phase (texture is added on top). */
export interface TissueHu {
  fat: number;
  skin: number;
  muscle: number;
  liver: number;
  spleen: number;
  kidneyCortex: number;
  kidneyMedulla: number;
  pancreas: number;
  aorta: number;
  ivc: number;
  portalVein: number;
  hepaticVein: number;
  pulmonaryArtery: number;
  pulmonaryVein: number;
  myocardium: number;
  leftHeartBlood: number;
  rightHeartBlood: number;
  bowelWall: number;
  bowelFluid: number;
  stool: number;
  gallbladder: number;
  lung: number;
  cortical: number;
  cancellous: number;
  disc: number;
  csf: number;
  cord: number;
  cartilage: number;
  air: number;
}

export interface BodyParams {
  readonly phase: ContrastPhase;
  /** Half width (x) of the body outline, and its anterior and posterior half depths (y), mm. */
  readonly halfWidth: number;
  readonly halfDepthAnterior: number;
  readonly halfDepthPosterior: number;
  /** Superellipse exponent of the outline (2 = ellipse; larger = boxier). */
  readonly squareness: number;
  /** Subcutaneous fat thickness laterally, anteriorly, posteriorly, mm. */
  readonly fatLateral: number;
  readonly fatAnterior: number;
  readonly fatPosterior: number;
  /** Abdominal wall muscle thickness, mm. */
  readonly wallMuscle: number;
  /** Body centre offset in the image plane, mm. */
  readonly offsetX: number;
  readonly offsetY: number;
  /** Anatomy shift along z (mm) and craniocaudal scale. */
  readonly zShift: number;
  readonly zScale: number;
  /** Organ scale factors and jitter. */
  readonly liverScale: number;
  readonly spleenScale: number;
  readonly kidneyScale: number;
  readonly aortaRadius: number;
  readonly hasGallbladder: boolean;
  readonly stomachFill: number;
  readonly oralContrast: boolean;
  readonly aorticCalcification: number;
  readonly lesionCount: number;
  readonly hu: TissueHu;
}

function jitter(rng: Rng, value: number, relative: number): number {
  return value * (1 + rng.range(-relative, relative));
}

function tissueHu(rng: Rng, phase: ContrastPhase): TissueHu {
  // Enhancement varies between patients (cardiac output, timing): one factor per patient.
  const enhancement = rng.range(0.8, 1.2);
  const e = (none: number, arterial: number, portal: number) => {
    const base = none + rng.range(-3, 3);
    const peak = phase === 'none' ? none : phase === 'arterial' ? arterial : portal;
    return base + (peak - none) * enhancement;
  };
  const steatosis = rng.uniform() < 0.15 ? rng.range(15, 35) : 0;
  return {
    fat: rng.range(-112, -92),
    skin: rng.range(20, 45),
    muscle: e(50, 56, 62),
    liver: e(60, 75, 110) - steatosis,
    spleen: e(48, 105, 118),
    kidneyCortex: e(32, 175, 165),
    kidneyMedulla: e(30, 65, 140),
    pancreas: e(42, 115, 95),
    aorta: e(42, 330, 165),
    ivc: e(40, 75, 135),
    portalVein: e(40, 95, 180),
    hepaticVein: e(40, 45, 150),
    pulmonaryArtery: e(42, 260, 160),
    pulmonaryVein: e(42, 300, 160),
    myocardium: e(42, 110, 100),
    leftHeartBlood: e(42, 330, 160),
    rightHeartBlood: e(42, 190, 155),
    bowelWall: e(40, 85, 95),
    bowelFluid: rng.range(5, 20),
    stool: rng.range(-40, 40),
    gallbladder: rng.range(2, 18),
    lung: rng.range(-880, -840),
    cortical: rng.range(800, 1100),
    cancellous: rng.range(130, 280),
    disc: rng.range(75, 100),
    csf: rng.range(5, 15),
    cord: rng.range(30, 40),
    cartilage: rng.range(110, 170),
    air: -1000,
  };
}

/** Draws a patient. `phase` forces the contrast phase; otherwise the seed picks it. */
export function sampleBodyParams(seed: number, phase?: ContrastPhase): BodyParams {
  const rng = new Rng(seed, 0xb0d1);
  const chosenPhase = phase ?? CONTRAST_PHASES[rng.int(3)]!;
  const habitus = rng.range(0, 1);
  // Fatter patients are wider; sizes from slim adult to large adult.
  const halfWidth = 130 + 60 * habitus + rng.range(-12, 12);
  const halfDepthAnterior = 85 + 55 * habitus * rng.range(0.7, 1.2) + rng.range(-8, 8);
  const halfDepthPosterior = 95 + 20 * habitus + rng.range(-6, 6);
  const fat = 4 + 38 * habitus * rng.range(0.6, 1.3);
  return {
    phase: chosenPhase,
    halfWidth,
    halfDepthAnterior,
    halfDepthPosterior,
    squareness: rng.range(2.1, 2.7),
    fatLateral: Math.max(4, fat * rng.range(0.7, 1.1)),
    fatAnterior: Math.max(4, fat * rng.range(0.9, 1.4)),
    fatPosterior: Math.max(4, fat * rng.range(0.6, 1.0)),
    wallMuscle: rng.range(8, 15),
    offsetX: rng.range(-12, 12),
    offsetY: rng.range(-8, 10),
    zShift: rng.range(-25, 25),
    zScale: rng.range(0.9, 1.1),
    liverScale: jitter(rng, 1, 0.12),
    spleenScale: jitter(rng, 1, 0.25),
    kidneyScale: jitter(rng, 1, 0.1),
    aortaRadius: rng.range(9, 13.5),
    hasGallbladder: rng.uniform() < 0.85,
    stomachFill: rng.range(0.2, 0.9),
    oralContrast: rng.uniform() < 0.3,
    aorticCalcification: rng.uniform() < 0.4 ? rng.range(0.2, 1) : 0,
    lesionCount: rng.int(6),
    hu: tissueHu(rng, chosenPhase),
  };
}
