/**
 * The shared in-memory image types. Image math everywhere in lowdose is pure functions over
 * these: a row-major Float32Array in modality units (HU, SUV or Bq/ml) with its size and spacing.
 */
export interface Image2D {
  readonly rows: number;
  readonly columns: number;
  /** Row-major, `rows * columns` values. */
  readonly data: Float32Array;
  /** [row spacing, column spacing] in mm (DICOM PixelSpacing order). */
  readonly pixelSpacing: readonly [number, number];
  /**
   * 1 where the pixel is not image: padding (PixelPaddingValue) or, for CT, the out-of-field fill
   * outside the reconstruction circle (src/dicom/out-of-field.ts). Absent or null: every pixel is
   * image. Padded pixels keep their stored value in `data`; metrics leave them out and denoisers
   * pass them through unchanged.
   */
  readonly padding?: Uint8Array | null;
}

/** PET header facts needed to make SUV computable from Bq/ml. */
export interface PetDoseInfo {
  /** Injected activity at `injectionTime`, Bq. */
  readonly injectedDoseBq: number;
  readonly halfLifeSeconds: number;
  readonly patientWeightKg: number;
  readonly radionuclide: string;
  /** DICOM TM strings (HHMMSS.FFFFFF). */
  readonly injectionTime: string;
  readonly seriesTime: string;
}

/** A stack of parallel axial slices in one modality: what phantoms and simulators produce. */
export interface Volume {
  readonly modality: 'CT' | 'PT';
  /** Units of `slices`: HU for CT, Bq/ml (BQML) for PET. */
  readonly units: 'HU' | 'BQML';
  readonly rows: number;
  readonly columns: number;
  /** Each `rows * columns`, ordered from inferior to superior (increasing z). */
  readonly slices: Float32Array[];
  /** [row, column, slice] spacing in mm. */
  readonly spacing: readonly [number, number, number];
  /** Human description, becomes SeriesDescription. */
  readonly description: string;
  /** Required for PT volumes. */
  readonly pet?: PetDoseInfo;
}

export function sliceOf(volume: Volume, index: number): Image2D {
  return {
    rows: volume.rows,
    columns: volume.columns,
    data: volume.slices[index]!,
    pixelSpacing: [volume.spacing[0], volume.spacing[1]],
  };
}
