/**
 * DIMSE against a real Orthanc's DICOM port: `info dimse://...` lists studies and series (C-FIND),
 * `denoise dimse://... --store` pulls a real CT series (C-GET, or C-MOVE to our storage SCP),
 * denoises it and stores the derived series back (C-STORE); refusals (wrong called AE title,
 * unknown calling AE title, a study that does not exist), C-GET / C-MOVE / C-STORE associations cut
 * mid-series by a TCP proxy, and the reruns that complete them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dimse } from '../../src/dimse/association.js';
import { pullCacheDir } from '../../src/util/pull-cache.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { closedPort, deleteTheOnePulled, expectStaleRemoved, findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, seriesInStudy, startOrthanc, uploadAsOtherStudy, uploadWithUnreadableInstance } from '../helpers/orthanc.js';
import { hasPydicom, imageIndexes, uploadDynamicPet } from '../helpers/pet-timing.js';
import { startCuttingProxy, withSomeSubOperationsFailed, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { onFreshPort, type PortChooser } from '../helpers/ports.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
/** A real PET slice (TCIA ACRIN-FLT-Breast), in a study of its own. */
const PET_FILE = path.resolve('../shared/dicom/suyashkumar__dicom/testdata/2.dcm');
const CALLING_AET = 'LOWDOSE';
/** A second AE title of ours, which Orthanc reaches through a cutting proxy for C-MOVE. */
const CUT_AET = 'LOWDOSECUT';
const installed = findOrthanc();
if (!installed) console.warn('skipping DIMSE tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface DimseJsonReport {
  series: Array<{ input: { key: string; files: string[]; url?: string }; output: { seriesInstanceUid: string; files: string[] } }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  dimse: {
    callingAet: string;
    tls: boolean;
    retrieve: string;
    pulled: Array<{ seriesInstanceUid: string; instances: number; retrieved: number }>;
    store?: string;
    stored: Array<{ kind: string; seriesInstanceUid: string; studyInstanceUid: string; url: string; instances: number }>;
  };
}

/** MD5 of the PixelData value of a Part 10 file. */
function pixelMd5(bytes: Uint8Array): string {
  const element = dicomParser.parseDicom(bytes).elements.x7fe00010;
  if (!element) throw new Error('no PixelData');
  return createHash('md5').update(bytes.subarray(element.dataOffset, element.dataOffset + element.length)).digest('hex');
}

/**
 * A storage SCP that accepts the association and every uncompressed storage context, then answers
 * each C-STORE with 0xA700 (out of resources), as a full PACS would (C-ECHO it answers with success).
 */
async function startRefusingScp(port: number): Promise<{ attempts: () => number; close: () => void }> {
  const { PresentationContextResult, TransferSyntax } = dimse.constants;
  let attempts = 0;
  class Refusing extends dimse.Scp {
    override associationRequested(association: Parameters<InstanceType<typeof dimse.Scp>['associationRequested']>[0]): void {
      for (const { id } of association.getPresentationContexts() as Array<{ id: number }>) {
        association.getPresentationContext(id).setResult(PresentationContextResult.Accept, TransferSyntax.ExplicitVRLittleEndian);
      }
      this.sendAssociationAccept();
    }
    override cStoreRequest(request: Parameters<InstanceType<typeof dimse.Scp>['cStoreRequest']>[0], callback: Parameters<InstanceType<typeof dimse.Scp>['cStoreRequest']>[1]): void {
      attempts++;
      const response = dimse.responses.CStoreResponse.fromRequest(request);
      response.setStatus(0xa700);
      callback(response);
    }
    // A full PACS still answers C-ECHO (denoise --store checks the peer with one first).
    override cEchoRequest(request: Parameters<InstanceType<typeof dimse.Scp>['cEchoRequest']>[0], callback: Parameters<InstanceType<typeof dimse.Scp>['cEchoRequest']>[1]): void {
      const response = dimse.responses.CEchoResponse.fromRequest(request);
      response.setStatus(0x0000);
      callback(response);
    }
    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }
  }
  const server = new dimse.Server(Refusing);
  await new Promise<void>((resolve) => {
    server.on('listening', () => resolve());
    server.listen(port);
  });
  return { attempts: () => attempts, close: () => server.close() };
}

/** Every file under `root`, relative, sorted. */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

describe.skipIf(!installed)('DIMSE against Orthanc', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  /** Every run of each moveRun call, the retries on a taken port included. */
  const moveRuns: CliRun[][] = [];
  /** C-MOVE to CUT_AET goes through this proxy to our storage SCP (its targetPort). */
  let moveProxy: CuttingProxy;
  let pacs: string;
  let studyUid: string;
  let sourceSeriesUid: string;
  /** Pixel data MD5s of `denoise <CT folder> --method gaussian`, the local reference. */
  let plainPixels: string[];
  const savedTmp = process.env.TMPDIR;

  async function seriesInstances(seriesUid: string): Promise<Map<string, { id: string; md5: string; pixels: string }>> {
    const found = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Instance', Query: { SeriesInstanceUID: seriesUid }, Expand: true })) })
    ).json()) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>;
    const result = new Map<string, { id: string; md5: string; pixels: string }>();
    for (const instance of found) {
      const bytes = new Uint8Array(await (await orthanc.rest(`/instances/${instance.ID}/file`)).arrayBuffer());
      result.set(instance.MainDicomTags.SOPInstanceUID, { id: instance.ID, md5: createHash('md5').update(bytes).digest('hex'), pixels: pixelMd5(bytes) });
    }
    return result;
  }

  /**
   * `lowdose <args> --move-port <port>` on a port chosen now, with Orthanc's `lowdose` modality (or,
   * through the cutting proxy, its target) pointed at it first; again on a fresh port when another
   * process took that one before our storage SCP bound it (exit 2 "--move-port N: cannot listen").
   */
  async function moveRun(args: readonly string[], through: 'orthanc' | 'proxy' = 'orthanc', choosePort: PortChooser = freePort): Promise<CliRun> {
    const point = async (port: number) => {
      if (through === 'proxy') {
        moveProxy.targetPort = port;
        return;
      }
      const modality = { AET: CALLING_AET, Host: '127.0.0.1', Port: port, AllowGet: true, AllowMove: true, AllowFind: true, AllowStore: true };
      const response = await orthanc.rest('/modalities/lowdose', { method: 'PUT', body: Buffer.from(JSON.stringify(modality)) });
      expect(response.ok, await response.text()).toBe(true);
    };
    const runs: CliRun[] = [];
    const last = await onFreshPort(
      point,
      async (port) => {
        const run = await runCli(...args, '--move-port', String(port));
        runs.push(run);
        return run;
      },
      (run, port) => run.code === 2 && run.stderr.includes(`--move-port ${port}: cannot listen`),
      { choosePort },
    );
    moveRuns.push(runs);
    return last;
  }

  async function studySeries(): Promise<string[]> {
    const found = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: studyUid }, Expand: true })) })
    ).json()) as Array<{ MainDicomTags: { SeriesInstanceUID: string } }>;
    return found.map((s) => s.MainDicomTags.SeriesInstanceUID).sort();
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-dimse-'));
    process.env.TMPDIR = dir; // pulled instances go under the test's folder
    // The calling AE title is known to Orthanc (C-FIND / C-GET / C-MOVE allowed); the port of our
    // storage SCP is chosen by each C-MOVE run (moveRun), which points Orthanc (or the proxy) at it.
    moveProxy = await startCuttingProxy(await freePort(), 'client');
    orthanc = await startOrthanc(dir, {
      dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() }, cut: { aet: CUT_AET, host: '127.0.0.1', port: moveProxy.port } },
    });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      const response = await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) });
      expect(response.ok).toBe(true);
    }
    const studies = (await (await orthanc.rest('/studies?expand')).json()) as Array<{ MainDicomTags: { StudyInstanceUID: string }; Series: string[] }>;
    studyUid = studies[0]!.MainDicomTags.StudyInstanceUID;
    const series = (await (await orthanc.rest(`/series/${studies[0]!.Series[0]}`)).json()) as { MainDicomTags: { SeriesInstanceUID: string } };
    sourceSeriesUid = series.MainDicomTags.SeriesInstanceUID;
    const plain = await runCli('denoise', CT_DIR, '-o', path.join(dir, 'plain'), '--method', 'gaussian', '--no-progress', '--json');
    expect(plain.code, plain.stderr).toBe(0);
    const files = (JSON.parse(plain.stdout) as DimseJsonReport).series[0]!.output.files;
    plainPixels = (await Promise.all(files.map(async (f) => pixelMd5(new Uint8Array(await readFile(f)))))).sort();
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    await moveProxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('info dimse://AET@host:port lists the studies and info .../<study> the series, with C-FIND', async () => {
    const studies = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--json');
    expect(studies.code, studies.stderr).toBe(0);
    expect((JSON.parse(studies.stdout) as { studies: unknown[] }).studies).toEqual([
      expect.objectContaining({ studyInstanceUid: studyUid, modalities: ['CT'], series: 1, instances: 3, url: `${pacs}/${studyUid}` }),
    ]);
    const series = await runCli('info', `${pacs}/${studyUid}`, '--calling-aet', CALLING_AET, '--json');
    expect(series.code, series.stderr).toBe(0);
    expect(JSON.parse(series.stdout)).toEqual({
      source: `${pacs}/${studyUid}`,
      studyInstanceUid: studyUid,
      series: [expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, modality: 'CT', instances: 3, url: `${pacs}/${studyUid}/${sourceSeriesUid}` })],
      errors: [],
    });
    // Its IMAGE-level C-FIND lists its 3: whole, no `incomplete`.
    expect((JSON.parse(series.stdout) as { series: unknown[] }).series[0]).not.toHaveProperty('incomplete');
  });

  it('a wrong called AE title, an unknown calling AE title and a missing study are clear usage errors (exit 2)', async () => {
    const wrongCalled = await runCli('info', `dimse://NOTORTHANC@127.0.0.1:${orthanc.dicomPort}`, '--calling-aet', CALLING_AET);
    expect(wrongCalled.code).toBe(2);
    expect(wrongCalled.stderr).toMatch(/rejected the association from "LOWDOSE": called AE title not recognized.*\[E_USAGE\]/);
    const unknownCalling = await runCli('info', pacs, '--calling-aet', 'STRANGER', '--dimse-timeout', '20');
    expect(unknownCalling.code).toBe(2);
    expect(unknownCalling.stderr).toMatch(/aborted the association before answering C-FIND: it does not allow C-FIND from "STRANGER".*\[E_USAGE\]/);
    const missing = await runCli('denoise', `${pacs}/1.2.3.4.5.6.7`, '-o', path.join(dir, 'missing'), '--method', 'gaussian', '--calling-aet', CALLING_AET);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/study 1\.2\.3\.4\.5\.6\.7 is not on dimse:\/\/LOWDOSETEST@127\.0\.0\.1:\d+ \[E_NOT_FOUND\]/);
  });

  it('denoise dimse://.../<study> --store: C-GET, denoise, C-STORE a new series in the same study, pixels equal to a plain local denoise, originals untouched; a rerun adds nothing', async () => {
    const before = await seriesInstances(sourceSeriesUid);
    expect(before.size).toBe(3);
    const out = path.join(dir, 'out-get');
    const args = ['denoise', `${pacs}/${studyUid}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json'];
    const run = await runCli(...args);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DimseJsonReport;
    expect(report.errors).toEqual([]);
    expect(report.dimse).toMatchObject({ callingAet: CALLING_AET, tls: false, retrieve: 'C-GET', store: pacs });
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 3 })]);
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dimse.stored).toEqual([{ kind: 'denoised', studyInstanceUid: studyUid, seriesInstanceUid: derivedUid, url: `${pacs}/${studyUid}/${derivedUid}`, instances: 3 }]);
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toEqual(report);
    // The pull folder is removed on success: input.files names no file, input.url where the series is.
    expect(report.series[0]!.input).toEqual(expect.objectContaining({ files: [], url: `${pacs}/${studyUid}/${sourceSeriesUid}` }));

    expect(await studySeries()).toEqual([sourceSeriesUid, derivedUid].sort());
    expect(await seriesInstances(sourceSeriesUid)).toEqual(before);
    const stored = await seriesInstances(derivedUid);
    expect(stored.size).toBe(3);
    expect([...stored.values()].map((s) => s.pixels).sort()).toEqual(plainPixels);
    const tags = (await (await orthanc.rest(`/instances/${[...stored.values()][0]!.id}/simplified-tags`)).json()) as Record<string, string>;
    expect(tags.ImageType).toMatch(/^DERIVED\\/);
    expect(tags.StudyInstanceUID).toBe(studyUid);

    // Again: the study's derived series is recognised (C-FIND of its DerivationDescription) and
    // not denoised; the finished local series is stored again, which adds nothing on the PACS.
    const again = await runCli(...args);
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as DimseJsonReport;
    expect(second.dimse.pulled.map((p) => p.seriesInstanceUid)).toEqual([sourceSeriesUid]);
    expect(second.dimse.stored).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 3 })]);
    expect(await studySeries()).toEqual([sourceSeriesUid, derivedUid].sort());
    expect(await seriesInstances(derivedUid)).toEqual(stored);
  });

  it.skipIf(!hasPydicom)('a dynamic PET series (3 time points x 2 slices) by C-GET and --store: ONE derived series of 6 instances on the PACS, which a C-GET of it reads back as the same 3 time points', async () => {
    const { study, series: source } = await uploadDynamicPet(orthanc, path.join(dir, 'pet-timing'));
    const seriesOf = async () => (await seriesInStudy(orthanc, study)).map((s) => s.MainDicomTags.SeriesInstanceUID).sort();
    const before = await seriesOf();
    const run = await runCli('denoise', `${pacs}/${study}/${source}`, '-o', path.join(dir, 'out-dynamic'), '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DimseJsonReport;
    expect(report.errors).toEqual([]);
    expect(report.series.map((s) => s.input.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t2', '#t3']);
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dimse.stored).toEqual([{ kind: 'denoised', studyInstanceUid: study, seriesInstanceUid: derivedUid, url: `${pacs}/${study}/${derivedUid}`, instances: 6 }]);

    // On the PACS: exactly one new series, its 6 instances the local files' pixels, frame by frame.
    expect(await seriesOf()).toEqual([...before, derivedUid].sort());
    const stored = await seriesInstances(derivedUid);
    expect(stored.size).toBe(6);
    const local = await Promise.all(report.series.flatMap((s) => s.output.files).map(async (f) => pixelMd5(new Uint8Array(await readFile(f)))));
    expect([...stored.values()].map((s) => s.pixels).sort()).toEqual(local.sort());
    expect(await imageIndexes(orthanc, [...stored.values()].map((s) => s.id))).toEqual([1, 2, 3, 4, 5, 6].map((i) => [i, 3]));

    const back = await runCli('denoise', `${pacs}/${study}/${derivedUid}`, '-o', path.join(dir, 'out-dynamic-back'), '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json');
    expect(back.code, back.stderr).toBe(0);
    const again = JSON.parse(back.stdout) as DimseJsonReport;
    expect(again.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 6, retrieved: 6 })]);
    expect(again.series.map((s) => [s.input.key, s.output.files.length])).toEqual(['#t1', '#t2', '#t3'].map((k) => [`${derivedUid}${k}`, 2]));
  });

  it('--move-port fetches a series with C-MOVE to our storage SCP, with the same pixels as C-GET', async () => {
    const out = path.join(dir, 'out-move');
    const run = await moveRun(['denoise', `${pacs}/${studyUid}/${sourceSeriesUid}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DimseJsonReport;
    expect(report.errors).toEqual([]);
    expect(report.dimse.retrieve).toBe('C-MOVE');
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 3 })]);
    expect(report.dimse.stored).toEqual([]);
    const pixels = await Promise.all(report.series[0]!.output.files.map(async (f) => pixelMd5(new Uint8Array(await readFile(f)))));
    expect(pixels.sort()).toEqual(plainPixels);
  });

  it('a PACS that sends its C-MOVE from another address than its dimse:// host is refused with an E_IO naming that address and --move-from; with --move-from the series comes', async () => {
    // Orthanc listens on every loopback address; reached at 127.0.0.2, it still sends from 127.0.0.1.
    const elsewhere = `dimse://${ORTHANC_AET}@127.0.0.2:${orthanc.dicomPort}/${studyUid}/${sourceSeriesUid}`;
    const args = ['denoise', elsewhere, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json'];
    const refused = await moveRun([...args, '-o', path.join(dir, 'out-move-from-refused')]);
    expect(refused.code, refused.stderr).toBe(1);
    const failed = JSON.parse(refused.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(failed.errors).toEqual([
      expect.objectContaining({
        code: 'E_IO',
        message: expect.stringMatching(/instances came from 127\.0\.0\.1, not an address of the PACS \(127\.0\.0\.2\).*give --move-from 127\.0\.0\.1/),
      }),
    ]);
    expect(refused.stderr).toContain('closed a connection from 127.0.0.1: not an address of the PACS (127.0.0.2)');
    const moved = await moveRun([...args, '-o', path.join(dir, 'out-move-from'), '--move-from', '127.0.0.1']);
    expect(moved.code, moved.stderr).toBe(0);
    const report = JSON.parse(moved.stdout) as DimseJsonReport;
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3 })]);
    const pixels = await Promise.all(report.series[0]!.output.files.map(async (f) => pixelMd5(new Uint8Array(await readFile(f)))));
    expect(pixels.sort()).toEqual(plainPixels);
  });

  it('a --move-port another process holds when our storage SCP binds it exits 2 naming the port; the C-MOVE runs again on a fresh port Orthanc is pointed at', async () => {
    const held = await closedPort();
    try {
      let asked = 0;
      const out = path.join(dir, 'out-move-taken');
      const run = await moveRun(['denoise', `${pacs}/${studyUid}/${sourceSeriesUid}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json'], 'orthanc', async () =>
        asked++ === 0 ? held.port : freePort(),
      );
      const [first, second] = moveRuns.at(-1)!;
      expect(first!.code).toBe(2);
      expect(first!.stderr).toContain(`--move-port ${held.port}: cannot listen`);
      expect(run).toBe(second);
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as DimseJsonReport).dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 3 })]);
    } finally {
      await held.release();
    }
  });

  it('a --store peer that is not listening or rejects the association exits 2 with E_USAGE before anything is retrieved or denoised', async () => {
    const series = `${pacs}/${studyUid}/${sourceSeriesUid}`;
    const nothing = await closedPort(); // held: no other test's server (an Orthanc with our AE title) can take it and answer
    try {
      for (const [store, reason] of [
        [`dimse://${ORTHANC_AET}@127.0.0.1:${nothing.port}`, /connection refused/],
        [`dimse://NOTORTHANC@127.0.0.1:${orthanc.dicomPort}`, /called AE title not recognized/],
      ] as const) {
        const out = path.join(dir, `out-store-check-${store.includes('NOTORTHANC') ? 'aet' : 'closed'}`);
        const run = await runCli('denoise', series, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', store, '--dimse-timeout', '20', '--no-progress', '--json');
        expect(run.code, run.stderr).toBe(2);
        const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
        expect(errors).toEqual([expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(reason) })]);
        expect(errors[0]!.message).toContain(`--store ${store} is not a usable C-STORE destination`);
        expect(run.stderr).not.toContain('retrieving');
        expect(existsSync(out)).toBe(false);
      }
    } finally {
      await nothing.release();
    }
  });

  it('a C-STORE answered with a failure status is an error with its counts (exit 1); the rerun stores the series', async () => {
    const refusingPort = await freePort();
    const refusing = await startRefusingScp(refusingPort);
    const out = path.join(dir, 'out-refused');
    const series = `${pacs}/${studyUid}/${sourceSeriesUid}`;
    const common = ['-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json'];
    let derivedUid: string;
    try {
      const failed = await runCli('denoise', series, ...common, '--store', `dimse://FULLPACS@127.0.0.1:${refusingPort}`);
      expect(failed.code).toBe(1);
      const report = JSON.parse(failed.stdout) as DimseJsonReport;
      expect(report.dimse.stored).toEqual([]);
      expect(report.errors).toEqual([expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/refused IM0001\.dcm .*C-STORE status 0xa700.*0 of 3 stored/) })]);
      expect(refusing.attempts()).toBe(3); // every instance of the association was answered, and each answer read
      derivedUid = report.series[0]!.output.seriesInstanceUid;
    } finally {
      refusing.close();
    }
    expect(await studySeries()).not.toContain(derivedUid);
    const rerun = await runCli('denoise', series, ...common, '--store', pacs);
    expect(rerun.code, rerun.stderr).toBe(0);
    const done = JSON.parse(rerun.stdout) as DimseJsonReport;
    expect(done.dimse.pulled).toEqual([expect.objectContaining({ instances: 3, retrieved: 0 })]);
    expect(done.dimse.stored).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 3 })]);
    expect((await seriesInstances(derivedUid)).size).toBe(3);
  });

  it('a C-GET answered 0xB000 whose sub-operations count 4 (3 completed, 1 failed) for a series listed with 3: exit 1 E_IO with incomplete 3 of 4 (the PACS\'s own count), nothing denoised; --allow-incomplete denoises the 3 and records it', async () => {
    const changed = { count: 0 };
    const run = async (out: string, ...more: string[]) => {
      // A proxy of its own per run: its port names the pull folder, so the second run retrieves again.
      const proxy = await startCuttingProxy(orthanc.dicomPort);
      proxy.rewrite = withSomeSubOperationsFailed(1, changed);
      try {
        const source = `dimse://${ORTHANC_AET}@127.0.0.1:${proxy.port}/${studyUid}/${sourceSeriesUid}`;
        return await runCli('denoise', source, '-o', path.join(dir, out), '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json', ...more);
      } finally {
        await proxy.close();
      }
    };
    const refused = await run('out-b000');
    expect(changed.count).toBe(1);
    expect(refused.code, refused.stderr).toBe(1);
    const report = JSON.parse(refused.stdout) as DimseJsonReport & { errors: Array<{ incomplete?: unknown }> };
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([
      expect.objectContaining({
        code: 'E_IO',
        message: expect.stringContaining('the server says it holds 4 instance(s) and 3 are on disk after the PACS answered the C-GET with 0xb000 (sub-operations complete, one or more failures: 3 completed, 1 failed, 0 with warnings)'),
        incomplete: { seriesInstanceUid: sourceSeriesUid, expected: 4, received: 3 },
      }),
    ]);
    // The 3 that came stay for a rerun; removed here so the tests after this one start without them.
    const pullRoot = path.join(dir, 'lowdose-dimse');
    expect(filesUnder(pullRoot)).toHaveLength(3);
    await rm(pullRoot, { recursive: true, force: true });
    const allowed = await run('out-b000-allowed', '--allow-incomplete');
    expect(allowed.code, allowed.stderr).toBe(0);
    const done = JSON.parse(allowed.stdout) as DimseJsonReport;
    expect(done.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, incomplete: { expected: 4, received: 3 } })]);
    expect(done.series[0]!.output.files).toHaveLength(3);
    expect(filesUnder(pullRoot)).toEqual([]);
  });

  it('a connection cut after the first instance of a C-GET is an E_IO error with its counts (exit 1): nothing in -o but the report, nothing stored, the rerun retrieves the rest', async () => {
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    try {
      const source = `dimse://${ORTHANC_AET}@127.0.0.1:${proxy.port}/${studyUid}/${sourceSeriesUid}`;
      const out = path.join(dir, 'out-cut');
      const args = ['denoise', source, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--dimse-timeout', '20', '--no-progress', '--json'];
      const seriesBefore = await studySeries();
      // Each CT instance is 526 474 bytes: the PACS waits for our answer to one C-STORE
      // sub-operation before it sends the next, so 700 000 bytes cut the association in the second.
      proxy.cutAfter = 700_000;
      const failed = await runCli(...args);
      expect(failed.code, failed.stderr).toBe(1);
      expect(proxy.cuts).toBe(1);
      const report = JSON.parse(failed.stdout) as DimseJsonReport;
      expect(report.series).toEqual([]);
      expect(report.dimse.stored).toEqual([]);
      expect(report.errors).toEqual([
        expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(new RegExp(`retrieving series ${sourceSeriesUid.replace(/\./g, '\\.')} with C-GET failed with 1 of 3 instance\\(s\\) on disk: .*the association ended before the PACS answered 1 of 1 C-GET request\\(s\\); run again to retrieve the rest`)) }),
      ]);
      expect(filesUnder(out)).toEqual(['report.json']);
      expect(await studySeries()).toEqual(seriesBefore);
      // The one instance received is whole, under its final name; no temporary file is left.
      const pulled = filesUnder(path.join(dir, 'lowdose-dimse'));
      expect(pulled).toHaveLength(1);
      expect(pulled[0]).toMatch(/\/[0-9.]+\.dcm$/);

      proxy.cutAfter = null;
      const rerun = await runCli(...args);
      expect(rerun.code, rerun.stderr).toBe(0);
      const done = JSON.parse(rerun.stdout) as DimseJsonReport;
      expect(done.errors).toEqual([]);
      expect(done.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 2 })]);
      const derivedUid = done.series[0]!.output.seriesInstanceUid;
      expect(done.dimse.stored).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 3 })]);
      const stored = await seriesInstances(derivedUid);
      expect([...stored.values()].map((s) => s.pixels).sort()).toEqual(plainPixels);
      expect(filesUnder(path.join(dir, 'lowdose-dimse'))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('an instance deleted on the PACS after a cut C-GET left it in the pull folder is removed by the rerun, not denoised: the derived series has the 2 slices the PACS still holds', async () => {
    const uploaded = await uploadAsOtherStudy(orthanc, await readInstances(CT_DIR), new Set(), 13);
    const [study, series] = [uploaded[0]!['StudyInstanceUID']!, uploaded[0]!['SeriesInstanceUID']!];
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    try {
      const source = `dimse://${ORTHANC_AET}@127.0.0.1:${proxy.port}/${study}/${series}`;
      const args = ['denoise', source, '-o', path.join(dir, 'out-stale'), '--method', 'gaussian', '--calling-aet', CALLING_AET, '--dimse-timeout', '20', '--no-progress', '--json'];
      proxy.cutAfter = 700_000; // in the second instance, as in the cut C-GET test above
      expect((await runCli(...args)).code).toBe(1);
      const deleted = await deleteTheOnePulled(orthanc, pullCacheDir('dimse', source));
      proxy.cutAfter = null;
      await expectStaleRemoved(await runCli(...args), 'dimse', uploaded, deleted);
    } finally {
      await proxy.close();
    }
  });

  it('a C-STORE association cut after the first instance is an E_IO error with its counts (exit 1); the rerun completes the derived series', async () => {
    // The same Orthanc behind a proxy that counts the bytes we send it: 700 000 bytes cut the
    // association inside the second 526 474-byte C-STORE (the source is fetched directly).
    const proxy = await startCuttingProxy(orthanc.dicomPort, 'client');
    try {
      const target = `dimse://${ORTHANC_AET}@127.0.0.1:${proxy.port}`;
      const out = path.join(dir, 'out-store-cut');
      const args = ['denoise', `${pacs}/${studyUid}/${sourceSeriesUid}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', target, '--dimse-timeout', '20', '--no-progress', '--json'];
      const seriesBefore = await studySeries();
      proxy.cutAfter = 700_000;
      const failed = await runCli(...args);
      expect(failed.code, failed.stderr).toBe(1);
      expect(proxy.cuts).toBe(1);
      const report = JSON.parse(failed.stdout) as DimseJsonReport;
      const derivedUid = report.series[0]!.output.seriesInstanceUid;
      expect(report.dimse.stored).toEqual([]);
      expect(report.errors).toEqual([
        {
          code: 'E_IO',
          path: `${target}/${studyUid}/${derivedUid}`,
          message: expect.stringMatching(new RegExp(`^storing denoised series ${derivedUid.replace(/\./g, '\\.')} to ${target.replace(/\./g, '\\.')} failed after 1 of 3 instance\\(s\\): .*(ECONNRESET|EPIPE|ended).*; run again to complete it$`)),
        },
      ]);
      expect(failed.stderr).toContain('failed after 1 of 3 instance(s)');
      // C-STORE cannot be undone: the PACS keeps the one instance it confirmed (the count says so).
      expect((await seriesInstances(derivedUid)).size).toBe(1);
      // The local output is whole, for the rerun to store.
      expect(report.series[0]!.output.files).toHaveLength(3);

      proxy.cutAfter = null;
      const rerun = await runCli(...args);
      expect(rerun.code, rerun.stderr).toBe(0);
      const done = JSON.parse(rerun.stdout) as DimseJsonReport;
      expect(done.errors).toEqual([]);
      expect(done.dimse.pulled).toEqual([expect.objectContaining({ instances: 3, retrieved: 0 })]);
      expect(done.dimse.stored).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 3 })]);
      expect(await studySeries()).toEqual([...seriesBefore, derivedUid].sort());
      const stored = await seriesInstances(derivedUid);
      expect(stored.size).toBe(3);
      expect([...stored.values()].map((s) => s.pixels).sort()).toEqual(plainPixels);
    } finally {
      await proxy.close();
    }
  });

  it('a series with an unreadable instance, by C-GET: the error names that instance, the other two are denoised and stored (exit 1)', async () => {
    const originals = await readInstances(CT_DIR);
    const { study, series, unreadableSop: bad } = await uploadWithUnreadableInstance(orthanc, originals);
    const out = path.join(dir, 'out-unreadable');
    const run = await runCli('denoise', `${pacs}/${study}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as DimseJsonReport;
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: series, instances: 3, retrieved: 3 })]);
    expect(report.errors).toEqual([
      expect.objectContaining({
        code: 'E_TRUNCATED',
        path: expect.stringMatching(new RegExp(`/${bad.replace(/\./g, '\\.')}\\.dcm$`)),
        message: expect.stringContaining(`instance ${bad} of ${pacs}/${study}/${series}: `),
      }),
    ]);
    expect(report.series[0]!.output.files).toHaveLength(2);
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dimse.stored).toEqual([expect.objectContaining({ kind: 'denoised', studyInstanceUid: study, seriesInstanceUid: derivedUid, instances: 2 })]);
    const local = await Promise.all(report.series[0]!.output.files.map(async (f) => pixelMd5(new Uint8Array(await readFile(f)))));
    expect([...(await seriesInstances(derivedUid)).values()].map((s) => s.pixels).sort()).toEqual(local.sort());
  });

  it('a C-MOVE whose transfer to our storage SCP is cut after the first instance is an E_IO error (exit 1); the rerun moves the rest', async () => {
    const source = `${pacs}/${studyUid}/${sourceSeriesUid}`;
    const out = path.join(dir, 'out-move-cut');
    const args = ['denoise', source, '-o', out, '--method', 'gaussian', '--calling-aet', CUT_AET, '--dimse-timeout', '20', '--no-progress', '--json'];
    moveProxy.cutAfter = 700_000; // inside the second 526 474-byte instance Orthanc sends to our SCP
    const failed = await moveRun(args, 'proxy');
    expect(failed.code, failed.stderr).toBe(1);
    expect(moveProxy.cuts).toBe(1);
    const report = JSON.parse(failed.stdout) as DimseJsonReport;
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/with C-MOVE failed with 1 of 3 instance\(s\) on disk: the PACS answered 0x[0-9a-f]{4} .* after 1 instance\(s\) had arrived; run again to retrieve the rest/) })]);
    expect(filesUnder(out)).toEqual(['report.json']);
    moveProxy.cutAfter = null;
    const rerun = await moveRun(args, 'proxy');
    expect(rerun.code, rerun.stderr).toBe(0);
    const done = JSON.parse(rerun.stdout) as DimseJsonReport;
    expect(done.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 2 })]);
    const pixels = await Promise.all(done.series[0]!.output.files.map(async (f) => pixelMd5(new Uint8Array(await readFile(f)))));
    expect(pixels.sort()).toEqual(plainPixels);
  });

  it('--overwrite with --store while the PACS still holds the earlier run\'s derived series: exit 2 E_EXISTS before any work (C-FIND of that series); once it is deleted, the redone series is stored', async () => {
    const originals = await readInstances(CT_DIR);
    const study = (await uploadAsOtherStudy(orthanc, originals, new Set(), 7))[0]!['StudyInstanceUID']!;
    const seriesOf = () => seriesInStudy(orthanc, study);
    const args = ['denoise', `${pacs}/${study}`, '-o', path.join(dir, 'out-overwrite'), '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const earlier = (JSON.parse(first.stdout) as DimseJsonReport).series[0]!.output.seriesInstanceUid;
    expect(await seriesOf()).toHaveLength(2);

    const refused = await runCli(...args, '--overwrite');
    expect(refused.code, refused.stderr).toBe(2);
    const { errors } = JSON.parse(refused.stdout) as DimseJsonReport;
    expect(errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    expect(errors[0]!.message).toContain(`--overwrite with --store: ${pacs} still holds denoised series ${earlier}`);
    expect(refused.stderr).not.toContain('retrieving');
    expect(await seriesOf()).toHaveLength(2);

    const earlierId = (await seriesOf()).find((s) => s.MainDicomTags.SeriesInstanceUID === earlier)!.ID;
    expect((await orthanc.rest(`/series/${earlierId}`, { method: 'DELETE' })).ok).toBe(true);
    const redone = await runCli(...args, '--overwrite');
    expect(redone.code, redone.stderr).toBe(0);
    const report = JSON.parse(redone.stdout) as DimseJsonReport;
    const redoneUid = report.series[0]!.output.seriesInstanceUid;
    expect(redoneUid).not.toBe(earlier);
    expect(report.dimse.stored.map((s) => [s.seriesInstanceUid, s.instances])).toEqual([[redoneUid, 3]]);
    expect((await seriesOf()).map((s) => s.MainDicomTags.SeriesInstanceUID)).toContain(redoneUid);
    expect(await seriesOf()).toHaveLength(2);
  });

  it('a study run again skips the PET series lowdose stored even though Orthanc leaves its 366-character DerivationDescription out of C-FIND', async () => {
    const uploaded = (await (await orthanc.rest('/instances', { method: 'POST', body: await readFile(PET_FILE) })).json()) as { ID: string };
    const tags = (await (await orthanc.rest(`/instances/${uploaded.ID}/simplified-tags`)).json()) as Record<string, string>;
    // The diffusion model with its default consistency step writes a DerivationDescription over
    // Orthanc's 256-character limit for query answers.
    const args = ['denoise', `${pacs}/${tags.StudyInstanceUID}`, '-o', path.join(dir, 'out-pet-study'), '--threads', '1', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const derivedUid = (JSON.parse(first.stdout) as DimseJsonReport).series[0]!.output.seriesInstanceUid;
    const derived = [...(await seriesInstances(derivedUid)).values()];
    expect(derived).toHaveLength(1);
    const storedFile = new Uint8Array(await (await orthanc.rest(`/instances/${derived[0]!.id}/file`)).arrayBuffer());
    expect(dicomParser.parseDicom(storedFile).string('x00082111')?.length).toBeGreaterThan(256);

    const again = await runCli(...args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`skipping series ${derivedUid}: lowdose derived it`);
    const second = JSON.parse(again.stdout) as DimseJsonReport;
    expect(second.dimse.pulled.map((p) => p.seriesInstanceUid)).toEqual([tags.SeriesInstanceUID]);
    expect(second.dimse.stored.map((s) => s.seriesInstanceUid)).toEqual([derivedUid]);
    const found = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: tags.StudyInstanceUID } })) })
    ).json()) as string[];
    expect(found).toHaveLength(2);
  });
});
