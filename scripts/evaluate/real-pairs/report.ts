/**
 * The real-pair evaluation's result (models/eval/ct-real.json) and its markdown table: one row per
 * method, a column per patient / kernel / window, the margins of each model row over the best
 * tuned filter and over the input, and the targets per patient and kernel.
 */
import type { TuningScore } from '../../../src/filters/tune.js';
import { PATIENT_ROLES } from './data.js';
import { WINDOW_LABELS, WINDOW_NAMES, WINDOW_REGIONS, type GroupSummary, type PlacedRoi, type SliceScore, type WindowName } from './score.js';

export const FORMAT = 'lowdose-real-pairs/1';

/** The targets on real quarter dose, per patient and kernel (issue 14, section 2). */
export const TARGETS = { psnrOverBestFilter: 0.5, ssimOverBestFilter: 0.01, overInput: 0 } as const;

export interface GroupInfo {
  readonly patient: string;
  readonly kernel: string;
  readonly role: 'validation' | 'training' | 'unassigned';
  readonly files: string[];
  /** Pixels per slice left out of the metrics (outside the scanned field, padding). */
  readonly excludedPixels: number[];
  readonly pixelSpacingMm: number;
  readonly rois: PlacedRoi[][];
}

export interface MethodRow {
  readonly id: string;
  readonly kind: 'input' | 'filter' | 'model' | 'reference';
  readonly label: string;
  /** Per group: what was run (filter settings per window, sampler settings). */
  readonly settings: Record<string, string>;
  /** Per group key ("L192/B30f"). PSNR / SSIM absent for the reference row. */
  readonly groups: Record<string, GroupSummary>;
  readonly slices: Record<string, SliceScore[]>;
  readonly msPerSlice?: number;
  /** Filter rows: per group, the tuner's scores of every candidate and the winners. */
  tuning?: Record<string, FilterTuning>;
}

export interface FilterTuning {
  readonly parameter: string;
  readonly unit: string;
  readonly noiseStd: number;
  readonly bestPsnr: Record<WindowName, number>;
  readonly bestSsim: Record<WindowName, number>;
  readonly scores: Record<WindowName, TuningScore[]>;
}

export interface Margin {
  readonly psnrOverBestFilter: number;
  readonly ssimOverBestFilter: number;
  readonly psnrOverInput: number;
  readonly ssimOverInput: number;
  /** Slices whose PSNR is below the input's. */
  readonly slicesBelowInputPsnr: number;
  readonly bestFilterPsnr: string;
  readonly bestFilterSsim: string;
  readonly meetsTarget: boolean;
}

export interface RealPairsResult {
  readonly format: typeof FORMAT;
  readonly command: string;
  readonly data: string;
  readonly card: { readonly path: string; readonly name: string; readonly onnxSha256: string };
  readonly split: Readonly<Record<string, string>>;
  readonly windows: Record<WindowName, readonly [number, number]>;
  /** Which pixels each window counts: `field` (the definition) or `patient` (the patient outline in the field). */
  readonly windowRegions?: Record<WindowName, 'field' | 'patient'>;
  readonly groups: GroupInfo[];
  readonly methods: MethodRow[];
  /** margins[model row id][group key][window] */
  readonly margins: Record<string, Record<string, Record<WindowName, Margin>>>;
  readonly notes: string[];
}

export const keyOf = (g: { patient: string; kernel: string }) => `${g.patient}/${g.kernel}`;

/** Margins of every model row over the best filter and the input, per group and window. */
export function margins(methods: readonly MethodRow[], groups: readonly GroupInfo[]): RealPairsResult['margins'] {
  const input = methods.find((m) => m.kind === 'input');
  const filters = methods.filter((m) => m.kind === 'filter');
  if (!input || filters.length === 0) throw new Error('margins need the input row and at least one filter row');
  const out: RealPairsResult['margins'] = {};
  for (const model of methods.filter((m) => m.kind === 'model')) {
    out[model.id] = {};
    for (const g of groups) {
      const key = keyOf(g);
      const row = {} as Record<WindowName, Margin>;
      for (const w of WINDOW_NAMES) {
        const m = model.groups[key]!;
        const i = input.groups[key]!;
        const byPsnr = filters.reduce((a, b) => (b.groups[key]!.psnr[w] > a.groups[key]!.psnr[w] ? b : a));
        const bySsim = filters.reduce((a, b) => (b.groups[key]!.ssim[w] > a.groups[key]!.ssim[w] ? b : a));
        const psnrOverBestFilter = m.psnr[w] - byPsnr.groups[key]!.psnr[w];
        const ssimOverBestFilter = m.ssim[w] - bySsim.groups[key]!.ssim[w];
        const psnrOverInput = m.psnr[w] - i.psnr[w];
        const ssimOverInput = m.ssim[w] - i.ssim[w];
        const slicesBelowInputPsnr = model.slices[key]!.filter((s, k) => s.psnr[w] < input.slices[key]![k]!.psnr[w]).length;
        row[w] = {
          psnrOverBestFilter,
          ssimOverBestFilter,
          psnrOverInput,
          ssimOverInput,
          slicesBelowInputPsnr,
          bestFilterPsnr: byPsnr.id,
          bestFilterSsim: bySsim.id,
          meetsTarget:
            psnrOverBestFilter >= TARGETS.psnrOverBestFilter &&
            ssimOverBestFilter >= TARGETS.ssimOverBestFilter &&
            psnrOverInput >= TARGETS.overInput &&
            ssimOverInput >= TARGETS.overInput,
        };
      }
      out[model.id]![key] = row;
    }
  }
  return out;
}

const f2 = (v: number) => v.toFixed(2);
const f4 = (v: number) => v.toFixed(4);
const signed = (v: number, digits: number) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
const opt = (v: number | null, digits = 1) => (v === null || Number.isNaN(v) ? '' : v.toFixed(digits));

/** The markdown tables of a result. */
export function renderMarkdown(result: RealPairsResult): string {
  const groups = result.groups;
  const roles = groups.map((g) => `${g.patient}: ${g.role === 'validation' ? 'validation (do not train on it)' : g.role === 'training' ? 'may be used for training' : 'no role'}`);
  const uniqueRoles = [...new Set(roles)];
  const lines: string[] = [];
  lines.push(`# Real quarter-dose CT (AAPM-Mayo pairs): ${result.card.name}`);
  lines.push('');
  lines.push(`Split: ${uniqueRoles.join('; ')}. Report L192 as validation; numbers on a patient used in training are not an unbiased estimate.`);
  lines.push('');
  lines.push(`\`${result.command}\` (card \`${result.card.path}\`, ONNX sha256 ${result.card.onnxSha256.slice(0, 12)}; data \`${result.data}\`).`);
  lines.push('');
  lines.push(
    'Every quarter-dose slice scored against the full-dose slice of the same position; mean over slices. PSNR / SSIM per CONTRACT (clipped to the window, data range = its width, ' +
      "scikit-image SSIM), pixels outside the scanner's field of view left out; the `patient` columns count only the pixels inside the patient outline " +
      '(`patientOutline` of the full-dose slice: the body with its lungs and gas, not the air around it). Filter rows: each filter tuned on these same slices per patient and kernel ' +
      '(`tuneInRanges`), each number at its best setting for that number (PSNR-best setting for PSNR, SSIM-best for SSIM, per window; settings below).',
  );
  lines.push('');
  const header = ['method', ...groups.flatMap((g) => WINDOW_NAMES.map((w) => `${keyOf(g)} ${g.role === 'validation' ? '(val) ' : ''}${WINDOW_LABELS[w]}`))];
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`| ${header.map(() => '---').join(' | ')} |`);
  for (const m of result.methods.filter((x) => x.kind !== 'reference')) {
    const cells = groups.flatMap((g) => WINDOW_NAMES.map((w) => `${f2(m.groups[keyOf(g)]!.psnr[w])} / ${f4(m.groups[keyOf(g)]!.ssim[w])}`));
    lines.push(`| ${m.label} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('PSNR dB / SSIM. Slices per group: ' + groups.map((g) => `${keyOf(g)} ${g.files.length}`).join(', ') + '.');
  lines.push('');
  lines.push('Noise and bias (HU): no-reference noise estimate in soft tissue (`estimateNoise`, local SD mode, as the filters use it) / SD in the soft-tissue ROIs / mean bias in the soft-tissue ROIs / in the fat ROI / largest |bias| of any ROI. ROIs: ' +
    'two 6 mm circles in soft tissue and one in fat per slice, placed on the full-dose image where it is flattest (the same for every method).');
  lines.push('');
  const nheader = ['method', ...groups.map((g) => keyOf(g))];
  lines.push(`| ${nheader.join(' | ')} |`);
  lines.push(`| ${nheader.map(() => '---').join(' | ')} |`);
  for (const m of result.methods) {
    const cells = groups.map((g) => {
      const s = m.groups[keyOf(g)]!;
      return `${opt(s.noiseEstimate)} / ${opt(s.roiSd)} / ${opt(s.bias.soft)} / ${opt(s.bias.fat)} / ${opt(s.bias.maxAbs)}`;
    });
    lines.push(`| ${m.label} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push(
    `Targets (issue 14): per patient and kernel, at least +${TARGETS.psnrOverBestFilter} dB PSNR and +${TARGETS.ssimOverBestFilter} SSIM over the best tuned filter, and never below the input. ` +
      'Margins: PSNR dB / SSIM over the best filter (which), over the input; "met" when all four hold in that window. The targets are judged on the field windows; ' +
      'the patient windows apply the same test to the pixels inside the patient and are reported beside them ("holds" / "fails"), not as the target.',
  );
  lines.push('');
  const mheader = ['model', 'window', ...groups.map((g) => keyOf(g))];
  lines.push(`| ${mheader.join(' | ')} |`);
  lines.push(`| ${mheader.map(() => '---').join(' | ')} |`);
  for (const [id, byGroup] of Object.entries(result.margins)) {
    const label = result.methods.find((m) => m.id === id)!.label;
    for (const w of WINDOW_NAMES) {
      const cells = groups.map((g) => {
        const m = byGroup[keyOf(g)]![w];
        const which = m.bestFilterPsnr === m.bestFilterSsim ? m.bestFilterPsnr : `${m.bestFilterPsnr}, ${m.bestFilterSsim}`;
        const below = m.slicesBelowInputPsnr > 0 ? `, ${m.slicesBelowInputPsnr} slices below input` : '';
        const verdict = WINDOW_REGIONS[w] === 'field' ? (m.meetsTarget ? '**met**' : '**missed**') : m.meetsTarget ? 'holds' : 'fails';
        return `${signed(m.psnrOverBestFilter, 2)} / ${signed(m.ssimOverBestFilter, 4)} (${which}); input ${signed(m.psnrOverInput, 2)} / ${signed(m.ssimOverInput, 4)}${below}: ${verdict}`;
      });
      lines.push(`| ${label} | ${WINDOW_LABELS[w]} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push('Tuned filter settings, PSNR-best / SSIM-best per window (the series noise SD the strengths scale with):');
  lines.push('');
  lines.push(`| filter | ${groups.map((g) => keyOf(g)).join(' | ')} |`);
  lines.push(`| --- | ${groups.map(() => '---').join(' | ')} |`);
  for (const m of result.methods.filter((x) => x.kind === 'filter')) {
    const unit = Object.values(m.tuning ?? {})[0]?.unit ?? '';
    lines.push(`| ${m.label} (${unit}) | ${groups.map((g) => m.settings[keyOf(g)]).join(' | ')} |`);
  }
  lines.push('');
  for (const m of result.methods.filter((x) => x.kind === 'model')) {
    const distinct = [...new Set(Object.values(m.settings))];
    lines.push(`- ${m.label}: ${distinct.join('; ')}`);
  }
  for (const note of result.notes) lines.push(`- ${note}`);
  lines.push('');
  return lines.join('\n');
}

/** The role of a patient in the split (for GroupInfo). */
export function roleOf(patient: string): GroupInfo['role'] {
  return PATIENT_ROLES[patient] ?? 'unassigned';
}
