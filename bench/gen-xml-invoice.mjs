// Generates large Sangamon Valley XML freight invoices (partners/sangamon-valley, svxp_invoice_*.xml) for
// benchmarks and tests: the sample's shape, one <Invoice> with its parties and `charges` <Charge> lines
// (about 145 bytes each), so a file of 137,000 charges is about 19.9 MB, just under the 20 MiB XML cap.
// Amounts are whole cents and AmountDue is their sum, so the document translates to a valid event. One
// description in 500 holds an `&amp;`: fast-xml-parser counts even the five predefined entities against
// XML_ENTITY_LIMITS.maxTotalExpansions (1,000), so a document with more of them is refused.
//
//   node bench/gen-xml-invoice.mjs <out-file> [charges=137000]
//
// Deterministic: the same number of charges always gives the same bytes.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CODES = [
  ['FRT', 'LINEHAUL 2140 LB CLASS 85', 'CWT'],
  ['FSC', 'FUEL SURCHARGE 17.8%', null],
  ['LFT', 'LIFTGATE AT DELIVERY', null],
  ['DSC', 'TARIFF DISCOUNT 15%', null],
];

/** The invoice with `charges` charge lines, as a string. */
export function generateXmlInvoice(charges, { number = 'SVX-INV-0051877' } = {}) {
  const parts = [];
  parts.push(`<?xml version="1.0" encoding="UTF-8"?>
<Invoice number="${number}" created="2025-05-14T06:30:00-05:00">
  <Carrier scac="SVXP">Sangamon Valley Express</Carrier>
  <InvoiceDate>2025-05-14</InvoiceDate>
  <DueDate>2025-06-13</DueDate>
  <Terms>PREPAID</Terms>
  <Shipment>
    <Pro>SVX4410287</Pro>
    <Bol>TCH-BOL-41188</Bol>
    <PoNumber>4500186120</PoNumber>
    <ShipDate>2025-05-12</ShipDate>
    <DeliveryDate>2025-05-13</DeliveryDate>
  </Shipment>
  <Parties>
    <Party type="SHIPPER">
      <Name>TRI-COUNTY HARDWARE SUPPLY</Name>
      <Address><Line>2401 CHANNAHON RD</Line><City>JOLIET</City><State>IL</State><Zip>60436</Zip></Address>
    </Party>
    <Party type="CONSIGNEE">
      <Name>OAKMONT BUILDERS SUPPLY</Name>
      <Address><Line>410 N MAIN ST</Line><City>DECATUR</City><State>IL</State><Zip>62523</Zip></Address>
    </Party>
    <Party type="BILL TO">
      <Name>TRI-COUNTY HARDWARE SUPPLY</Name>
      <Address><Line>ATTN FREIGHT PAYABLES</Line><Line>PO BOX 3317</Line><City>JOLIET</City><State>IL</State><Zip>60434</Zip></Address>
    </Party>
  </Parties>
  <Charges>
`);
  let cents = 0;
  for (let i = 1; i <= charges; i++) {
    const [code, description, basis] = CODES[(i - 1) % CODES.length];
    const amount = code === 'DSC' ? -(500 + (i % 997)) : 1000 + ((i * 7919) % 90000);
    cents += amount;
    parts.push(`    <Charge line="${i}" code="${code}">
      <Description>${description}${i % 500 === 0 ? ' &amp; MORE' : ''}</Description>
${basis ? `      <Rate basis="${basis}">24.15</Rate>\n` : ''}      <Amount>${money(amount)}</Amount>
    </Charge>
`);
  }
  parts.push(`  </Charges>
  <TotalWeight unit="LB">2140</TotalWeight>
  <AmountDue currency="USD">${money(cents)}</AmountDue>
</Invoice>
`);
  return parts.join('');
}

function money(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Writes the invoice to `path`; returns its size in bytes. */
export function generateXmlInvoiceFile(path, charges, options) {
  const text = generateXmlInvoice(charges, options);
  writeFileSync(path, text);
  return Buffer.byteLength(text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, n] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node bench/gen-xml-invoice.mjs <out-file> [charges=137000]');
    process.exit(2);
  }
  const bytes = generateXmlInvoiceFile(out, n === undefined ? 137_000 : Number(n));
  console.log(`${out}: ${bytes} bytes`);
}
