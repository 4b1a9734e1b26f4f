/**
 * `lowdose denoise <path...> -o <dir>`: every CT / PET series found becomes a derived DICOM
 * series, with PNG previews and report.json (docs/contract.md). A thin layer over
 * src/pipeline/denoise.ts.
 */
import type { Command } from 'commander';
import { denoisePaths } from '../../pipeline/denoise.js';
import { denoiseDicomweb, type DicomwebDenoiseReport } from '../../pipeline/dicomweb.js';
import { isDicomwebUrl, withoutDicomwebQuery, parseDicomwebBase } from '../../dicomweb/url.js';
import { addDicomwebOptions, dicomwebClientOptions, type DicomwebCliOptions } from '../dicomweb-options.js';
import { denoiseDimse, type DimseDenoiseReport } from '../../pipeline/dimse.js';
import { isDimseUrl, parseDimsePeer } from '../../dimse/url.js';
import { checkPacsOptionScope, checkStoreTargets } from '../pacs-option-scope.js';
import { addDimseOptions, addMoveOptions, dimseClientOptions, moveOptions, type DimseCliOptions, type MoveCliOptions } from '../dimse-options.js';
import type { DenoiseOptions, DenoiseReport } from '../../pipeline/types.js';
import { addDenoiserOptions, denoiserSettings, progressListener, type DenoiserCliOptions } from '../denoiser-options.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, exitCodeForRun, parseDoseOption, parseNumberOption, usageError } from '../output.js';
import { createProgress } from '../progress.js';
import { collect } from '../repeatable-options.js';
import { checkUncertaintyOptions } from '../../pipeline/uncertainty-request.js';
import { withoutUndefined } from '../../util/defined.js';
import { errorsLeftOutLine } from '../../util/code-sample.js';
import { denoisePacsStudies, isPacsStudiesRun, type PacsStudiesReport } from '../../pipeline/pacs-studies.js';
import type { StudyKeys } from '../../util/remote-series.js';
import { namedStudies } from '../../pipeline/studies-file.js';
import { describeKeys } from '../../pipeline/study-queries.js';
import { SIGNAL_EXIT, stopOnSignal } from '../stop-on-signal.js';
import { RunStopped } from '../../pipeline/run-stopped.js';
import { toLowdoseError } from '../../errors.js';
import { toolkitIdentity } from '../../util/toolkit.js';

interface DenoiseCliOptions extends DenoiserCliOptions, DicomwebCliOptions, DimseCliOptions, MoveCliOptions, StudyKeys {
  output: string;
  stow?: string;
  store?: string;
  allowIncomplete?: boolean;
  skipByUid?: boolean;
  accession?: string[];
  studiesFrom?: string;
  dose?: number;
  reference?: string[];
  overwrite?: boolean;
  includeDerived?: boolean;
  waitLock?: boolean;
  uncertainty?: boolean;
  uncertaintyThreshold?: number;
  hallucination?: boolean;
  json?: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('denoise')
    .description('denoise every CT / PET series found; writes new DICOM series, PNG previews and report.json into <dir>')
    .argument(
      '<path...>',
      'DICOM files or folders (searched recursively); or PACS studies, one after another: DICOMweb study / series URLs (http(s)://host/<prefix>/studies/<uid>[/series/<uid>]), DIMSE studies / series (dimse://<PACS AE title>@host:port/<StudyInstanceUID>[/<SeriesInstanceUID>]), and PACS addresses (a DICOMweb base URL, dimse://<PACS AE title>@host:port) narrowed by --patient-id / --from / --to / --accession / --studies-from',
    )
    .requiredOption('-o, --output <dir>', 'output directory');
  addDenoiserOptions(command)
    .option('--dose <fraction>', 'dose of the input as a fraction of normal dose, if known (e.g. 0.25): the model and its consistency step use it; PET lesion SUVs are measured nearest the full-count image with it declared (models/README.md, "Without --dose")', parseDoseOption('--dose'))
    .option('--reference <path...>', 'reference (normal-dose) series: adds PSNR / SSIM / RMSE to the report')
    .option('--overwrite', 'redo series that are already finished in <dir>')
    .option('--include-derived', 'denoise series lowdose derived (denoised or uncertainty series, e.g. an earlier -o under a walked folder) too; they are skipped by default')
    .option('--uncertainty', "write the calibrated error SD (the model card's calibration) as the uncertainty series, with summaries in report.json; --samples defaults to the card's")
    .option('--uncertainty-threshold <sigma>', "SD above which a pixel counts as uncertain in the summaries (default: the card's, e.g. 10 HU)", parseNumberOption('--uncertainty-threshold', 0))
    .option('--hallucination', 'reference-free hallucination map: patches where the ensemble halves disagree on structure and the calibrated SD is high (docs/uncertainty.md)')
    .option('--wait-lock', 'wait while another run writes the same output series (default: exit 2 at once)')
    .option('--stow <dicomweb-base>', 'with a DICOMweb input: store the derived series (and uncertainty series) to this DICOMweb server with STOW-RS');
  addDicomwebOptions(command)
    .option('--store <dimse-url>', 'with a dimse:// input: store the derived series (and uncertainty series) with C-STORE to this SCP, dimse://<AE title>@host:port (usually the PACS the study came from)');
  addMoveOptions(command, 'with a dimse:// input');
  addDimseOptions(command)
    .option('--patient-id <id>', 'for a PACS address (dimse://<AE title>@host:port or a DICOMweb base URL): denoise the studies of this PatientID (* and ? are wildcards); a PACS address needs at least one of --patient-id, --from, --to')
    .option('--from <YYYYMMDD>', 'for a PACS address: denoise the studies from this StudyDate on')
    .option('--to <YYYYMMDD>', 'for a PACS address: denoise the studies up to this StudyDate')
    .option('--accession <number>', 'for a PACS address: denoise the studies of this AccessionNumber (exact, with the other keys; repeatable, one query each); one that matches no study is an error of the run (exit 1), one that matches several denoises them all', collect)
    .option('--studies-from <file>', 'for a PACS address: denoise the studies listed in this text / CSV file, one AccessionNumber or StudyInstanceUID (digits and dots) per line; blank lines, # comments and a header line are skipped, any other line is a usage error (exit 2) before any query')
    .option('--allow-incomplete', 'with a DICOMweb or dimse:// input: denoise a series of which the server gave fewer instances than it says it holds (NumberOfSeriesRelatedInstances), or the listed series of a study whose series list may lack some, recording the counts in report.json (default: refuse, exit 1 with E_IO)')
    .option('--skip-by-uid', "with a DICOMweb or dimse:// input, on a rerun: a study whose series are all finished in <dir> with exactly the SOP Instance UIDs the PACS lists (QIDO-RS / C-FIND instance lists) is not pulled, its finished series reported skipped (and stored again with --stow / --store). The instances' content is not compared: an instance corrected on the PACS under the same UID (header, pixels) keeps its old output (default: pull every study and compare each slice's content with the completion marker)")
    .option('--json', 'machine-readable report on stdout')
    .action(async (given: string[], opts: DenoiseCliOptions) => {
      // An address's query string (patient keys) is read by nothing and kept nowhere: messages, reports and records show the address without it.
      const paths = given.map(withoutDicomwebQuery);
      const out = createOutput(Boolean(opts.json));
      const progress = createProgress({ enabled: opts.progress });
      const settings = denoiserSettings(opts);
      checkUncertaintyOptions({ ...settings, ...withoutUndefined({ uncertainty: opts.uncertainty, hallucination: opts.hallucination, uncertaintyThreshold: opts.uncertaintyThreshold }) });
      const options: DenoiseOptions = {
        ...settings,
        ...(opts.uncertainty ? { uncertainty: true } : {}),
        ...(opts.uncertaintyThreshold !== undefined ? { uncertaintyThreshold: opts.uncertaintyThreshold } : {}),
        ...(opts.hallucination ? { hallucination: true } : {}),
        outDir: opts.output,
        ...(opts.dose !== undefined ? { doseLevel: opts.dose } : {}),
        ...(opts.reference !== undefined ? { reference: opts.reference } : {}),
        overwrite: Boolean(opts.overwrite),
        ...(opts.includeDerived ? { includeDerived: true } : {}),
        waitLock: Boolean(opts.waitLock),
        log: (message) => out.info(message),
        onProgress: progressListener(progress),
      };
      const urls = paths.filter(isDicomwebUrl);
      const dimseUrls = paths.filter(isDimseUrl);
      const pacs = urls.length + dimseUrls.length;
      const keys: StudyKeys = withoutUndefined({ patientId: opts.patientId, from: opts.from, to: opts.to });
      if (pacs > 0 && pacs < paths.length) throw usageError('PACS addresses (DICOMweb URLs, dimse://) and files or folders are not mixed in one run');
      const named = opts.accession !== undefined || opts.studiesFrom !== undefined;
      if ((Object.keys(keys).length > 0 || named) && pacs === 0) throw usageError('--patient-id, --from, --to, --accession and --studies-from narrow the study list of a PACS address (dimse://<AET>@host:port or a DICOMweb base URL)');
      const identifiers = named ? await namedStudies(opts) : undefined;
      if ((opts.store !== undefined || opts.movePort !== undefined) && dimseUrls.length === 0) throw usageError('--store and --move-port need a dimse:// input');
      checkStoreTargets(opts, paths, 'run');
      const move = moveOptions(opts);
      if (opts.allowIncomplete && pacs === 0) throw usageError('--allow-incomplete needs a DICOMweb URL or dimse:// input: a folder is denoised as it is');
      if (opts.skipByUid && pacs === 0) throw usageError('--skip-by-uid needs a DICOMweb URL or dimse:// input: a folder is read and compared as it is');
      checkPacsOptionScope(command, paths);
      const remote = {
        ...(opts.allowIncomplete ? { allowIncomplete: true } : {}),
        ...(opts.skipByUid ? { skipByUid: true } : {}),
        ...(urls.length > 0 ? { dicomweb: dicomwebClientOptions(opts, (message) => out.info(message)) } : {}),
        ...(opts.stow !== undefined ? { stow: parseDicomwebBase(opts.stow) } : {}),
        ...(dimseUrls.length > 0 ? { dimse: { ...dimseClientOptions(opts), ...move } } : {}),
        ...(opts.store !== undefined ? { store: parseDimsePeer(opts.store) } : {}),
      };
      let report: DenoiseReport | DicomwebDenoiseReport | DimseDenoiseReport | PacsStudiesReport;
      const several = pacs > 0 && (isPacsStudiesRun(paths) || Object.keys(keys).length > 0 || identifiers !== undefined);
      // SIGINT / SIGTERM stops the run cleanly: the series being written (and a study pulled ahead)
      // stops and is reported E_CANCELLED, locks and pull folders go, report.json says what finished.
      const interrupt = stopOnSignal(several ? 'the studies' : 'the run', (message) => out.info(message));
      const stoppable = { ...options, signal: interrupt.signal };
      try {
        report =
          several
            ? await denoisePacsStudies(paths, { ...stoppable, ...remote, keys, ...(identifiers ? { identifiers } : {}) })
            : urls.length > 0
              ? await denoiseDicomweb(urls[0]!, { ...stoppable, ...remote })
              : dimseUrls.length > 0
                ? await denoiseDimse(dimseUrls[0]!, { ...stoppable, ...remote, dimse: remote.dimse! })
                : await denoisePaths(paths, stoppable);
      } catch (error) {
        if (!interrupt.received) throw error;
        // Stopped: the run's record as it stands (a stop before any series was listed has only its error).
        report = error instanceof RunStopped ? (error.report as typeof report) : { toolkit: toolkitIdentity(), series: [], errors: [toLowdoseError(error).toJSON()] };
      } finally {
        interrupt.dispose();
        progress.stop();
      }
      // --json echoes --skip-by-uid (an addition, present only with it), as batch --json does; report.json does not.
      out.result(opts.skipByUid ? { ...report, skipByUid: true } : report);
      out.print(humanReport(report));
      setExitCode(interrupt.received ? SIGNAL_EXIT[interrupt.received] : exitCodeForRun(report.series.length, report.errors));
    });
};

type RemoteSection = DicomwebDenoiseReport['dicomweb'] | DimseDenoiseReport['dimse'];

function humanReport(report: DenoiseReport | DicomwebDenoiseReport | DimseDenoiseReport | PacsStudiesReport): string {
  const lines: string[] = [];
  const single = 'dicomweb' in report ? report.dicomweb : 'dimse' in report ? report.dimse : null;
  const remotes: RemoteSection[] = single ? [single] : 'studies' in report ? report.studies.flatMap((s) => s.dicomweb ?? s.dimse ?? []) : [];
  if ('studies' in report) {
    for (const q of report.queries) lines.push(`query ${q.source} ${describeKeys(q)}: ${q.studies.length} stud${q.studies.length === 1 ? 'y' : 'ies'} to denoise${q.notDenoised.length > 0 ? `, ${q.notDenoised.length} without CT or PT left out` : ''}`);
    for (const s of report.studies) lines.push(`study ${s.source}: ${s.outcome}${s.skipped ? ' (not pulled: finished in -o with the PACS\'s SOP Instance UIDs, --skip-by-uid)' : ''}, ${s.series.length} series${s.errors.length > 0 ? `, ${s.errors.length} error(s)` : ''}`);
  }
  for (const remote of remotes) {
    if ('incompleteSeriesList' in remote && remote.incompleteSeriesList !== undefined) lines.push(`warning: the study's series list may lack series (--allow-incomplete): ${remote.incompleteSeriesList}`);
    if (single && remote.notPulled !== undefined) lines.push(`not pulled: ${remote.notPulled}`);
    for (const p of remote.pulled) {
      lines.push(`pulled ${p.modality} ${p.seriesInstanceUid}: ${p.instances} instance(s) (${p.retrieved} retrieved now) from ${p.url}`);
      if (p.incomplete) lines.push(`  warning: incomplete, ${p.incomplete.received} of the ${p.incomplete.expected} instance(s) the server says the series holds (--allow-incomplete)`);
      if (p.incomplete?.suvNote) lines.push(`  warning: ${p.incomplete.suvNote}`);
    }
  }
  for (const s of report.series) {
    const m = s.metrics;
    const metrics = m
      ? ` | PSNR ${psnrText(m.input?.psnr)} -> ${psnrText(m.psnr)} dB, SSIM ${fmt(m.input?.ssim, 3)} -> ${fmt(m.ssim, 3)}`
      : '';
    lines.push(
      `${s.input.modality} ${s.input.key}${s.skipped ? (s.skippedBy ? ' (already done, judged by its SOP Instance UIDs without pulling)' : ' (already done)') : ''}: ${s.output.files.length} slices -> ${s.output.dir}` +
        ` | ${s.method}${s.model ? ` ${s.model}` : ''} on ${s.device}, ${s.msPerSlice} ms/slice${metrics}`,
    );
    // Scored per radiopharmaceutical: each agent's series against the reference's frames of its agent (the line above: the first's).
    for (const a of m?.agents ?? []) {
      lines.push(`  agent ${a.agent}: PSNR ${psnrText(a.input?.psnr)} -> ${psnrText(a.psnr)} dB, SSIM ${fmt(a.input?.ssim, 3)} -> ${fmt(a.ssim, 3)}, range [${fmt(a.range[0], 4)}, ${fmt(a.range[1], 4)}] against ${a.reference.files} reference slices`);
    }
    // Scored per written series (one per agent and respiratory gate): each against the reference's frames of its agent and gate.
    for (const o of m?.series ?? []) {
      const what = `${o.agent !== null ? ` agent ${o.agent}` : ''}${o.respiratoryGate ? ` respiratory gate ${o.respiratoryGate.gate} of ${o.respiratoryGate.gates}` : ''}${o.cardiacGate ? ` gate ${o.cardiacGate.gate} of ${o.cardiacGate.gates}` : ''}`;
      lines.push(`  series ${o.seriesInstanceUid}${what}: PSNR ${psnrText(o.input?.psnr)} -> ${psnrText(o.psnr)} dB, SSIM ${fmt(o.input?.ssim, 3)} -> ${fmt(o.ssim, 3)}, range [${fmt(o.range[0], 4)}, ${fmt(o.range[1], 4)}] against ${o.reference.files} reference slices`);
    }
    const u = s.uncertainty?.summary;
    if (u) {
      lines.push(
        `  uncertainty (calibrated, ${s.samples} samples): mean SD ${u.meanSigma} ${u.units}, ${(100 * u.fractionAbove).toFixed(1)} % of tissue above ${u.threshold} ${u.units}` +
          (u.worst[0] ? `; worst patch slice ${u.worst[0].slice} at (${u.worst[0].xMm}, ${u.worst[0].yMm}) mm, SD ${u.worst[0].sigma}` : ''),
      );
    }
    const h = s.hallucination;
    if (h) lines.push(`  hallucination map: ${h.flagged.length} of ${h.patches} patches flagged (${(100 * h.flaggedFraction).toFixed(2)} %) -> ${h.map.dir}`);
    for (const w of s.warnings) lines.push(`  warning [${w.code}] ${w.message}`);
  }
  for (const remote of remotes) {
    for (const s of remote.stored) lines.push(`stored ${s.kind} series ${s.seriesInstanceUid}: ${s.instances} instance(s) -> ${s.url}`);
  }
  for (const e of report.errors) lines.push(`error ${e.code}: ${e.message}`);
  const leftOut = errorsLeftOutLine(report.errors.length, report);
  if (leftOut) lines.push(leftOut);
  return lines.join('\n');
}

/** A PSNR in dB; null is +Infinity (the slices identical within the range), printed "inf" as `lowdose metrics` does. */
function psnrText(value: number | null | undefined): string {
  return value === null ? 'inf' : fmt(value);
}

function fmt(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? 'n/a' : value.toFixed(digits);
}
