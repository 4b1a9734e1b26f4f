/**
 * Writes a PET card's `quality.lesionRecovery` (what `lowdose denoise` quotes in E_LESION_BIAS)
 * from the committed evaluation files of that card (./lesion-recovery.ts says which and how); the
 * rest of the card byte for byte. Regenerate the files first when the card changes:
 *
 *   node bin/lowdose.js qa --phantoms iec --threads 1 --json -o <dir> > models/eval/qa-iec.json
 *   node bin/lowdose.js qa --phantoms iec --threads 1 --json -o <dir> --dose-unknown > models/eval/qa-iec-dose-unknown.json
 *   (models/eval/pet-lesions-expected.md: the two pet-lesions.ts --noise-realisations 12 commands,
 *   and the same with --dose-unknown --out models/eval/pet-lesions-expected-unknown/dose{25,10})
 *   npx tsx scripts/evaluate/lesion-recovery-card.ts [card.json]   # default models/lowdose-pet.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { modelFingerprint } from '../../src/models/fingerprint.js';
import { withCardBlock } from '../models/card-text.js';
import { lesionRecoveryFromEvals, readEvals } from './lesion-recovery.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const cardPath = path.resolve(process.argv[2] ?? path.join(REPO, 'models', 'lowdose-pet.json'));
const read = (file: string) => JSON.parse(readFileSync(path.join(REPO, file), 'utf8'));
const text = readFileSync(cardPath, 'utf8');
const block = lesionRecoveryFromEvals(JSON.parse(text), readEvals(read), await modelFingerprint(cardPath));
writeFileSync(cardPath, withCardBlock(text, ['quality', 'lesionRecovery'], block));
console.error(`wrote quality.lesionRecovery (${block.sets.length} sets) into ${cardPath}`);
