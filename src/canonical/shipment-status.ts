// shipment.status@1 — a carrier's shipment status event (X12 214 AT7, or a CSV/XML status record).
// One event per reported status (one AT7 in one LX loop).
import { z } from 'zod';
import {
  Appointment,
  Equipment,
  Location,
  Party,
  Quantity,
  RawCode,
  Scac,
  Text,
  Timestamp,
  Weight,
  eventEnvelope,
} from './common.js';

export const SHIPMENT_STATUS_V1 = 'shipment.status@1';

/**
 * Canonical milestones, roughly in lifecycle order. Typical X12 1650 mappings (the partner's code table
 * decides): XB shipment_acknowledged; AA/AB appointment (AT703) appointment_set; X3/X8 arrived_at_pickup;
 * CP loaded; AF departed_pickup; X4 arrived_at_terminal; P1 departed_terminal; X6 (en route) in_transit; AJ out_for_delivery;
 * AG/X2 estimated_delivery; X1/X5 arrived_at_delivery; D1 delivered; CD departed_delivery;
 * AH delivery_attempted; SD delayed; A7 refused; A9 damaged; A3 returned_to_shipper; PR customs_hold;
 * CA cancelled.
 */
export const MILESTONES = [
  'shipment_acknowledged',
  'appointment_set',
  'estimated_pickup',
  'arrived_at_pickup',
  'loaded',
  'departed_pickup',
  'picked_up',
  'in_transit',
  'location_update',
  'arrived_at_terminal',
  'departed_terminal',
  'estimated_delivery',
  'out_for_delivery',
  'arrived_at_delivery',
  'unloaded',
  'delivered',
  'departed_delivery',
  'delivery_attempted',
  'delayed',
  'exception',
  'refused',
  'damaged',
  'returned_to_shipper',
  'customs_hold',
  'cancelled',
  'other',
] as const;
export const Milestone = z
  .enum(MILESTONES)
  .meta({ id: 'Milestone', description: 'Canonical shipment milestone ("other" when no canonical code fits; see rawStatusCode).' });
export type Milestone = z.infer<typeof Milestone>;

/** Canonical status reasons (X12 1651, ~100 codes, mapped onto these by the partner's code table). */
export const STATUS_REASONS = [
  'normal', // NS, NA
  'weather', // AO
  'mechanical_breakdown', // AI
  'accident',
  'traffic',
  'missed_pickup', // AY
  'missed_delivery', // A1
  'incorrect_address', // A2
  'consignee_related', // AG
  'consignee_closed', // B1
  'refused_by_consignee', // BS
  'shipper_related', // AM
  'held_per_shipper', // BB
  'carrier_related', // AJ, D1
  'driver_related', // AH
  'customs', // CA
  'damaged',
  'appointment_rescheduled',
  'waiting_for_customer', // C1
  'returned_to_shipper', // BT
  'other', // BG
] as const;
export const StatusReason = z
  .enum(STATUS_REASONS)
  .meta({ id: 'StatusReason', description: 'Canonical reason for a status ("normal" for X12 NS/NA).' });
export type StatusReason = z.infer<typeof StatusReason>;

export const AppointmentKind = z.enum(['pickup', 'delivery']);

const Status = z
  .object({
    milestone: Milestone,
    rawStatusCode: RawCode.optional().describe('The partner\'s status code (X12 AT701, or AT703 for appointments).'),
    reason: StatusReason.optional().describe('Canonical reason; absent when the partner gave none.'),
    rawReasonCode: RawCode.optional().describe('The partner\'s reason code (X12 AT702, or AT704 for appointments).'),
    rawTimeCode: RawCode.optional().describe('The partner\'s time zone code the timestamps were built from (X12 AT707).'),
    description: Text.optional().describe('Free text status as the partner wrote it.'),
  })
  .describe('What happened: canonical milestone and reason next to the partner\'s raw codes.');

export const ShipmentStatusV1 = z
  .object({
    ...eventEnvelope(SHIPMENT_STATUS_V1),
    carrierScac: Scac.optional().describe('Reporting carrier (X12 B1003).'),
    status: Status,
    location: Location.optional().describe('Where it happened (X12 MS1, or the stop\'s N1 loop).'),
    stopSequence: z.int().min(1).optional().describe('Stop of the load the status is about (X12 L11 "QN" / S5 sequence).'),
    appointment: Appointment.safeExtend({ kind: AppointmentKind })
      .optional()
      .describe('Required when milestone is appointment_set: the appointment that was made.'),
    estimatedAt: Timestamp.optional().describe(
      'Required when milestone is estimated_pickup or estimated_delivery: the estimated time (then occurredAt is when the estimate was made).',
    ),
    equipment: z.array(Equipment).optional().describe('Equipment the shipment moves on (X12 MS2).'),
    parties: z.array(Party).optional(),
    weight: Weight.optional(),
    quantity: Quantity.optional(),
    notes: z.array(Text).optional().describe('Remarks (X12 K1).'),
  })
  .superRefine((ev, ctx) => {
    const m = ev.status.milestone;
    if (m === 'appointment_set' && ev.appointment === undefined) {
      ctx.addIssue({ code: 'custom', path: ['appointment'], message: 'milestone appointment_set needs the appointment' });
    }
    if ((m === 'estimated_pickup' || m === 'estimated_delivery') && ev.estimatedAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['estimatedAt'], message: `milestone ${m} needs estimatedAt` });
    }
  })
  .meta({ title: SHIPMENT_STATUS_V1, description: 'A carrier\'s shipment status event (X12 214, CSV, XML).' });
export type ShipmentStatusV1 = z.infer<typeof ShipmentStatusV1>;
