/**
 * The provenance line of a denoised pane (top right, under the series description; ./pane-overlay.ts):
 * which model or method and which lowdose version made the series on screen, and the first hex
 * digits of the model files' fingerprint ("lowdose-ct · lowdose 0.1.0 · model 03535c8f…"), from the
 * series' `provenance` (the lowdose item of its Contributing Equipment Sequence). Its tooltip has
 * the whole story: the same facts written out, when, and the series' DerivationDescription. Null,
 * and nothing shown, for a series that has no such item (written before lowdose recorded it, or by
 * other software).
 */
import type { SeriesDetail } from './api.js';

/** Hex digits of the model fingerprint on the line; the tooltip has every digit the file records (16). */
const SHA_SHOWN = 8;

export interface ProvenanceText {
  readonly line: string;
  readonly title: string;
}

export function provenanceText(series: Pick<SeriesDetail, 'provenance' | 'derivation'>): ProvenanceText | null {
  const p = series.provenance;
  if (!p) return null;
  const software = p.toolkitVersion ? `lowdose ${p.toolkitVersion}` : 'lowdose';
  const sha = p.modelSha256 ? `model ${p.modelSha256.slice(0, SHA_SHOWN)}${p.modelSha256.length > SHA_SHOWN ? '…' : ''}` : '';
  const line = [p.model, software, sha].filter(Boolean).join(' · ');
  const title = [
    `Made by ${software}${p.model ? `, ${p.model}` : ''}${p.modelSha256 ? ` (model files sha256 ${p.modelSha256}…)` : ''}`,
    p.contributionDateTime ? `on ${readableDateTime(p.contributionDateTime)}` : '',
    series.derivation.trim(),
  ]
    .filter(Boolean)
    .join('\n');
  return { line, title };
}

/** "2026-12-06T10:22:12.345+01:00" as "2026-12-06 10:22:12 +01:00": the clock time the file states, not converted. */
function readableDateTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}(?::\d{2}){0,2}))?(?:\.\d+)?([+-]\d{2}:\d{2})?$/.exec(iso);
  if (!m) return iso;
  return [m[1], m[2], m[3]].filter(Boolean).join(' ');
}
