/**
 * Two model rows of scripts/evaluate/pet-lesions.ts outputs scored on the same draws (same
 * placements, Poisson seeds and lesions), compared pair by pair: per lesion size, each row's
 * expected SUVmean / SUVmax bias and the paired difference (B − A), mean ± standard error over the
 * lesions of that size, each lesion's difference first averaged over its draws. Pairing removes
 * the noise both rows share, so a difference of a few tenths of a point is resolved where the two
 * rows' own standard errors (1 point and more) are not. The input rows of the two files are
 * checked to be the same draws.
 *
 *   npx tsx scripts/experiments/paired-lesion-rows.ts <a.json> <row A prefix> <b.json> <row B prefix>
 */
import { readFileSync } from 'node:fs';

interface Score { lesion: string; diameterMm: number; meanBias: number; maxBias: number }
interface Row { method: string; realisation: number; draw: number; dose: number; scores: Score[] }
const [fileA, prefixA, fileB, prefixB] = process.argv.slice(2);
if (!fileA || !prefixA || !fileB || !prefixB) {
  console.error('usage: paired-lesion-rows.ts <a.json> <row A prefix> <b.json> <row B prefix>');
  process.exit(2);
}
const rowsOf = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows;
const a = rowsOf(fileA);
const b = rowsOf(fileB);
const key = (r: Row, s: Score) => `${r.realisation}/${r.draw}/${r.dose}/${s.lesion}`;
const index = (rows: Row[], prefix: string) => new Map(rows.filter((r) => r.method.startsWith(prefix)).flatMap((r) => r.scores.map((s) => [key(r, s), s] as const)));
const inputA = index(a, 'low-count input');
const inputB = index(b, 'low-count input');
for (const [k, s] of inputA) {
  const t = inputB.get(k);
  if (!t || Math.abs(t.meanBias - s.meanBias) > 1e-9) throw new Error(`${k}: the two files' inputs differ; not the same draws`);
}
const rowA = index(a, prefixA);
const rowB = index(b, prefixB);
if (rowA.size === 0 || rowB.size === 0) throw new Error(`no row starts with ${rowA.size === 0 ? prefixA : prefixB}`);
const avg = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
const se = (xs: number[]) => Math.sqrt(avg(xs.map((x) => (x - avg(xs)) ** 2)) / Math.max(xs.length - 1, 1));
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
const sizes = [...new Set([...rowA.values()].map((s) => s.diameterMm))].sort((x, y) => x - y);
console.log(`| size | SUVmean A | SUVmean B | B − A (paired) | SUVmax A | SUVmax B | B − A (paired) |`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const d of sizes) {
  const lesions = new Map<string, { ma: number[]; mb: number[]; xa: number[]; xb: number[] }>();
  for (const [k, s] of rowA) {
    if (s.diameterMm !== d) continue;
    const t = rowB.get(k);
    if (!t) throw new Error(`${k}: row B lacks it`);
    const id = k.split('/').filter((_, i) => i !== 1).join('/');
    const l = lesions.get(id) ?? { ma: [], mb: [], xa: [], xb: [] };
    l.ma.push(s.meanBias);
    l.mb.push(t.meanBias);
    l.xa.push(s.maxBias);
    l.xb.push(t.maxBias);
    lesions.set(id, l);
  }
  const per = [...lesions.values()];
  const col = (f: (l: (typeof per)[number]) => number) => per.map(f);
  const cell = (xs: number[]) => `${pct(avg(xs))} ± ${(100 * se(xs)).toFixed(1)}`;
  console.log(
    `| ${d} mm | ${cell(col((l) => avg(l.ma)))} | ${cell(col((l) => avg(l.mb)))} | ${cell(col((l) => avg(l.mb) - avg(l.ma)))} | ${cell(col((l) => avg(l.xa)))} | ${cell(col((l) => avg(l.xb)))} | ${cell(col((l) => avg(l.xb) - avg(l.xa)))} |`,
  );
}
