/**
 * DICOM DT values (YYYYMMDDHHMMSS.FFFFFF&ZZXX) moved into one time zone, for a file whose classic
 * DA / TM attributes cannot carry an offset. PS3.5 6.2: a DT without its own offset is in the
 * offset of Timezone Offset From UTC (0008,0201) where the file has one, else in local time; so a
 * derived file whose times come from DTs with offsets gets each of them as wall-clock time in one
 * offset, and that offset as its TimezoneOffsetFromUTC. A DT without an offset is taken as it
 * stands: it already is in the file's offset.
 */

const DT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?([+-]\d{4})?$/;

export interface ZonedDateTime {
  /** Wall-clock time as ms since 1970 read as UTC (no offset applied). */
  readonly wallMs: number;
  /** The DT's own offset in minutes east of UTC, null when it has none. */
  readonly offsetMinutes: number | null;
}

/** A DICOM DT down to the second (an offset allowed); null when it is not one. */
export function parseDicomDateTime(value: string): ZonedDateTime | null {
  const m = DT.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  const wallMs = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s)) + Number(`0.${fraction || '0'}`) * 1000;
  return { wallMs, offsetMinutes: zone === undefined ? null : offsetMinutes(zone) };
}

/** "+0100" → 60, "-0430" → -270; NaN when not an offset. */
export function offsetMinutes(zone: string): number {
  const m = /^([+-])(\d{2})(\d{2})$/.exec(zone.trim());
  if (!m) return Number.NaN;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** 60 → "+0100". */
export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`;
}

/** The wall-clock time of `dt` in the offset `targetMinutes` (unchanged when the DT has no offset or no target is given). */
export function wallClockIn(dt: ZonedDateTime, targetMinutes: number | null): number {
  if (dt.offsetMinutes === null || targetMinutes === null) return dt.wallMs;
  return dt.wallMs - dt.offsetMinutes * 60_000 + targetMinutes * 60_000;
}

/** A wall-clock ms value as DA and TM (TM to the microsecond, trailing zeros of the fraction dropped). */
export function dateAndTime(wallMs: number): { date: string; time: string } {
  let seconds = Math.floor(wallMs / 1000);
  let micros = Math.round((wallMs - seconds * 1000) * 1000);
  if (micros >= 1_000_000) {
    seconds += 1;
    micros -= 1_000_000;
  }
  const t = new Date(seconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const fraction = micros === 0 ? '' : `.${p(micros, 6)}`.replace(/0+$/, '');
  return {
    date: `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}`,
    time: `${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}${fraction}`,
  };
}

/**
 * `dt` as the DA and TM of a file whose Timezone Offset From UTC (0008,0201) is `fileOffset`
 * (its text, '' or undefined when it has none); null when `dt` is not a readable DT.
 */
export function localDateAndTime(dt: string, fileOffset: string | undefined): { date: string; time: string } | null {
  const parsed = parseDicomDateTime(dt);
  if (parsed === null) return null;
  const target = fileOffset ? offsetMinutes(fileOffset) : Number.NaN;
  return dateAndTime(wallClockIn(parsed, Number.isFinite(target) ? target : null));
}

/** `dt` in ms since 1970 (UTC), a DT without an offset read in `fileOffset` ('' / undefined: as UTC); NaN when unreadable. */
export function instantMs(dt: string, fileOffset?: string): number {
  const parsed = parseDicomDateTime(dt);
  if (parsed === null) return Number.NaN;
  const own = parsed.offsetMinutes ?? (fileOffset ? offsetMinutes(fileOffset) : 0);
  return parsed.wallMs - (Number.isFinite(own) ? own : 0) * 60_000;
}

/**
 * `dt` rewritten as the wall-clock time of the file's offset `fileOffset`, without a suffix: the
 * same instant (PS3.5: a DT without an offset is in Timezone Offset From UTC), which readers that
 * do not parse offsets (calculate-suv reads "+0100" as part of the seconds) read right too; as it
 * stands when it has no offset of its own or the file has none.
 */
export function dateTimeInFileZone(dt: string, fileOffset: string | undefined): string {
  const parsed = parseDicomDateTime(dt);
  const target = fileOffset ? offsetMinutes(fileOffset) : Number.NaN;
  if (parsed === null || parsed.offsetMinutes === null || !Number.isFinite(target)) return dt.trim();
  const { date, time } = dateAndTime(wallClockIn(parsed, target));
  return `${date}${time}`;
}

/**
 * DTs compared with one another (an elapsed time), each as a UTC instant in ms: a DT with its own
 * offset in that offset, one without in the file's Timezone Offset From UTC `fileOffset` (PS3.5
 * 6.2). Without a readable `fileOffset`, DTs that all lack an offset are in one (unknown) local
 * zone, and are read in the same one, so their differences hold; but some with an offset and some
 * without cannot be compared (the local zone of those without is not known): `mixed` names them.
 * An unreadable DT is NaN.
 */
export function instantsInFileZone(dts: readonly string[], fileOffset: string | undefined): { readonly ms: number[] } | { readonly mixed: string } {
  const zone = fileOffset ? offsetMinutes(fileOffset) : Number.NaN;
  const parsed = dts.map(parseDicomDateTime);
  if (!Number.isFinite(zone)) {
    const zoned = dts.filter((_, i) => parsed[i] != null && parsed[i].offsetMinutes !== null);
    const local = dts.filter((_, i) => parsed[i] != null && parsed[i].offsetMinutes === null);
    if (zoned.length > 0 && local.length > 0) {
      return {
        mixed:
          `${zoned.map((t) => `"${t.trim()}"`).join(', ')} carr${zoned.length === 1 ? 'ies' : 'y'} a UTC offset and ${local.map((t) => `"${t.trim()}"`).join(', ')} ` +
          `do${local.length === 1 ? 'es' : ''} not, and the file has ${fileOffset ? `an unreadable Timezone Offset From UTC (0008,0201) "${fileOffset}"` : 'no Timezone Offset From UTC (0008,0201)'} ` +
          'to say which zone those without one are in (PS3.5 6.2)',
      };
    }
  }
  return { ms: parsed.map((p) => (p === null ? Number.NaN : p.wallMs - (p.offsetMinutes ?? (Number.isFinite(zone) ? zone : 0)) * 60_000)) };
}
