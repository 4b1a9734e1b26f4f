/**
 * The classic PET attributes a derived file needs so that a reader makes of it the SUVbw lowdose
 * made of its multi-frame PET source. ./write-derived.ts writes every frame as a single-frame PET
 * Image (1.2.840.10008.5.1.4.1.1.128) in the source's modality values; a classic reader
 * (calculate-suv, QIBA's pseudo-code) reads Units (0054,1001), DecayCorrection (0054,1102),
 * Corrected Image (0028,0051), the Series / Acquisition times and the PET Isotope Module's
 * radiopharmaceutical (dose in Bq) at the top level, where neither source class keeps them:
 *
 * - Enhanced PET (./enhanced-pet-suv.ts): Units BQML (GML for values mapped to {SUVbw}g/ml),
 *   DecayCorrection START with SeriesDate / SeriesTime the Decay Correction DateTime (0018,9701):
 *   the PET Series' date and time are the reference of its activity (PS3.3 C.8.9.1), and START
 *   decays the dose to them. AcquisitionDate / AcquisitionTime become that time too where they are
 *   missing or earlier (a reader decays to the earliest acquisition when it is earlier than the
 *   series time); the acquisition start stays in AcquisitionDateTime (0008,002A). Corrected Image
 *   lists the corrections flagged YES, and the frame's radiopharmaceutical is the only item of the
 *   sequence, its dose in Bq (the Enhanced PET Isotope Module's is in MBq) and its start time also
 *   as RadiopharmaceuticalStartTime.
 * - Legacy Converted Enhanced PET: the frame's classic attributes as lowdose read them from the
 *   Unassigned Converted Attributes Sequences (image-header.ts `LegacyFrames`), at the top level.
 */
import { dateTimeInFileZone, localDateAndTime } from './datetime-zone.js';
import { enhancedPetSuvFactors, frameAgent } from './enhanced-pet-suv.js';
import type { PetAttributes } from './image-header.js';
import { sortableDateTime } from './suv.js';
import { type DcmDataset, getString, getValues, setElement } from './write-dcmjs.js';
import { dsList } from './write-file.js';


function radiopharmaceuticalItem(
  from: DcmDataset | undefined,
  values: { startDateTime?: string; startTime?: string; doseBq: number; halfLife: number },
): DcmDataset {
  const item: DcmDataset = { ...(from ?? {}) };
  if (values.startDateTime) setElement(item, 'RadiopharmaceuticalStartDateTime', [values.startDateTime]);
  if (values.startTime) setElement(item, 'RadiopharmaceuticalStartTime', [values.startTime]);
  setElement(item, 'RadionuclideTotalDose', dsList([values.doseBq]));
  setElement(item, 'RadionuclideHalfLife', dsList([values.halfLife]));
  return item;
}

/** Sets the classic SUV attributes of frame `frame` of a multi-frame PET source on its derived `dataset`. */
export function setClassicPetSuvAttributes(dataset: DcmDataset, pet: PetAttributes, frame: number): void {
  const legacy = pet.LegacyFrames?.[frame];
  if (legacy !== undefined) {
    if (legacy.Units) setElement(dataset, 'Units', [legacy.Units]);
    if (legacy.DecayCorrection) setElement(dataset, 'DecayCorrection', [legacy.DecayCorrection]);
    if (legacy.CorrectedImage.length > 0) setElement(dataset, 'CorrectedImage', legacy.CorrectedImage);
    if (legacy.AcquisitionDate) setElement(dataset, 'AcquisitionDate', [legacy.AcquisitionDate]);
    if (legacy.AcquisitionTime) setElement(dataset, 'AcquisitionTime', [legacy.AcquisitionTime]);
    if (legacy.PatientWeight > 0) setElement(dataset, 'PatientWeight', dsList([legacy.PatientWeight]));
    const existing = getValues(dataset, 'RadiopharmaceuticalInformationSequence')?.[0] as DcmDataset | undefined;
    if (legacy.RadionuclideTotalDose > 0 && legacy.RadionuclideHalfLife > 0) {
      const item = radiopharmaceuticalItem(existing, {
        ...(legacy.RadiopharmaceuticalStartDateTime ? { startDateTime: legacy.RadiopharmaceuticalStartDateTime } : {}),
        ...(legacy.RadiopharmaceuticalStartTime ? { startTime: legacy.RadiopharmaceuticalStartTime } : {}),
        doseBq: legacy.RadionuclideTotalDose,
        halfLife: legacy.RadionuclideHalfLife,
      });
      setElement(dataset, 'RadiopharmaceuticalInformationSequence', [item]);
    }
    return;
  }
  const enhanced = pet.EnhancedPet;
  if (enhanced === undefined) return;
  const outcome = enhancedPetSuvFactors(enhanced, pet.Units, pet.PatientWeight);
  if (!outcome.ok) return;
  setElement(dataset, 'CorrectedImage', enhanced.corrections);
  setElement(dataset, 'Units', [outcome.units]);
  if (outcome.units === 'GML') return;
  // SeriesDate / SeriesTime, the reference, were set from the Decay Correction DateTime in the
  // file's time zone (./derived-pet-frame.ts), DecayCorrection START with them.
  const offset = getString(dataset, 'TimezoneOffsetFromUTC');
  const reference = localDateAndTime(outcome.decayCorrectionDateTime, offset);
  if (reference === null) return;
  const { date, time } = reference;
  setElement(dataset, 'DecayCorrection', ['START']);
  setElement(dataset, 'SeriesDate', [date]);
  setElement(dataset, 'SeriesTime', [time]);
  const acquired = sortableDateTime(getString(dataset, 'AcquisitionDate') ?? '', getString(dataset, 'AcquisitionTime') ?? '');
  if (acquired === '' || acquired < sortableDateTime(date, time)) {
    setElement(dataset, 'AcquisitionDate', [date]);
    setElement(dataset, 'AcquisitionTime', [time]);
  }
  const agent = frameAgent(enhanced.frames[frame]!, enhanced.agents);
  if (typeof agent === 'string') return;
  const items = (getValues(dataset, 'RadiopharmaceuticalInformationSequence') ?? []) as DcmDataset[];
  const index = enhanced.agents.indexOf(agent);
  const start = localDateAndTime(agent.startDateTime, offset);
  setElement(dataset, 'RadiopharmaceuticalInformationSequence', [
    radiopharmaceuticalItem(items.find((item) => agent.number !== undefined && Number(getString(item, 'RadiopharmaceuticalAgentNumber')) === agent.number) ?? items[index], {
      startDateTime: dateTimeInFileZone(agent.startDateTime, offset),
      ...(start ? { startTime: start.time } : {}),
      doseBq: agent.totalDoseMBq * 1e6,
      halfLife: agent.halfLife,
    }),
  ]);
}
