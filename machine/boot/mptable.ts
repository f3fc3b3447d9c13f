// Intel MultiProcessor Specification 1.4 tables (MP floating pointer + MP configuration table),
// which tell an OS where the local APICs and the I/O APIC are and how ISA IRQs reach them.
// Browser-safe: builds byte arrays and writes them into PhysMem.
//
// Layouts (MP spec 1.4, ch. 4):
// - Floating pointer (16 bytes, 16-byte aligned, found by scanning the first KiB of the EBDA, the
//   last KiB of base memory or 0xF0000-0xFFFFF): "_MP_", physical address of the configuration
//   table, length in 16-byte units (1), spec revision (4), checksum (all bytes sum to 0), feature
//   bytes 1-5. Feature byte 1 = 0: a configuration table is present. Feature byte 2 bit 7 (IMCRP)
//   = 0: the system uses virtual wire mode, not PIC mode (no IMCR at ports 0x22/0x23).
// - Configuration table header (44 bytes): "PCMP", base table length, spec revision, checksum,
//   OEM ID (8), product ID (12), OEM table pointer/size, entry count, local APIC address,
//   extended table length and checksum. Entries follow, sorted by type:
//   0 processor (20 bytes): APIC ID, APIC version, flags (EN = 1, BP = 2), CPU signature, features.
//   1 bus (8): bus ID, type string ("PCI   ", "ISA   ").
//   2 I/O APIC (8): ID, version, flags (EN), address.
//   3 I/O interrupt (8): type (0 INT, 1 NMI, 2 SMI, 3 ExtINT), flags (polarity 1:0, trigger 3:2;
//     0 = conforms to the bus), source bus, source IRQ, destination I/O APIC ID and INTIN#.
//   4 local interrupt (8): same fields, destination local APIC ID (0xFF = all) and LINTIN#.
//
// This machine: PCI bus 0 (host bridge only, no interrupt entries) and ISA bus 1; ISA IRQ0 → pin 2,
// IRQ1 and IRQ3-15 → the pin of their number (ISA conforming: edge, active high); LINT0 = ExtINT
// and LINT1 = NMI on every local APIC (the virtual wire mode the machine starts in).

import type { PhysMem } from '../memory.js';
import { isaIrqToPin, IOAPIC_DEFAULT_BASE, IOAPIC_VERSION } from '../devices/ioapic.js';
import { LAPIC_DEFAULT_BASE, LAPIC_VERSION } from '../devices/lapic.js';
import { cpuidOptions, signature } from '../cpu/cpuid.js';
import { CPUID_EDX } from '../cpu/arch.js';

export const MP_SPEC_REV = 4;
export const MP_ENTRY = { PROCESSOR: 0, BUS: 1, IOAPIC: 2, IOINT: 3, LINT: 4 } as const;
export const MP_INT_TYPE = { INT: 0, NMI: 1, SMI: 2, EXTINT: 3 } as const;
export const MP_CPU_FLAGS = { EN: 1, BP: 2 } as const;
export const MP_OEM_ID = 'TSVISOR';
export const MP_PRODUCT_ID = 'TSVISOR PC';
export const MP_PCI_BUS = 0, MP_ISA_BUS = 1;

export interface PlatformDescription {
  /** Number of CPUs; CPU k has local APIC ID k, CPU 0 is the bootstrap processor. */
  cpus: number;
  /** I/O APIC ID (default: `cpus`, the first ID after the local APICs). */
  ioapicId?: number;
  lapicBase?: number;
  ioapicBase?: number;
  /** CPUID.01H:EAX and EDX of the CPUs (default: the machine's CPUID model). */
  cpuSignature?: number;
  cpuFeatures?: number;
}

export function ioapicIdOf(p: PlatformDescription): number { return p.ioapicId ?? p.cpus; }

/** Two's-complement byte that makes `b[from..to)` sum to 0 mod 256. */
export function checksum8(b: Uint8Array, from = 0, to = b.length): number {
  let s = 0;
  for (let k = from; k < to; k++) s += b[k];
  return (0x100 - (s & 0xff)) & 0xff;
}

function putStr(b: Uint8Array, at: number, s: string, len: number): void {
  for (let k = 0; k < len; k++) b[at + k] = k < s.length ? s.charCodeAt(k) : 0x20;
}

/** The MP configuration table (header + entries) for `p`. */
export function buildMpConfigTable(p: PlatformDescription): Uint8Array {
  if (!(p.cpus >= 1 && p.cpus <= 15)) throw new Error(`MP table: ${p.cpus} CPUs (1-15 supported with a 4-bit I/O APIC ID space)`);
  const ioId = ioapicIdOf(p);
  const sig = p.cpuSignature ?? signature(cpuidOptions);
  const feat = p.cpuFeatures ?? (cpuidOptions.edx | CPUID_EDX.APIC);
  const isaIrqs = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const entries: Uint8Array[] = [];
  for (let k = 0; k < p.cpus; k++) {
    const e = new Uint8Array(20);
    const dv = new DataView(e.buffer);
    e[0] = MP_ENTRY.PROCESSOR; e[1] = k; e[2] = LAPIC_VERSION & 0xff;
    e[3] = MP_CPU_FLAGS.EN | (k === 0 ? MP_CPU_FLAGS.BP : 0);
    dv.setUint32(4, sig, true); dv.setUint32(8, feat >>> 0, true);
    entries.push(e);
  }
  for (const [id, type] of [[MP_PCI_BUS, 'PCI'], [MP_ISA_BUS, 'ISA']] as const) {
    const e = new Uint8Array(8);
    e[0] = MP_ENTRY.BUS; e[1] = id; putStr(e, 2, type, 6);
    entries.push(e);
  }
  {
    const e = new Uint8Array(8);
    e[0] = MP_ENTRY.IOAPIC; e[1] = ioId; e[2] = IOAPIC_VERSION & 0xff; e[3] = 1;
    new DataView(e.buffer).setUint32(4, p.ioapicBase ?? IOAPIC_DEFAULT_BASE, true);
    entries.push(e);
  }
  for (const irq of isaIrqs) {
    // flags 0: conforms to the ISA bus (edge, active high).
    entries.push(Uint8Array.of(MP_ENTRY.IOINT, MP_INT_TYPE.INT, 0, 0, MP_ISA_BUS, irq, ioId, isaIrqToPin(irq)));
  }
  entries.push(Uint8Array.of(MP_ENTRY.LINT, MP_INT_TYPE.EXTINT, 0, 0, MP_ISA_BUS, 0, 0xff, 0));
  entries.push(Uint8Array.of(MP_ENTRY.LINT, MP_INT_TYPE.NMI, 0, 0, MP_ISA_BUS, 0, 0xff, 1));

  const len = 44 + entries.reduce((s, e) => s + e.length, 0);
  const t = new Uint8Array(len);
  const dv = new DataView(t.buffer);
  putStr(t, 0, 'PCMP', 4);
  dv.setUint16(4, len, true);
  t[6] = MP_SPEC_REV;
  putStr(t, 8, MP_OEM_ID, 8);
  putStr(t, 16, MP_PRODUCT_ID, 12);
  dv.setUint16(34, entries.length, true);
  dv.setUint32(36, p.lapicBase ?? LAPIC_DEFAULT_BASE, true);
  let at = 44;
  for (const e of entries) { t.set(e, at); at += e.length; }
  t[7] = checksum8(t);
  return t;
}

/** The 16-byte MP floating pointer structure pointing at `tableAddr`. */
export function buildMpFloatingPointer(tableAddr: number): Uint8Array {
  const f = new Uint8Array(16);
  putStr(f, 0, '_MP_', 4);
  new DataView(f.buffer).setUint32(4, tableAddr, true);
  f[8] = 1;
  f[9] = MP_SPEC_REV;
  f[11] = 0;          // a configuration table is present
  f[12] = 0;          // IMCRP = 0: virtual wire mode
  f[10] = checksum8(f);
  return f;
}

/** Write the floating pointer at `at` (16-byte aligned) and the table right after it; returns the end. */
export function writeMpTable(mem: PhysMem, at: number, p: PlatformDescription): { floating: number; table: number; end: number } {
  if ((at & 15) !== 0) throw new Error('MP floating pointer must be 16-byte aligned');
  const table = at + 16;
  const t = buildMpConfigTable(p);
  mem.load(at, buildMpFloatingPointer(table));
  mem.load(table, t);
  return { floating: at, table, end: table + t.length };
}

