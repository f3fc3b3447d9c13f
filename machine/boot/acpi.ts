// ACPI tables (RSDP, RSDT, FADT, FACS, DSDT, MADT) and `writeFirmwareTables`, which puts them and
// the MP tables (mptable.ts) into guest RAM. Browser-safe.
//
// What an OS needs, and why each table is here (ACPI specification 6.x, ch. 5):
// - RSDP (5.2.5): "RSD PTR " on a 16-byte boundary in 0xE0000-0xFFFFF; revision 0 (ACPI 1.0 form,
//   20 bytes, checksum over them) pointing at the RSDT (32-bit pointers: this is a 32-bit machine).
// - RSDT (5.2.7): pointers to the FADT and the MADT.
// - MADT "APIC" (5.2.12): local APIC address, PCAT_COMPAT (the 8259 pair is present); one
//   Processor Local APIC entry per CPU, the I/O APIC (GSI base 0), interrupt source overrides
//   IRQ0 → GSI 2 (ISA conforming) and IRQ9 → GSI 9 level/active high (the SCI), and a Local APIC
//   NMI entry for LINT1 on all processors. Without an SCI override Linux would invent one from the
//   FADT's SCI_INT.
// - FADT "FACP" (5.2.9), revision 1 (the ACPI 1.0 layout, 116 bytes; an OS reads it as such): without
//   a FADT Linux cannot use ACPI at all and its MADT parsing would take IRQ0 for the SCI. It names
//   the FACS, the DSDT, SCI_INT = 9, no SMI_CMD (always in ACPI mode), the PM1a event/control
//   blocks and the PM timer (devices/acpi-pm.ts), C2/C3 unsupported (latencies > 100 / > 1000),
//   the CMOS century register 0x32, and flags WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (no
//   fixed-feature buttons).
// - FACS (5.2.10): required with a FADT; 64 bytes, 64-byte aligned, no checksum.
// - DSDT (5.2.11.1): the AML namespace. Only what the OS cannot do without: \_S5 (SLP_TYP for soft
//   off, so poweroff works) and \_SB.PCI0, the PCI host bridge (PNP0A03: with ACPI, Linux finds PCI
//   root buses only through the namespace) with its _CRS: bus 0-255, the 0xCF8 config ports,
//   I/O 0-0xCF7 and 0xD00-0xFFFF, the VGA window and the MMIO window from the end of RAM to
//   0xFEBFFFFF. AML encodings: ACPI spec ch. 20 (NameOp 08, ScopeOp 10, PackageOp 12, BufferOp 11,
//   DeviceOp 5B 82, PkgLength), resource descriptors: 6.4.

import type { PhysMem } from '../memory.js';
import { IOAPIC_DEFAULT_BASE } from '../devices/ioapic.js';
import { LAPIC_DEFAULT_BASE } from '../devices/lapic.js';
import { ACPI_PM_BASE, ACPI_S5_SLP_TYP } from '../devices/acpi-pm.js';
import { checksum8, ioapicIdOf, writeMpTable, type PlatformDescription } from './mptable.js';

export const ACPI_OEM_ID = 'TSVISR';
export const ACPI_OEM_TABLE_ID = 'TSVISOR';
export const ACPI_CREATOR_ID = 'TSVR';
/** SCI interrupt (ISA IRQ 9, as on PIIX4 boards). */
export const ACPI_SCI_IRQ = 9;
/** CMOS index of the century register (FADT CENTURY). */
export const CMOS_CENTURY = 0x32;
/** FADT flags (ACPI spec Table 5.10). */
export const FADT_FLAGS = { WBINVD: 1 << 0, PROC_C1: 1 << 2, PWR_BUTTON: 1 << 4, SLP_BUTTON: 1 << 5, TMR_VAL_EXT: 1 << 8 } as const;
/** MADT entry types and flags (ACPI spec 5.2.12). */
export const MADT = { LAPIC: 0, IOAPIC: 1, ISO: 2, LAPIC_NMI: 4, PCAT_COMPAT: 1, ENABLED: 1 } as const;
/** MPS INTI flags: polarity 1:0 (01 high, 11 low), trigger 3:2 (01 edge, 11 level); 0 = bus default. */
export const INTI = { CONFORMING: 0, ACTIVE_HIGH: 1, ACTIVE_LOW: 3, EDGE: 1 << 2, LEVEL: 3 << 2 } as const;

export interface AcpiOptions extends PlatformDescription {
  /** RAM size in bytes (the PCI MMIO window in _CRS starts there). */
  ramBytes: number;
  pmBase?: number;
}

// ------------------------------------------------------------------ AML
/** PkgLength for a body of `n` bytes (the encoded length counts its own bytes, ACPI 20.2.4). */
export function pkgLength(n: number): number[] {
  if (n + 1 <= 0x3f) return [n + 1];
  if (n + 2 <= 0xfff) { const t = n + 2; return [0x40 | (t & 0xf), t >>> 4]; }
  if (n + 3 <= 0xfffff) { const t = n + 3; return [0x80 | (t & 0xf), (t >>> 4) & 0xff, t >>> 12]; }
  throw new Error('AML package too long');
}
function nameSeg(s: string): number[] {
  const out: number[] = [];
  for (let k = 0; k < 4; k++) out.push(k < s.length ? s.charCodeAt(k) : 0x5f);
  return out;
}
/** Integer data object with the shortest encoding (ZeroOp, OneOp, Byte/Word/DWordPrefix). */
export function amlInteger(v: number): number[] {
  if (v === 0) return [0x00];
  if (v === 1) return [0x01];
  if (v <= 0xff) return [0x0a, v];
  if (v <= 0xffff) return [0x0b, v & 0xff, v >>> 8];
  return [0x0c, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}
const amlName = (seg: string, data: number[]): number[] => [0x08, ...nameSeg(seg), ...data];
const amlPackage = (elems: number[][]): number[] => {
  const body = [elems.length, ...elems.flat()];
  return [0x12, ...pkgLength(body.length), ...body];
};
const amlBuffer = (bytes: number[]): number[] => {
  const body = [...amlInteger(bytes.length), ...bytes];
  return [0x11, ...pkgLength(body.length), ...body];
};
const amlScope = (seg: string, body: number[]): number[] => [0x10, ...pkgLength(4 + body.length), ...nameSeg(seg), ...body];
const amlDevice = (seg: string, body: number[]): number[] => [0x5b, 0x82, ...pkgLength(4 + body.length), ...nameSeg(seg), ...body];
/** EisaId("PNP0A03") → DWordConst of the compressed ID (big-endian 16-bit vendor, then the product). */
export function eisaId(id: string): number[] {
  const c = (k: number): number => id.charCodeAt(k) - 0x40;
  const v = (c(0) << 10) | (c(1) << 5) | c(2);
  const p = parseInt(id.slice(3), 16);
  return [0x0c, v >>> 8, v & 0xff, p >>> 8, p & 0xff];
}
const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
/** Word Address Space Descriptor (6.4.3.5.3): producer, MinFixed, MaxFixed, positive decode. */
const wordAddr = (type: number, typeFlags: number, min: number, max: number): number[] =>
  [0x88, 0x0d, 0x00, type, 0x0c, typeFlags, ...le16(0), ...le16(min), ...le16(max), ...le16(0), ...le16(max - min + 1)];
/** DWord Address Space Descriptor (6.4.3.5.2), memory. */
const dwordMem = (typeFlags: number, min: number, max: number): number[] =>
  [0x87, 0x17, 0x00, 0x00, 0x0c, typeFlags, ...le32(0), ...le32(min), ...le32(max), ...le32(0), ...le32(max - min + 1)];

/** The DSDT's AML body (after the 36-byte header). */
export function dsdtAml(o: AcpiOptions): number[] {
  const pciMmioBase = Math.max(o.ramBytes, 0x100000);
  const crs = [
    ...wordAddr(2, 0x00, 0x0000, 0x00ff),                                // bus numbers 0-255
    0x47, 0x01, ...le16(0xcf8), ...le16(0xcf8), 0x01, 0x08,              // IO(Decode16, 0xCF8, 0xCF8, 1, 8)
    ...wordAddr(1, 0x03, 0x0000, 0x0cf7),                                // I/O below the config ports (entire range)
    ...wordAddr(1, 0x03, 0x0d00, 0xffff),
    ...dwordMem(0x03, 0x000a0000, 0x000bffff),                           // VGA window: cacheable, read/write
    // PCI MMIO from the end of RAM to below the I/O APIC: non-cacheable, read/write (none if RAM reaches it).
    ...(pciMmioBase < 0xfec00000 ? dwordMem(0x01, pciMmioBase, 0xfebfffff) : []),
    0x79, 0x00,                                                          // end tag
  ];
  return [
    ...amlName('_S5', amlPackage([amlInteger(ACPI_S5_SLP_TYP), amlInteger(ACPI_S5_SLP_TYP), amlInteger(0), amlInteger(0)])),
    ...amlScope('_SB', amlDevice('PCI0', [
      ...amlName('_HID', eisaId('PNP0A03')),
      ...amlName('_UID', amlInteger(0)),
      ...amlName('_CRS', amlBuffer(crs)),
    ])),
  ];
}

// ------------------------------------------------------------------ tables
/** A table with the standard 36-byte header (5.2.6) around `body`, checksummed. */
export function acpiTable(sig: string, revision: number, body: number[] | Uint8Array): Uint8Array {
  const t = new Uint8Array(36 + body.length);
  const dv = new DataView(t.buffer);
  const put = (at: number, s: string, n: number, pad: number): void => { for (let k = 0; k < n; k++) t[at + k] = k < s.length ? s.charCodeAt(k) : pad; };
  put(0, sig, 4, 0x20);
  dv.setUint32(4, t.length, true);
  t[8] = revision;
  put(10, ACPI_OEM_ID, 6, 0x20);
  put(16, ACPI_OEM_TABLE_ID, 8, 0x20);
  dv.setUint32(24, 1, true);                  // OEM revision
  put(28, ACPI_CREATOR_ID, 4, 0x20);
  dv.setUint32(32, 1, true);                  // creator revision
  t.set(body, 36);
  t[9] = checksum8(t);
  return t;
}

export function buildMadt(o: PlatformDescription): Uint8Array {
  const b: number[] = [...le32(o.lapicBase ?? LAPIC_DEFAULT_BASE), ...le32(MADT.PCAT_COMPAT)];
  for (let k = 0; k < o.cpus; k++) b.push(MADT.LAPIC, 8, k, k, ...le32(MADT.ENABLED));
  b.push(MADT.IOAPIC, 12, ioapicIdOf(o), 0, ...le32(o.ioapicBase ?? IOAPIC_DEFAULT_BASE), ...le32(0));
  b.push(MADT.ISO, 10, 0, 0, ...le32(2), ...le16(INTI.CONFORMING));
  b.push(MADT.ISO, 10, 0, ACPI_SCI_IRQ, ...le32(ACPI_SCI_IRQ), ...le16(INTI.ACTIVE_HIGH | INTI.LEVEL));
  b.push(MADT.LAPIC_NMI, 6, 0xff, ...le16(INTI.CONFORMING), 1);
  return acpiTable('APIC', 1, b);
}

export function buildFadt(facs: number, dsdt: number, pmBase = ACPI_PM_BASE): Uint8Array {
  const b = new Uint8Array(116 - 36);
  const dv = new DataView(b.buffer);
  const at = (off: number): number => off - 36;      // offsets below are the spec's (from the table start)
  dv.setUint32(at(36), facs, true);                  // FIRMWARE_CTRL
  dv.setUint32(at(40), dsdt, true);                  // DSDT
  dv.setUint16(at(46), ACPI_SCI_IRQ, true);          // SCI_INT
  dv.setUint32(at(48), 0, true);                     // SMI_CMD: none, always in ACPI mode
  dv.setUint32(at(56), pmBase, true);                // PM1a_EVT_BLK
  dv.setUint32(at(64), pmBase + 4, true);            // PM1a_CNT_BLK
  dv.setUint32(at(76), pmBase + 8, true);            // PM_TMR_BLK
  b[at(88)] = 4;                                     // PM1_EVT_LEN
  b[at(89)] = 2;                                     // PM1_CNT_LEN
  b[at(91)] = 4;                                     // PM_TMR_LEN
  dv.setUint16(at(96), 101, true);                   // P_LVL2_LAT > 100: no C2
  dv.setUint16(at(98), 1001, true);                  // P_LVL3_LAT > 1000: no C3
  b[at(108)] = CMOS_CENTURY;                         // CENTURY
  dv.setUint32(at(112), FADT_FLAGS.WBINVD | FADT_FLAGS.PROC_C1 | FADT_FLAGS.PWR_BUTTON | FADT_FLAGS.SLP_BUTTON, true);
  return acpiTable('FACP', 1, b);
}

export function buildFacs(): Uint8Array {
  const t = new Uint8Array(64);
  t.set([0x46, 0x41, 0x43, 0x53]);                   // "FACS"
  new DataView(t.buffer).setUint32(4, 64, true);
  return t;
}

export function buildRsdp(rsdt: number): Uint8Array {
  const t = new Uint8Array(20);
  const s = 'RSD PTR ';
  for (let k = 0; k < 8; k++) t[k] = s.charCodeAt(k);
  for (let k = 0; k < 6; k++) t[9 + k] = ACPI_OEM_ID.charCodeAt(k);
  t[15] = 0;                                         // revision 0: ACPI 1.0, RSDT only
  new DataView(t.buffer).setUint32(16, rsdt, true);
  t[8] = checksum8(t);
  return t;
}

/** Lay the ACPI tables out from `at` (16-byte aligned); returns the RSDP address and the end. */
export function writeAcpiTables(mem: PhysMem, at: number, o: AcpiOptions): { rsdp: number; end: number } {
  const align = (a: number, n: number): number => Math.ceil(a / n) * n;
  const rsdp = align(at, 16);
  const facs = align(rsdp + 20, 64);
  const dsdt = facs + 64;
  const dsdtT = acpiTable('DSDT', 1, dsdtAml(o));
  const fadt = align(dsdt + dsdtT.length, 8);
  const fadtT = buildFadt(facs, dsdt, o.pmBase ?? ACPI_PM_BASE);
  const madt = align(fadt + fadtT.length, 8);
  const madtT = buildMadt(o);
  const rsdt = align(madt + madtT.length, 8);
  const rsdtT = acpiTable('RSDT', 1, [...le32(fadt), ...le32(madt)]);
  mem.load(rsdp, buildRsdp(rsdt));
  mem.load(facs, buildFacs());
  mem.load(dsdt, dsdtT);
  mem.load(fadt, fadtT);
  mem.load(madt, madtT);
  mem.load(rsdt, rsdtT);
  return { rsdp, end: rsdt + rsdtT.length };
}

// ------------------------------------------------------------------ all firmware tables
/** Where the firmware tables go: the start of the BIOS area 0xF0000-0xFFFFF, which every memory map this machine reports (e820.ts, multiboot.ts) already marks reserved. */
export const FIRMWARE_TABLES_BASE = 0xf0000;
/** The tables stay below this address. */
export const FIRMWARE_TABLES_END = 0xf2000;

export interface FirmwareTables {
  mpFloating: number;
  mpTable: number;
  /** RSDP address, or -1 without ACPI. */
  rsdp: number;
  /** The RAM range the tables occupy: [base, end). */
  base: number;
  end: number;
}

/**
 * Write the platform's firmware tables into guest RAM at 0xF0000: the MP floating pointer and
 * configuration table, then (with `acpi`) the ACPI tables. Call before the guest runs; loaders do
 * not touch 0xF0000-0xFFFFF.
 */
export function writeFirmwareTables(mem: PhysMem, o: AcpiOptions & { acpi?: boolean }): FirmwareTables {
  if (mem.size < FIRMWARE_TABLES_END) throw new Error('firmware tables need RAM up to 0xF2000');
  const mp = writeMpTable(mem, FIRMWARE_TABLES_BASE, o);
  let end = mp.end, rsdp = -1;
  if (o.acpi ?? true) {
    const a = writeAcpiTables(mem, mp.end, o);
    rsdp = a.rsdp; end = a.end;
  }
  if (end > FIRMWARE_TABLES_END) throw new Error('firmware tables overflow their area');
  return { mpFloating: mp.floating, mpTable: mp.table, rsdp, base: FIRMWARE_TABLES_BASE, end };
}
