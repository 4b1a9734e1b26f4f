/**
 * Third-generation fan-beam CT geometry: a point source on a circle around the isocentre and an
 * arc detector of equiangular channels centred on the source. Defaults are those of a common
 * 64-slice clinical scanner (GE LightSpeed VCT class: 541 mm source to isocentre, 949 mm source to
 * detector, 888 channels of 1.0239 mm at the detector, 984 views per rotation, quarter-detector
 * offset), which give a 50 cm scan field of view and 0.58 mm ray spacing at the isocentre.
 */
import { LowdoseError } from '../errors.js';

export interface FanBeamGeometry {
  /** Source to isocentre, mm. */
  readonly sourceToIsocenter: number;
  /** Source to detector arc, mm. */
  readonly sourceToDetector: number;
  /** Number of detector channels on the arc. */
  readonly channels: number;
  /** Channel pitch measured along the detector arc, mm. */
  readonly channelPitch: number;
  /** Views (projections) over one 360 degree rotation. */
  readonly views: number;
  /**
   * Offset of the central ray from the middle of the detector, in channels. 0.25 is the classic
   * quarter-detector offset: opposite views then sample interleaved rays.
   */
  readonly detectorOffset: number;
}

export const DEFAULT_FAN_BEAM: FanBeamGeometry = Object.freeze({
  sourceToIsocenter: 541,
  sourceToDetector: 949,
  channels: 888,
  channelPitch: 1.0239,
  views: 984,
  detectorOffset: 0.25,
});

export function resolveFanBeam(partial: Partial<FanBeamGeometry> = {}): FanBeamGeometry {
  const g = { ...DEFAULT_FAN_BEAM, ...partial };
  const positive = (name: keyof FanBeamGeometry) => {
    if (!(Number.isFinite(g[name]) && g[name] > 0)) {
      throw new LowdoseError('E_USAGE', `fan-beam geometry: ${name} must be a positive number, got ${g[name]}`);
    }
  };
  positive('sourceToIsocenter');
  positive('sourceToDetector');
  positive('channelPitch');
  if (!Number.isInteger(g.channels) || g.channels < 16) {
    throw new LowdoseError('E_USAGE', `fan-beam geometry: channels must be an integer >= 16, got ${g.channels}`);
  }
  if (!Number.isInteger(g.views) || g.views < 16) {
    throw new LowdoseError('E_USAGE', `fan-beam geometry: views must be an integer >= 16, got ${g.views}`);
  }
  if (g.sourceToDetector <= g.sourceToIsocenter) {
    throw new LowdoseError('E_USAGE', 'fan-beam geometry: the detector must lie beyond the isocentre');
  }
  if (!(Math.abs(g.detectorOffset) < g.channels / 4)) {
    throw new LowdoseError('E_USAGE', `fan-beam geometry: detectorOffset ${g.detectorOffset} is out of range`);
  }
  if (fanAngleStep(g) * (g.channels / 2 + Math.abs(g.detectorOffset)) >= Math.PI / 2) {
    throw new LowdoseError('E_USAGE', 'fan-beam geometry: the fan is wider than 180 degrees');
  }
  return Object.freeze(g);
}

/** Angle between neighbouring channels as seen from the source, rad. */
export function fanAngleStep(g: FanBeamGeometry): number {
  return g.channelPitch / g.sourceToDetector;
}

/** Channel index (fractional) of the central ray through the isocentre. */
export function centralChannel(g: FanBeamGeometry): number {
  return (g.channels - 1) / 2 + g.detectorOffset;
}

/** Fan angle of channel c (rad, positive towards higher channel numbers). */
export function channelAngle(g: FanBeamGeometry, c: number): number {
  return (c - centralChannel(g)) * fanAngleStep(g);
}

/** Angle of the source for view v: views start at 0 and go counter-clockwise. */
export function viewAngle(g: FanBeamGeometry, v: number): number {
  return (2 * Math.PI * v) / g.views;
}

/** Ray spacing at the isocentre, mm: the natural radial sampling of the rebinned parallel data. */
export function isocenterRaySpacing(g: FanBeamGeometry): number {
  return g.sourceToIsocenter * fanAngleStep(g);
}

/** Radius of the scan field of view (every view sees every point inside it), mm. */
export function scanFieldRadius(g: FanBeamGeometry): number {
  const c = centralChannel(g);
  const edge = Math.min(c, g.channels - 1 - c) * fanAngleStep(g);
  return g.sourceToIsocenter * Math.sin(edge);
}
