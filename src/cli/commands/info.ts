/**
 * `lowdose info <path...> [--stats] [--json]`: lists the series found under the paths and every
 * file that could not be read, with its reason (docs/contract.md). The work is
 * src/pipeline/info.ts (`runInfo`); this file registers the command and prints the result.
 */
import type { Command } from 'commander';
import { frameTimingLine, transferSyntaxOf } from '../../dicom/index.js';
import { runInfo, type InfoResult } from '../../pipeline/info.js';
import { infoDicomweb, type DicomwebInfoResult } from '../../pipeline/dicomweb.js';
import { isDicomwebUrl, withoutDicomwebQuery } from '../../dicomweb/url.js';
import { infoStudies, isPacsQueryAddress, type StudyListResult } from '../../pipeline/study-queries.js';
import { namedStudies } from '../../pipeline/studies-file.js';
import { collect } from '../repeatable-options.js';
import { addDicomwebOptions, dicomwebClientOptions, type DicomwebCliOptions } from '../dicomweb-options.js';
import { infoDimse, type DimseInfoResult } from '../../pipeline/dimse.js';
import { isDimseUrl } from '../../dimse/url.js';
import { checkPacsOptionScope } from '../pacs-option-scope.js';
import { addDimseOptions, dimseClientOptions, type DimseCliOptions } from '../dimse-options.js';
import type { CommandRegistrar } from '../command.js';
import type { InstanceListShortfall, StudyKeys } from '../../util/remote-series.js';
import { countsByCodeText, errorsLeftOutLine, LISTED_PER_CODE } from '../../util/code-sample.js';
import { createOutput, EXIT_USAGE, usageError, type Output } from '../output.js';
import { reportStopped, stopOnSignal } from '../stop-on-signal.js';
import { toLowdoseError } from '../../errors.js';

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(5).replace(/\.?0+$/, '');
}

function humanReport(result: InfoResult): string {
  const lines: string[] = [];
  if (result.series.length === 0) lines.push('no image series found');
  for (const s of result.series) {
    const syntaxes = s.transferSyntaxes.map((uid) => transferSyntaxOf(uid).name).join(', ');
    lines.push(
      `${s.key}  ${s.modality || '?'}  ${s.columns}x${s.rows}  ${s.slices} slice(s)  spacing ${s.spacing.map(formatNumber).join(' x ')} mm  ${s.units}  [${syntaxes}]${s.description ? `  "${s.description}"` : ''}`,
    );
    const frame = s.petFrame ? frameTimingLine(s.petFrame) : null;
    if (frame !== null) lines.push(`  ${frame}`);
    for (const w of s.warnings) lines.push(`  warning [${w.code}] ${w.message}`);
    for (const st of s.stats ?? []) {
      lines.push(`  ${st.file}${st.frame ? ` frame ${st.frame}` : ''}: min ${formatNumber(st.min)} max ${formatNumber(st.max)} mean ${formatNumber(st.mean)}`);
    }
  }
  if (result.errorCount > 0) {
    lines.push('', `${result.errorCount} file(s) could not be read:`);
    for (const e of result.errors) lines.push(`  [${e.code}] ${e.message}`);
    const leftOut = errorsLeftOutLine(result.errors.length, result);
    if (leftOut) lines.push(`  ${leftOut}`);
  }
  if (result.skippedCount > 0) {
    const listed = result.skipped.length < result.skippedCount ? `the first ${LISTED_PER_CODE} of each kind` : 'them';
    lines.push('', `${result.skippedCount} file(s) skipped (${countsByCodeText(result.skippedByCode)}); --json lists ${listed}`);
  }
  return lines.join('\n');
}

function humanRemote(result: DicomwebInfoResult | DimseInfoResult | StudyListResult): string {
  if ('studies' in result) {
    return result.studies
      .map((s) => `${s.studyInstanceUid}  ${s.studyDate || '?'}  ${s.patientId || '?'} ${s.patientName}  ${s.modalities.join('/') || '?'}  ${s.series ?? '?'} series, ${s.instances ?? '?'} instance(s)${s.description ? `  "${s.description}"` : ''}\n  ${s.url}`)
      .join('\n');
  }
  return result.series
    .map((s) => `${s.seriesInstanceUid}  ${s.modality || '?'}  ${s.instances ?? '?'} instance(s)${s.seriesNumber !== null ? `  #${s.seriesNumber}` : ''}${s.description ? `  "${s.description}"` : ''}\n  ${s.url}${s.incomplete ? `\n  warning: ${incompleteInWords(s.incomplete)}` : ''}${s.instanceListError ? `\n  warning: not checked, its instances could not be listed [${s.instanceListError.code}]` : ''}`)
    .join('\n');
}

/** The line under a series whose instance list may lack instances (info --json: its `incomplete`). */
function incompleteInWords(shortfall: InstanceListShortfall): string {
  const cap = shortfall.capped ? ' (the server capped the list)' : '';
  return shortfall.expected === null
    ? `incomplete? its instance list holds ${shortfall.received} and the server capped it without saying how many the series holds`
    : `incomplete, its instance list holds ${shortfall.received} of the ${shortfall.expected} instance(s) the server says the series holds${cap}`;
}

/** How `info` stops on SIGINT / SIGTERM: stopOnSignal's `what` and `then`, the E_CANCELLED message from the error that stopped it, and its path. */
interface InfoStop {
  readonly what: string;
  readonly then: string;
  readonly message: (why: string) => string;
  readonly path: string | null;
}

/** A PACS query (`info <PACS address>`): the request in flight is aborted (a C-FIND cancelled with C-CANCEL), nothing is listed. */
const pacsQueryStop = (address: string): InfoStop => ({
  what: 'the PACS query',
  then: 'the request in flight is aborted (a C-FIND is cancelled with C-CANCEL), nothing is listed',
  message: (why) => `the query of ${address} was stopped: ${why}; nothing was listed`,
  path: address,
});

/** The scan of files and folders: it stops at its next file (--stats at its next slice), nothing is listed. */
const SCAN_STOP: InfoStop = { what: 'the scan', then: 'it stops at its next file, nothing is listed', message: (why) => why, path: null };

/**
 * `info` under SIGINT / SIGTERM (stopOnSignal): `run` is stopped as `how` says, the stop is reported
 * (reportStopped: E_CANCELLED, the signal's exit status) and null returned.
 */
async function untilSignal<T>(out: Output, how: InfoStop, setExitCode: (code: number) => void, run: (signal: AbortSignal) => Promise<T>): Promise<T | null> {
  const stop = stopOnSignal(how.what, (message) => out.info(message), how.then);
  try {
    return await run(stop.signal);
  } catch (error) {
    if (!stop.received) throw error;
    reportStopped(out, stop, how.message(toLowdoseError(error).message), how.path, setExitCode);
    return null;
  } finally {
    stop.dispose();
  }
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('info')
    .description('find DICOM series under the paths and print them, with every file that could not be read')
    .argument(
      '<path...>',
      'DICOM files or directories (searched recursively), or one DICOMweb study URL (lists its series with QIDO-RS) or base URL (lists the studies with QIDO-RS), or one dimse://<PACS AE title>@host:port[/<StudyInstanceUID>] (lists the studies, or the study\'s series, with C-FIND)',
    )
    .option('--errors-file <file>', 'also write every file that could not be read (and with --stats every slice that could not be decoded) to this file, one per line: path, code, message, tab-separated; the output lists the first 100 of each code')
    .option('--stats', 'add per-slice min / max / mean in modality units (HU, SUVbw or Bq/ml), of the pixels that are not padding (PixelPaddingValue, a CT slice\'s out-of-field fill)')
    .option('--patient-id <id>', 'for a PACS address (dimse://<AE title>@host:port or a DICOMweb base URL): list only the studies of this PatientID (* and ? are wildcards)')
    .option('--from <YYYYMMDD>', 'for a PACS address: list only the studies from this StudyDate on')
    .option('--to <YYYYMMDD>', 'for a PACS address: list only the studies up to this StudyDate')
    .option('--accession <number>', 'for a PACS address: list only the studies of this AccessionNumber (exact, with the other keys; repeatable, one query each); one that matches no study is an error (exit 1)', collect)
    .option('--studies-from <file>', 'for a PACS address: list the studies named in this text / CSV file, one AccessionNumber or StudyInstanceUID (digits and dots) per line, as denoise --studies-from reads it; one that matches no study is an error (exit 1)');
  addDimseOptions(addDicomwebOptions(command))
    .option('--json', 'machine-readable output on stdout')
    .action(async (given: string[], opts: DicomwebCliOptions & DimseCliOptions & StudyKeys & { accession?: string[]; studiesFrom?: string; stats?: boolean; errorsFile?: string; json?: boolean }) => {
      // An address's query string (patient keys) is read by nothing and kept nowhere: messages, reports and records show the address without it.
      const paths = given.map(withoutDicomwebQuery);
      const out = createOutput(Boolean(opts.json));
      const keys: StudyKeys = { ...(opts.patientId !== undefined ? { patientId: opts.patientId } : {}), ...(opts.from !== undefined ? { from: opts.from } : {}), ...(opts.to !== undefined ? { to: opts.to } : {}) };
      checkPacsOptionScope(command, paths);
      const named = opts.accession !== undefined || opts.studiesFrom !== undefined;
      const narrowed = Object.keys(keys).length > 0 || named;
      if (narrowed && !paths.some(isPacsQueryAddress)) throw usageError('--patient-id, --from, --to, --accession and --studies-from narrow the study list of a PACS address (dimse://<AET>@host:port or a DICOMweb base URL)');
      const identifiers = named ? await namedStudies(opts) : { accessions: [], studyInstanceUids: [] };
      const remote = paths.some((p) => isPacsQueryAddress(p) || isDimseUrl(p) || isDicomwebUrl(p));
      if (remote && opts.errorsFile !== undefined) throw usageError('--errors-file lists the files a scan of files and folders could not read: use it on files, not on a PACS address');
      if (paths.some(isPacsQueryAddress)) {
        if (paths.length > 1) throw usageError('a PACS address is given alone: one PACS per run');
        if (opts.stats) throw usageError('--stats reads pixel data: use it on files, not on a PACS address');
        const answer = await untilSignal(out, pacsQueryStop(paths[0]!), setExitCode, (signal) => {
          const clients = {
            ...(isDimseUrl(paths[0]!) ? { dimse: { ...dimseClientOptions(opts), signal } } : { dicomweb: { ...dicomwebClientOptions(opts, (m) => out.info(m)), signal } }),
            log: (m: string) => out.info(m),
          };
          return infoStudies(paths[0]!, keys, identifiers, clients);
        });
        if (!answer) return;
        const { result, exitCode } = answer;
        out.result(result);
        out.print(humanRemote(result));
        out.info(`${result.studies.length} ${result.studies.length === 1 ? 'study' : 'studies'} on ${result.source}`);
        setExitCode(exitCode);
        return;
      }
      if (paths.some(isDimseUrl)) {
        if (paths.length > 1) throw usageError('a dimse:// address is given alone: one PACS or study per run');
        if (opts.stats) throw usageError('--stats reads pixel data: use it on files, not on a dimse:// address');
        const answer = await untilSignal(out, pacsQueryStop(paths[0]!), setExitCode, (signal) => infoDimse(paths[0]!, { ...dimseClientOptions(opts), signal }, keys, (m) => out.warn(m)));
        if (!answer) return;
        const { result, exitCode } = answer;
        out.result(result);
        out.print(humanRemote(result));
        out.info('studies' in result ? `${result.studies.length} ${result.studies.length === 1 ? 'study' : 'studies'} on ${result.source}` : `${result.series.length} series in study ${result.studyInstanceUid}`);
        setExitCode(exitCode);
        return;
      }
      if (paths.some(isDicomwebUrl)) {
        if (paths.length > 1) throw usageError('a DICOMweb URL is given alone: one study or series URL per run');
        if (opts.stats) throw usageError('--stats reads pixel data: use it on files, not on a DICOMweb URL');
        const answer = await untilSignal(out, pacsQueryStop(paths[0]!), setExitCode, (signal) => infoDicomweb(paths[0]!, { ...dicomwebClientOptions(opts, (m) => out.info(m)), signal }, (m) => out.warn(m)));
        if (!answer) return;
        const { result, exitCode } = answer;
        out.result(result);
        out.print(humanRemote(result));
        out.info(`${result.series.length} series in study ${result.studyInstanceUid}`);
        if (result.incompleteSeriesList !== undefined) out.warn(`the list may lack series: ${result.incompleteSeriesList}`);
        setExitCode(exitCode);
        return;
      }
      const answer = await untilSignal(out, SCAN_STOP, setExitCode, (signal) =>
        runInfo(paths, { stats: Boolean(opts.stats), progress: (m) => out.info(m), signal, ...(opts.errorsFile !== undefined ? { errorsFile: opts.errorsFile } : {}) }),
      );
      if (!answer) return;
      const { result, exitCode } = answer;
      if (exitCode === EXIT_USAGE && result.fileCount === 0) {
        const reason = result.errors.length > 0 ? result.errors.map((e) => e.message).join('; ') : 'no files found';
        out.info(`lowdose info: nothing to read: ${reason}`);
      }
      out.result(result);
      out.print(humanReport(result));
      out.info(
        `${result.fileCount} file(s): ${result.series.length} series, ${result.errorCount} error(s), ${result.skippedCount} skipped`,
      );
      setExitCode(exitCode);
    });
};
