/**
 * PACS client options (`--dicomweb-*`, `--calling-aet`, `--dimse-timeout`, `--dimse-tls` ...) act only on an input of
 * their kind: given on the command line for another input, they would be ignored without a word.
 * As `--stow` / `--store` / `--allow-incomplete` are refused for a folder, so are these.
 */
import type { Command } from 'commander';
import { isDicomwebUrl } from '../dicomweb/url.js';
import { isDimseUrl } from '../dimse/url.js';
import { DICOMWEB_OPTION_FLAGS } from './dicomweb-options.js';
import { DIMSE_OPTION_FLAGS } from './dimse-options.js';
import { usageError } from './output.js';

/** The flags among `flags` that were given on the command line (not left at their defaults). */
export function optionsGiven(command: Command, flags: readonly string[]): string[] {
  return flags.filter((flag) => {
    const option = command.options.find((o) => o.long === flag);
    return option !== undefined && command.getOptionValueSource(option.attributeName()) === 'cli';
  });
}

/** `--a`, `--a and --b`, `--a, --b and --c`. */
export function flagList(flags: readonly string[]): string {
  return flags.length === 1 ? flags[0]! : `${flags.slice(0, -1).join(', ')} and ${flags.at(-1)}`;
}

function named(flags: readonly string[]): string {
  return `${flagList(flags)} ${flags.length === 1 ? 'needs' : 'need'}`;
}

/** Refuses DICOMweb options without a DICOMweb URL among `paths`, and DIMSE options without a dimse:// one. */
export function checkPacsOptionScope(command: Command, paths: readonly string[]): void {
  const dicomweb = optionsGiven(command, DICOMWEB_OPTION_FLAGS);
  if (dicomweb.length > 0 && !paths.some(isDicomwebUrl)) {
    throw usageError(`${named(dicomweb)} a DICOMweb URL as input: any other input would ignore ${dicomweb.length > 1 ? 'them' : 'it'}`);
  }
  const dimse = optionsGiven(command, DIMSE_OPTION_FLAGS);
  if (dimse.length > 0 && !paths.some(isDimseUrl)) {
    throw usageError(`${named(dimse)} a dimse:// input: any other input would ignore ${dimse.length > 1 ? 'them' : 'it'}`);
  }
}

/**
 * `--stow` stores what came over DICOMweb, `--store` what came over DIMSE: each needs an input of
 * its kind, and with inputs of both kinds both are given, or one kind's results would silently not
 * be stored. `what`: "run" or "batch", for the message.
 */
export function checkStoreTargets(stores: { readonly stow?: string; readonly store?: string }, paths: readonly string[], what: 'run' | 'batch'): void {
  const dicomweb = paths.some(isDicomwebUrl);
  const dimse = paths.some(isDimseUrl);
  if (stores.stow !== undefined && !dicomweb) throw usageError('--stow needs a DICOMweb URL as input (a dimse:// input stores with --store)');
  if (stores.stow !== undefined && stores.store === undefined && dimse) throw usageError(`--stow stores the DICOMweb inputs' results only: the dimse:// inputs of this ${what} would not be stored; add --store for them`);
  if (stores.store !== undefined && stores.stow === undefined && dicomweb) throw usageError(`--store stores the dimse:// inputs' results only: the DICOMweb inputs of this ${what} would not be stored; add --stow for them`);
}
