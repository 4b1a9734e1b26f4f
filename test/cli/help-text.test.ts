/**
 * Each command's --help describes options it has: the shared denoiser options' --samples text
 * names --uncertainty only where the command takes it.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** The --samples entry of a help page (commander wraps it over several lines). */
function samplesHelp(help: string): string {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith('--samples'));
  const end = lines.findIndex((l, i) => i > start && l.trimStart().startsWith('--'));
  return lines.slice(start, end).join(' ').replace(/\s+/g, ' ');
}

describe('--samples help follows the command', () => {
  it('denoise, which has --uncertainty, says K defaults to the card with it', async () => {
    const run = await runCli('denoise', '--help');
    expect(run.stdout).toMatch(/--uncertainty\b/);
    expect(samplesHelp(run.stdout)).toMatch(/with --uncertainty the model card's/);
  });

  it.each(['qa', 'batch'])('%s, which has no --uncertainty, does not mention it', async (command) => {
    const run = await runCli(command, '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/--uncertainty/);
    expect(samplesHelp(run.stdout)).toMatch(/ensemble size \(default 1\)/);
  });
});
