/**
 * The viewer's ROI readout computed by the viewer's own code on a running `lowdose serve`, for the
 * independent check of scripts/dev/roi-audit.py (docs/viewer.md, "Independent audit of the ROI
 * readout"). For each case `{ uid, index, roi: { cx, cy, rx, ry } }` (SeriesInstanceUID, slice
 * index, ellipse in image pixels; `roi-audit.py prepare` writes them) it fetches the slice and the slices within 6 mm as the viewer does
 * (`GET /api/series/:id/slices/:i`, float32 blocks quantised onto int16 by `int16Pixels`), runs
 * `ellipseUptake` (viewer/src/uptake.ts: mean, SD, max, pixels, area, SUVpeak) and posts the same
 * ellipse to `POST /api/measurements.csv` (min, and the table's numbers). Prints JSON.
 *
 * Run (docs/viewer.md): npx tsx scripts/dev/roi-audit.ts http://127.0.0.1:8080 <data>/cases.json > viewer.json
 */
import { readFileSync } from 'node:fs';
import { shortId } from '../../src/server/ids.js';
import { int16Pixels, paddingMaskOf, unpackSlice } from '../../src/server/slice-codec.js';
import { ellipseUptake, sphereSlices, type Ellipse, type SliceValues } from '../../viewer/src/uptake.js';

interface Case {
  /** SeriesInstanceUID: the API's id is its `shortId`. */
  readonly uid: string;
  readonly index: number;
  readonly roi: Ellipse;
}

const [base, casesFile] = process.argv.slice(2);
if (!base || !casesFile) throw new Error('usage: npx tsx scripts/dev/roi-audit.ts <server url> <cases.json>');
const cases = JSON.parse(readFileSync(casesFile, 'utf8')) as Case[];

async function main(): Promise<void> {
  const out: unknown[] = [];
  for (const c of cases) {
    const series = shortId('series', c.uid);
    const info = (await (await fetch(`${base}/api/series/${series}`)).json()) as { locations: (number | null)[]; rev: string; units: string };
    const load = async (slice: number, location: number | null): Promise<SliceValues> => {
      const response = await fetch(`${base}/api/series/${series}/slices/${slice}?v=${encodeURIComponent(info.rev)}`);
      const { header, pixels } = unpackSlice(new Uint8Array(await response.arrayBuffer()));
      const stored = int16Pixels(header, pixels);
      return {
        rows: header.rows,
        columns: header.columns,
        value: (i) => stored.pixels[i]! * stored.slope + stored.intercept,
        pixelSpacing: [header.spacing[0], header.spacing[1]],
        location,
        padding: paddingMaskOf(header.padding, header.rows * header.columns) ?? null,
      };
    };
    const sphere = sphereSlices(info.locations, null, c.index);
    const current = await load(c.index, sphere?.location ?? null);
    const near = await Promise.all((sphere?.near ?? []).map((n) => load(n.slice, n.location)));
    const uptake = ellipseUptake(current, c.roi, sphere ? [current, ...near] : null, sphere?.edges ?? null);
    const body = { series, index: c.index, measurements: [{ name: 'R1', shape: { kind: 'ellipse', ellipse: c.roi } }] };
    const csv = await (await fetch(`${base}/api/measurements.csv`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();
    const [names, row] = csv.split('\n') as [string, string];
    const table = Object.fromEntries(names.split(',').map((name, k) => [name, row.split(',')[k]]));
    out.push({ ...c, units: info.units, uptake, table });
  }
  console.log(JSON.stringify(out, null, 1));
}

await main();
