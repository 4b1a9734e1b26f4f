/**
 * The two paths a PET run can take, side by side: `lowdose-pet`'s lesion bias measured with the dose
 * declared to the model and without it (`--dose-unknown`), from the committed evaluation files the
 * card's `quality.lesionRecovery` is written from (./lesion-recovery.ts). Prints markdown:
 *
 * - sts-001 inserted lesions (pet-lesions.ts --noise-realisations 12): per count level and size the
 *   expected SUVmean / SUVmax bias ± SE of each path, and "paired": unknown − declared per lesion
 *   (each lesion's draws averaged first; the same events on both paths), mean ± SE over the lesions
 *   of a size, which removes the lesion-to-lesion spread the two paths share;
 * - the IEC phantom (qa --phantoms iec): SUVmean bias ± SE and SUVmax as the card takes it (mean
 *   denoised over mean full-count − 1) of each path, and the paired SUVmean difference over the
 *   fixture's noise realisations (the same realisations on both paths).
 *
 *   npx tsx scripts/evaluate/lesion-paths.ts
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IEC_FILES, STS_FILES, type PetLesionsReport, type QaReport } from './lesion-recovery.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const read = <T>(file: string) => JSON.parse(readFileSync(path.join(REPO, file), 'utf8')) as T;
const signed = (x: number, digits = 1) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** Mean and standard error (SD / sqrt(n)) of `values`. */
function meanSe(values: readonly number[]): { mean: number; se: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, se: Math.sqrt(variance / values.length) };
}

interface Scored {
  readonly method: string;
  readonly realisation: number;
  readonly dose: number;
  readonly scores: ReadonlyArray<{ lesion: string; diameterMm: number; meanBias: number; maxBias: number }>;
}
type Report = Omit<PetLesionsReport, 'expected'> & { doses: readonly number[]; rows: readonly Scored[]; expected: ReadonlyArray<{ method: string; backgroundSd: { mean: number; se: number } }> };

/** Each lesion's `key` bias averaged over its draws, for the card's row: lesion id -> diameter and mean. */
function perLesion(report: Report, key: 'meanBias' | 'maxBias'): Map<string, { diameterMm: number; value: number }> {
  const sums = new Map<string, { diameterMm: number; sum: number; n: number }>();
  for (const row of report.rows.filter((r) => r.method.startsWith('lowdose-pet (card'))) {
    for (const s of row.scores) {
      const id = `${row.realisation}/${s.lesion}`;
      const acc = sums.get(id) ?? { diameterMm: s.diameterMm, sum: 0, n: 0 };
      sums.set(id, { ...acc, sum: acc.sum + s[key], n: acc.n + 1 });
    }
  }
  return new Map([...sums].map(([id, a]) => [id, { diameterMm: a.diameterMm, value: a.sum / a.n }]));
}

const diameters = [10, 13, 17, 22, 28, 37];
const lines: string[] = [`| counts, statistic | path | ${diameters.map((d) => `${d} mm`).join(' | ')} |`, `| --- | --- |${diameters.map(() => ' --- |').join('')}`];
const background: string[] = [];
for (const dose of [0.25, 0.1]) {
  const ofDose = (declared: boolean) => {
    const file = STS_FILES.find((f) => f.doseDeclared === declared && read<Report>(f.file).doses.includes(dose))!;
    return read<Report>(file.file);
  };
  const declared = ofDose(true);
  const unknown = ofDose(false);
  for (const [key, name] of [['meanBias', 'SUVmean'], ['maxBias', 'SUVmax']] as const) {
    const a = perLesion(declared, key);
    const b = perLesion(unknown, key);
    const cells = (f: (ids: string[]) => string) => diameters.map((d) => f([...a].filter(([, l]) => l.diameterMm === d).map(([id]) => id))).join(' | ');
    const ci = (m: Map<string, { value: number }>) => (ids: string[]) => { const e = meanSe(ids.map((id) => m.get(id)!.value)); return `${signed(100 * e.mean)} ± ${(100 * e.se).toFixed(1)}`; };
    lines.push(
      `| ${dose * 100} %, ${name} | declared | ${cells(ci(a))} |`,
      `| | unknown | ${cells(ci(b))} |`,
      `| | paired | ${cells((ids) => { const e = meanSe(ids.map((id) => b.get(id)!.value - a.get(id)!.value)); return `${signed(100 * e.mean)} ± ${(100 * e.se).toFixed(1)}`; })} |`,
    );
  }
  const bg = (r: Report) => r.expected.find((e) => e.method.startsWith('lowdose-pet (card'))!.backgroundSd;
  background.push(`${dose * 100} %: declared ${bg(declared).mean.toFixed(3)} ± ${bg(declared).se.toFixed(3)}, unknown ${bg(unknown).mean.toFixed(3)} ± ${bg(unknown).se.toFixed(3)} SUV`);
}
console.log('sts-001 inserted lesions, `lowdose-pet`, expected bias ± SE, %:\n');
console.log(lines.join('\n'));
console.log(`\nBackground SD: ${background.join('; ')}\n`);

// ---- IEC phantom ----------------------------------------------------------------------------
const iecOf = (declared: boolean) => read<QaReport>(IEC_FILES.find((f) => f.doseDeclared === declared)!.file);
const iecDeclared = iecOf(true);
const iecUnknown = iecOf(false);
const check = (r: QaReport, name: string) => r.checks.find((c) => c.name === name)!;
console.log('IEC phantom, `lowdose-pet`, SUVmean bias ± SE (QA) and SUVmax against the full-count image (the card\'s), %; paired: unknown − declared over the realisations:\n');
console.log('| counts | sphere | SUVmean declared | SUVmean unknown | SUVmean paired | SUVmax declared | SUVmax unknown |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const dose of [25, 10]) {
  for (const mm of [17, 22, 28, 37]) {
    const mean = (r: QaReport) => check(r, `iec/dose${dose}/suvmean-bias/${mm}mm`);
    const max = (r: QaReport) => { const c = check(r, `iec/dose${dose}/suvmax-recovery/${mm}mm`).measured; return 100 * (c['denoised']! / c['full']! - 1); };
    const realisations = Object.keys(mean(iecDeclared).measured).filter((k) => /^r\d+$/.test(k));
    const paired = meanSe(realisations.map((k) => mean(iecUnknown).measured[k]! - mean(iecDeclared).measured[k]!));
    const ci = (r: QaReport) => `${signed(100 * mean(r).value)} ± ${(100 * mean(r).measured['standardError']!).toFixed(1)}`;
    console.log(`| ${dose} % | ${mm} mm | ${ci(iecDeclared)} | ${ci(iecUnknown)} | ${signed(100 * paired.mean)} ± ${(100 * paired.se).toFixed(1)} | ${signed(max(iecDeclared))} | ${signed(max(iecUnknown))} |`);
  }
}
