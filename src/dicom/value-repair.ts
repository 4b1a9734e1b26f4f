/**
 * Values that real archives hold and a DICOM writer must not write back as they are: ACR-NEMA
 * dates "1993.04.30", times "11:27:24", decimal strings of 20 digits, codes longer than 16
 * characters, UIDs over 64 characters. dcmjs refuses some of them when writing (the series then
 * failed with E_INTERNAL) and writes others that dcmtk warns about.
 *
 * THE RULE for values copied into a derived file: every string value must be valid for its VR
 * (PS3.5 6.2). A value that can be repaired without changing what it means is repaired (dates and
 * times reformatted, numbers rewritten in fewer digits, free text cut to its maximum length,
 * padding trimmed, a UID over 64 characters replaced by a UID hashed from it, the same in every
 * file); a
 * value that cannot (a code cut short would be another code, "1A" is no number, "1e309" no finite
 * one) is dropped, the attribute kept empty: all of its values, since the others' meaning depends
 * on their place (PixelSpacing "1e309\1" is not a spacing of 1). Each repair is reported (W_VALUE_REPAIRED, W_VALUE_DROPPED); the series is
 * never lost for a value.
 */
import { hashedUid } from './uid.js';
import type { DcmDataset, DcmElement } from './write-dcmjs.js';
import { formatDS } from './write-pixels.js';

export interface ValueRepair {
  /** "(0008,0020)". */
  readonly tag: string;
  readonly vr: string;
  readonly action: 'repaired' | 'dropped';
  /** What was wrong and what was done, e.g. `DA "1993.04.30" written as "19930430"`. */
  readonly detail: string;
}

/** Maximum lengths of the text VRs (PS3.5 Table 6.2-1), in characters. */
const MAX_CHARACTERS: Readonly<Record<string, number>> = {
  AE: 16,
  CS: 16,
  LO: 64,
  SH: 16,
  ST: 1024,
  LT: 10240,
};

type Outcome = { value: string; why?: string } | { drop: string };

const ok = (value: string): Outcome => ({ value });
const fixed = (value: string, why: string): Outcome => ({ value, why });
const drop = (why: string): Outcome => ({ drop: why });

const DS_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function checkValue(vr: string, raw: string): Outcome {
  const value = raw.replace(/\0+$/, '').trim();
  switch (vr) {
    case 'DA': {
      if (/^\d{8}$/.test(value) || value === '') return ok(value);
      const parts = /^(\d{4})[.\-/](\d{2})[.\-/](\d{2})$/.exec(value);
      if (parts) return fixed(`${parts[1]}${parts[2]}${parts[3]}`, 'DA is YYYYMMDD');
      return drop('not a date (YYYYMMDD)');
    }
    case 'TM': {
      const TM = /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/;
      if (TM.test(value) || value === '') return ok(value);
      // ACR-NEMA "HH:MM:SS", and fractions beyond the microseconds TM can hold.
      const noColons = value.replace(/:/g, '').replace(/^(\d{6}\.\d{6})\d+$/, '$1');
      if (TM.test(noColons)) return fixed(noColons, 'TM is HHMMSS.FFFFFF');
      return drop('not a time (HHMMSS.FFFFFF)');
    }
    case 'DT': {
      if (value === '' || (/^\d{4,14}(\.\d{1,6})?([+-]\d{4})?$/.test(value) && value.length <= 26)) return ok(value);
      return drop('not a date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX)');
    }
    case 'AS': {
      if (value === '' || /^\d{3}[DWMY]$/.test(value)) return ok(value);
      const age = /^(\d{1,2})([DWMY])$/.exec(value.toUpperCase());
      if (age) return fixed(`${age[1]!.padStart(3, '0')}${age[2]}`, 'AS is nnnD, nnnW, nnnM or nnnY');
      return drop('not an age (nnnD, nnnW, nnnM or nnnY)');
    }
    case 'DS': {
      if (value === '') return ok(value);
      if (!DS_PATTERN.test(value)) return drop('not a decimal number');
      // "1e309" has the form of a number and none of its use (a spacing of Infinity).
      if (!Number.isFinite(Number(value))) return drop('not a finite number');
      if (value.length <= 16) return ok(value);
      return fixed(formatDS(Number(value), 15).text, 'DS holds at most 16 characters');
    }
    case 'IS': {
      if (value === '') return ok(value);
      if (/^[+-]?\d{1,11}$/.test(value) && Math.abs(Number(value)) <= 2 ** 31 - 1) return ok(value);
      const n = Number(value);
      if (DS_PATTERN.test(value) && Number.isInteger(n) && Math.abs(n) <= 2 ** 31 - 1) return fixed(String(n), 'IS is an integer');
      return drop('not an integer');
    }
    case 'UI':
      return checkUid(value);
    case 'CS':
      // A code cut short would be another code: too long is dropped, not truncated.
      return value.length <= MAX_CHARACTERS.CS! ? ok(value) : drop(`a code of ${value.length} characters (CS holds at most 16)`);
    default: {
      const max = MAX_CHARACTERS[vr];
      if (max === undefined || raw.length <= max) return ok(raw);
      const cut = value.length <= max ? value : value.slice(0, max).trimEnd();
      return fixed(cut, `${vr} holds at most ${max} characters`);
    }
  }
}

/** Whether every value of `text` (backslash-separated) is valid for `vr` or repairable to it. */
export function stringValueFits(vr: string, text: string): boolean {
  const values = MULTI_VALUED_TEXT.has(vr) ? [text] : text.split('\\');
  return values.every((value) => !('drop' in checkValue(vr, value)));
}

/** Text VRs whose value is one string, backslashes included (PS3.5 6.2). */
const MULTI_VALUED_TEXT = new Set(['LT', 'ST', 'UT', 'UR']);

/**
 * A UID links files together (study, frame of reference, source image), so it is changed only
 * when it cannot be written at all: over 64 characters. It then becomes a UID hashed from it,
 * the same in every file. A shorter UID with other characters than digits and dots (anonymisers'
 * hex hashes) is kept: rewriting it would split the derived series from its study.
 */
function checkUid(value: string): Outcome {
  if (value.length <= 64) return ok(value);
  return fixed(repairedUid(value), 'a UID holds at most 64 characters');
}

/** The UID written for a source UID that cannot be written as it is (see checkUid). */
export function repairedUid(value: string): string {
  const uid = value.replace(/\0+$/, '').trim();
  return uid.length <= 64 ? uid : hashedUid('lowdose repaired UID', uid);
}

/** VRs whose values are strings this module checks. */
const CHECKED_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'SH', 'ST', 'TM', 'UI']);

/** Quoting values of the patient module or person names in a report would copy PHI into it. */
function quotable(tag: string, vr: string): boolean {
  return !tag.startsWith('0010') && vr !== 'PN';
}

function formatTag(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4, 8)})`;
}

/**
 * Repairs or drops the invalid string values of `dataset` and its sequences in place; returns what
 * it did. Only elements whose values change are touched (their `_rawValue` is dropped so that
 * dcmjs writes the new values).
 */
export function repairValues(dataset: DcmDataset): ValueRepair[] {
  const repairs: ValueRepair[] = [];
  for (const [tag, element] of Object.entries(dataset)) {
    if (element.vr === 'SQ') {
      for (const item of (element.Value ?? []) as DcmDataset[]) if (item && typeof item === 'object') repairs.push(...repairValues(item));
      continue;
    }
    if (element.vr === 'PN') {
      repairs.push(...repairPersonName(tag, element));
      continue;
    }
    if (!CHECKED_VRS.has(element.vr)) continue;
    repairs.push(...repairStrings(tag, element));
  }
  return repairs;
}

function repairStrings(tag: string, element: DcmElement): ValueRepair[] {
  const vr = element.vr;
  // What dcmjs would write: the raw strings as read when present, else the values.
  const written = (Array.isArray(element._rawValue) ? element._rawValue : element.Value ?? []) as unknown[];
  if (!written.every((v) => v === null || v === undefined || typeof v === 'string' || typeof v === 'number')) return [];
  const repairs: ValueRepair[] = [];
  let changed = false;
  const values: string[] = [];
  for (const original of written) {
    const text = original === null || original === undefined ? '' : String(original);
    const outcome = checkValue(vr, text);
    // Padding is trimmed silently (dcmjs pads again): "HEADER_CORRECTED " is a valid 16-character code.
    if ('value' in outcome && outcome.value !== text) changed = true;
    const shown = quotable(tag, vr) ? ` "${text.trim()}"` : '';
    if ('drop' in outcome) {
      changed = true;
      repairs.push({ tag: formatTag(tag), vr, action: 'dropped', detail: `${vr}${shown} dropped: ${outcome.drop}` });
      continue;
    }
    if (outcome.why !== undefined) {
      changed = true;
      const now = quotable(tag, vr) ? ` as "${outcome.value}"` : '';
      repairs.push({ tag: formatTag(tag), vr, action: 'repaired', detail: `${vr}${shown} written${now} (${outcome.why})` });
    }
    values.push(outcome.value);
  }
  if (changed) {
    element.Value = values.length === written.length ? values : [];
    delete element._rawValue;
  }
  return repairs;
}

/** PN: at most 64 characters per component group (alphabetic, ideographic, phonetic). */
function repairPersonName(tag: string, element: DcmElement): ValueRepair[] {
  let changed = false;
  const values = (element.Value ?? []).map((value) => {
    if (!value || typeof value !== 'object') return value;
    const name = { ...(value as Record<string, unknown>) };
    for (const group of ['Alphabetic', 'Ideographic', 'Phonetic']) {
      const text = name[group];
      if (typeof text === 'string' && text.length > 64) {
        name[group] = text.slice(0, 64);
        changed = true;
      }
    }
    return name;
  });
  if (!changed) return [];
  element.Value = values;
  delete element._rawValue;
  return [{ tag: formatTag(tag), vr: 'PN', action: 'repaired', detail: 'PN written cut to 64 characters per component group' }];
}
