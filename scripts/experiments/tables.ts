/**
 * Prints the Markdown tables of docs/trace.md from the experiments' JSON in docs/experiments/, so
 * the tables in the docs are the scripts' numbers, not retyped ones.
 *
 * Run: npx tsx scripts/experiments/tables.ts [--write docs/trace.md]
 * With --write, each table replaces the text between its <!-- TABLE-X --> and <!-- /TABLE-X -->
 * markers in that file (X = WARM, GUIDANCE, STEPS).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIGURES } from './figures.js';

// The JSON files are this folder's own output; their shapes are those the scripts write.
type Json = Record<string, any>;
const read = (name: string): Json => JSON.parse(readFileSync(path.join(FIGURES, name), 'utf8')) as Json;
const f = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
const signed = (v: number, digits = 0) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
const model = (j: Json) => `${j.model.name} (ONNX sha256 ${j.model.sha256}…)`;

const sections: Record<string, string[]> = {};
let current: string[] = [];
/** Starts the table for marker `name`; its heading goes to stdout only. */
const section = (name: string, heading: string) => {
  current = sections[name] = [];
  process.stdout.write(`\n${heading}\n\n`);
};
const log = (line: string) => {
  current.push(line);
  console.log(line);
};

const warm = read('schedules-warmstart.json');
section('WARM', `### schedules-warmstart (${model(warm)})`);
log(`Input (25 % dose) vs full dose: body ${f(warm.input.body.psnr, 2)} dB / ${f(warm.input.body.ssim, 3)}, ACR ${f(warm.input.acr.psnr, 2)} dB / ${f(warm.input.acr.ssim, 3)}.\n`);
log('| start | ᾱ at the start | model t_start | steps | body PSNR / SSIM | ACR PSNR / SSIM |');
log('| --- | ---: | ---: | ---: | --- | --- |');
for (const r of warm.sweep) {
  log(`| strength ${r.strength} | ${f(r.alphaBar, 4)} | ${r.startT} | ${r.steps} | ${f(r.scores.body.psnr, 2)} / ${f(r.scores.body.ssim, 3)} | ${f(r.scores.acr.psnr, 2)} / ${f(r.scores.acr.ssim, 3)} |`);
}
for (const r of warm.defaults) {
  log(`| **${r.schedule}** strength 0.2 (its t = ${r.scheduleT}) | ${f(r.alphaBar, 4)} | ${r.modelStartT} | ${r.steps} | ${f(r.scores.body.psnr, 2)} / ${f(r.scores.body.ssim, 3)} | ${f(r.scores.acr.psnr, 2)} / ${f(r.scores.acr.ssim, 3)} |`);
}

const g = read('guidance.json');
section('GUIDANCE', `### guidance (${model(g)}, K = ${g.samples})`);
const ref = g.reference;
log('| g | noise SD, HU | ensemble spread, HU | MTF50, cycles/mm | insert mean abs error, HU | acrylic / bone error, HU | uniformity mean, HU | PSNR dB | SSIM |');
log('| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
log(`| input | ${f(ref.input.noise, 1)} | | ${f(ref.input.mtf50, 3)} | ${f(ref.input.insertAbsError, 1)} | ${signed(ref.input.insertErrors.acrylic, 1)} / ${signed(ref.input.insertErrors.bone, 1)} | ${signed(ref.input.uniformMean, 1)} | | |`);
log(`| full dose | ${f(ref.full.noise, 1)} | | ${f(ref.full.mtf50, 3)} | ${f(ref.full.insertAbsError, 1)} | ${signed(ref.full.insertErrors.acrylic, 1)} / ${signed(ref.full.insertErrors.bone, 1)} | ${signed(ref.full.uniformMean, 1)} | | |`);
for (const r of g.rows) {
  log(
    `| ${r.guidance} | ${f(r.noise, 1)} | ${f(r.spread, 1)} | ${f(r.mtf50, 3)} | ${f(r.insertAbsError, 1)} | ${signed(r.insertErrors.acrylic, 1)} / ${signed(r.insertErrors.bone, 1)} | ${signed(r.uniformMean, 1)} | ${f(r.psnr, 2)} | ${f(r.ssim, 3)} |`,
  );
}

const s = read('steps.json');
section('STEPS', `### steps (${model(s)})`);
log(`Input (25 % dose) vs full dose: body ${f(s.input.body.psnr, 2)} dB / ${f(s.input.body.ssim, 3)}, ACR ${f(s.input.acr.psnr, 2)} dB / ${f(s.input.acr.ssim, 3)}.\n`);
const samplers = [...new Set(s.rows.map((r: Json) => r.sampler))] as string[];
const stepsList = [...new Set(s.rows.map((r: Json) => r.steps))] as number[];
log(`| steps | ${samplers.map((x) => `${x}: body PSNR / SSIM | ${x}: ACR PSNR / SSIM | ${x}: ms/slice`).join(' | ')} |`);
log(`| ---: | ${samplers.map(() => '--- | --- | ---:').join(' | ')} |`);
for (const n of stepsList) {
  const cells = samplers.map((x) => {
    const at = (p: string) => s.rows.find((r: Json) => r.sampler === x && r.steps === n && r.phantom === p);
    const b = at('body');
    const a = at('acr');
    return `${f(b.psnr, 2)} / ${f(b.ssim, 3)} | ${f(a.psnr, 2)} / ${f(a.ssim, 3)} | ${f((b.msPerSlice + a.msPerSlice) / 2, 0)}`;
  });
  log(`| ${n} | ${cells.join(' | ')} |`);
}

const target = process.argv.indexOf('--write');
if (target >= 0) {
  const file = process.argv[target + 1]!;
  let text = readFileSync(file, 'utf8');
  for (const [name, lines] of Object.entries(sections)) {
    const open = `<!-- TABLE-${name} -->`;
    const close = `<!-- /TABLE-${name} -->`;
    const a = text.indexOf(open);
    const b = text.indexOf(close);
    if (a < 0 || b < a) throw new Error(`${file}: no ${open} ... ${close} markers`);
    const body = lines.join('\n');
    text = `${text.slice(0, a + open.length)}\n${body}\n${text.slice(b)}`;
  }
  writeFileSync(file, text);
  console.error(`wrote the tables into ${file}`);
}
