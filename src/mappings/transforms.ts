// Value transforms the mapping language offers. Exact by construction: money stays a decimal string
// (never a float), dates and times are validated, and a timestamp always carries its offset.

export class TransformError extends Error {
  constructor(readonly code: 'MAP_BAD_DATE' | 'MAP_BAD_TIME' | 'MAP_BAD_DECIMAL' | 'MAP_BAD_TIMEZONE', message: string) {
    super(message);
  }
}

/** X12 DT (CCYYMMDD, or YYMMDD with a 50-year pivot), or an ISO date YYYY-MM-DD -> YYYY-MM-DD. */
export function x12Date(v: string): string {
  // Fast path for the common CCYYMMDD: no regex, no Date object.
  if (v.length === 8 && allDigits(v)) {
    const y = digitsAt(v, 0, 4), m = digitsAt(v, 4, 2), d = digitsAt(v, 6, 2);
    if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) throw new TransformError('MAP_BAD_DATE', `'${v}' is not a calendar date`);
    // One string from the char codes: joining slices copied every short piece and every partial result.
    return String.fromCharCode(v.charCodeAt(0), v.charCodeAt(1), v.charCodeAt(2), v.charCodeAt(3), 0x2d,
      v.charCodeAt(4), v.charCodeAt(5), 0x2d, v.charCodeAt(6), v.charCodeAt(7));
  }
  let y: number, m: number, d: number;
  if (/^\d{8}$/.test(v)) [y, m, d] = [+v.slice(0, 4), +v.slice(4, 6), +v.slice(6, 8)];
  else if (/^\d{4}-\d{2}-\d{2}$/.test(v)) [y, m, d] = [+v.slice(0, 4), +v.slice(5, 7), +v.slice(8, 10)];
  else if (/^\d{6}$/.test(v)) {
    const yy = +v.slice(0, 2);
    [y, m, d] = [yy < 50 ? 2000 + yy : 1900 + yy, +v.slice(2, 4), +v.slice(4, 6)];
  } else throw new TransformError('MAP_BAD_DATE', `'${v}' is not a date (CCYYMMDD, YYMMDD or YYYY-MM-DD)`);
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) {
    throw new TransformError('MAP_BAD_DATE', `'${v}' is not a calendar date`);
  }
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** X12 TM (HHMM, HHMMSS, HHMMSSD..) or HH:MM[:SS] -> HH:MM:SS (fractions of a second dropped). */
export function x12Time(raw: string): string {
  if ((raw.length === 4 || raw.length === 6) && allDigits(raw)) {
    const h = digitsAt(raw, 0, 2), m = digitsAt(raw, 2, 2), sec = raw.length === 6 ? digitsAt(raw, 4, 2) : 0;
    if (h > 23 || m > 59 || sec > 59) throw new TransformError('MAP_BAD_TIME', `'${raw}' is not a valid time of day`);
    const s1 = raw.length === 6 ? raw.charCodeAt(4) : 0x30;
    const s2 = raw.length === 6 ? raw.charCodeAt(5) : 0x30;
    return String.fromCharCode(raw.charCodeAt(0), raw.charCodeAt(1), 0x3a, raw.charCodeAt(2), raw.charCodeAt(3), 0x3a, s1, s2);
  }
  // HH:MM[:SS] (CSV, XML) is read as the X12 form HHMM[SS].
  const v = /^\d{2}:\d{2}(:\d{2})?$/.test(raw) ? raw.replace(/:/g, '') : raw;
  if (!/^\d{4}(\d{2}(\d{1,2})?)?$/.test(v)) throw new TransformError('MAP_BAD_TIME', `'${raw}' is not a time (HHMM[SS[D[D]]] or HH:MM[:SS])`);
  const h = +v.slice(0, 2), m = +v.slice(2, 4), s = v.length >= 6 ? +v.slice(4, 6) : 0;
  if (h > 23 || m > 59 || s > 59) throw new TransformError('MAP_BAD_TIME', `'${raw}' is not a valid time of day`);
  return `${v.slice(0, 2)}:${v.slice(2, 4)}:${String(s).padStart(2, '0')}`;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** The tokens of a date `format:`, longest first (so that MMM is not read as MM + M). */
export const DATE_FORMAT_TOKENS = ['YYYY', 'MMM', 'YY', 'MM', 'DD', 'M', 'D'] as const;
/** The tokens of a time `format:`: 24-hour HH/H, 12-hour hh/h with `a` (AM/PM), minutes, seconds. */
export const TIME_FORMAT_TOKENS = ['HH', 'hh', 'mm', 'ss', 'H', 'h', 'a'] as const;

const TOKEN_PATTERN: Record<string, string> = {
  YYYY: '(\\d{4})', YY: '(\\d{2})', MMM: '([A-Za-z]{3})', MM: '(\\d{2})', M: '(\\d{1,2})', DD: '(\\d{2})', D: '(\\d{1,2})',
  HH: '(\\d{2})', H: '(\\d{1,2})', hh: '(\\d{2})', h: '(\\d{1,2})', mm: '(\\d{2})', ss: '(\\d{2})', a: '([AaPp][Mm])',
};

/**
 * A partner's own date or time layout (`format: MM/DD/YYYY`, `format: h:mm a`): tokens from
 * DATE_FORMAT_TOKENS or TIME_FORMAT_TOKENS, anything else literal. Compiled once; the parser gives
 * YYYY-MM-DD or HH:MM:SS, or throws MAP_BAD_DATE / MAP_BAD_TIME. An error message when the layout is wrong.
 */
export function compileFormat(kind: 'date' | 'time', format: string): { parse: (v: string) => string } | { error: string } {
  const tokens: readonly string[] = kind === 'date' ? DATE_FORMAT_TOKENS : TIME_FORMAT_TOKENS;
  const order: string[] = [];
  let re = '';
  for (let i = 0; i < format.length;) {
    const tok = tokens.find((t) => format.startsWith(t, i));
    if (tok) {
      if (order.includes(tok)) return { error: `'${tok}' appears twice in format '${format}'` };
      order.push(tok);
      re += TOKEN_PATTERN[tok];
      i += tok.length;
    } else {
      re += format[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  const has = (...ts: string[]) => ts.some((t) => order.includes(t));
  if (kind === 'date') {
    if (!has('YYYY', 'YY') || !has('MMM', 'MM', 'M') || !has('DD', 'D')) {
      return { error: `a date format needs a year (YYYY or YY), a month (MM, M or MMM) and a day (DD or D); got '${format}'` };
    }
  } else {
    if (!has('HH', 'H', 'hh', 'h') || !has('mm')) return { error: `a time format needs an hour (HH, H, hh or h) and minutes (mm); got '${format}'` };
    if (has('hh', 'h') !== has('a')) return { error: `a 12-hour format (hh or h) goes with 'a' (AM/PM), and 'a' with hh or h; got '${format}'` };
    if (has('HH', 'H') && has('hh', 'h')) return { error: `a time format has either a 24-hour (HH, H) or a 12-hour (hh, h) hour; got '${format}'` };
  }
  const matcher = new RegExp(`^${re}$`);
  const at = (m: RegExpExecArray, ...ts: string[]): string | undefined => {
    for (const t of ts) {
      const k = order.indexOf(t);
      if (k >= 0) return m[k + 1];
    }
    return undefined;
  };
  if (kind === 'date') {
    return {
      parse(v) {
        const m = matcher.exec(v);
        if (!m) throw new TransformError('MAP_BAD_DATE', `'${v}' does not match the date format '${format}'`);
        const yText = at(m, 'YYYY', 'YY')!;
        const y = yText.length === 4 ? +yText : (+yText < 50 ? 2000 : 1900) + +yText;
        const monthName = at(m, 'MMM');
        const mo = monthName !== undefined ? MONTHS.indexOf(monthName.toUpperCase()) + 1 : +at(m, 'MM', 'M')!;
        const d = +at(m, 'DD', 'D')!;
        if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw new TransformError('MAP_BAD_DATE', `'${v}' is not a calendar date`);
        return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
      },
    };
  }
  return {
    parse(v) {
      const m = matcher.exec(v);
      if (!m) throw new TransformError('MAP_BAD_TIME', `'${v}' does not match the time format '${format}'`);
      let h = +at(m, 'HH', 'H', 'hh', 'h')!;
      const half = at(m, 'a');
      if (half !== undefined) {
        if (h < 1 || h > 12) throw new TransformError('MAP_BAD_TIME', `'${v}' is not a valid time of day`);
        h = (h % 12) + (half.toUpperCase() === 'PM' ? 12 : 0);
      }
      const min = +at(m, 'mm')!;
      const sec = +(at(m, 'ss') ?? 0);
      if (h > 23 || min > 59 || sec > 59) throw new TransformError('MAP_BAD_TIME', `'${v}' is not a valid time of day`);
      return `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
    },
  };
}

function allDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

const FIXED_OFFSET = /^[+-](0\d|1[0-4]):[0-5]\d$/;
const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Offsets of a zone by 15-minute bucket: zone offsets only change on quarter hours, and Intl is slow
 * enough to dominate translation when called twice per timestamp. Numeric keys per zone: building a
 * string key per lookup showed in the profile too.
 */
const offsetCache = new Map<string, Map<number, number>>();
const QUARTER_HOUR = 15 * 60_000;
const DAY = 86_400_000;

/**
 * Offsets of a zone by UTC day, asked first: the offset at the day's first and last millisecond when they
 * agree (no zone changes its offset twice within a day), NaN on a day of change, which the quarter-hour
 * buckets then answer. A month of timestamps costs about 60 Intl calls this way instead of about 3,000
 * (one per bucket), which showed in the first seconds of a translation.
 */
const dayOffsetCache = new Map<string, Map<number, number>>();

/** The zone's own map in one of the offset caches. */
function perZone(cache: Map<string, Map<number, number>>, zone: string): Map<number, number> {
  let byZone = cache.get(zone);
  if (!byZone) {
    byZone = new Map();
    cache.set(zone, byZone);
  }
  return byZone;
}

/** The UTC offset in minutes of an IANA zone at the instant `utcMillis`. */
function zoneOffsetAt(zone: string, utcMillis: number): number {
  const byDay = perZone(dayOffsetCache, zone);
  const day = Math.floor(utcMillis / DAY);
  let whole = byDay.get(day);
  if (whole === undefined) {
    const first = computeZoneOffset(zone, day * DAY);
    whole = first === computeZoneOffset(zone, day * DAY + DAY - 1) ? first : Number.NaN;
    if (byDay.size > 50_000) byDay.clear(); // bounded: a long run over many dates
    byDay.set(day, whole);
  }
  return Number.isNaN(whole) ? bucketOffsetAt(zone, utcMillis) : whole;
}

/** The offset by quarter-hour bucket (offsetCache), for instants on a day the offset changes. */
function bucketOffsetAt(zone: string, utcMillis: number): number {
  const byBucket = perZone(offsetCache, zone);
  const bucket = Math.floor(utcMillis / QUARTER_HOUR);
  let cached = byBucket.get(bucket);
  if (cached === undefined) {
    cached = computeZoneOffset(zone, utcMillis);
    if (byBucket.size > 50_000) byBucket.clear(); // bounded: a long run over many dates
    byBucket.set(bucket, cached);
  }
  return cached;
}

function computeZoneOffset(zone: string, utcMillis: number): number {
  let fmt = offsetFormatters.get(zone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      throw new TransformError('MAP_BAD_TIMEZONE', `unknown time zone '${zone}'`);
    }
    offsetFormatters.set(zone, fmt);
  }
  const name = fmt.formatToParts(new Date(utcMillis)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (+m[2] * 60 + +m[3]) : 0;
}

const offsetTexts = new Map<number, string>();

function formatOffset(minutes: number): string {
  let text = offsetTexts.get(minutes);
  if (text === undefined) {
    const sign = minutes < 0 ? '-' : '+';
    const a = Math.abs(minutes);
    text = `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
    offsetTexts.set(minutes, text);
  }
  return text;
}

/** Fixed offsets (-05:00) in minutes by zone text, null for IANA names: one regex test per zone, not per value. */
const fixedOffsets = new Map<string, number | null>();

function fixedOffset(zone: string): number | null {
  let m = fixedOffsets.get(zone);
  if (m === undefined) {
    m = FIXED_OFFSET.test(zone) ? (zone[0] === '-' ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6)) : null;
    if (fixedOffsets.size > 1000) fixedOffsets.clear();
    fixedOffsets.set(zone, m);
  }
  return m;
}

/** The number written in `s` from `start` for `length` digits (callers pass validated digits). */
function digitsAt(s: string, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/** Is `zone` usable: an IANA zone name or a fixed offset like -05:00. */
export function isValidZone(zone: string): boolean {
  if (FIXED_OFFSET.test(zone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A wall-clock date and time in `zone` (an IANA name such as America/Chicago, or a fixed offset such as
 * -06:00) -> ISO 8601 with the offset in force there and then (daylight saving included). Where a
 * daylight-saving change makes the wall time ambiguous or skips it, the rule is the one java.time and
 * Temporal call "compatible": of a time that happens twice (the hour the clocks fall back) the earlier;
 * a time that never happens (the hour they spring forward) is moved forward by the gap, so 02:30 on the
 * night Chicago goes from 02:00 CST to 03:00 CDT is 03:30-05:00, the instant 02:30 CST would have been.
 */
export function zonedIso(date: string, time: string, zone: string): string {
  // date is YYYY-MM-DD and time HH:MM:SS, as x12Date and x12Time return them.
  let offset = fixedOffset(zone);
  if (offset === null) {
    const wallAsUtc = Date.UTC(digitsAt(date, 0, 4), digitsAt(date, 5, 2) - 1, digitsAt(date, 8, 2), digitsAt(time, 0, 2), digitsAt(time, 3, 2), digitsAt(time, 6, 2));
    offset = zoneOffsetAt(zone, wallAsUtc);
    // The offset at the instant that offset names; when they agree and no change of offset is near that
    // instant (the cached whole-day offsets say so), that is the answer.
    const instant = wallAsUtc - offset * 60_000;
    if (zoneOffsetAt(zone, instant) !== offset || changesNear(zone, instant)) {
      const settled = settleWall(zone, wallAsUtc);
      offset = settled.offset;
      if (settled.shiftedWall !== undefined) {
        const moved = new Date(settled.shiftedWall).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
        return joinIso(moved.slice(0, 10), moved.slice(11, 19) + time.slice(8), formatOffset(offset));
      }
    }
  }
  return joinIso(date, time, offset === 0 && zone === 'UTC' ? 'Z' : formatOffset(offset));
}

/** Hours around an instant in which a change of offset makes a wall time near it ambiguous or skipped. */
const CHANGE_WINDOW = 3 * 3_600_000;

/** Whether the zone's offset changes on the UTC days within CHANGE_WINDOW of `utcMillis` (the day cache's NaN). */
function changesNear(zone: string, utcMillis: number): boolean {
  const first = Math.floor((utcMillis - CHANGE_WINDOW) / DAY);
  const last = Math.floor((utcMillis + CHANGE_WINDOW) / DAY);
  return changesOn(zone, first) || (last !== first && changesOn(zone, last));
}

function changesOn(zone: string, day: number): boolean {
  const byDay = perZone(dayOffsetCache, zone);
  let whole = byDay.get(day);
  if (whole === undefined) {
    zoneOffsetAt(zone, day * DAY); // fills the day's entry
    whole = byDay.get(day);
  }
  return whole === undefined || Number.isNaN(whole);
}

/**
 * The offset of a wall time (`wallAsUtc`: the wall time read as if it were UTC) next to a change of the
 * zone's offset: the one offset under which that wall time happens; of two, the earlier instant's (the
 * larger offset); of none (a skipped time), the offset after the change, with the wall time moved
 * forward by the gap (`shiftedWall`, again read as if UTC).
 */
function settleWall(zone: string, wallAsUtc: number): { offset: number; shiftedWall?: number } {
  const before = computeZoneOffset(zone, wallAsUtc - DAY - CHANGE_WINDOW);
  const after = computeZoneOffset(zone, wallAsUtc + DAY + CHANGE_WINDOW);
  const happens = (o: number) => zoneOffsetAt(zone, wallAsUtc - o * 60_000) === o;
  const a = happens(before);
  const b = happens(after);
  if (a && b) return { offset: Math.max(before, after) };
  if (a || b) return { offset: a ? before : after };
  // Skipped: the instant the wall time names under the offset before the change, shown in the offset after it.
  const instant = wallAsUtc - Math.min(before, after) * 60_000;
  const offset = zoneOffsetAt(zone, instant);
  return { offset, shiftedWall: instant + offset * 60_000 };
}

/**
 * The char codes of the timestamp joinIso is building: one array per length (a timestamp has one of
 * two or three), since shortening an array by setting its length is a call into the runtime.
 */
const isoCodes: number[][] = [];

/**
 * date + 'T' + time + offset as one flat string. A template made a cons string of them, which every
 * reader (the validation's patterns, the JSON writer) first flattened into a copy of its own.
 */
function joinIso(date: string, time: string, offset: string): string {
  const length = date.length + 1 + time.length + offset.length;
  const codes = (isoCodes[length] ??= new Array<number>(length).fill(0));
  let n = 0;
  for (let i = 0; i < date.length; i++) codes[n++] = date.charCodeAt(i);
  codes[n++] = 0x54; // T
  for (let i = 0; i < time.length; i++) codes[n++] = time.charCodeAt(i);
  for (let i = 0; i < offset.length; i++) codes[n++] = offset.charCodeAt(i);
  return String.fromCharCode.apply(null, codes);
}

/**
 * A decimal as a JSON number, only when the number is exactly that decimal: 15 significant digits at
 * most (what a double always holds). A longer value (a 20-digit count, an id read as a number) would be
 * silently rounded: MAP_BAD_DECIMAL, so the mapping says `decimal` (an exact string) instead.
 */
export function exactNumber(v: string): number {
  const d = decimalString(v);
  const digits = d.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  if (digits.length > 15) {
    throw new TransformError('MAP_BAD_DECIMAL', `'${v}' has more significant digits than a JSON number holds exactly (15): map it with decimal, which keeps it as an exact string`);
  }
  return Number(d);
}

/** An integer with `places` implied decimals -> an exact decimal string ("65940", 2 -> "659.40"). */
export function impliedDecimal(v: string, places: number): string {
  const t = v.trim();
  const m = /^([+-]?)(\d+)$/.exec(t);
  if (!m) throw new TransformError('MAP_BAD_DECIMAL', `'${v}' is not an integer with ${places} implied decimals`);
  const sign = m[1] === '-' ? '-' : '';
  const digits = m[2].replace(/^0+(?=\d)/, '').padStart(places + 1, '0');
  const int = digits.slice(0, digits.length - places);
  const frac = places > 0 ? `.${digits.slice(digits.length - places)}` : '';
  const out = `${int}${frac}`;
  return /^0(\.0+)?$/.test(out) ? out : sign + out;
}

/**
 * A decimal given with an explicit point (X12 R type, CSV, XML) -> a normalised decimal string. Commas
 * are taken only as thousands separators (`1,234.56`): any other comma (a decimal comma, `65,00`) is
 * MAP_BAD_DECIMAL, since dropping it would turn 65.00 into 6500.
 */
export function decimalString(v: string): string {
  if (isPlainDecimal(v)) return v;
  let t = v.trim();
  if (t.includes(',')) {
    if (!THOUSANDS.test(t)) throw new TransformError('MAP_BAD_DECIMAL', `'${v}' is not a decimal number (a comma is read only as a thousands separator, as in 1,234.56)`);
    t = t.replace(/,/g, '');
  }
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new TransformError('MAP_BAD_DECIMAL', `'${v}' is not a decimal number`);
  const int = (m[2] || '0').replace(/^0+(?=\d)/, '');
  const frac = m[3] ? `.${m[3]}` : '';
  const out = `${int}${frac}`;
  return /^0(\.0*)?$/.test(out) ? out : (m[1] === '-' ? '-' : '') + out;
}

/** Digits grouped by commas in threes (1,234 or 12,345,678), then optionally a point and digits. */
const THOUSANDS = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$/;

/**
 * Whether `v` is already a decimal in the form decimalString returns: digits without a leading zero (or
 * a lone 0), then optionally a point and at least one digit. Most values are (weights, amounts), and
 * answering them without the trim, replace and two regular expressions below took a 214's decimal from
 * ~190 ns to ~20.
 */
function isPlainDecimal(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  let i = 0;
  let c = v.charCodeAt(0);
  if (c === 0x30) {
    i = 1; // a lone leading 0: the next char must be the point or the end
  } else {
    while (i < n && (c = v.charCodeAt(i)) >= 0x30 && c <= 0x39) i++;
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (v.charCodeAt(i) !== 0x2e || i + 1 === n) return false;
  for (i++; i < n; i++) {
    c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Decimal string -> integer string with `places` implied decimals (for writing X12 N2 fields). */
export function toImplied(v: string, places: number): string {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(v.trim());
  if (!m) throw new TransformError('MAP_BAD_DECIMAL', `'${v}' is not a decimal number`);
  const frac = (m[3] ?? '').padEnd(places, '0');
  if (frac.length > places && /[1-9]/.test(frac.slice(places))) {
    throw new TransformError('MAP_BAD_DECIMAL', `'${v}' has more than ${places} decimals and cannot be written without rounding`);
  }
  const digits = `${m[2]}${frac.slice(0, places)}`.replace(/^0+(?=\d)/, '');
  return digits === '0' ? '0' : (m[1] === '-' ? '-' : '') + digits;
}

/**
 * A coordinate -> signed decimal degrees. Accepts X12 MS104/MS105 DDDMMSS (7 digits, degrees
 * zero-padded) with a hemisphere (N/S/E/W; S and W are negative), or a decimal such as -87.6298.
 */
export function coordinate(v: string, hemisphere?: string): number {
  const t = v.trim();
  let deg: number;
  if (/^\d{6,7}$/.test(t)) {
    const p = t.padStart(7, '0');
    const d = +p.slice(0, 3), m = +p.slice(3, 5), s = +p.slice(5, 7);
    if (m > 59 || s > 59) throw new TransformError('MAP_BAD_DECIMAL', `'${v}' is not a DDDMMSS coordinate`);
    deg = Math.round((d + m / 60 + s / 3600) * 1e6) / 1e6;
  } else if (/^[+-]?\d{1,3}(\.\d+)?$/.test(t)) {
    deg = Number(t);
  } else {
    throw new TransformError('MAP_BAD_DECIMAL', `'${v}' is not a coordinate (DDDMMSS or decimal degrees)`);
  }
  const h = hemisphere?.trim().toUpperCase();
  if (h !== undefined && h !== '' && !['N', 'S', 'E', 'W'].includes(h)) {
    throw new TransformError('MAP_BAD_DECIMAL', `'${hemisphere}' is not a hemisphere (N, S, E or W)`);
  }
  return h === 'S' || h === 'W' ? -Math.abs(deg) : deg;
}
