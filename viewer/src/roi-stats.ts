/**
 * The measurement table's numbers for the viewer: the shared arithmetic of
 * src/metrics/roi-shapes.ts (the API's `POST /api/measurements.csv` uses the same), so the page's
 * CSV and the API's agree.
 */
export * from '../../src/metrics/roi-shapes.js';
