import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { checkCardAgainstGraph, normalizationFor, parseModelCard } from '../../src/models/card.js';
import { defaultModelsDir, listModelNames, loadModel, resolveModelFiles } from '../../src/models/load.js';
import { packageRoot } from '../../src/util/package-root.js';
import { fromModelSpace, toModelSpace } from '../../src/diffusion/normalization.js';
import { FIXTURE_MODELS, fixtureModel } from '../diffusion/helpers.js';

const perPixelCard = JSON.parse(readFileSync(fixtureModel('per-pixel'), 'utf8')) as Record<string, unknown>;

/** Writes a variant of per-pixel.json into a temp folder, pointing at the committed ONNX file. */
function variant(change: (card: Record<string, any>) => void): string {
  const card = structuredClone(perPixelCard) as Record<string, any>;
  card.onnx = path.join(FIXTURE_MODELS, 'per-pixel.onnx');
  change(card);
  const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-card-'));
  const file = path.join(dir, 'variant.json');
  writeFileSync(file, JSON.stringify(card));
  return file;
}

async function loadError(cardPath: string): Promise<LowdoseError> {
  try {
    const m = await loadModel(cardPath, { device: 'cpu' });
    await m.release();
  } catch (error) {
    return error as LowdoseError;
  }
  throw new Error(`${cardPath} loaded`);
}

describe('model cards', () => {
  it('every committed test model has a valid card that matches its graph', async () => {
    const cards = readdirSync(FIXTURE_MODELS).filter((f) => f.endsWith('.json'));
    expect(cards.length).toBeGreaterThanOrEqual(10);
    for (const file of cards) {
      const model = await loadModel(path.join(FIXTURE_MODELS, file), { device: 'cpu' });
      expect(model.card.name).toBe(file.replace(/\.json$/, ''));
      expect(model.device.used).toBe('cpu');
      await model.release();
    }
  });

  it('lists every problem of an invalid card with its field', () => {
    const card = structuredClone(perPixelCard) as Record<string, any>;
    card.format = 'lowdose-model-card/0';
    card.prediction = 'noise';
    card.schedule = { kind: 'quadratic', trainSteps: 1 };
    card.tile = { multipleOf: 8, overlap: 0, size: 20 };
    card.modalities = ['MR'];
    card.texture = { defaultDose: 0 };
    delete card.inputs.timestep;
    try {
      parseModelCard(card, '/x/card.json');
      throw new Error('accepted');
    } catch (error) {
      expect((error as LowdoseError).code).toBe('E_MODEL');
      const message = (error as Error).message;
      expect(message).toMatch(/^\/x\/card\.json: invalid model card:/);
      for (const field of ['format:', 'prediction:', 'schedule.kind:', 'schedule.trainSteps:', 'tile.size:', 'modalities:', 'inputs.timestep: required', 'texture.defaultDose:']) {
        expect(message).toContain(field);
      }
    }
  });

  it('sampler.consistency is a strength in [0, 1] or { strength, scaleMm?, threshold?, iterations? }, each wrong field named', () => {
    const withConsistency = (value: unknown) => {
      const card = structuredClone(perPixelCard) as Record<string, any>;
      card.sampler.consistency = value;
      return card;
    };
    expect(parseModelCard(withConsistency(0.6), 'c.json').sampler.consistency).toBe(0.6);
    expect(parseModelCard(withConsistency({ strength: 1, scaleMm: 5, threshold: 1.5, iterations: 4 }), 'c.json').sampler.consistency).toEqual({
      strength: 1,
      scaleMm: 5,
      threshold: 1.5,
      iterations: 4,
    });
    expect(() => parseModelCard(withConsistency(1.5), 'c.json')).toThrow(/sampler\.consistency: expected a strength in \[0, 1\]/);
    expect(() => parseModelCard(withConsistency('on'), 'c.json')).toThrow(/sampler\.consistency: expected/);
    try {
      parseModelCard(withConsistency({ strength: 2, scaleMm: 0, threshold: -1, iterations: 0.5, sigma: 2 }), 'c.json');
      throw new Error('accepted');
    } catch (error) {
      const message = (error as Error).message;
      for (const field of ['strength', 'scaleMm', 'threshold', 'iterations', 'sigma: unknown field']) expect(message).toContain(`sampler.consistency.${field}`);
    }
  });

  it('sampler.consistency.largeRegions is { radiusMm, level, averageMm, interiorMm, passes, onlyUnknownDose? }, each wrong field named', () => {
    const withLarge = (largeRegions: unknown) => {
      const card = structuredClone(perPixelCard) as Record<string, any>;
      card.sampler.consistency = { strength: 1, scaleMm: 4.5, threshold: 0.85, largeRegions };
      return card;
    };
    const good = { radiusMm: 4, level: 0, averageMm: 7, interiorMm: 4, passes: 5, onlyUnknownDose: true };
    expect(parseModelCard(withLarge(good), 'c.json').sampler.consistency).toEqual({ strength: 1, scaleMm: 4.5, threshold: 0.85, largeRegions: good });
    expect(() => parseModelCard(withLarge(4), 'c.json')).toThrow(/sampler\.consistency\.largeRegions: expected \{ "radiusMm"/);
    try {
      parseModelCard(withLarge({ radiusMm: 0, level: 1, averageMm: 7, interiorMm: -1, passes: 0.5, onlyUnknownDose: 'yes', size: 2 }), 'c.json');
      throw new Error('accepted');
    } catch (error) {
      const message = (error as Error).message;
      for (const field of ['radiusMm', 'level', 'interiorMm', 'passes', 'onlyUnknownDose', 'size: unknown field']) expect(message).toContain(`sampler.consistency.largeRegions.${field}`);
    }
  });

  it('sampler.consistency.bilateral is { spatialMm, rangeFactor }, each wrong field named', () => {
    const withBilateral = (bilateral: unknown) => {
      const card = structuredClone(perPixelCard) as Record<string, any>;
      card.sampler.consistency = { strength: 1, scaleMm: 4.5, threshold: 0.85, bilateral };
      return card;
    };
    const good = { spatialMm: 5, rangeFactor: 6 };
    expect(parseModelCard(withBilateral(good), 'c.json').sampler.consistency).toEqual({ strength: 1, scaleMm: 4.5, threshold: 0.85, bilateral: good });
    expect(() => parseModelCard(withBilateral(5), 'c.json')).toThrow(/sampler\.consistency\.bilateral: expected \{ "spatialMm"/);
    try {
      parseModelCard(withBilateral({ spatialMm: 0, rangeFactor: -1, range: 2 }), 'c.json');
      throw new Error('accepted');
    } catch (error) {
      const message = (error as Error).message;
      for (const field of ['spatialMm', 'rangeFactor', 'range: unknown field']) expect(message).toContain(`sampler.consistency.bilateral.${field}`);
    }
  });

  it('sampler.consistency.lowCount is { belowDose, averageMm, interiorMm, passes, threshold? }, each wrong field named', () => {
    const withLowCount = (lowCount: unknown) => {
      const card = structuredClone(perPixelCard) as Record<string, any>;
      card.sampler.consistency = { strength: 1, scaleMm: 4.5, threshold: 1, lowCount };
      return card;
    };
    const good = { belowDose: 0.16, averageMm: 6, interiorMm: 6, passes: 3 };
    expect(parseModelCard(withLowCount(good), 'c.json').sampler.consistency).toEqual({ strength: 1, scaleMm: 4.5, threshold: 1, lowCount: good });
    expect(parseModelCard(withLowCount({ ...good, threshold: 0.4 }), 'c.json').sampler.consistency).toEqual({ strength: 1, scaleMm: 4.5, threshold: 1, lowCount: { ...good, threshold: 0.4 } });
    expect(() => parseModelCard(withLowCount(0.16), 'c.json')).toThrow(/sampler\.consistency\.lowCount: expected \{ "belowDose"/);
    try {
      parseModelCard(withLowCount({ belowDose: 0, averageMm: -1, interiorMm: 101, passes: 0, threshold: -1, mode: 'x' }), 'c.json');
      throw new Error('accepted');
    } catch (error) {
      const message = (error as Error).message;
      for (const field of ['belowDose', 'averageMm', 'interiorMm', 'passes', 'threshold', 'mode: unknown field']) expect(message).toContain(`sampler.consistency.lowCount.${field}`);
    }
  });

  it('reads the uncertainty block (a calibration per ensemble size) and names each bad field', () => {
    const withUncertainty = (value: unknown) => {
      const card = structuredClone(perPixelCard) as Record<string, any>;
      card.uncertainty = value;
      return card;
    };
    const good = {
      samples: 4,
      calibration: [
        { samples: 2, spreadScale: 4.2, noiseScale: 0.4, noiseWindowMm: 24 },
        { samples: 4, spreadScale: 3.6, noiseScale: 0.37, noiseWindowMm: 24, noiseLevelScale: 0.21 },
      ],
      threshold: 10,
      units: 'HU',
      command: 'npx tsx scripts/uncertainty/calibrate.ts --write-card',
    };
    expect(parseModelCard(withUncertainty(good), 'c.json').uncertainty?.calibration[1]?.spreadScale).toBe(3.6);
    // The slice-level term is optional: cards calibrated before it have none.
    expect(parseModelCard(withUncertainty(good), 'c.json').uncertainty?.calibration.map((c) => c.noiseLevelScale)).toEqual([undefined, 0.21]);
    try {
      parseModelCard(withUncertainty({ ...good, samples: 8, threshold: 0, calibration: [{ samples: 1, spreadScale: -1, noiseScale: 0.3, noiseLevelScale: -0.1 }] }), 'c.json');
      throw new Error('accepted');
    } catch (error) {
      const message = (error as Error).message;
      for (const field of ['uncertainty.threshold', 'uncertainty.calibration[0].samples', 'uncertainty.calibration[0].spreadScale', 'uncertainty.calibration[0].noiseWindowMm', 'uncertainty.calibration[0].noiseLevelScale', 'uncertainty.samples: 8 has no entry']) {
        expect(message).toContain(field);
      }
    }
  });

  it("reads the texture default dose, and the shipped CT model's is quarter dose", () => {
    expect(parseModelCard({ ...structuredClone(perPixelCard), texture: { defaultDose: 0.25 } }, '/x/card.json').texture).toEqual({ defaultDose: 0.25 });
    expect(parseModelCard(structuredClone(perPixelCard), '/x/card.json').texture).toBeUndefined();
    const shipped = JSON.parse(readFileSync(path.resolve(FIXTURE_MODELS, '../../models/lowdose-ct.json'), 'utf8'));
    expect(parseModelCard(shipped, '/x/lowdose-ct.json').texture?.defaultDose).toBe(0.25);
  });

  it("carries the shipped CT model's noise transfer as texture-transfer.ts measured it; the PET and latent cards have none", () => {
    const read = (file: string) => JSON.parse(readFileSync(path.resolve(FIXTURE_MODELS, '../..', file), 'utf8'));
    const transfer = parseModelCard(read('models/lowdose-ct.json'), '/x/lowdose-ct.json').texture?.transfer;
    const measured = read('docs/experiments/texture-transfer.json');
    expect(transfer).toMatchObject({ cyclesPerPixel: measured.transfer.frequenciesCyclesPerPixel, doses: measured.transfer.doses, kept: measured.transfer.T, command: measured.command });
    expect(transfer?.measuredOn).toContain(measured.model.sha256);
    for (const other of ['models/lowdose-pet.json', 'models/lowdose-ct-latent.json']) expect(read(other).texture.transfer).toBeUndefined();
  });

  it('reads a texture.transfer block and refuses a malformed one, naming each problem', () => {
    const good = { measuredOn: 'water', command: 'npx tsx x.ts', cyclesPerPixel: [0, 0.25, 0.5], doses: [0.1, 0.25], kept: [[0.9, 0.3, 0.1], [0.9, 0.4, 0.3]] };
    const withTransfer = (transfer: unknown) => ({ ...structuredClone(perPixelCard), texture: { defaultDose: 0.25, transfer } }) as never;
    expect(parseModelCard(withTransfer(good), '/x/card.json').texture?.transfer).toEqual(good);
    const refused: Array<[unknown, RegExp]> = [
      ['table', /texture\.transfer: expected \{/],
      [{ ...good, measuredOn: '' }, /texture\.transfer\.measuredOn/],
      [{ ...good, command: 3 }, /texture\.transfer\.command/],
      [{ ...good, cyclesPerPixel: [0, 0.5, 0.25] }, /texture\.transfer\.cyclesPerPixel: expected a non-empty ascending list/],
      [{ ...good, cyclesPerPixel: [0, 0.25, 0.9] }, /texture\.transfer\.cyclesPerPixel/],
      [{ ...good, doses: [0.25, 0.1] }, /texture\.transfer\.doses/],
      [{ ...good, doses: [0, 0.25] }, /texture\.transfer\.doses/],
      [{ ...good, kept: [[0.9, 0.3, 0.1]] }, /texture\.transfer\.kept: expected one list per dose \(2\)/],
      [{ ...good, kept: [[0.9, 0.3], [0.9, 0.4, 0.3]] }, /texture\.transfer\.kept\[0\]: expected 3 numbers/],
      [{ ...good, kept: [[0.9, -0.3, 0.1], [0.9, 0.4, null]] }, /kept\[0\].*kept\[1\]/s],
      [{ ...good, T: [] }, /texture\.transfer\.T: unknown field/],
    ];
    for (const [transfer, message] of refused) expect(() => parseModelCard(withTransfer(transfer), 'c.json')).toThrow(message);
  });

  it("carries the shipped CT model's full-dose texture by dose as texture-transfer.ts --full-dose-texture measured it; the PET and latent cards have none", () => {
    const read = (file: string) => JSON.parse(readFileSync(path.resolve(FIXTURE_MODELS, '../..', file), 'utf8'));
    const measured = read('docs/experiments/texture-by-dose.json');
    expect(parseModelCard(read('models/lowdose-ct.json'), '/x/lowdose-ct.json').quality['fullDoseTexture']).toEqual(measured.fullDoseTexture.card);
    for (const other of ['models/lowdose-pet.json', 'models/lowdose-ct-latent.json']) expect(read(other).quality.fullDoseTexture).toBeUndefined();
  });

  it('reads a quality.fullDoseTexture block and refuses a malformed one, naming each problem', () => {
    const row = { dose: 0.1, noiseVsFull: 0.11, npsPeakVsFull: -0.79, realisations: { count: 8, noiseVsFull: [0.09, 0.14], npsPeakVsFull: [-0.83, -0.76] } };
    const good = { measuredOn: 'water', command: 'npx tsx x.ts', rows: [row, { dose: 0.25, noiseVsFull: 0.04, npsPeakVsFull: 0.05 }] };
    const withBlock = (fullDoseTexture: unknown) => ({ ...structuredClone(perPixelCard), quality: { fullDoseTexture } }) as never;
    expect(parseModelCard(withBlock(good), '/x/card.json').quality['fullDoseTexture']).toEqual(good);
    const refused: Array<[unknown, RegExp]> = [
      ['table', /quality\.fullDoseTexture: expected \{/],
      [{ ...good, command: '' }, /quality\.fullDoseTexture\.command/],
      [{ ...good, rows: [] }, /quality\.fullDoseTexture\.rows: expected a non-empty list/],
      [{ ...good, rows: [{ ...row, dose: 0 }] }, /rows\[0\]\.dose: expected a dose fraction/],
      [{ ...good, rows: [{ ...row, npsPeakVsFull: '-79 %' }] }, /rows\[0\]\.npsPeakVsFull/],
      [{ ...good, rows: [{ dose: 0.1, noiseVsFull: 0.1 }] }, /rows\[0\]\.npsPeakVsFull/],
      [{ ...good, rows: [{ ...row, realisations: { ...row.realisations, npsPeakVsFull: [-0.76, -0.83] } }] }, /rows\[0\]\.realisations\.npsPeakVsFull: expected \[min, max\]/],
      [{ ...good, rows: [{ ...row, realisations: { ...row.realisations, count: 0 } }] }, /rows\[0\]\.realisations\.count/],
      [{ ...good, rows: [good.rows[1], row] }, /quality\.fullDoseTexture\.rows: expected rows in ascending dose/],
      [{ ...good, limits: { noise: 1 } }, /quality\.fullDoseTexture\.limits: unknown field/],
    ];
    for (const [block, message] of refused) expect(() => parseModelCard(withBlock(block), 'c.json')).toThrow(message);
  });

  it('reads a quality.passCost block and refuses a malformed one: a weight not above 0, an encoder on a pixel model, half an autoencoder, an unknown field', () => {
    const latentCard = JSON.parse(readFileSync(fixtureModel('per-pixel-latent'), 'utf8')) as Record<string, unknown>;
    const good = { network: 2.5, measuredOn: 'one thread', command: 'npx tsx scripts/bench/pass-cost.ts' };
    const withBlock = (card: Record<string, unknown>, passCost: unknown) => ({ ...structuredClone(card), quality: { passCost } }) as never;
    expect(parseModelCard(withBlock(perPixelCard, good), '/x/card.json').quality['passCost']).toEqual(good);
    const codec = { ...good, encoder: 0.01, decoder: 0.02 };
    expect(parseModelCard(withBlock(latentCard, codec), '/x/card.json').quality['passCost']).toEqual(codec);
    const refused: Array<[Record<string, unknown>, unknown, RegExp]> = [
      [perPixelCard, 4, /quality\.passCost: expected \{/],
      [perPixelCard, { ...good, network: 0 }, /quality\.passCost\.network: expected a weight > 0/],
      [perPixelCard, { ...good, network: '3x' }, /quality\.passCost\.network/],
      [perPixelCard, { ...good, command: '' }, /quality\.passCost\.command/],
      [perPixelCard, { ...good, encoder: 0.01 }, /quality\.passCost\.encoder: only a model with space "latent"/],
      [latentCard, { ...good, decoder: 0.01 }, /quality\.passCost\.encoder: required with the other half/],
      [latentCard, { ...codec, encoder: -1 }, /quality\.passCost\.encoder: expected a weight > 0/],
      [perPixelCard, { ...good, ms: 240 }, /quality\.passCost\.ms: unknown field/],
    ];
    for (const [card, block, message] of refused) expect(() => parseModelCard(withBlock(card, block), 'c.json')).toThrow(message);
  });

  it('reads a lowBand block and refuses a negative strength, a non-integer grid or an unknown filter', () => {
    const withBlock = (lowBand: unknown) => ({ ...structuredClone(perPixelCard), lowBand }) as never;
    expect(parseModelCard(withBlock({ strength: 1, factor: 8, filter: 'bilateral' }), '/x/card.json').lowBand).toEqual({ strength: 1, factor: 8, filter: 'bilateral' });
    expect(() => parseModelCard(withBlock({ strength: -1 }), 'c.json')).toThrow(/lowBand.strength/);
    expect(() => parseModelCard(withBlock({ strength: 1, factor: 2.5 }), 'c.json')).toThrow(/lowBand.factor/);
    expect(() => parseModelCard(withBlock({ strength: 1, filter: 'median' }), 'c.json')).toThrow(/lowBand.filter/);
  });

  it('reads the QA gate of a promotion (training.qaGate) and refuses a lost check without a reason', () => {
    const withGate = (qaGate: unknown) => ({ ...structuredClone(perPixelCard), training: { qaGate } }) as never;
    const gate = { baseline: 'models/eval/qa-ct.json', command: 'npx tsx scripts/train/qa-gate.ts --model c.json', lost: [], lostNotFirm: [], gained: ['acr/dose10/hu-error/bone'] };
    expect(parseModelCard(withGate(gate), 'c.json').training.qaGate).toEqual(gate);
    const accepted = { ...gate, lost: ['lcd/dose10/detectability-ratio/15mm-5-hu'], reason: 'the 15 mm disk is within its noise; the PSNR gain outweighs it' };
    expect(parseModelCard(withGate(accepted), 'c.json').training.qaGate).toEqual(accepted);
    expect(() => parseModelCard(withGate({ ...gate, lost: ['lcd/dose10/detectability-ratio/15mm-5-hu'] }), 'c.json')).toThrow(/training.qaGate.reason: 1 lost check/);
    expect(() => parseModelCard(withGate({ ...gate, lost: 'acr' }), 'c.json')).toThrow(/training.qaGate.lost: expected a list/);
    expect(() => parseModelCard(withGate({ ...gate, verdict: 'ok' }), 'c.json')).toThrow(/training.qaGate.verdict: unknown field/);
  });

  it('checks shapes within the card: condition channels follow neighbours, CT+PT needs a modality input', () => {
    const threeChannels = structuredClone(perPixelCard) as Record<string, any>;
    threeChannels.inputs.condition.shape = ['B', 3, 'H', 'W'];
    expect(() => parseModelCard(threeChannels, 'c.json')).toThrow(/inputs.condition.shape: dimension 1 must be 1 for neighbours 0/);
    const both = structuredClone(perPixelCard) as Record<string, any>;
    both.modalities = ['CT', 'PT'];
    expect(() => parseModelCard(both, 'c.json')).toThrow(/inputs.modality: required[\s\S]*normalization: a model for CT and PT needs/);
    const guided = structuredClone(perPixelCard) as Record<string, any>;
    delete guided.inputs.conditionMask;
    guided.guidance.default = 2;
    expect(() => parseModelCard(guided, 'c.json')).toThrow(/guidance.default: 2 needs an inputs.conditionMask/);
    const resshift = structuredClone(perPixelCard) as Record<string, any>;
    resshift.schedule = { kind: 'resshift', trainSteps: 15 };
    expect(() => parseModelCard(resshift, 'c.json')).toThrow(/sampler.default: a resshift schedule needs the resshift sampler[\s\S]*prediction: a resshift model must predict/);
  });

  it('fails with E_MODEL_MISMATCH naming each difference between card and graph', async () => {
    const renamed = await loadError(variant((c) => (c.inputs.sample.name = 'noisy')));
    expect(renamed.code).toBe('E_MODEL_MISMATCH');
    expect(renamed.message).toContain("inputs.sample names 'noisy', which is not a graph input (the graph's inputs: x_t, t, cond, dose, cond_mask)");
    expect(renamed.message).toContain("graph input 'x_t' is not described in the card's inputs");

    const channels = await loadError(
      variant((c) => {
        c.neighbours = 1;
        c.inputs.condition.shape = ['B', 3, 'H', 'W'];
      }),
    );
    expect(channels.code).toBe('E_MODEL_MISMATCH');
    expect(channels.message).toContain("inputs.condition 'cond': dimension 1 is 1 in the graph but 3 in the card");

    const missing = await loadError(variant((c) => delete c.inputs.doseLevel));
    expect(missing.message).toContain("graph input 'dose' is not described in the card's inputs");

    const output = await loadError(variant((c) => (c.output.name = 'eps')));
    expect(output.message).toContain("output names 'eps', which is not a graph output (the graph's outputs: out)");

    const dtype = await loadError(variant((c) => (c.inputs.timestep.dtype = 'int64')));
    expect(dtype.message).toContain("inputs.timestep 't': the graph has float32, the card int64");
  });

  it('checks ranks and fixed sizes against graph metadata', () => {
    const card = parseModelCard(perPixelCard, 'p.json');
    const graph = {
      inputs: [
        { name: 'x_t', type: 'float32', shape: ['B', 1, 64, 64] },
        { name: 't', type: 'float32', shape: ['B', 1] },
        { name: 'cond', type: 'float32', shape: null },
        { name: 'dose', type: 'float32', shape: ['B'] },
        { name: 'cond_mask', type: 'float32', shape: ['B'] },
      ],
      outputs: [{ name: 'out', type: 'float32', shape: ['B', 1, 'H', 'W'] }],
    };
    expect(() => checkCardAgainstGraph(card, graph, 'p.onnx')).toThrow(
      /dimension 2 is 64 in the graph but "H" in the card[\s\S]*inputs.timestep 't': the graph has rank 2/,
    );
  });

  it('rejects a card that is not JSON, and an ONNX file without a card', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-card-'));
    writeFileSync(path.join(dir, 'broken.json'), '{ "format": ');
    expect((await loadError(path.join(dir, 'broken.json'))).message).toMatch(/broken\.json: not valid JSON/);
    writeFileSync(path.join(dir, 'lonely.onnx'), readFileSync(path.join(FIXTURE_MODELS, 'per-pixel.onnx')));
    const lonely = await loadError(path.join(dir, 'lonely.onnx'));
    expect(lonely.code).toBe('E_MODEL');
    expect(lonely.message).toContain('has no model card');
  });
});

describe('finding models', () => {
  it('resolves bare names in the models folder, and paths to .json or .onnx', async () => {
    const byName = await resolveModelFiles('per-pixel', FIXTURE_MODELS);
    expect(byName.onnxPath).toBe(path.join(FIXTURE_MODELS, 'per-pixel.onnx'));
    const byOnnx = await resolveModelFiles(path.join(FIXTURE_MODELS, 'minimal.onnx'));
    expect(byOnnx.cardPath).toBe(path.join(FIXTURE_MODELS, 'minimal.json'));
    const model = await loadModel('per-pixel', { modelsDir: FIXTURE_MODELS, device: 'cpu' });
    expect(model.card.name).toBe('per-pixel');
    await model.release();
  });

  it('looks bare names up in a list of folders, the first that has the card winning', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'lowdose-models-'));
    const found = await resolveModelFiles('per-pixel', [empty, FIXTURE_MODELS, defaultModelsDir()]);
    expect(found.cardPath).toBe(path.join(FIXTURE_MODELS, 'per-pixel.json'));
    expect((await resolveModelFiles('lowdose-ct', [empty, FIXTURE_MODELS, defaultModelsDir()])).cardPath).toBe(path.join(defaultModelsDir(), 'lowdose-ct.json'));
    // An earlier folder's card of the same file name hides the later one's.
    writeFileSync(path.join(empty, 'lowdose-ct.json'), readFileSync(path.join(FIXTURE_MODELS, 'per-pixel.json')));
    expect((await resolveModelFiles('lowdose-ct', [empty, defaultModelsDir()])).card.name).toBe('per-pixel');
    await expect(resolveModelFiles('nope', [empty, FIXTURE_MODELS])).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: expect.stringContaining(`in ${empty}, ${FIXTURE_MODELS} (available: bench-conv,`),
    });
  });

  it('names the available models when a name is unknown', async () => {
    await expect(resolveModelFiles('nope', FIXTURE_MODELS)).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: expect.stringContaining('(available: bench-conv, minimal, oracle-epsilon-aggressive'),
    });
    expect(await listModelNames(FIXTURE_MODELS)).toContain('per-pixel-fixed32');
  });

  it('finds the package root and its models folder from the source location', () => {
    const root = packageRoot();
    expect(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).name).toBe('lowdose');
    expect(defaultModelsDir()).toBe(path.join(root, 'models'));
  });
});

describe('normalization', () => {
  const card = parseModelCard(JSON.parse(readFileSync(fixtureModel('per-pixel-neighbours'), 'utf8')), 'n.json');

  it('maps HU linearly and SUV through log1p, and back', () => {
    const ct = normalizationFor(card, 'CT');
    const pt = normalizationFor(card, 'PT');
    const hu = new Float32Array([-1000, 0, 40, 3000]);
    expect(Array.from(toModelSpace(ct, hu))).toEqual([-1, 0, Math.fround(0.04), 3]);
    expect(Array.from(fromModelSpace(ct, toModelSpace(ct, hu))).map((v) => Math.round(v * 1e3) / 1e3)).toEqual([-1000, 0, 40, 3000]);
    const suv = new Float32Array([0, 1, 2.5, 15]);
    const m = toModelSpace(pt, suv);
    expect(m[1]).toBeCloseTo(Math.log(2), 6);
    expect(m[3]).toBeCloseTo(Math.log(16), 6);
    const back = fromModelSpace(pt, m);
    for (let i = 0; i < 4; i++) expect(back[i]).toBeCloseTo(suv[i]!, 4);
  });

  it('clips to the card range both ways, and keeps log1p defined below zero', () => {
    const ct = normalizationFor(card, 'CT');
    expect(Array.from(toModelSpace(ct, new Float32Array([-3000, 5000])))).toEqual([Math.fround(-1.024), Math.fround(3.071)]);
    expect(Array.from(fromModelSpace(ct, new Float32Array([-9, 9])))).toEqual([-1024, 3071]);
    const noClip = { units: 'SUVbw', transform: 'log1p', offset: 0, scale: 1 } as const;
    const m = toModelSpace(noClip, new Float32Array([-0.5, 0.5]));
    expect(m[0]).toBeCloseTo(-Math.log(1.5), 6);
    expect(fromModelSpace(noClip, m)[0]).toBeCloseTo(-0.5, 6);
  });
});

describe('documentation', () => {
  it('the example card in the documentation is a valid card', () => {
    // docs/diffusion.md, or README.md once the section is merged there.
    const file = ['docs/diffusion.md', 'README.md'].map((f) => path.join(packageRoot(), f)).find((f) => existsSync(f) && readFileSync(f, 'utf8').includes('"format": "lowdose-model-card/1"'));
    expect(file).toBeDefined();
    const example = readFileSync(file!, 'utf8').match(/```json\n(\{\n\s*"format": "lowdose-model-card\/1"[\s\S]*?)\n```/);
    expect(example).not.toBeNull();
    const card = parseModelCard(JSON.parse(example![1]!), 'docs/diffusion.md');
    expect(card.name).toBe('lowdose-ct');
    expect(normalizationFor(card, 'CT').units).toBe('HU');
  });
});
