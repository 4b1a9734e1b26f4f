/**
 * DICOM TLS against a real Orthanc whose DICOM port requires TLS and a client certificate
 * (`DicomTlsEnabled`, `DicomTlsRemoteCertificateRequired`). A CA, the PACS's certificate (for
 * 127.0.0.1 only), our client certificate and a second, unrelated CA are made by `openssl` in the
 * test. `info` and `denoise --store` over TLS work; a certificate from a CA we were not given, or one
 * that does not name the host, is refused (exit 2); no client certificate, or plain DIMSE to the TLS
 * port, fails with a message that says what to add (exit 1).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DEFAULT_MAX_ASSOCIATIONS, startStoreScp, type StoreScpLimits } from '../../src/dimse/store-scp.js';
import { cacheStore } from '../../src/dimse/study.js';
import { DIMSE_KEY_PASSPHRASE_ENV } from '../../src/dimse/tls.js';
import { onFreshPort } from '../helpers/ports.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc, uploadInstances } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const PASSPHRASE = 'correct horse battery';
const installed = findOrthanc();
if (!installed) console.warn('skipping DICOM TLS tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

const openssl = (cwd: string, ...args: string[]) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** A CA named `name` in `dir`: name.key, name.crt. */
function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
}

/** A certificate `name` signed by `ca`, for `san` (subjectAltName) and `usage` (extendedKeyUsage). */
async function makeCertificate(dir: string, ca: string, name: string, san: string, usage: string): Promise<void> {
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  await writeFile(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
}

interface ErrorReport {
  errors: Array<{ code: string; message: string }>;
}

describe.skipIf(!installed)('DIMSE over DICOM TLS (Orthanc with DicomTlsEnabled and client certificates required)', () => {
  let dir: string;
  let pki: string;
  let orthanc: RunningOrthanc;
  let pacs: string;
  let studyUid: string;
  const savedTmp = process.env.TMPDIR;
  const savedPassphrase = process.env[DIMSE_KEY_PASSPHRASE_ENV];
  const pem = (name: string) => path.join(pki, name);
  const tls = () => ['--dimse-tls', '--dimse-ca', pem('ca.crt'), '--dimse-cert', pem('lowdose.crt'), '--dimse-key', pem('lowdose.key')];
  const errorOf = (stdout: string) => (JSON.parse(stdout) as ErrorReport).errors[0]!;

  /** Our storage SCP on a fresh port with DICOM TLS (the test CA, lowdose.crt / lowdose.key), receiving into a new folder `name`. */
  const startTlsScp = async (name: string, limits: Omit<StoreScpLimits, 'tls'>) => {
    const root = path.join(dir, name);
    await mkdir(root);
    const port = await freePort();
    const tlsFiles = { ca: await readFile(pem('ca.crt'), 'utf8'), cert: await readFile(pem('lowdose.crt'), 'utf8'), key: await readFile(pem('lowdose.key'), 'utf8') };
    return { port, scp: await startStoreScp(port, CALLING_AET, cacheStore(root), 10_000, { ...limits, tls: tlsFiles }) };
  };

  /**
   * `denoise --move-port` over TLS into `out` with `extra` options, Orthanc's entry for our AE
   * pointed at the port first (`"UseDicomTls": useDicomTls`); again on a fresh port when another
   * process took it before our storage SCP bound it. Returns the run and every attempt's stderr.
   */
  const moveOverTls = async (out: string, useDicomTls: boolean, ...extra: string[]) => {
    const logged: string[] = [];
    const run = await onFreshPort(
      async (port) => {
        const modality = { AET: CALLING_AET, Host: '127.0.0.1', Port: port, UseDicomTls: useDicomTls, AllowGet: true, AllowMove: true, AllowFind: true, AllowStore: true };
        const response = await orthanc.rest('/modalities/lowdose', { method: 'PUT', body: Buffer.from(JSON.stringify(modality)) });
        expect(response.ok, await response.text()).toBe(true);
      },
      async (port) => {
        const done = await runCli('denoise', `${pacs}/${studyUid}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, ...tls(), '--move-port', String(port), ...extra, '--no-progress', '--json');
        logged.push(done.stderr);
        return done;
      },
      (done, port) => done.code === 2 && done.stderr.includes(`--move-port ${port}: cannot listen`),
      { choosePort: freePort },
    );
    return { run, logged: logged.join('\n') };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-dimse-tls-'));
    process.env.TMPDIR = dir;
    pki = path.join(dir, 'pki');
    await mkdir(pki);
    makeCa(pki, 'ca');
    makeCa(pki, 'other-ca');
    // Each side's certificate serves both roles: Orthanc presents pacs.crt when it calls our C-MOVE
    // storage SCP, and we present lowdose.crt as that SCP's server certificate.
    await makeCertificate(pki, 'ca', 'pacs', 'IP:127.0.0.1', 'serverAuth,clientAuth');
    await makeCertificate(pki, 'ca', 'lowdose', 'DNS:lowdose.test', 'clientAuth,serverAuth');
    await makeCertificate(pki, 'other-ca', 'stranger', 'DNS:lowdose.test', 'clientAuth');
    // Our key encrypted with a passphrase, as PKCS#8 and in OpenSSL's traditional PEM form.
    openssl(pki, 'pkcs8', '-topk8', '-in', 'lowdose.key', '-v2', 'aes-256-cbc', '-passout', `pass:${PASSPHRASE}`, '-out', 'lowdose-pkcs8.key');
    openssl(pki, 'rsa', '-in', 'lowdose.key', '-aes256', '-traditional', '-passout', `pass:${PASSPHRASE}`, '-out', 'lowdose-traditional.key');
    orthanc = await startOrthanc(dir, {
      dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } },
      config: {
        DicomTlsEnabled: true,
        DicomTlsCertificate: pem('pacs.crt'),
        DicomTlsPrivateKey: pem('pacs.key'),
        DicomTlsTrustedCertificates: pem('ca.crt'),
        DicomTlsRemoteCertificateRequired: true,
      },
    });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const files = await readInstances(CT_DIR);
    studyUid = (await uploadInstances(orthanc, files))[0]!['StudyInstanceUID']!;
  });

  afterEach(() => {
    if (savedPassphrase === undefined) delete process.env[DIMSE_KEY_PASSPHRASE_ENV];
    else process.env[DIMSE_KEY_PASSPHRASE_ENV] = savedPassphrase;
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('info dimse://... --dimse-tls with the CA and a client certificate lists the study over TLS (C-FIND)', async () => {
    const run = await runCli('info', pacs, '--calling-aet', CALLING_AET, ...tls(), '--json');
    expect(run.code, run.stderr).toBe(0);
    const list = JSON.parse(run.stdout) as { studies: Array<{ studyInstanceUid: string; instances: number | null }> };
    expect(list.studies.map((s) => s.studyInstanceUid)).toEqual([studyUid]);
  });

  it('denoise --method gaussian --store over TLS: C-ECHO, C-FIND, C-GET and C-STORE all through TLS; the derived series is on the PACS', async () => {
    const out = path.join(dir, 'out');
    const run = await runCli('denoise', `${pacs}/${studyUid}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, ...tls(), '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { dimse: { tls: boolean; retrieve: string; pulled: Array<{ instances: number }>; stored: Array<{ seriesInstanceUid: string; instances: number }> } };
    // The report says the associations (the --store one included) were DICOM TLS, in --json and report.json alike.
    expect(report.dimse.tls).toBe(true);
    expect((JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { dimse: { tls: boolean } }).dimse.tls).toBe(true);
    expect(report.dimse.retrieve).toBe('C-GET');
    expect(report.dimse.pulled.map((p) => p.instances)).toEqual([3]);
    expect(report.dimse.stored).toHaveLength(1);
    const stored = report.dimse.stored[0]!;
    const onPacs = (await (await orthanc.rest(`/studies/${(await findStudyId(orthanc, studyUid))}/series`)).json()) as Array<{ MainDicomTags: { SeriesInstanceUID: string }; Instances: string[] }>;
    expect(onPacs.find((s) => s.MainDicomTags.SeriesInstanceUID === stored.seriesInstanceUid)?.Instances).toHaveLength(stored.instances);
  });

  it('--move-port with --dimse-tls: Orthanc (our AE with "UseDicomTls": true) sends the C-MOVE over TLS to our storage SCP, which presents --dimse-cert and verifies its certificate', async () => {
    const out = path.join(dir, 'out-move');
    const { run, logged } = await moveOverTls(out, true);
    expect(run.code, logged).toBe(0);
    const report = JSON.parse(run.stdout) as { errors: unknown[]; dimse: { tls: boolean; retrieve: string; pulled: Array<{ instances: number; retrieved: number }> } };
    expect(report.errors).toEqual([]);
    expect(report.dimse).toMatchObject({ tls: true, retrieve: 'C-MOVE' });
    expect(report.dimse.pulled.map((p) => [p.instances, p.retrieved])).toEqual([[3, 3]]);
    expect(readdirSync(out).length).toBeGreaterThan(0);
  });

  it('--move-port with --dimse-tls to a PACS that calls back without TLS: exit 1, E_IO saying our storage SCP refused its connection at TLS and naming UseDicomTls', async () => {
    const { run, logged } = await moveOverTls(path.join(dir, 'out-move-plain'), false);
    expect(run.code, logged).toBe(1);
    const error = errorOf(run.stdout);
    expect(error.code).toBe('E_IO');
    expect(error.message).toMatch(/our storage SCP on port \d+ \(DICOM TLS, --dimse-tls\) refused \d+ connection\(s\) of the PACS \(127\.0\.0\.1\), TLS handshake failed .*UseDicomTls/);
  });

  it('our TLS storage SCP refuses a caller whose client certificate is not from the system store or --dimse-ca, after the handshake and before any DICOM', async () => {
    const { port, scp } = await startTlsScp('scp-untrusted', { peerAddresses: null });
    try {
      const closed = await new Promise<boolean>((resolve, reject) => {
        const socket = connectTls({
          host: '127.0.0.1',
          port,
          ca: readFileSync(pem('ca.crt')),
          cert: readFileSync(pem('stranger.crt')),
          key: readFileSync(pem('stranger.key')),
          checkServerIdentity: () => undefined,
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(true));
      });
      expect(closed).toBe(true);
      expect(scp.refused).toEqual([{ address: '127.0.0.1', why: expect.stringMatching(/^TLS client certificate not trusted \(/) }]);
      expect(scp.counts).toEqual({ received: 0, failed: 0 });
    } finally {
      await scp.close();
    }
  });

  it(`our TLS storage SCP takes no more than ${DEFAULT_MAX_ASSOCIATIONS} + 8 connections that never finish their handshake: the next is closed at once`, async () => {
    const { port, scp } = await startTlsScp('scp-handshakes', { peerAddresses: ['127.0.0.1'] });
    const idle: Socket[] = [];
    try {
      // Plain TCP that never sends a ClientHello: each sits in the TLS handshake, unseen by the SCP.
      const open = (): Promise<Socket> =>
        new Promise((resolve) => {
          const socket = connectTcp(port, '127.0.0.1', () => resolve(socket));
          socket.on('error', () => {});
          idle.push(socket);
        });
      for (let i = 0; i < DEFAULT_MAX_ASSOCIATIONS + 8; i++) await open();
      const extra = await open();
      await new Promise((resolve) => extra.once('close', resolve));
      expect(scp.refused).toEqual([{ address: '127.0.0.1', why: `over the limit of ${DEFAULT_MAX_ASSOCIATIONS} associations at once, with ${DEFAULT_MAX_ASSOCIATIONS + 8} connections open or in their TLS handshake: closed unread` }]);
      expect(idle.slice(0, -1).every((socket) => !socket.destroyed)).toBe(true);
    } finally {
      idle.forEach((socket) => socket.destroy());
      await scp.close();
    }
  });

  it('a PACS certificate from a CA we were not given is refused before any DICOM is exchanged: exit 2, E_USAGE naming --dimse-ca', async () => {
    const run = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--dimse-tls', '--dimse-ca', pem('other-ca.crt'), '--dimse-cert', pem('lowdose.crt'), '--dimse-key', pem('lowdose.key'), '--json');
    expect(run.code, run.stderr).toBe(2);
    const error = errorOf(run.stdout);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toMatch(/TLS certificate not trusted.*--dimse-ca/);
    // Without --dimse-ca the system store does not hold the test CA either.
    const noCa = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--dimse-tls', '--dimse-cert', pem('lowdose.crt'), '--dimse-key', pem('lowdose.key'), '--json');
    expect(noCa.code, noCa.stderr).toBe(2);
    expect(errorOf(noCa.stdout).message).toMatch(/TLS certificate not trusted.*--dimse-ca/);
  });

  it('a PACS certificate that does not name the host of the address is refused: exit 2, E_USAGE naming the host', async () => {
    // pacs.crt names 127.0.0.1 only; 127.0.0.2 is the same loopback interface under another address.
    const other = `dimse://${ORTHANC_AET}@127.0.0.2:${orthanc.dicomPort}`;
    const run = await runCli('info', other, '--calling-aet', CALLING_AET, ...tls(), '--json');
    expect(run.code, run.stderr).toBe(2);
    const error = errorOf(run.stdout);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toMatch(/certificate does not name 127\.0\.0\.2/);
  });

  it('without a client certificate the PACS ends the handshake: exit 2, E_USAGE saying it requires one (--dimse-cert, --dimse-key)', async () => {
    const run = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--dimse-tls', '--dimse-ca', pem('ca.crt'), '--json');
    expect(run.code, run.stderr).toBe(2);
    const error = errorOf(run.stdout);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toMatch(/requires a client certificate.*--dimse-cert <pem> --dimse-key <pem>/);
  });

  it('a client certificate from a CA the PACS does not trust is refused by the PACS: exit 2, E_USAGE naming --dimse-cert', async () => {
    const run = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--dimse-tls', '--dimse-ca', pem('ca.crt'), '--dimse-cert', pem('stranger.crt'), '--dimse-key', pem('stranger.key'), '--json');
    expect(run.code, run.stderr).toBe(2);
    const error = errorOf(run.stdout);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toMatch(/did not accept our client certificate.*--dimse-cert/);
  });

  it.each(['lowdose-pkcs8.key', 'lowdose-traditional.key'])('an encrypted --dimse-key (%s) is decrypted with $LOWDOSE_DIMSE_KEY_PASSPHRASE: info over mutual TLS lists the study', async (key) => {
    process.env[DIMSE_KEY_PASSPHRASE_ENV] = PASSPHRASE;
    const run = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--dimse-tls', '--dimse-ca', pem('ca.crt'), '--dimse-cert', pem('lowdose.crt'), '--dimse-key', pem(key), '--json');
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { studies: Array<{ studyInstanceUid: string }> }).studies.map((s) => s.studyInstanceUid)).toEqual([studyUid]);
  });

  it('an encrypted --dimse-key without $LOWDOSE_DIMSE_KEY_PASSPHRASE, or with a wrong one, is E_USAGE (exit 2) naming the key and the variable, before any connection', async () => {
    const args = ['info', pacs, '--calling-aet', CALLING_AET, '--dimse-tls', '--dimse-ca', pem('ca.crt'), '--dimse-cert', pem('lowdose.crt'), '--dimse-key', pem('lowdose-pkcs8.key'), '--json'];
    delete process.env[DIMSE_KEY_PASSPHRASE_ENV];
    const none = await runCli(...args);
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toContain(`--dimse-key ${pem('lowdose-pkcs8.key')} is encrypted: give its passphrase in $${DIMSE_KEY_PASSPHRASE_ENV}`);
    // An empty variable is no passphrase.
    process.env[DIMSE_KEY_PASSPHRASE_ENV] = '';
    expect((await runCli(...args)).stderr).toContain('is encrypted: give its passphrase in');
    process.env[DIMSE_KEY_PASSPHRASE_ENV] = 'not the passphrase';
    const wrong = await runCli(...args);
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr).toMatch(new RegExp(`--dimse-key \\S+lowdose-pkcs8\\.key: \\$${DIMSE_KEY_PASSPHRASE_ENV} does not decrypt it \\(.*bad decrypt`));
    // The passphrase never shows in what the run prints.
    expect(wrong.stdout + wrong.stderr).not.toContain('not the passphrase');
  });

  it('--move-port with --dimse-tls --move-require-cert: Orthanc, which presents its certificate when it calls, sends the C-MOVE to our storage SCP (exit 0)', async () => {
    const { run, logged } = await moveOverTls(path.join(dir, 'out-move-required'), true, '--move-require-cert');
    expect(run.code, logged).toBe(0);
    const report = JSON.parse(run.stdout) as { errors: unknown[]; dimse: { tls: boolean; retrieve: string; pulled: Array<{ instances: number; retrieved: number }> } };
    expect(report.errors).toEqual([]);
    expect(report.dimse).toMatchObject({ tls: true, retrieve: 'C-MOVE' });
    expect(report.dimse.pulled.map((p) => [p.instances, p.retrieved])).toEqual([[3, 3]]);
  });

  it('our TLS storage SCP with requireClientCert (--move-require-cert) refuses a caller that presents no client certificate, after the handshake and before any DICOM', async () => {
    const { port, scp } = await startTlsScp('scp-no-certificate', { peerAddresses: ['127.0.0.1'], requireClientCert: true });
    try {
      const closed = await new Promise<boolean>((resolve, reject) => {
        const socket = connectTls({ host: '127.0.0.1', port, ca: readFileSync(pem('ca.crt')), checkServerIdentity: () => undefined });
        socket.on('error', reject);
        socket.on('close', () => resolve(true));
      });
      expect(closed).toBe(true);
      expect(scp.refused).toEqual([{ address: '127.0.0.1', why: 'TLS client certificate required (--move-require-cert): the caller presented none' }]);
      expect(scp.counts).toEqual({ received: 0, failed: 0 });
    } finally {
      await scp.close();
    }
  });

  it('--dimse-ca / --dimse-cert / --dimse-key without --dimse-tls, a certificate without its key or with another, a CA file holding no certificate, and --move-port with --dimse-tls but no --dimse-cert are usage errors (exit 2)', async () => {
    for (const args of [
      ['info', pacs, '--dimse-ca', pem('ca.crt')],
      ['info', pacs, '--dimse-tls', '--dimse-cert', pem('lowdose.crt')],
      ['info', pacs, '--dimse-tls', '--dimse-ca', pem('lowdose.key')],
      ['info', pacs, '--dimse-tls', '--dimse-cert', pem('lowdose.crt'), '--dimse-key', pem('pacs.key')],
      ['denoise', `${pacs}/${studyUid}`, '-o', path.join(dir, 'never'), '--dimse-tls', '--dimse-ca', pem('ca.crt'), '--move-port', '11113'],
    ]) {
      const run = await runCli(...args, '--calling-aet', CALLING_AET, '--json');
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stdout + run.stderr).toMatch(/needs --dimse-tls|go together|no PEM certificate|key values mismatch|--move-port with --dimse-tls needs --dimse-cert and --dimse-key/);
    }
  });

  it('--move-require-cert without --dimse-tls or without --move-port is a usage error (exit 2): only our TLS storage SCP asks for a client certificate', async () => {
    for (const args of [
      ['--move-port', '11113', '--move-require-cert'],
      [...tls(), '--move-require-cert'],
    ]) {
      const run = await runCli('denoise', `${pacs}/${studyUid}`, '-o', path.join(dir, 'never'), '--calling-aet', CALLING_AET, ...args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain('--move-require-cert needs --move-port and --dimse-tls: only our TLS storage SCP asks the PACS for a client certificate [E_USAGE]');
    }
  });

  it('plain DIMSE to the TLS port fails with E_IO pointing at --dimse-tls (exit 1), not a timeout', async () => {
    const run = await runCli('info', pacs, '--calling-aet', CALLING_AET, '--dimse-timeout', '20', '--json');
    expect(run.code, run.stderr).toBe(1);
    const error = errorOf(run.stdout);
    expect(error.code).toBe('E_IO');
    expect(error.message).toMatch(/--dimse-tls/);
    expect(error.message).not.toMatch(/no answer within/);
  });
});

async function findStudyId(orthanc: RunningOrthanc, studyUid: string): Promise<string> {
  const response = await orthanc.rest('/tools/lookup', { method: 'POST', body: Buffer.from(studyUid) });
  const found = (await response.json()) as Array<{ ID: string; Type: string }>;
  return found.find((f) => f.Type === 'Study')!.ID;
}
