/**
 * What `lowdose phantom` does: renders a phantom (src/phantoms) and writes it as a DICOM series
 * (docs/contract.md), the built-in data that the demo, the fixtures and tests start from.
 */
import { writeVolumeSeries } from '../dicom/write-volume.js';
import { type AnyPhantomOptions, getPhantom } from '../phantoms/index.js';

export interface PhantomSeriesOptions extends AnyPhantomOptions {
  readonly outDir: string;
  readonly overwrite?: boolean;
  /** Derive UIDs and dates from this text: the same text writes the same bytes. */
  readonly uidSeed?: string;
  readonly progress?: (message: string) => void;
}

export interface PhantomSeriesResult {
  phantom: string;
  dir: string;
  files: string[];
  seriesInstanceUid: string;
  studyInstanceUid: string;
  frameOfReferenceUid: string;
  modality: 'CT' | 'PT';
  units: 'HU' | 'BQML';
  rows: number;
  columns: number;
  slices: number;
  spacing: [number, number, number];
  seed: number;
  /** Where the phantom's parts are, in the written series' patient coordinates (mm). */
  geometry: unknown;
}

/** A fixed moment for `uidSeed` output, so dates do not differ between runs. */
const FIXED_DATE = new Date(2024, 0, 1, 12, 0, 0);

/** Does the work of `lowdose phantom`: renders the phantom and writes it as one DICOM series. */
export async function runPhantom(name: string, options: PhantomSeriesOptions): Promise<PhantomSeriesResult> {
  const definition = getPhantom(name);
  const progress = options.progress ?? (() => {});
  const started = performance.now();
  progress(`rendering phantom ${name}`);
  const { volume, geometry, origin } = definition.generate(options);
  progress(`rendered ${volume.slices.length} slice(s) in ${Math.round(performance.now() - started)} ms; writing DICOM`);
  const seed = options.seed ?? definition.defaults.seed;
  const word = name.toUpperCase();
  const written = await writeVolumeSeries(volume, options.outDir, {
    patientName: `PHANTOM^${word}`,
    patientId: name === 'body' ? `PHANTOM-BODY-${seed}` : `PHANTOM-${word}`,
    studyDescription: `lowdose phantom ${name}`,
    origin,
    overwrite: options.overwrite,
    ...(options.uidSeed === undefined ? {} : { uidSeed: options.uidSeed, date: FIXED_DATE }),
  });
  return {
    phantom: name,
    dir: written.dir,
    files: written.files,
    seriesInstanceUid: written.seriesInstanceUid,
    studyInstanceUid: written.studyInstanceUid,
    frameOfReferenceUid: written.frameOfReferenceUid,
    modality: volume.modality,
    units: volume.units,
    rows: volume.rows,
    columns: volume.columns,
    slices: volume.slices.length,
    spacing: [volume.spacing[0], volume.spacing[1], volume.spacing[2]],
    seed,
    geometry,
  };
}
