/**
 * A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for the DICOMweb and DIMSE tests: a config
 * written here (DICOMweb on, basic authentication on, DICOM port on), free loopback ports, a
 * temporary storage folder; stopped by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { expect } from 'vitest';
import type { CliRun } from './cli.js';
import { copyAsOtherStudy, withSameLengthText } from './mutate-dicom.js';
import { ExitedBeforeReady, withFreshPorts, type PortChooser } from './ports.js';

export { closedPort, freePort } from './ports.js';

const ORTHANC = '/usr/sbin/Orthanc';
const PLUGIN_DIRS = ['/usr/share/orthanc/plugins', '/usr/lib/orthanc'];

/** The DICOMweb plugin, or null (with Orthanc itself) when either is not installed. */
export function findOrthanc(): { binary: string; plugin: string } | null {
  if (!existsSync(ORTHANC)) return null;
  for (const dir of PLUGIN_DIRS) {
    if (!existsSync(dir)) continue;
    const plugin = readdirSync(dir).find((f) => f.startsWith('libOrthancDicomWeb.so'));
    if (plugin) return { binary: ORTHANC, plugin: path.join(dir, plugin) };
  }
  return null;
}

export interface RunningOrthanc {
  readonly http: string;
  readonly dicomweb: string;
  readonly user: string;
  readonly password: string;
  readonly dicomPort: number;
  /** GET/POST on Orthanc's own REST API, authenticated. */
  rest(pathname: string, init?: { method?: string; body?: Buffer }): Promise<Response>;
  stop(): Promise<void>;
}

/** Orthanc's own AE title; with DicomCheckCalledAet on, an association calling another is rejected. */
export const ORTHANC_AET = 'LOWDOSETEST';

export interface OrthancOptions {
  /**
   * Known DICOM peers, `DicomModalities` of Orthanc's config: name -> AE title, host, port. Orthanc
   * answers C-FIND / C-GET / C-MOVE only from these, and C-MOVE sends only to these.
   */
  readonly dicomModalities?: Record<string, { aet: string; host: string; port: number }>;
  /** More settings of Orthanc's config (e.g. `LimitFindInstances`), over the defaults here. */
  readonly config?: Record<string, unknown>;
  /** Where the HTTP and DICOM ports come from (default freePort); tests of the retry inject a taken one. */
  readonly choosePort?: PortChooser;
}

/**
 * Starts Orthanc on two fresh ports; when it exits before it answers (another process took a port
 * between freePort and Orthanc's bind), again on fresh ports, four times in all (withFreshPorts).
 * Ready means: this Orthanc (its /system names the random Name of this start, so another server
 * that took the HTTP port does not pass for it) answers and is still running.
 */
export async function startOrthanc(dir: string, options: OrthancOptions = {}): Promise<RunningOrthanc> {
  const found = findOrthanc();
  if (!found) throw new Error('Orthanc is not installed');
  const storage = path.join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  return withFreshPorts('Orthanc', 2, ([httpPort, dicomPort]) => launchOrthanc(found, dir, storage, httpPort!, dicomPort!, options), { choosePort: options.choosePort });
}

async function launchOrthanc(found: { binary: string; plugin: string }, dir: string, storage: string, httpPort: number, dicomPort: number, options: OrthancOptions): Promise<RunningOrthanc> {
  const user = 'radiologist';
  const password = 'pacs-test-secret';
  const name = `lowdose-test-${randomUUID()}`;
  const config = {
    Name: name,
    StorageDirectory: storage,
    IndexDirectory: storage,
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: ORTHANC_AET,
    DicomCheckCalledAet: true,
    DicomModalities: Object.fromEntries(
      Object.entries(options.dicomModalities ?? {}).map(([key, m]) => [key, { AET: m.aet, Host: m.host, Port: m.port, AllowGet: true, AllowMove: true, AllowFind: true, AllowStore: true }]),
    ),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    Plugins: [found.plugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    ...options.config,
  };
  const configFile = path.join(dir, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(config));
  const child: ChildProcess = spawn(found.binary, [configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-4000)));
  const http = `http://127.0.0.1:${httpPort}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const rest = (pathname: string, init: { method?: string; body?: Buffer } = {}) =>
    fetch(`${http}${pathname}`, { method: init.method ?? 'GET', headers: { authorization }, ...(init.body ? { body: new Uint8Array(init.body) } : {}) });
  const isThisOrthanc = async () => {
    try {
      // A port held by another process may accept and drop connections: fetch then waits without end.
      const response = await fetch(`${http}/system`, { headers: { authorization }, signal: AbortSignal.timeout(2_000) });
      return response.ok && ((await response.json()) as { Name?: string }).Name === name;
    } catch {
      return false; // not listening yet, or another server on the port
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new ExitedBeforeReady(`Orthanc exited (${child.exitCode ?? child.signalCode}) on HTTP port ${httpPort}, DICOM port ${dicomPort}: ${stderr}`);
    if ((await isThisOrthanc()) && child.exitCode === null && child.signalCode === null) break;
    if (Date.now() > deadline) {
      child.kill();
      await exited;
      throw new Error(`Orthanc did not answer within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    http,
    dicomweb: `${http}/dicom-web`,
    user,
    password,
    dicomPort,
    rest,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Uploads the given instances (the real CT series) to Orthanc as a new study (copyAsOtherStudy:
 * new UIDs from `shift`, the instances in `truncate` cut to half their PixelData). Returns each
 * stored instance's tags, in upload order.
 */
export async function uploadAsOtherStudy(
  orthanc: RunningOrthanc,
  originals: readonly Uint8Array[],
  truncate: ReadonlySet<number> = new Set(),
  shift?: number,
): Promise<Array<Record<string, string>>> {
  return uploadInstances(orthanc, copyAsOtherStudy(originals, truncate, shift));
}

/** The files of a folder ending in `suffix`, by name, as bytes: the originals a test uploads. */
export async function readInstances(dir: string, suffix = '.dcm'): Promise<Uint8Array[]> {
  const names = readdirSync(dir).filter((f) => f.endsWith(suffix)).sort();
  return Promise.all(names.map(async (f) => new Uint8Array(await readFile(path.join(dir, f)))));
}

/** Deletes one instance, by SOPInstanceUID, from Orthanc (as a PACS user deleting a slice). */
export async function deleteInstance(orthanc: RunningOrthanc, sopInstanceUid: string): Promise<void> {
  const found = await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: sopInstanceUid } })) });
  const ids = (await found.json()) as string[];
  if (ids.length !== 1) throw new Error(`Orthanc holds ${ids.length} instance(s) with SOPInstanceUID ${sopInstanceUid}`);
  const response = await orthanc.rest(`/instances/${ids[0]}`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`Orthanc refused to delete ${sopInstanceUid}: HTTP ${response.status}`);
}

/** The one instance a failed run left in its pull folder (`pullDir`), deleted on Orthanc: its SOPInstanceUID. */
export async function deleteTheOnePulled(orthanc: RunningOrthanc, pullDir: string): Promise<string> {
  const pulled = readdirSync(pullDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dcm'));
  expect(pulled).toHaveLength(1);
  const deleted = path.basename(pulled[0]!, '.dcm');
  await deleteInstance(orthanc, deleted);
  return deleted;
}

/**
 * A successful rerun (`--json`, report section `section`) of one series uploaded as `uploaded`
 * after `deleted` was deleted on Orthanc with the failed run's file of it in the pull folder: that
 * file removed and said so on stderr, the other instances retrieved, and the derived series made
 * from exactly those (each derived file's SourceImageSequence).
 */
export async function expectStaleRemoved(rerun: CliRun, section: 'dicomweb' | 'dimse', uploaded: ReadonlyArray<Record<string, string>>, deleted: string): Promise<void> {
  expect(rerun.code, rerun.stderr).toBe(0);
  const report = JSON.parse(rerun.stdout) as Record<typeof section, { pulled: unknown[] }> & { series: Array<{ output: { files: string[] } }> };
  const held = uploaded.map((t) => t['SOPInstanceUID']!).filter((uid) => uid !== deleted).sort();
  expect(report[section].pulled).toEqual([expect.objectContaining({ instances: held.length, retrieved: held.length, removedStale: 1 })]);
  expect(rerun.stderr).toContain(`series ${uploaded[0]!['SeriesInstanceUID']}: removed 1 instance(s) an earlier run had retrieved that the PACS no longer lists for the series (${deleted})`);
  const sources: string[] = [];
  for (const file of report.series[0]!.output.files) {
    const items = dicomParser.parseDicom(new Uint8Array(await readFile(file))).elements.x00082112?.items ?? [];
    for (const item of items) sources.push(item.dataSet?.string('x00081155') ?? '');
  }
  expect(sources.sort()).toEqual(held);
}

/** Uploads the instances to Orthanc; returns each stored instance's tags, in upload order. */
export async function uploadInstances(orthanc: RunningOrthanc, files: readonly Uint8Array[]): Promise<Array<Record<string, string>>> {
  const uploaded: Array<Record<string, string>> = [];
  for (const bytes of files) {
    const response = await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) });
    if (!response.ok) throw new Error(`Orthanc refused an instance: HTTP ${response.status}`);
    const { ID } = (await response.json()) as { ID: string };
    uploaded.push((await (await orthanc.rest(`/instances/${ID}/simplified-tags`)).json()) as Record<string, string>);
  }
  return uploaded;
}

/**
 * As uploadAsOtherStudy, with instance `unreadable` cut to half its PixelData: Orthanc stores it,
 * lowdose cannot read its pixels. Returns the new study and series and the unreadable instance's
 * SOP Instance UID.
 */
export async function uploadWithUnreadableInstance(
  orthanc: RunningOrthanc,
  originals: readonly Uint8Array[],
  unreadable = 1,
): Promise<{ study: string; series: string; unreadableSop: string }> {
  const uploaded = await uploadAsOtherStudy(orthanc, originals, new Set([unreadable]));
  return { study: uploaded[0]!['StudyInstanceUID']!, series: uploaded[0]!['SeriesInstanceUID']!, unreadableSop: uploaded[unreadable]!['SOPInstanceUID']! };
}

/** The series Orthanc holds in a study (its REST find, expanded). */
export async function seriesInStudy(orthanc: RunningOrthanc, study: string): Promise<Array<{ ID: string; MainDicomTags: { SeriesInstanceUID: string } }>> {
  const response = await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: study }, Expand: true })) });
  return (await response.json()) as Array<{ ID: string; MainDicomTags: { SeriesInstanceUID: string } }>;
}

/**
 * The three-study cohort of the PACS query tests, copies of one real CT series (PatientID "99000 ",
 * StudyDate 20030417 in the originals; replaced by values of the same length): A = patient 99000 on
 * 2003-04-17, B = patient 99017 on 2003-04-17, C = patient 99017 on 2019-03-05. `shift` picks the
 * copies' UIDs (copyAsOtherStudy); `edit` changes each study's files further (an accession number).
 * Returns each study's StudyInstanceUID.
 */
export async function uploadCohort(
  orthanc: RunningOrthanc,
  originals: readonly Uint8Array[],
  shift: number,
  edit: (name: 'A' | 'B' | 'C', file: Uint8Array) => Uint8Array = (_, file) => file,
): Promise<Record<'A' | 'B' | 'C', string>> {
  const patient = (b: Uint8Array) => withSameLengthText(b, 'x00100020', '99017 ');
  const copies = {
    A: copyAsOtherStudy(originals, new Set(), shift),
    B: copyAsOtherStudy(originals, new Set(), shift + 1).map(patient),
    C: copyAsOtherStudy(originals, new Set(), shift + 2).map((b) => withSameLengthText(patient(b), 'x00080020', '20190305')),
  };
  const study: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };
  for (const [name, files] of Object.entries(copies) as Array<['A' | 'B' | 'C', Uint8Array[]]>) {
    study[name] = (await uploadInstances(orthanc, files.map((file) => edit(name, file))))[0]!['StudyInstanceUID']!;
  }
  return study;
}
