/**
 * Fan-beam forward projection: the line integral of attenuation along every source-to-channel ray
 * of every view (Joseph's method, ./joseph.ts). The sinogram is row-major views x channels.
 */
import { LowdoseError } from '../errors.js';
import { channelAngle, viewAngle, type FanBeamGeometry } from './ct-geometry.js';
import { padImage, projectRay, supportClip, type PixelGrid } from './joseph.js';

/** Line integrals (unitless: per-mm attenuation times mm) of `mu` for each view and channel. */
export function projectFanBeam(grid: PixelGrid, mu: Float32Array, geometry: FanBeamGeometry): Float32Array {
  const { rows, columns, dx, dy } = grid;
  if (mu.length !== rows * columns) {
    throw new RangeError(`projectFanBeam: ${mu.length} values for a ${rows}x${columns} grid`);
  }
  const halfDiagonal = 0.5 * Math.hypot(rows * dy, columns * dx);
  if (halfDiagonal >= geometry.sourceToIsocenter) {
    throw new LowdoseError(
      'E_USAGE',
      `image of ${(columns * dx).toFixed(0)} x ${(rows * dy).toFixed(0)} mm does not fit inside the source circle ` +
        `(radius ${geometry.sourceToIsocenter} mm)`,
    );
  }
  const padded = padImage(grid, mu);
  const clip = supportClip(grid, mu);
  const { views, channels, sourceToIsocenter: radius } = geometry;
  const cosGamma = new Float64Array(channels);
  const sinGamma = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const gamma = channelAngle(geometry, c);
    cosGamma[c] = Math.cos(gamma);
    sinGamma[c] = Math.sin(gamma);
  }
  const sinogram = new Float32Array(views * channels);
  for (let v = 0; v < views; v++) {
    const beta = viewAngle(geometry, v);
    const cb = Math.cos(beta);
    const sb = Math.sin(beta);
    const sx = radius * cb;
    const sy = radius * sb;
    const row = v * channels;
    for (let c = 0; c < channels; c++) {
      // Direction from the source towards the isocentre, turned by the channel's fan angle.
      const ux = -(cb * cosGamma[c]! - sb * sinGamma[c]!);
      const uy = -(sb * cosGamma[c]! + cb * sinGamma[c]!);
      sinogram[row + c] = projectRay(grid, padded, sx, sy, ux, uy, clip);
    }
  }
  return sinogram;
}
