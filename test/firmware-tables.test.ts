// Firmware tables: the MP floating pointer and configuration table are found and parsed back the way
// an OS does it (MP spec 1.4 ch. 4 layouts, offsets hard-coded here from the spec, checksums summed
// independently), and the result must describe this machine: CPU 0 = BSP with local APIC ID 0 at
// 0xFEE00000, one I/O APIC at 0xFEC00000 with 24 pins, ISA IRQ0 on pin 2, LINT0 ExtINT, LINT1 NMI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMem } from '../machine/memory.js';
import { writeFirmwareTables } from '../machine/boot/acpi.js';
import { pcMemoryMap } from '../machine/boot/e820.js';

const sum = (b: Uint8Array): number => b.reduce((s, x) => (s + x) & 0xff, 0);
const str = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** Linux's smp_scan_config: 16-byte steps, "_MP_", length 1, checksum 0, spec revision 1 or 4. */
function scanMp(mem: PhysMem, base: number, len: number): number {
  for (let a = base; a < base + len; a += 16) {
    const f = mem.readBytes(a, 16);
    if (str(f, 0, 4) === '_MP_' && f[8] === 1 && sum(f) === 0 && (f[9] === 1 || f[9] === 4)) return a;
  }
  return -1;
}

interface Parsed {
  lapic: number;
  cpus: { id: number; ver: number; flags: number; sig: number; feat: number }[];
  buses: { id: number; type: string }[];
  ioapics: { id: number; ver: number; flags: number; addr: number }[];
  ioints: { type: number; flags: number; bus: number; irq: number; apic: number; pin: number }[];
  lints: { type: number; flags: number; bus: number; irq: number; apic: number; pin: number }[];
  order: number[];
}
function parse(mem: PhysMem, fp: number): Parsed {
  const f = mem.readBytes(fp, 16);
  assert.equal(f[11], 0, 'feature byte 1: configuration table present (not a default configuration)');
  assert.equal(f[12] & 0x80, 0, 'IMCRP clear: virtual wire mode');
  const at = u32(f, 4);
  const hdr = mem.readBytes(at, 44);
  assert.equal(str(hdr, 0, 4), 'PCMP');
  const len = u16(hdr, 4);
  const t = mem.readBytes(at, len);
  assert.equal(sum(t), 0, 'base table checksum');
  assert.equal(t[6], 4, 'spec revision 1.4');
  assert.equal(u16(t, 40), 0, 'no extended table');
  const p: Parsed = { lapic: u32(t, 36), cpus: [], buses: [], ioapics: [], ioints: [], lints: [], order: [] };
  let o = 44;
  for (let k = 0; k < u16(t, 34); k++) {
    const type = t[o];
    p.order.push(type);
    switch (type) {
      case 0: p.cpus.push({ id: t[o + 1], ver: t[o + 2], flags: t[o + 3], sig: u32(t, o + 4), feat: u32(t, o + 8) }); o += 20; break;
      case 1: p.buses.push({ id: t[o + 1], type: str(t, o + 2, 6) }); o += 8; break;
      case 2: p.ioapics.push({ id: t[o + 1], ver: t[o + 2], flags: t[o + 3], addr: u32(t, o + 4) }); o += 8; break;
      case 3: case 4: {
        const e = { type: t[o + 1], flags: u16(t, o + 2), bus: t[o + 4], irq: t[o + 5], apic: t[o + 6], pin: t[o + 7] };
        (type === 3 ? p.ioints : p.lints).push(e);
        o += 8;
        break;
      }
      default: assert.fail(`unknown MP entry type ${type}`);
    }
  }
  assert.equal(o, len, 'entries fill the base table exactly');
  return p;
}

test('MP floating pointer is found in 0xF0000-0xFFFFF by a Linux-style scan', () => {
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 1, ramBytes: 128 << 20 });
  const fp = scanMp(mem, 0xf0000, 0x10000);
  assert.ok(fp >= 0xf0000, 'found');
  assert.equal(scanMp(mem, 0x9fc00, 0x400), -1, 'nothing in the EBDA (no BIOS data there)');
});

test('MP configuration table describes the machine (1 CPU)', () => {
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 1, ramBytes: 128 << 20, cpuSignature: 0x6f1, cpuFeatures: 0x0789fbff });
  const p = parse(mem, scanMp(mem, 0xf0000, 0x10000));
  assert.equal(p.lapic, 0xfee00000);
  assert.deepEqual(p.cpus, [{ id: 0, ver: 0x14, flags: 3, sig: 0x6f1, feat: 0x0789fbff }], 'enabled BSP');
  assert.deepEqual(p.order, [...p.order].sort((a, b) => a - b), 'entries sorted by type (spec 4.3)');
  assert.deepEqual(p.buses.map((b) => b.type), ['PCI   ', 'ISA   ']);
  const isa = p.buses.find((b) => b.type === 'ISA   ')!.id;
  assert.deepEqual(p.ioapics, [{ id: 1, ver: 0x11, flags: 1, addr: 0xfec00000 }]);
  // ISA IRQs: 0 → pin 2, 1 and 3-15 → same pin, all INT (type 0), conforming flags, none for IRQ2.
  const want = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((irq) => ({ type: 0, flags: 0, bus: isa, irq, apic: 1, pin: irq === 0 ? 2 : irq }));
  assert.deepEqual(p.ioints, want);
  assert.deepEqual(p.lints, [
    { type: 3, flags: 0, bus: isa, irq: 0, apic: 0xff, pin: 0 },
    { type: 1, flags: 0, bus: isa, irq: 0, apic: 0xff, pin: 1 },
  ], 'LINT0 ExtINT, LINT1 NMI on all local APICs');
});

test('MP table for 4 CPUs: one BSP, APIC IDs 0-3, I/O APIC ID after them', () => {
  const mem = new PhysMem(2 << 20);
  const r = writeFirmwareTables(mem, { cpus: 4, ramBytes: 128 << 20 });
  const p = parse(mem, scanMp(mem, 0xf0000, 0x10000));
  assert.deepEqual(p.cpus.map((c) => [c.id, c.flags]), [[0, 3], [1, 1], [2, 1], [3, 1]]);
  assert.equal(p.ioapics[0].id, 4);
  assert.ok(p.ioints.every((e) => e.apic === 4));
  assert.ok(r.base >= 0xf0000 && r.end <= 0x100000);
});

test('the table area lies in a range the e820 map reports as reserved', () => {
  const mem = new PhysMem(2 << 20);
  const r = writeFirmwareTables(mem, { cpus: 1, ramBytes: 128 << 20 });
  const map = pcMemoryMap(128 << 20);
  const covering = map.find((e) => e.addr <= r.base && e.addr + e.size >= r.end);
  assert.ok(covering, 'one entry covers the tables');
  assert.equal(covering.type, 2, 'reserved');
});

// ------------------------------------------------------------------ ACPI (spec 6.x ch. 5, parsed by offset)
/** Linux's acpi_find_root_pointer: "RSD PTR " on 16-byte boundaries in 0xE0000-0xFFFFF, checksum of the first 20 bytes. */
function scanRsdp(mem: PhysMem): number {
  for (let a = 0xe0000; a < 0x100000; a += 16) {
    const b = mem.readBytes(a, 20);
    if (str(b, 0, 8) === 'RSD PTR ' && sum(b) === 0) return a;
  }
  return -1;
}
/** A table at `a` with a valid checksum over its Length. */
function table(mem: PhysMem, a: number, sig: string): Uint8Array {
  const len = u32(mem.readBytes(a, 8), 4);
  const t = mem.readBytes(a, len);
  assert.equal(str(t, 0, 4), sig);
  assert.equal(sum(t), 0, `${sig} checksum`);
  return t;
}
function acpi(mem: PhysMem): Record<string, { at: number; t: Uint8Array }> {
  const rp = scanRsdp(mem);
  assert.ok(rp >= 0xe0000, 'RSDP found');
  const r = mem.readBytes(rp, 20);
  assert.equal(r[15], 0, 'RSDP revision 0 (ACPI 1.0: RSDT)');
  const rsdtAt = u32(r, 16);
  const rsdt = table(mem, rsdtAt, 'RSDT');
  const out: Record<string, { at: number; t: Uint8Array }> = { RSDT: { at: rsdtAt, t: rsdt } };
  for (let o = 36; o < rsdt.length; o += 4) {
    const at = u32(rsdt, o);
    const sig = str(mem.readBytes(at, 4), 0, 4);
    out[sig] = { at, t: table(mem, at, sig) };
  }
  return out;
}

test('ACPI: RSDP → RSDT → FADT and MADT, all checksums valid', () => {
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 1, ramBytes: 128 << 20 });
  const t = acpi(mem);
  assert.deepEqual(Object.keys(t).sort(), ['APIC', 'FACP', 'RSDT']);
});

test('ACPI FADT (revision 1 layout): SCI 9, no SMI_CMD, PM1a event/control and PM timer blocks, FACS, DSDT', () => {
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 1, ramBytes: 128 << 20 });
  const f = acpi(mem).FACP.t;
  assert.equal(f.length, 116);
  assert.equal(u16(f, 46), 9, 'SCI_INT');
  assert.equal(u32(f, 48), 0, 'SMI_CMD');
  assert.equal(u32(f, 56), 0x600, 'PM1a_EVT_BLK');
  assert.equal(u32(f, 64), 0x604, 'PM1a_CNT_BLK');
  assert.equal(u32(f, 76), 0x608, 'PM_TMR_BLK');
  assert.deepEqual([f[88], f[89], f[91]], [4, 2, 4], 'PM1_EVT_LEN, PM1_CNT_LEN, PM_TMR_LEN');
  assert.ok(u16(f, 96) > 100 && u16(f, 98) > 1000, 'C2/C3 not supported');
  assert.equal(f[108], 0x32, 'CMOS century register');
  assert.equal(u32(f, 112) & 0x100, 0, 'TMR_VAL_EXT clear: 24-bit PM timer');
  const facsAt = u32(f, 36);
  assert.equal(facsAt % 64, 0, 'FACS 64-byte aligned');
  const facs = mem.readBytes(facsAt, 64);
  assert.equal(str(facs, 0, 4), 'FACS');
  assert.equal(u32(facs, 4), 64);
  table(mem, u32(f, 40), 'DSDT');
});

test('ACPI MADT: local APIC, I/O APIC, IRQ0 → GSI 2, SCI IRQ9 level/high, LINT1 NMI', () => {
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 2, ramBytes: 128 << 20 });
  const m = acpi(mem).APIC.t;
  assert.equal(u32(m, 36), 0xfee00000);
  assert.equal(u32(m, 40) & 1, 1, 'PCAT_COMPAT');
  const entries: number[][] = [];
  for (let o = 44; o < m.length; o += m[o + 1]) entries.push([...m.subarray(o, o + m[o + 1])]);
  assert.deepEqual(entries, [
    [0, 8, 0, 0, 1, 0, 0, 0],                                  // processor 0, APIC ID 0, enabled
    [0, 8, 1, 1, 1, 0, 0, 0],                                  // processor 1, APIC ID 1, enabled
    [1, 12, 2, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0],         // I/O APIC ID 2 at 0xFEC00000, GSI base 0
    [2, 10, 0, 0, 2, 0, 0, 0, 0, 0],                           // ISA IRQ0 → GSI 2, conforming
    [2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0],                        // ISA IRQ9 → GSI 9, active high, level
    [4, 6, 0xff, 0, 0, 1],                                     // NMI on LINT1 of all processors
  ]);
});

test('ACPI DSDT AML equals what the ACPICA compiler (iasl 20200925) makes of the reference ASL', () => {
  // ASL: Name (_S5, Package (0x04) {0x05, 0x05, Zero, Zero})
  //      Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03")) Name (_UID, Zero)
  //        Name (_CRS, ResourceTemplate () {
  //          WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100,,,)
  //          IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,)
  //          WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0, 0x0CF7, 0, 0x0CF8,,,, TypeStatic, DenseTranslation)
  //          WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0x0D00, 0xFFFF, 0, 0xF300,,,, TypeStatic, DenseTranslation)
  //          DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0, 0xA0000, 0xBFFFF, 0, 0x20000,,,, AddressRangeMemory, TypeStatic)
  //          DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, 0x08000000, 0xFEBFFFFF, 0, 0xF6C00000,,,, AddressRangeMemory, TypeStatic) }) } }
  const iasl = '085f53355f1208040a050a0500001046095f53425f5b824e0850434930085f4849440c41d00a03085f55494400085f4352531142070a6e880d00020c0000000000ff00000000014701f80cf80c0108880d00010c0300000000f70c0000f80c880d00010c030000000dffff000000f3871700000c030000000000000a00ffff0b000000000000000200871700000c010000000000000008ffffbffe000000000000c0f67900';
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 1, ramBytes: 128 << 20 });
  const f = acpi(mem).FACP.t;
  const d = table(mem, u32(f, 40), 'DSDT');
  assert.equal(Buffer.from(d.subarray(36)).toString('hex'), iasl);
});

test('tables fit the reserved BIOS area and can be left out (acpi: false)', () => {
  const mem = new PhysMem(2 << 20);
  const r = writeFirmwareTables(mem, { cpus: 15, ramBytes: 128 << 20 });
  assert.ok(r.end <= 0x100000 && r.rsdp > 0);
  const mem2 = new PhysMem(2 << 20);
  const r2 = writeFirmwareTables(mem2, { cpus: 1, ramBytes: 128 << 20, acpi: false });
  assert.equal(r2.rsdp, -1);
  assert.equal(scanRsdp(mem2), -1);
});
