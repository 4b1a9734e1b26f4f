/**
 * The DICOMweb client options act on a DICOMweb URL input only, the DIMSE ones on a dimse:// input
 * only: given for another input they are refused (exit 2, E_USAGE naming them), as --stow, --store
 * and --allow-incomplete are, instead of being ignored without a word. Their defaults alone are no
 * refusal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-pacs-option-scope-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('PACS client options without a PACS input of their kind', () => {
  it.each([
    [['--dicomweb-timeout', '5'], '--dicomweb-timeout needs a DICOMweb URL as input: any other input would ignore it'],
    [['--dicomweb-auth', 'bearer:x', '--dicomweb-retries', '0'], '--dicomweb-auth and --dicomweb-retries need a DICOMweb URL as input: any other input would ignore them'],
    [['--calling-aet', 'FOO', '--dimse-timeout', '3'], '--calling-aet and --dimse-timeout need a dimse:// input: any other input would ignore them'],
  ])('denoise <folder> %j exits 2 before any work', async (extra, message) => {
    const out = join(root, `denoise-${extra[0]!}`);
    const { code, stderr } = await runCli('denoise', lowDoseDir, '-o', out, '--method', 'gaussian', ...extra);
    expect(code).toBe(2);
    expect(stderr).toContain(`${message} [E_USAGE]`);
  });

  it('denoise <dimse://> --move-from without --move-port exits 2 before connecting: only a C-MOVE receives from the PACS', async () => {
    const { code, stderr } = await runCli('denoise', 'dimse://PACS@127.0.0.1:1/1.2.3', '-o', join(root, 'move-from'), '--method', 'gaussian', '--move-from', '10.0.0.5');
    expect(code).toBe(2);
    expect(stderr).toContain('--move-from needs --move-port: only a C-MOVE receives instances from the PACS [E_USAGE]');
  });

  it.each([
    [['--move-from', '10.0.0.5'], '--move-from needs --move-port: only a C-MOVE receives instances from the PACS'],
    [['--move-port', '11113', '--dimse-tls', '--dimse-ca', '/nonexistent/ca.pem'], '--move-port with --dimse-tls needs --dimse-cert and --dimse-key: our storage SCP is then a TLS server'],
    [['--move-port', '11113', '--move-require-cert'], '--move-require-cert needs --move-port and --dimse-tls'],
  ])('worker %j exits 2 before it connects to Redis, as denoise does', async (extra, message) => {
    // Port 1 on loopback: nothing listens, so a worker that got past its options would fail otherwise.
    const { code, stderr } = await runCli('worker', '--redis', 'redis://127.0.0.1:1', ...extra);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('info <folder> --dicomweb-ca exits 2', async () => {
    const { code, stderr } = await runCli('info', lowDoseDir, '--dicomweb-ca', join(root, 'ca.pem'));
    expect(code).toBe(2);
    expect(stderr).toContain('--dicomweb-ca needs a DICOMweb URL as input: any other input would ignore it [E_USAGE]');
  });

  it('info <DICOMweb URL> --calling-aet exits 2: a DICOMweb input has no AE title', async () => {
    const { code, stderr } = await runCli('info', 'http://127.0.0.1:1/dicom-web/studies/1.2.3', '--calling-aet', 'FOO');
    expect(code).toBe(2);
    expect(stderr).toContain('--calling-aet needs a dimse:// input: any other input would ignore it [E_USAGE]');
  });

  it('serve --dicomweb-timeout without --dicomweb exits 2', async () => {
    const { code, stderr } = await runCli('serve', '--dicomweb-timeout', '5', '--port', '0');
    expect(code).toBe(2);
    expect(stderr).toContain('--dicomweb-timeout goes with --dicomweb <url> [E_USAGE]');
  });

  it('info <folder> with no PACS option is not refused', async () => {
    const { code } = await runCli('info', lowDoseDir, '--json');
    expect(code).toBe(0);
  });
});
