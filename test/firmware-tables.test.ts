// Firmware tables: the MP floating pointer and configuration table are found and parsed back the way
// an OS does it (MP spec 1.4 ch. 4 layouts, offsets hard-coded here from the spec, checksums summed
// independently), and the result must describe this machine: CPU 0 = BSP with local APIC ID 0 at
// 0xFEE00000, one I/O APIC at 0xFEC00000 with 24 pins, ISA IRQ0 on pin 2, LINT0 ExtINT, LINT1 NMI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMem } from '../machine/memory.js';
import { writeFirmwareTables } from '../machine/boot/mptable.js';
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
  writeFirmwareTables(mem, { cpus: 1 });
  const fp = scanMp(mem, 0xf0000, 0x10000);
  assert.ok(fp >= 0xf0000, 'found');
  assert.equal(scanMp(mem, 0x9fc00, 0x400), -1, 'nothing in the EBDA (no BIOS data there)');
});

test('MP configuration table describes the machine (1 CPU)', () => {
  const mem = new PhysMem(2 << 20);
  writeFirmwareTables(mem, { cpus: 1, cpuSignature: 0x6f1, cpuFeatures: 0x0789fbff });
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
  const r = writeFirmwareTables(mem, { cpus: 4 });
  const p = parse(mem, scanMp(mem, 0xf0000, 0x10000));
  assert.deepEqual(p.cpus.map((c) => [c.id, c.flags]), [[0, 3], [1, 1], [2, 1], [3, 1]]);
  assert.equal(p.ioapics[0].id, 4);
  assert.ok(p.ioints.every((e) => e.apic === 4));
  assert.ok(r.base >= 0xf0000 && r.end <= 0x100000);
});

test('the table area lies in a range the e820 map reports as reserved', () => {
  const mem = new PhysMem(2 << 20);
  const r = writeFirmwareTables(mem, { cpus: 1 });
  const map = pcMemoryMap(128 << 20);
  const covering = map.find((e) => e.addr <= r.base && e.addr + e.size >= r.end);
  assert.ok(covering, 'one entry covers the tables');
  assert.equal(covering.type, 2, 'reserved');
});
