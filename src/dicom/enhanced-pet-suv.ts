/**
 * SUVbw of Enhanced PET Image Storage (1.2.840.10008.5.1.4.1.1.130), one factor per frame
 * (modality value × factor = SUVbw), from the modules PS3.3 C.8.22 gives it; calculate-suv reads
 * none of them, and the classic rules (./suv.ts) would decay the dose to the wrong time.
 *
 *   SUVbw = Bq/ml × weight (g) / (dose (Bq) × 2^(-(t_dc - t_inj) / half-life))
 *
 * - t_dc, the time the pixels are decay-corrected to, is the Decay Correction DateTime (0018,9701)
 *   of the Enhanced PET Corrections Module (C.8.22.6): "the date and time to which all frames in
 *   this Image were decay corrected", so one time for every frame; frame times (Frame Content,
 *   PET Frame Acquisition) do not enter. It is Type 1C, required when Decay Corrected (0018,9758)
 *   is YES: YES without a readable DateTime is refused. Decay Corrected NO (each frame's activity
 *   at its own acquisition, spread over its duration) is refused too, as is a missing value: no
 *   time is made up for either. Attenuation Corrected (0018,9759) must be YES, as the classic rule
 *   asks ATTN of Corrected Image.
 * - t_inj and the dose are the Radiopharmaceutical Start DateTime (0018,1078) and Radionuclide
 *   Total Dose (0018,1074) of the Enhanced PET Isotope Module (C.8.22.4), whose dose is in MBq
 *   (the classic PET Isotope Module's is in Bq). A dose over 100 GBq read that way is refused as
 *   most likely written in Bq. A frame's Radiopharmaceutical Usage Sequence (0018,9737) picks the
 *   agent when the sequence holds several.
 * - The units are the frame's Real World Value Mapping (CID 84 "PET Units", UCUM): "Bq/ml" is
 *   scaled by the factor, "{SUVbw}g/ml" is SUVbw already (factor 1, nothing else needed), any other
 *   unit is refused. A mapping whose slope and intercept are not the frame's Rescale Slope and
 *   Intercept is refused (lowdose reads modality values through the rescale). Without a mapping,
 *   Units (0054,1001), then the Rescale Type (0028,1054), BQML or GML.
 * - PatientWeight (0010,1030), kg, as for every SUVbw.
 * - Each DT is a UTC instant (PS3.5 6.2): in its own offset (&ZZXX) when it has one, else in the
 *   file's Timezone Offset From UTC (0008,0201). When some of the DTs compared carry an offset and
 *   others do not, and the file has no Timezone Offset From UTC, the SUV is refused: the zone of
 *   those without one is the local time of whatever wrote them, which the file does not say.
 */
import { instantMs, instantsInFileZone } from './datetime-zone.js';
import type { EnhancedPetAgent, EnhancedPetAttributes, EnhancedPetFrame } from './enhanced-pet-attributes.js';

/** The largest Radionuclide Total Dose read as MBq; more is most likely a dose written in Bq. */
export const MAX_ENHANCED_DOSE_MBQ = 100_000;

export type EnhancedPetSuv =
  | {
      readonly ok: true;
      /** One factor per frame. */
      readonly factors: number[];
      /** The Decay Correction DateTime the dose was decayed to, as stored; '' when every frame was in SUVbw already. */
      readonly decayCorrectionDateTime: string;
      /** Units of the modality values: BQML (decay-corrected activity) or GML (SUVbw already). */
      readonly units: 'BQML' | 'GML';
      /** The dose decayed to (Bq), the agent's as stored in MBq × 10^6; NaN for GML. */
      readonly doseBq: number;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * A DICOM DT (YYYYMMDDHHMMSS.FFFFFF&ZZXX) as ms since 1970 UTC, NaN when unreadable: in its own
 * offset, else in `fileOffset` (Timezone Offset From UTC), else read as UTC.
 */
export function dicomDateTimeMs(value: string, fileOffset?: string): number {
  return instantMs(value, fileOffset);
}

type FrameUnits = { readonly units: 'BQML' | 'GML' } | { readonly refused: string };

const same = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b), 1e-30);

/** The units of a frame's modality values, or why they are not ones SUVbw can be made of. */
function frameUnits(frame: EnhancedPetFrame, unitsAttribute: string): FrameUnits {
  const rescale = { slope: frame.rescaleSlope, intercept: frame.rescaleIntercept };
  const mappings = frame.realWorldValueMappings;
  if (mappings.length > 0) {
    const usable = mappings.find((m) => m.units === 'Bq/ml') ?? mappings.find((m) => m.units === '{SUVbw}g/ml');
    if (usable === undefined) {
      const named = [...new Set(mappings.map((m) => `"${m.units}"`))].join(', ');
      return {
        refused:
          `its Real World Value Mapping (0040,9096) gives units ${named || '(none)'}, neither "Bq/ml" (decay-corrected activity) ` +
          'nor "{SUVbw}g/ml" (CID 84 "PET Units")',
      };
    }
    if (usable.lut) return { refused: `its Real World Value Mapping to "${usable.units}" is a LUT (0040,9212), which lowdose does not apply` };
    const slope = usable.slope ?? Number.NaN;
    const intercept = usable.intercept ?? Number.NaN;
    if (!same(slope, rescale.slope) || !(same(intercept, rescale.intercept) || Math.abs(intercept - rescale.intercept) <= 1e-9 * Math.abs(slope))) {
      return {
        refused:
          `its Real World Value Mapping to "${usable.units}" (slope ${slope}, intercept ${intercept}) is not its Rescale ` +
          `(slope ${rescale.slope}, intercept ${rescale.intercept}), and lowdose reads the values through the Rescale`,
      };
    }
    return { units: usable.units === 'Bq/ml' ? 'BQML' : 'GML' };
  }
  const stated = unitsAttribute !== '' ? unitsAttribute : frame.rescaleType;
  if (stated === 'BQML' || stated === 'GML') return { units: stated };
  return {
    refused:
      stated === ''
        ? 'it has no Real World Value Mapping (0040,9096), Units (0054,1001) or Rescale Type (0028,1054): its units are unknown'
        : `its units are ${stated} (no Real World Value Mapping (0040,9096)); SUVbw needs BQML or GML`,
  };
}

/** The agent a frame's activity comes from, or why it cannot be told. */
export function frameAgent(frame: EnhancedPetFrame, agents: readonly EnhancedPetAgent[]): EnhancedPetAgent | string {
  if (agents.length === 0) return 'the Radiopharmaceutical Information Sequence (0054,0016) is missing or empty';
  if (agents.length === 1) return agents[0]!;
  const named = [...new Set(frame.agentNumbers)];
  if (named.length !== 1) {
    return `the file describes ${agents.length} radiopharmaceuticals and the frame's Radiopharmaceutical Usage Sequence (0018,9737) names ${named.length === 0 ? 'none' : named.join(' and ')}`;
  }
  return agents.find((a) => a.number === named[0]) ?? `the frame names Radiopharmaceutical Agent Number ${named[0]}, which no item of the Radiopharmaceutical Information Sequence has`;
}

/**
 * The SUVbw factor of every frame of an Enhanced PET Image, or why there is none.
 * `unitsAttribute` is Units (0054,1001) upper case ('' when absent).
 */
export function enhancedPetSuvFactors(enhanced: EnhancedPetAttributes, unitsAttribute: string, patientWeightKg: number): EnhancedPetSuv {
  const frames = enhanced.frames;
  if (frames.length === 0) return { ok: false, reason: 'the file has no frames' };
  const units: ('BQML' | 'GML')[] = [];
  for (const [index, frame] of frames.entries()) {
    const found = frameUnits(frame, unitsAttribute);
    if ('refused' in found) return { ok: false, reason: `frame ${index + 1}: ${found.refused}` };
    units.push(found.units);
  }
  if (units.every((u) => u === 'GML')) return { ok: true, factors: frames.map(() => 1), decayCorrectionDateTime: '', units: 'GML', doseBq: Number.NaN };
  if (units.some((u) => u === 'GML')) return { ok: false, reason: 'some frames are in Bq/ml and others in SUVbw already' };

  if (enhanced.decayCorrected !== 'YES') {
    return {
      ok: false,
      reason:
        enhanced.decayCorrected === 'NO'
          ? 'Decay Corrected (0018,9758) is NO: each frame holds the activity during its own acquisition, and lowdose does not choose a time within each frame to decay the dose to'
          : `Decay Corrected (0018,9758) is ${enhanced.decayCorrected === '' ? 'missing' : enhanced.decayCorrected}; SUVbw needs YES with a Decay Correction DateTime (0018,9701)`,
    };
  }
  // As the classic rule (QIBA: Corrected Image has ATTN and DECY): no SUV of uncorrected activity.
  if (enhanced.attenuationCorrected !== 'YES') {
    return { ok: false, reason: `Attenuation Corrected (0018,9759) is ${enhanced.attenuationCorrected === '' ? 'missing' : enhanced.attenuationCorrected}; SUVbw needs YES` };
  }
  // Every DT the factors compare, in one time scale (see the header).
  const instants = instantsInFileZone([enhanced.decayCorrectionDateTime, ...enhanced.agents.map((a) => a.startDateTime)], enhanced.timezoneOffset);
  if ('mixed' in instants) return { ok: false, reason: `the Decay Correction DateTime and Radiopharmaceutical Start DateTime cannot be compared: ${instants.mixed}` };
  const reference = instants.ms[0]!;
  if (!Number.isFinite(reference)) {
    return {
      ok: false,
      reason:
        enhanced.decayCorrectionDateTime === ''
          ? 'Decay Corrected (0018,9758) is YES but the Decay Correction DateTime (0018,9701) the pixels are decay-corrected to is missing'
          : `Decay Correction DateTime (0018,9701) "${enhanced.decayCorrectionDateTime}" is not a readable date and time`,
    };
  }
  if (!(patientWeightKg > 0)) return { ok: false, reason: 'PatientWeight (0010,1030) is missing or zero' };

  const factors: number[] = [];
  let doseBq = Number.NaN;
  for (const [index, frame] of frames.entries()) {
    const agent = frameAgent(frame, enhanced.agents);
    if (typeof agent === 'string') return { ok: false, reason: `frame ${index + 1}: ${agent}` };
    if (!(agent.totalDoseMBq > 0)) return { ok: false, reason: 'Radionuclide Total Dose (0018,1074) is missing, empty or zero' };
    if (agent.totalDoseMBq > MAX_ENHANCED_DOSE_MBQ) {
      return {
        ok: false,
        reason:
          `Radionuclide Total Dose (0018,1074) is ${agent.totalDoseMBq}, which in MBq (the unit of the Enhanced PET Isotope Module) would be ` +
          `over ${MAX_ENHANCED_DOSE_MBQ / 1000} GBq; it looks written in Bq, and lowdose does not guess which`,
      };
    }
    if (!(agent.halfLife > 0)) return { ok: false, reason: 'Radionuclide Half Life (0018,1075) is missing or zero' };
    const injection = instants.ms[1 + enhanced.agents.indexOf(agent)]!;
    if (!Number.isFinite(injection)) {
      return {
        ok: false,
        reason: agent.startDateTime === '' ? 'Radiopharmaceutical Start DateTime (0018,1078) is missing' : `Radiopharmaceutical Start DateTime (0018,1078) "${agent.startDateTime}" is not readable`,
      };
    }
    const elapsed = (reference - injection) / 1000;
    if (elapsed < 0) {
      return {
        ok: false,
        reason: `the Decay Correction DateTime (0018,9701) ${enhanced.decayCorrectionDateTime} is before the Radiopharmaceutical Start DateTime (0018,1078) ${agent.startDateTime}`,
      };
    }
    doseBq = agent.totalDoseMBq * 1e6;
    factors.push((patientWeightKg * 1000) / (doseBq * 2 ** (-elapsed / agent.halfLife)));
  }
  return { ok: true, factors, decayCorrectionDateTime: enhanced.decayCorrectionDateTime.trim(), units: 'BQML', doseBq };
}
