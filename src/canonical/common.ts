// Building blocks shared by every canonical schema: scalars (decimal strings, money, timestamps, codes),
// parties, addresses, locations, stops, equipment, weights, quantities, charges, references and the two
// envelopes (events and commands).
//
// Rules that hold everywhere in src/canonical:
// - Schemas only validate; they never transform or default. Parsing a valid document returns the same
//   data (unknown keys are dropped: tolerant reader, so a v1 consumer survives additive v1 changes).
// - Amounts, weights and quantities are decimal strings, never JSON numbers.
// - Timestamps are ISO 8601 with seconds and a UTC offset (`Z` or `±hh:mm`); calendar dates are YYYY-MM-DD.
// - Closed enums carry the canonical meaning; the partner's own code travels next to it as `raw*`.
// - A shape used by a published version is frozen: a breaking change gets a new named shape (e.g. `PartyV2`)
//   used only by the new version.
//
// This module (like all of src/canonical) imports nothing from the rest of src/.
import { z } from 'zod';
import { COMMAND_ID_PATTERN, EVENT_ID_PATTERN } from './ids.js';

// ---------------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------------

const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const UNSIGNED_DECIMAL = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

function decimalError(example: string) {
  return (iss: { code: string; input?: unknown }): string | undefined => {
    if (iss.input === undefined) return undefined; // keep zod's "required" wording
    if (typeof iss.input === 'number') return `must be a decimal string such as "${example}", not a JSON number`;
    return `must be a decimal string such as "${example}" (digits, optional "." and fraction, no exponent or thousands separator)`;
  };
}

/** A signed decimal as a string: `-12.50`, `0`, `659.40`. No exponent, no leading zeros, no `+`. */
export const DecimalString = z
  .string({ error: decimalError('-12.50') })
  .regex(DECIMAL, { error: decimalError('-12.50') })
  .meta({ id: 'DecimalString', description: 'Signed decimal number as a string, e.g. "-12.50" (never a JSON number).' });
export type DecimalString = z.infer<typeof DecimalString>;

/** A non-negative decimal as a string: weights, quantities, rates. */
export const UnsignedDecimalString = z
  .string({ error: decimalError('1250.5') })
  .regex(UNSIGNED_DECIMAL, { error: decimalError('1250.5') })
  .meta({ id: 'UnsignedDecimalString', description: 'Non-negative decimal number as a string, e.g. "1250.5".' });
export type UnsignedDecimalString = z.infer<typeof UnsignedDecimalString>;

/** ISO 4217 alphabetic currency code. */
export const CurrencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 currency code such as "USD"' })
  .meta({ id: 'CurrencyCode', description: 'ISO 4217 alphabetic currency code, e.g. "USD", "CAD".' });
export type CurrencyCode = z.infer<typeof CurrencyCode>;

export const Money = z
  .object({
    amount: DecimalString,
    currency: CurrencyCode,
  })
  .meta({ id: 'Money', description: 'An amount of money: decimal string plus ISO 4217 currency.' });
export type Money = z.infer<typeof Money>;

const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;

/** ISO 8601 timestamp WITH a UTC offset; built from the partner's date, time and time-zone code. */
export const Timestamp = z.iso
  .datetime({
    offset: true,
    error: (iss) => {
      if (iss.input === undefined) return undefined;
      if (typeof iss.input !== 'string') return 'must be an ISO 8601 timestamp string';
      if (LOCAL_DATE_TIME.test(iss.input)) {
        return 'timestamp has no UTC offset; expected e.g. "2024-03-05T14:30:00-05:00" or "2024-03-05T19:30:00Z"';
      }
      return 'must be an ISO 8601 timestamp with seconds and a UTC offset, e.g. "2024-03-05T14:30:00-05:00"';
    },
  })
  .meta({
    id: 'Timestamp',
    description:
      'ISO 8601 date-time with seconds and a UTC offset ("Z" or "±hh:mm"), e.g. "2024-03-05T14:30:00-05:00". ' +
      'Local times without an offset are rejected.',
  });
export type Timestamp = z.infer<typeof Timestamp>;

/** A calendar date without time of day (invoice date, ship date): YYYY-MM-DD. */
export const CalendarDate = z.iso
  .date({ error: (iss) => (iss.input === undefined ? undefined : 'must be a calendar date YYYY-MM-DD') })
  .meta({ id: 'CalendarDate', description: 'Calendar date YYYY-MM-DD (no time of day, no offset).' });
export type CalendarDate = z.infer<typeof CalendarDate>;

/** Standard Carrier Alpha Code. */
export const Scac = z
  .string()
  .regex(/^[A-Z0-9]{2,4}$/, { error: 'must be a SCAC: 2 to 4 upper-case letters or digits' })
  .meta({ id: 'Scac', description: 'Standard Carrier Alpha Code, 2-4 upper-case characters.' });
export type Scac = z.infer<typeof Scac>;

/** ISO 3166-1 alpha-2 country code. */
export const CountryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, { error: 'must be an ISO 3166-1 alpha-2 country code such as "US"' })
  .meta({ id: 'CountryCode', description: 'ISO 3166-1 alpha-2 country code, e.g. "US", "CA", "MX".' });
export type CountryCode = z.infer<typeof CountryCode>;

/** A trading partner's id: the name of its folder under partners/. */
export const PartnerId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    error: 'must be a partner id: lower-case letters, digits, "-" or "_", starting with a letter or digit',
  })
  .meta({ id: 'PartnerId', description: 'Trading partner id (its folder name under partners/), e.g. "acme-freight".' });
export type PartnerId = z.infer<typeof PartnerId>;

/** Deterministic event id: see ids.ts. */
export const EventId = z
  .string()
  .regex(EVENT_ID_PATTERN, { error: 'must be an event id: "evt_" followed by 26 characters a-z, 2-7' })
  .meta({ id: 'EventId', description: 'Deterministic event id: "evt_" + 26 base32 characters of a sha256 digest.' });
export type EventId = z.infer<typeof EventId>;

/** Deterministic command id: see ids.ts. */
export const CommandId = z
  .string()
  .regex(COMMAND_ID_PATTERN, { error: 'must be a command id: "cmd_" followed by 26 characters a-z, 2-7' })
  .meta({ id: 'CommandId', description: 'Deterministic command id: "cmd_" + 26 base32 characters of a sha256 digest.' });
export type CommandId = z.infer<typeof CommandId>;

/** A non-empty identifier or short code (reference numbers, raw partner codes). */
const Ident = z.string().min(1).max(128);
/** Non-empty free text. */
const Text = z.string().min(1).max(2000);

/** A partner's own code, kept verbatim next to the canonical value it was mapped to. */
export const RawCode = z
  .string()
  .min(1)
  .max(35)
  .meta({ id: 'RawCode', description: "The partner's own code, verbatim (e.g. an X12 code value or a CSV column value)." });

// ---------------------------------------------------------------------------------------------------
// Address, party, location
// ---------------------------------------------------------------------------------------------------

export const Address = z
  .object({
    lines: z.array(Text).max(4).optional().describe('Street address lines (N3), in order.'),
    city: Text.optional(),
    state: z
      .string()
      .regex(/^[A-Z0-9]{1,3}$/, { error: 'must be a state or province code such as "IL" or "ON"' })
      .optional()
      .describe('State or province code (ISO 3166-2 subdivision part), e.g. "IL", "ON", "JAL".'),
    postalCode: z.string().min(1).max(15).optional(),
    country: CountryCode.optional(),
  })
  .meta({ id: 'Address', description: 'Postal address (X12 N3/N4).' });
export type Address = z.infer<typeof Address>;

export const PARTY_ROLES = [
  'shipper', // SH
  'consignee', // CN
  'bill_to', // BT
  'ship_from', // SF
  'ship_to', // ST
  'carrier', // CA
  'remit_to', // RE
  'payer', // PR
  'freight_bill_to', // PF
  'pickup_location', // PW
  'delivery_location', // DA
  'ordered_by', // OB
  'broker',
  'notify',
  'other',
] as const;
export const PartyRole = z.enum(PARTY_ROLES).meta({ id: 'PartyRole', description: 'Canonical party role (X12 N101).' });
export type PartyRole = z.infer<typeof PartyRole>;

export const PartyIdentifier = z
  .object({
    qualifier: RawCode.describe('What kind of id this is, as the partner says it (X12 N103: "1" DUNS, "93", "ZZ", ...).'),
    value: Ident.describe('The id itself (X12 N104).'),
  })
  .meta({ id: 'PartyIdentifier', description: 'An identifier of a party with its qualifier (X12 N103/N104).' });
export type PartyIdentifier = z.infer<typeof PartyIdentifier>;

export const Contact = z
  .object({
    name: Text.optional(),
    phone: z.string().min(1).max(40).optional(),
    email: z.string().min(3).max(254).optional(),
  })
  .meta({ id: 'Contact', description: 'A contact person or desk (X12 G61/PER).' });
export type Contact = z.infer<typeof Contact>;

export const Party = z
  .object({
    role: PartyRole,
    rawRole: RawCode.optional().describe('The partner\'s role code (X12 N101, e.g. "SH").'),
    name: Text.optional(),
    ids: z.array(PartyIdentifier).optional(),
    address: Address.optional(),
    contacts: z.array(Contact).optional(),
  })
  .meta({ id: 'Party', description: 'A party to the shipment or invoice (X12 N1 loop).' });
export type Party = z.infer<typeof Party>;

export const Location = z
  .object({
    name: Text.optional(),
    code: Ident.optional().describe('A location code when the partner gives one (terminal, SPLC, yard).'),
    city: Text.optional(),
    state: Address.shape.state,
    postalCode: Address.shape.postalCode,
    country: CountryCode.optional(),
    latitude: z.number().min(-90).max(90).optional().describe('Decimal degrees, north positive.'),
    longitude: z.number().min(-180).max(180).optional().describe('Decimal degrees, east positive.'),
  })
  .superRefine((loc, ctx) => {
    if ((loc.latitude === undefined) !== (loc.longitude === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [loc.latitude === undefined ? 'latitude' : 'longitude'],
        message: 'latitude and longitude come together',
      });
    }
  })
  .meta({ id: 'Location', description: 'Where something happened: city/state/postal/country and/or latitude/longitude (X12 MS1).' });
export type Location = z.infer<typeof Location>;

// ---------------------------------------------------------------------------------------------------
// Weights, quantities, equipment
// ---------------------------------------------------------------------------------------------------

export const WeightUnit = z.enum(['lb', 'kg']).meta({ id: 'WeightUnit', description: 'Weight unit (X12 L = lb, K = kg).' });
export type WeightUnit = z.infer<typeof WeightUnit>;

export const Weight = z
  .object({
    value: UnsignedDecimalString,
    unit: WeightUnit,
    basis: z.enum(['gross', 'net', 'tare', 'billed', 'other']).optional().describe('Gross, net, ... (X12 weight qualifier).'),
  })
  .meta({ id: 'Weight', description: 'A weight: decimal string plus unit.' });
export type Weight = z.infer<typeof Weight>;

export const PACKAGING = [
  'pallet',
  'skid',
  'carton',
  'case',
  'box',
  'piece',
  'crate',
  'drum',
  'bundle',
  'roll',
  'bag',
  'tote',
  'container',
  'loose',
  'other',
] as const;
export const Packaging = z.enum(PACKAGING).meta({ id: 'Packaging', description: 'Canonical packaging form.' });
export type Packaging = z.infer<typeof Packaging>;

export const Quantity = z
  .object({
    value: UnsignedDecimalString,
    packaging: Packaging,
    rawPackagingCode: RawCode.optional().describe('The partner\'s packaging code (e.g. X12 "PLT", "CTN").'),
  })
  .meta({ id: 'Quantity', description: 'A lading quantity with its packaging form.' });
export type Quantity = z.infer<typeof Quantity>;

export const EQUIPMENT_TYPES = [
  'dry_van',
  'reefer',
  'flatbed',
  'step_deck',
  'trailer',
  'container',
  'chassis',
  'tank',
  'straight_truck',
  'power_unit',
  'other',
] as const;
export const EquipmentType = z.enum(EQUIPMENT_TYPES).meta({ id: 'EquipmentType', description: 'Canonical equipment type.' });
export type EquipmentType = z.infer<typeof EquipmentType>;

export const Equipment = z
  .object({
    initial: z.string().min(1).max(4).optional().describe('Equipment initial / prefix (X12 N701, container owner code).'),
    number: Ident.optional().describe('Trailer, container or truck number (X12 N702 / MS202).'),
    type: EquipmentType.optional(),
    rawTypeCode: RawCode.optional().describe('The partner\'s equipment code (X12 N711 / MS203, e.g. "TL", "TV", "CN").'),
    scac: Scac.optional().describe('SCAC of the equipment owner or operating carrier (MS201).'),
    lengthFeet: UnsignedDecimalString.optional(),
    sealNumbers: z.array(Ident).optional(),
  })
  .meta({ id: 'Equipment', description: 'A piece of equipment (X12 N7 / MS2).' });
export type Equipment = z.infer<typeof Equipment>;

// ---------------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------------

export const Reference = z
  .object({
    qualifier: RawCode.describe('The partner\'s reference qualifier (X12 L11-02 / N9-01, e.g. "CR", "2I").'),
    value: Ident,
  })
  .meta({ id: 'Reference', description: 'Any other reference number with its qualifier.' });
export type Reference = z.infer<typeof Reference>;

/** Shape of the business references. Per-type schemas may make some of them required. */
export const referencesShape = {
  shipmentId: Ident.optional().describe('The ERP\'s shipment / load tender id (X12 B204, echoed in B1002, B102, B303).'),
  loadId: Ident.optional().describe('A load or trip number when it differs from the shipment id.'),
  proNumber: Ident.optional().describe('Carrier\'s PRO / tracking number (X12 B1001, L11 "CN").'),
  bolNumber: Ident.optional().describe('Bill of lading number (L11/N9 "BM").'),
  poNumbers: z.array(Ident).optional().describe('Purchase order numbers (L11/N9 "PO").'),
  invoiceNumber: Ident.optional().describe('Freight invoice number (X12 B302).'),
  other: z.array(Reference).optional(),
};

export const References = z
  .object(referencesShape)
  .meta({ id: 'References', description: 'Business references used for search and correlation.' });
export type References = z.infer<typeof References>;

// ---------------------------------------------------------------------------------------------------
// Stops
// ---------------------------------------------------------------------------------------------------

export const TimeWindow = z
  .object({
    earliest: Timestamp.optional(),
    latest: Timestamp.optional(),
  })
  .superRefine((w, ctx) => {
    if (w.earliest === undefined && w.latest === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a time window needs earliest, latest or both' });
    } else if (w.earliest !== undefined && w.latest !== undefined && Date.parse(w.earliest) > Date.parse(w.latest)) {
      ctx.addIssue({ code: 'custom', path: ['latest'], message: 'latest is before earliest' });
    }
  })
  .meta({ id: 'TimeWindow', description: 'A requested window (X12 G62: ship/deliver not before / not later than).' });
export type TimeWindow = z.infer<typeof TimeWindow>;

export const Appointment = z
  .object({
    start: Timestamp,
    end: Timestamp.optional(),
    confirmationNumber: Ident.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.end !== undefined && Date.parse(a.start) > Date.parse(a.end)) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'end is before start' });
    }
  })
  .meta({ id: 'Appointment', description: 'A scheduled appointment at a dock.' });
export type Appointment = z.infer<typeof Appointment>;

export const StopReason = z
  .enum(['load', 'unload', 'partial_load', 'partial_unload', 'hook_trailer', 'drop_trailer', 'other'])
  .meta({ id: 'StopReason', description: 'Why the truck stops (X12 S502: CL/LD load, CU/UL unload, PL, PU, ...).' });
export type StopReason = z.infer<typeof StopReason>;

export const Stop = z
  .object({
    sequence: z.int().min(1).describe('Stop sequence number, 1-based (X12 S501).'),
    reason: StopReason,
    rawReasonCode: RawCode.optional().describe('The partner\'s stop reason code (X12 S502).'),
    party: Party.optional().describe('Who and where the stop is (X12 0310 N1 loop).'),
    requested: TimeWindow.optional(),
    appointment: Appointment.optional(),
    arrivedAt: Timestamp.optional(),
    departedAt: Timestamp.optional(),
    weight: Weight.optional(),
    quantity: Quantity.optional(),
    references: z.array(Reference).optional().describe('Stop-level references (pick-up number, PO, ...).'),
    notes: z.array(Text).optional(),
  })
  .meta({ id: 'Stop', description: 'A stop of a load (X12 S5 loop).' });
export type Stop = z.infer<typeof Stop>;

/** Stop sequences strictly ascending, reported at `<path>[i].sequence`. */
export function checkStopSequences(stops: readonly Stop[] | undefined, path: string, ctx: z.RefinementCtx): void {
  if (!stops) return;
  for (let i = 1; i < stops.length; i++) {
    if (stops[i].sequence <= stops[i - 1].sequence) {
      ctx.addIssue({
        code: 'custom',
        path: [path, i, 'sequence'],
        message: `stop sequence ${stops[i].sequence} does not follow ${stops[i - 1].sequence}; sequences must ascend`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Charges
// ---------------------------------------------------------------------------------------------------

export const CHARGE_CODES = [
  'linehaul',
  'minimum_charge',
  'fuel_surcharge',
  'discount',
  'accessorial',
  'detention',
  'layover',
  'lumper',
  'liftgate',
  'inside_delivery',
  'residential_delivery',
  'limited_access',
  'appointment',
  'redelivery',
  'reconsignment',
  'stop_off',
  'storage',
  'hazmat',
  'tolls',
  'oversize',
  'tarp',
  'driver_assist',
  'insurance',
  'tax',
  'other',
] as const;
export const ChargeCode = z
  .enum(CHARGE_CODES)
  .meta({ id: 'ChargeCode', description: 'Canonical charge code (X12 L108 / element 150 mapped by the partner code table).' });
export type ChargeCode = z.infer<typeof ChargeCode>;

export const RateBasis = z
  .enum(['flat', 'per_mile', 'per_hundredweight', 'per_unit', 'per_hour', 'percent', 'other'])
  .meta({ id: 'RateBasis', description: 'How a rate applies (X12 L103 / element 122: FR, PM, PH, ...).' });
export type RateBasis = z.infer<typeof RateBasis>;

export const Charge = z
  .object({
    lineNumber: z.int().min(1).optional().describe('The invoice line (X12 LX01 / L101) the charge belongs to.'),
    code: ChargeCode,
    rawCode: RawCode.optional().describe('The partner\'s charge code (X12 L108, e.g. "400", "405", "FUE", "DSC").'),
    description: Text.optional().describe('Free text description (X12 L112).'),
    amount: Money.describe('Charge amount; discounts and allowances are negative.'),
    rate: UnsignedDecimalString.optional().describe('Rate applied (X12 L102).'),
    rateBasis: RateBasis.optional(),
    rawRateQualifier: RawCode.optional().describe('The partner\'s rate qualifier (X12 L103).'),
    billedQuantity: UnsignedDecimalString.optional().describe('Quantity the rate was applied to (miles, cwt, hours).'),
  })
  .meta({ id: 'Charge', description: 'One charge or allowance (X12 L1).' });
export type Charge = z.infer<typeof Charge>;

export const PaymentMethod = z
  .enum(['prepaid', 'collect', 'third_party', 'per_contract', 'other'])
  .meta({ id: 'PaymentMethod', description: 'Shipment method of payment (X12 B206 / B304: PP, CC, TP, DE).' });
export type PaymentMethod = z.infer<typeof PaymentMethod>;

export const LadingLine = z
  .object({
    lineNumber: z.int().min(1),
    description: Text.optional(),
    quantity: Quantity.optional(),
    weight: Weight.optional(),
    freightClass: z.string().regex(/^[0-9]{2,3}(?:\.5)?$/, { error: 'must be an NMFC freight class such as "70" or "92.5"' }).optional(),
    nmfcCode: Ident.optional(),
    commodityCode: Ident.optional(),
    hazardous: z.boolean().optional(),
  })
  .meta({ id: 'LadingLine', description: 'A line of lading: what is shipped (X12 L5/L0/AT8/OID).' });
export type LadingLine = z.infer<typeof LadingLine>;

// ---------------------------------------------------------------------------------------------------
// Exact decimal arithmetic (for consistency checks; no floats anywhere)
// ---------------------------------------------------------------------------------------------------

/** True when `value` is a valid DecimalString (refinements may run on values that failed a format check). */
export function isDecimal(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL.test(value);
}

function toScaled(value: string, scale: number): bigint {
  const negative = value.startsWith('-');
  const [int, frac = ''] = (negative ? value.slice(1) : value).split('.');
  const digits = BigInt(int + frac.padEnd(scale, '0'));
  return negative ? -digits : digits;
}

/** Exact sum of decimal strings (which must match DecimalString), rendered with the largest scale seen. */
export function sumDecimals(values: readonly string[]): string {
  const scale = Math.max(0, ...values.map((v) => (v.split('.')[1] ?? '').length));
  const total = values.reduce((acc, v) => acc + toScaled(v, scale), 0n);
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return (negative ? '-' : '') + int + (scale > 0 ? '.' + frac : '');
}

/** Numeric comparison of two decimal strings: -1, 0 or 1. */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const scale = Math.max((a.split('.')[1] ?? '').length, (b.split('.')[1] ?? '').length);
  const x = toScaled(a, scale);
  const y = toScaled(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// Envelopes
// ---------------------------------------------------------------------------------------------------

const sourceCommon = {
  fileId: Ident.describe('Id of the stored inbound file (its content hash).'),
  fileName: z.string().min(1).max(512).optional().describe('Original file name, for people.'),
  index: z
    .int()
    .min(0)
    .describe('0-based position of this event among the events produced from the same transaction or record.'),
};

export const X12Source = z
  .object({
    format: z.literal('x12'),
    ...sourceCommon,
    interchangeControlNumber: z.string().regex(/^[0-9]{1,9}$/, { error: 'must be the ISA13 control number (digits)' }),
    groupControlNumber: z
      .string()
      .regex(/^[0-9]{1,9}$/, { error: 'must be the GS06 control number (digits)' })
      .optional()
      .describe('GS06; absent only for a TA1, which has no group.'),
    transactionControlNumber: z.string().min(1).max(9).optional().describe('ST02; absent only for a TA1.'),
    transactionSetId: z
      .string()
      .regex(/^[0-9]{3}$|^TA1$/, { error: 'must be a transaction set id such as "214", or "TA1"' })
      .optional()
      .describe('ST01, e.g. "214"; "TA1" for an interchange acknowledgment.'),
    version: z.string().min(1).max(12).optional().describe('GS08, e.g. "004010" or "005010X231A1".'),
    line: z.int().min(1).optional().describe('1-based line of the transaction\'s first segment (ST) in the file.'),
  })
  .meta({ id: 'X12Source', description: 'Where an event read from an X12 file came from.' });

export const CsvSource = z
  .object({
    format: z.literal('csv'),
    ...sourceCommon,
    line: z.int().min(1).describe('1-based line of the record in the file.'),
  })
  .meta({ id: 'CsvSource', description: 'Where an event read from a CSV file came from.' });

export const XmlSource = z
  .object({
    format: z.literal('xml'),
    ...sourceCommon,
    line: z.int().min(1).optional().describe('1-based line of the element in the file, when known.'),
    path: z.string().min(1).max(512).optional().describe('Path of the element, e.g. "/Shipments/Shipment[3]".'),
  })
  .meta({ id: 'XmlSource', description: 'Where an event read from an XML file came from.' });

export const EventSource = z
  .discriminatedUnion('format', [X12Source, CsvSource, XmlSource])
  .meta({ id: 'EventSource', description: 'The file and position an event was translated from.' });
export type EventSource = z.infer<typeof EventSource>;

/**
 * Envelope fields of every event (something a partner told us). Spread into each event's object:
 * `z.object({ ...eventEnvelope('shipment.status@1'), ...body })`.
 */
export function eventEnvelope<T extends string>(type: T) {
  return {
    kind: z.literal('event'),
    id: EventId,
    type: z.literal(type),
    partner: PartnerId.describe('The partner the event came from.'),
    occurredAt: Timestamp.describe('When the reported fact happened according to the partner.'),
    receivedAt: Timestamp.describe('When Waybill received the file.'),
    source: EventSource,
    references: References,
  };
}

/**
 * Envelope fields of every command (something the ERP asks Waybill to send to a partner).
 * `id` = commandId([partner, type, requestId]) so a resubmitted request maps to the same job.
 */
export function commandEnvelope<T extends string>(type: T) {
  return {
    kind: z.literal('command'),
    id: CommandId,
    type: z.literal(type),
    partner: PartnerId.describe('The partner the command is to be sent to.'),
    requestId: Ident.describe('The ERP\'s own idempotency key for this request (unique per partner and type).'),
    issuedAt: Timestamp.describe('When the ERP issued the command.'),
    issuedBy: Text.optional().describe('ERP user or system that issued the command.'),
    references: References,
  };
}

/** Builds a per-type references schema with some fields required. */
export function referencesRequiring<K extends 'shipmentId' | 'invoiceNumber'>(...keys: K[]) {
  const required = Object.fromEntries(keys.map((k) => [k, Ident])) as { [P in K]: typeof Ident };
  return z
    .object(referencesShape)
    .extend(required)
    .describe(`Business references used for search and correlation; ${keys.join(', ')} required.`);
}

export { Ident, Text };
