// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2) and the 440FX-style
// host bridge at 00:00.0. Expected values: the spec's CONFIG_ADDRESS layout, the PCI header layout
// (6.1) and the 82441FX IDs (vendor 8086h, device 1237h, class 06/00/00), worked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus } from '../machine/bus.js';
import { PciHost } from '../machine/devices/pci.js';

function setup(): { io: IoBus; pci: PciHost } {
  const io = new IoBus();
  const pci = new PciHost();
  pci.attach(io);
  return { io, pci };
}
/** CONFIG_ADDRESS for bus/device/function/register (spec Figure 3-1). */
const addr = (bus: number, dev: number, fn: number, reg: number): number => (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
function cfgRead(io: IoBus, bus: number, dev: number, fn: number, reg: number, size = 4): number {
  io.out(0xcf8, 4, addr(bus, dev, fn, reg));
  const v = io.in(0xcfc + (reg & 3), size);
  return size === 4 ? v >>> 0 : v;
}
function cfgWrite(io: IoBus, bus: number, dev: number, fn: number, reg: number, size: number, v: number): void {
  io.out(0xcf8, 4, addr(bus, dev, fn, reg));
  io.out(0xcfc + (reg & 3), size, v);
}

test('CONFIG_ADDRESS: dword register, bits 30:24 and 1:0 read as 0', () => {
  const { io } = setup();
  assert.equal(io.in(0xcf8, 4) >>> 0, 0);
  io.out(0xcf8, 4, 0xffffffff);
  assert.equal(io.in(0xcf8, 4) >>> 0, 0x80fffffc);
  io.out(0xcf8, 4, 0x12345678);
  assert.equal(io.in(0xcf8, 4) >>> 0, 0x00345678);
});

test("Linux's type-1 probe: a byte write to 0xCFB is not CONFIG_ADDRESS; 0x80000000 reads back", () => {
  const { io } = setup();
  io.out(0xcfb, 1, 0x01);
  const tmp = io.in(0xcf8, 4) >>> 0;
  assert.equal(tmp, 0, 'byte cycle left CONFIG_ADDRESS alone');
  io.out(0xcf8, 4, 0x80000000);
  assert.equal(io.in(0xcf8, 4) >>> 0, 0x80000000);
  // Mechanism #2's check (outb 0xCF8/0xCFA = 0, read back 0) must not pass.
  io.out(0xcf8, 1, 0); io.out(0xcfa, 1, 0);
  assert.notDeepEqual([io.in(0xcf8, 1), io.in(0xcfa, 1)], [0, 0]);
});

test('host bridge 00:00.0: 8086:1237, class 06/00/00, single-function header type 0, no BARs', () => {
  const { io } = setup();
  assert.equal(cfgRead(io, 0, 0, 0, 0x00), 0x12378086);
  assert.equal(cfgRead(io, 0, 0, 0, 0x00, 2), 0x8086);
  assert.equal(cfgRead(io, 0, 0, 0, 0x02, 2), 0x1237);
  assert.equal(cfgRead(io, 0, 0, 0, 0x0a, 2), 0x0600, 'class word (base class 06, subclass 00)');
  assert.equal(cfgRead(io, 0, 0, 0, 0x0b, 1), 0x06);
  assert.equal(cfgRead(io, 0, 0, 0, 0x08) >>> 8, 0x060000, 'class code dword bits 31:8');
  assert.equal(cfgRead(io, 0, 0, 0, 0x0e, 1), 0x00, 'header type 0, not multi-function');
  for (let bar = 0x10; bar <= 0x24; bar += 4) {
    cfgWrite(io, 0, 0, 0, bar, 4, 0xffffffff);
    assert.equal(cfgRead(io, 0, 0, 0, bar), 0, `BAR at ${bar.toString(16)} not implemented`);
  }
  const cmd = cfgRead(io, 0, 0, 0, 0x04, 2);
  assert.equal(cmd & 0x6, 0x6, 'memory space and bus master on');
});

test('absent functions master-abort to all ones at every width', () => {
  const { io } = setup();
  for (const [b, d, f] of [[0, 1, 0], [0, 0, 1], [0, 31, 7], [1, 0, 0], [255, 0, 0]]) {
    assert.equal(cfgRead(io, b, d, f, 0), 0xffffffff, `${b}:${d}.${f}`);
    assert.equal(cfgRead(io, b, d, f, 2, 2), 0xffff);
    assert.equal(cfgRead(io, b, d, f, 3, 1), 0xff);
  }
});

test('enable bit clear: the data window is ordinary (floating) I/O', () => {
  const { io } = setup();
  io.out(0xcf8, 4, 0x00000000);
  assert.equal(io.in(0xcfc, 4) >>> 0, 0xffffffff);
  io.out(0xcfc, 4, 0x12345678);
  assert.equal(cfgRead(io, 0, 0, 0, 0), 0x12378086);
});

test('writes: IDs read-only; command parity/SERR and latency timer writable; 0x40-0xFF chipset registers kept', () => {
  const { io } = setup();
  cfgWrite(io, 0, 0, 0, 0x00, 4, 0);
  assert.equal(cfgRead(io, 0, 0, 0, 0), 0x12378086);
  cfgWrite(io, 0, 0, 0, 0x04, 2, 0xffff);
  assert.equal(cfgRead(io, 0, 0, 0, 0x04, 2), 0x0146);
  cfgWrite(io, 0, 0, 0, 0x04, 2, 0x0000);
  assert.equal(cfgRead(io, 0, 0, 0, 0x04, 2), 0x0006);
  cfgWrite(io, 0, 0, 0, 0x0d, 1, 0x40);
  assert.equal(cfgRead(io, 0, 0, 0, 0x0c) >>> 8 & 0xff, 0x40);
  cfgWrite(io, 0, 0, 0, 0x59, 1, 0x30);
  cfgWrite(io, 0, 0, 0, 0x5a, 2, 0x3333);
  assert.equal(cfgRead(io, 0, 0, 0, 0x58), 0x33333000);
});

test("Linux's pci_sanity_check finds the host bridge on bus 0 (class 0600 or vendor 8086)", () => {
  const { io } = setup();
  let found = -1;
  for (let devfn = 0; devfn < 256; devfn++) {
    const cls = cfgRead(io, 0, devfn >> 3, devfn & 7, 0x0a, 2);
    const ven = cfgRead(io, 0, devfn >> 3, devfn & 7, 0x00, 2);
    if (cls === 0x0600 || cls === 0x0300 || ven === 0x8086 || ven === 0x0e11) { found = devfn; break; }
  }
  assert.equal(found, 0);
});

test('reset control register 0xCF9: RST_CPU 0->1 requests a reset', () => {
  const { io, pci } = setup();
  let resets = 0;
  pci.onReset = () => { resets++; };
  io.out(0xcf9, 1, 0x02);
  assert.equal(resets, 0);
  assert.equal(io.in(0xcf9, 1), 0x02);
  io.out(0xcf9, 1, 0x06);
  assert.equal(resets, 1);
});

test('PCI snapshot round trip', () => {
  const a = setup();
  cfgWrite(a.io, 0, 0, 0, 0x72, 1, 0x0a);
  a.io.out(0xcf8, 4, addr(0, 0, 0, 0x08));
  const b = setup();
  b.pci.restore(JSON.parse(JSON.stringify(a.pci.save())));
  assert.equal(b.io.in(0xcf8, 4) >>> 0, addr(0, 0, 0, 0x08));
  assert.equal(cfgRead(b.io, 0, 0, 0, 0x72, 1), 0x0a);
});
