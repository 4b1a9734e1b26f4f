/**
 * scripts/uncertainty/error-head.py records the command that made its table (models/eval/
 * uncertainty-ct-head.{json,md}). Its "card" column can come from another card than the shipped
 * one; the command must name that card so that it can be run again: a committed revision
 * (`--card-rev`) or a path in the repository, never a temporary copy (`--card /tmp/card-....json`).
 * The card is resolved by scripts/uncertainty/card_source.py (standard library only).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const SCRIPTS = path.join(REPO, 'scripts/uncertainty');
const CARD = 'models/lowdose-ct.json';
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-error-head-card-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' });
const hasPython = spawnSync('python3', ['--version']).status === 0;
const isCheckout = spawnSync('git', ['rev-parse', '--git-dir'], { cwd: REPO }).status === 0;

/** The flags card_source.load_card records for these arguments, or the error it stops with. */
function recordedFlags(card: string | null, cardRev: string | null): { flags: string | null; error: string } {
  const code = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(SCRIPTS)})`,
    'from card_source import load_card',
    `card, flags = load_card('lowdose-ct', ${card === null ? 'None' : JSON.stringify(card)}, ${cardRev === null ? 'None' : JSON.stringify(cardRev)})`,
    'json.loads(card)',
    'print(flags)',
  ].join('\n');
  const run = spawnSync('python3', ['-c', code], { cwd: root, encoding: 'utf8' });
  return { flags: run.status === 0 ? run.stdout.replace(/\n$/, '') : null, error: run.stderr };
}

describe.skipIf(!hasPython || !isCheckout)('error-head.py names the card of its "card" column so the recorded command reruns', () => {
  it('error-head.py takes its card and the flags it records from card_source, before any work', () => {
    const script = readFileSync(path.join(SCRIPTS, 'error-head.py'), 'utf8');
    expect(script).toMatch(/^CARD_BYTES, CARD_FLAGS = load_card\(args\.model, args\.card, args\.card_rev\)$/m);
    expect(script).toMatch(/flags = .*\+ CARD_FLAGS$/m);
    expect(script).not.toMatch(/--card \{args\.card\}/);
  });

  it('records a card copied outside the repository as the commit that holds those bytes', () => {
    const commit = git('log', '-1', '--format=%h', '--', CARD).trim();
    const copy = path.join(root, `card-${commit}.json`);
    writeFileSync(copy, git('show', `${commit}:${CARD}`));
    const { flags } = recordedFlags(copy, null);
    expect(flags).toMatch(/^ --card-rev [0-9a-f]{7,}$/);
    expect(git('show', `${flags!.split(' ').pop()!}:${CARD}`)).toBe(git('show', `${commit}:${CARD}`));
  });

  it('records --card-rev as the commit it names, not a moving name such as HEAD', () => {
    const head = git('rev-parse', '--short', 'HEAD').trim();
    expect(recordedFlags(null, 'HEAD').flags).toBe(` --card-rev ${head}`);
  });

  it('records a card in the repository by its path relative to the repository', () => {
    expect(recordedFlags(path.join(REPO, CARD), null).flags).toBe(` --card ${CARD}`);
    expect(recordedFlags(null, null).flags).toBe('');
  });

  it('refuses, before any work, a card outside the repository that no commit holds', () => {
    const edited = path.join(root, 'edited-card.json');
    writeFileSync(edited, JSON.stringify({ ...JSON.parse(git('show', `HEAD:${CARD}`)), note: 'edited by hand' }));
    const { flags, error } = recordedFlags(edited, null);
    expect(flags).toBeNull();
    expect(error).toContain('--card-rev');
  });
});
