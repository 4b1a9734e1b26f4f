/**
 * Which `simulate` options a series' simulation does not use: the CT physics options on a PET
 * series, the PET reconstruction options on a CT series, and `--with-reference` where no matched
 * full-dose reconstruction is made (CT noise insertion: the input is the full dose). A folder may
 * hold both modalities, so these are warnings on the series that ignores them, not refusals.
 */
import { CT_DEFAULTS } from '../simulate/index.js';

/**
 * The options of SimulateOptions (./simulate.ts) this judges, by their own shape: ./simulate.ts
 * imports this module, so this one names no type of it (no import cycle, type imports included).
 */
interface Scoped {
  readonly mode?: unknown;
  readonly kernel?: unknown;
  readonly cutoff?: unknown;
  readonly i0?: unknown;
  readonly electronicNoise?: unknown;
  readonly bowtie?: unknown;
  readonly bowtieStrength?: unknown;
  readonly tcm?: unknown;
  readonly iterations?: unknown;
  readonly subsets?: unknown;
  readonly postFilterMm?: unknown;
  readonly withReference?: unknown;
}

/** The options given (not at their default) that `modality`'s simulation ignores, as warnings. */
export function ignoredOptionWarnings(modality: string, options: Scoped): string[] {
  const warnings: string[] = [];
  const given = (entries: Array<[string, unknown, boolean]>) => entries.filter(([, , on]) => on).map(([flag, value]) => `${flag} ${String(value)}`);
  if (modality === 'PT') {
    const ct = given([
      ['--mode', options.mode, options.mode !== undefined && options.mode !== 'insert'],
      ['--kernel', options.kernel, options.kernel !== undefined && options.kernel !== 'auto'],
      ['--cutoff', options.cutoff, options.cutoff !== undefined],
      ['--i0', options.i0, options.i0 !== undefined],
      ['--electronic-noise', options.electronicNoise, options.electronicNoise !== undefined],
      ['--bowtie', options.bowtie, options.bowtie !== undefined && options.bowtie !== CT_DEFAULTS.bowtie],
      ['--bowtie-strength', options.bowtieStrength, options.bowtieStrength !== undefined],
      ['--tcm', options.tcm, options.tcm !== undefined],
    ]);
    if (ct.length > 0) warnings.push(`${ct.join(', ')}: CT option(s), not used for this PET series (count reduction and OSEM; its options are --iterations, --subsets, --post-filter)`);
    return warnings;
  }
  const pet = given([
    ['--iterations', options.iterations, options.iterations !== undefined],
    ['--subsets', options.subsets, options.subsets !== undefined],
    ['--post-filter', options.postFilterMm, options.postFilterMm !== undefined],
  ]);
  if (pet.length > 0) warnings.push(`${pet.join(', ')}: PET option(s), not used for this CT series`);
  if (options.withReference && (options.mode ?? 'insert') === 'insert') {
    warnings.push('--with-reference: no full-dose reconstruction is written for CT noise insertion (--mode insert), whose input is the full-dose scan; score against the input series');
  }
  return warnings;
}
