/**
 * The reference frames a per-radiopharmaceutical test series is scored against. A multi-frame PET
 * source whose frames name different radiopharmaceuticals is read as one series (each frame with its
 * own agent's SUVbw factor) and written as one classic PET series per agent
 * (src/dicom/derived-pet-series.ts), each holding its agent as the only item of its
 * Radiopharmaceutical Information Sequence. Scored against the whole source, such a test would take
 * its PET range (and any slice paired by order) from the other agent's frames too: another tracer,
 * another quantity. `referenceOfTestAgent` keeps the reference's frames of the test's agent
 * (`lowdose metrics`, the viewer's comparisons); `sliceAgents` and `framesOfAgent` split a source
 * and its reference by agent (`denoise --reference`, ./reference.ts).
 */
import { getItems, getNumber, getString, TAG } from '../dicom/attributes.js';
import { cardiacGateComment, respiratoryGateComment } from '../dicom/derived-pet-frame.js';
import { frameAgent } from '../dicom/enhanced-pet-suv.js';
import { readDicomFile, readInstanceHeader, type Series } from '../dicom/index.js';
import { plannedDerivedSeries, type PlannedDerivedSeries } from '../dicom/write-derived.js';

const RADIOPHARMACEUTICAL_AGENT_NUMBER = 'x00189729';
const IMAGE_COMMENTS = 'x00204000';

/** The one Radiopharmaceutical Agent Number a test file states (its only radiopharmaceutical item), else null. */
async function statedAgent(file: string): Promise<number | null> {
  const items = getItems((await readDicomFile(file)).dataSet, TAG.RadiopharmaceuticalInformationSequence);
  if (items.length !== 1) return null;
  const agent = getNumber(items[0]!, RADIOPHARMACEUTICAL_AGENT_NUMBER, 'US');
  return agent !== undefined && Number.isInteger(agent) ? agent : null;
}

/**
 * The radiopharmaceutical of each slice of `series` (its frame's one Radiopharmaceutical Agent
 * Number; null where the frame names none or several), when `series` is multi-frame PET whose
 * files describe several radiopharmaceuticals (Enhanced PET, each frame's Radiopharmaceutical Usage
 * Sequence). Null for any other series (one agent, classic files, not PET).
 */
export async function sliceAgents(series: Series): Promise<Array<number | null> | null> {
  if (series.modality !== 'PT' || series.slices.length === 0) return null;
  const agentOf = new Map<string, (frame: number) => number | null>();
  for (const file of new Set(series.slices.map((s) => s.file))) {
    const enhanced = (await readInstanceHeader(file)).pet?.EnhancedPet;
    if (!enhanced || enhanced.agents.length < 2) return null;
    agentOf.set(file, (frame) => {
      const found = enhanced.frames[frame] ? frameAgent(enhanced.frames[frame], enhanced.agents) : null;
      return typeof found === 'object' && found !== null ? (found.number ?? null) : null;
    });
  }
  return series.slices.map((s) => agentOf.get(s.file)!(s.frame));
}

/**
 * `series`' slices of radiopharmaceutical `agent` (`sliceAgents`), as a series of its own; null when
 * `series` is not a multi-frame PET series of several agents or has no frame of that one.
 */
export async function framesOfAgent(series: Series, agent: number): Promise<Series | null> {
  const agents = await sliceAgents(series);
  if (!agents) return null;
  const slices = series.slices.filter((_, i) => agents[i] === agent);
  return slices.length === 0 ? null : { ...series, slices };
}

/** Whether two planned derived series hold the same agent and gates (by their numbers and what their frames state). */
export function sameDerivedPart(a: Omit<PlannedDerivedSeries, 'slices'>, b: Omit<PlannedDerivedSeries, 'slices'>): boolean {
  const gate = (g: { gate: number; gates: number; words?: string } | undefined) => (g ? `${g.gate}/${g.gates}/${g.words ?? ''}` : '');
  return a.agent === b.agent && gate(a.respiratoryGate) === gate(b.respiratoryGate) && gate(a.cardiacGate) === gate(b.cardiacGate);
}

/**
 * `series`' frames of one of the several series a multi-frame PET source is written as (one per
 * agent and respiratory gate, src/dicom/derived-pet-series.ts): those of `part`'s agent and gates,
 * as a series of its own; null when `series` is not written as several or has no such series.
 * What a written series is scored against, where the reference has the source's structure.
 */
export function framesOfPart(series: Series, part: Omit<PlannedDerivedSeries, 'slices'>): Series | null {
  const own = plannedDerivedSeries(series)?.find((p) => sameDerivedPart(p, part));
  return own && own.slices.length > 0 ? { ...series, slices: own.slices.map((i) => series.slices[i]!) } : null;
}

/**
 * `reference` less the frames of other radiopharmaceuticals than the one `test` holds, when the
 * reference's frames name several (Enhanced PET Radiopharmaceutical Usage Sequence) and every file
 * of the test states one agent, the same: that agent and the reference's slices of it; of those,
 * where the reference is split by gate and the test is one gate (`referenceOfTestGate`), the
 * frames of that gate only (`gate`: what the test's files state of it). Null
 * otherwise (a reference of one agent, a test of none or several), or when the reference has no
 * frame of that agent.
 */
export async function referenceOfTestAgent(reference: Series, test: Series): Promise<{ series: Series; agent: number; gate?: string } | null> {
  if (reference.modality !== 'PT' || test.modality !== 'PT' || test.slices.length === 0) return null;
  if (!(await sliceAgents(reference))) return null;
  const stated = new Set<number | null>();
  for (const file of new Set(test.slices.map((s) => s.file))) stated.add(await statedAgent(file));
  const agent = stated.size === 1 ? [...stated][0]! : null;
  if (agent === null) return null;
  const gated = await referenceOfTestGate(reference, test, agent);
  if (gated) return { ...gated, agent };
  const series = await framesOfAgent(reference, agent);
  return series ? { series, agent } : null;
}

/**
 * The reference's frames of `agent` and of the one gate every file of `test` states it holds, when
 * the reference's frames are planned into series per agent and gate (the source's structure,
 * src/dicom/derived-pet-series.ts): a gate lowdose wrote states it in its Image Comments
 * (src/dicom/derived-pet-frame.ts). Two gates share every slice position, so against the agent's
 * frames of both the test's slices would pair with either gate's. Null when the reference is not
 * split by gate or the test states none, or several.
 */
async function referenceOfTestGate(reference: Series, test: Series, agent: number): Promise<{ series: Series; gate: string } | null> {
  const parts = (plannedDerivedSeries(reference) ?? []).filter((part) => part.agent === agent && (part.respiratoryGate || part.cardiacGate));
  if (parts.length === 0) return null;
  const comments = await Promise.all([...new Set(test.slices.map((s) => s.file))].map(async (file) => (getString((await readDicomFile(file)).dataSet, IMAGE_COMMENTS) ?? '').split('; ')));
  const stated = parts.filter((part) => comments.every((items) => items.includes(gateComment(part))));
  if (stated.length !== 1) return null;
  const series = framesOfPart(reference, stated[0]!);
  return series ? { series, gate: gateComment(stated[0]!) } : null;
}

/** What a derived frame of `part`'s gate states in its Image Comments. */
function gateComment(part: Omit<PlannedDerivedSeries, 'slices'>): string {
  return part.respiratoryGate ? respiratoryGateComment(part.respiratoryGate) : cardiacGateComment(part.cardiacGate!);
}
