// The date and time an acknowledgment is stamped with (ISA09/ISA10, GS04/GS05), as the wall clock of a
// time zone. Partners read these in their own zone, as Waybill reads theirs (functional-ack.ts takes a
// partner's GS04/GS05 in partner.config.timezone): an ack stamped in UTC reads hours off at the other end.
// Outbound documents (mappings/outbound.ts: 204 tenders, 210 invoices) stamp their envelopes with it too.

import { formatX12Date, formatX12Time } from '../writer.js';

/** A fixed offset such as -06:00 (or -0600). */
const FIXED_OFFSET = /^([+-])(\d{2}):?(\d{2})$/;
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC in `zone` at `at`; throws for a zone Intl does not know. */
function offsetMinutes(at: Date, zone: string): number {
  if (zone === 'UTC' || zone === 'Z') return 0;
  const fixed = FIXED_OFFSET.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3]));
  let fmt = offsetFormats.get(zone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      throw new Error(`unknown time zone ${JSON.stringify(zone)} (an IANA name such as America/Chicago, or an offset such as -06:00)`);
    }
    offsetFormats.set(zone, fmt);
  }
  const name = fmt.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

export interface AckClock {
  /** CCYYMMDD (GS04). */
  date8: string;
  /** YYMMDD (ISA09, and TA102 when there is no ISA09 to echo). */
  date6: string;
  /** HHMM (ISA10, GS05). */
  time4: string;
}

/** `now` as the wall clock in `zone` (default UTC), in the forms the ack's envelope takes. */
export function ackClock(now: Date, zone = 'UTC'): AckClock {
  const wall = new Date(now.getTime() + offsetMinutes(now, zone) * 60_000);
  return { date8: formatX12Date(wall, 8), date6: formatX12Date(wall, 6), time4: formatX12Time(wall) };
}
