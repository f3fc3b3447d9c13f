// Local APIC and I/O APIC. Expected values come from the Intel SDM Vol3A ch. 10 (register layouts,
// power-up state, priority rules, ESR, timer, ICR, logical destinations) and the 82093AA I/O APIC
// datasheet (register indexes, redirection entries, edge/level and remote IRR), worked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock } from '../machine/clock.js';
import { PhysMem } from '../machine/memory.js';
import { ApicBus, LocalApic, apicTimerDivisor, type ApicCpuSignals } from '../machine/devices/lapic.js';
import { IoApic, isaIrqLines } from '../machine/devices/ioapic.js';
import type { InterruptController } from '../machine/cpu/cpu.js';
import type { IrqLine } from '../machine/bus.js';

// Register offsets straight from SDM Vol3A Table 10-1 (not imported from the device).
const ID = 0x20, VER = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, LDR = 0xd0, DFR = 0xe0, SVR = 0xf0;
const ISR0 = 0x100, TMR0 = 0x180, IRR0 = 0x200, ESR = 0x280, ICRLO = 0x300, ICRHI = 0x310;
const LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERR = 0x370, TICR = 0x380, TCCR = 0x390, TDCR = 0x3e0;
const BASE = 0xfee00000;

interface Log { nmi: number; init: number; sipi: number[]; smi: number }
function signals(log: Log): ApicCpuSignals {
  return { nmi: () => { log.nmi++; }, init: () => { log.init++; }, sipi: (v) => { log.sipi.push(v); }, smi: () => { log.smi++; }, kick() {} };
}
/** A stand-in 8259: INTR level and the vector INTA returns. */
class FakePic implements InterruptController {
  intr = false; vector = 0x20; acks = 0;
  hasInterrupt(): boolean { return this.intr; }
  acknowledge(): number { this.acks++; this.intr = false; return this.vector; }
}
interface Rig { clock: Clock; mem: PhysMem; bus: ApicBus; apic: LocalApic; log: Log; pic: FakePic }
function rig(enable = true): Rig {
  const clock = new Clock(1);
  const mem = new PhysMem(1 << 20);
  const bus = new ApicBus(mem);
  const pic = new FakePic();
  const apic = new LocalApic(clock, 0, pic);
  const log: Log = { nmi: 0, init: 0, sipi: [], smi: 0 };
  apic.signals = signals(log);
  bus.add(apic);
  if (enable) w(mem, SVR, 0x1ff);
  return { clock, mem, bus, apic, log, pic };
}
const r = (m: PhysMem, off: number): number => m.read(BASE + off, 4) >>> 0;
const w = (m: PhysMem, off: number, v: number): void => m.write(BASE + off, 4, v);
/** Bit `v` of a 256-bit register starting at `off`. */
const bit = (m: PhysMem, off: number, v: number): boolean => ((r(m, off + 0x10 * (v >> 5)) >>> (v & 31)) & 1) === 1;
function advance(clock: Clock, ns: number): void {
  for (;;) {
    const d = clock.nextDeadline();
    if (d > ns) break;
    clock.insns = d;
    clock.runDue();
  }
  clock.insns = ns;
  clock.runDue();
}
/** Send a fixed interrupt to the APIC as an I/O APIC would (physical destination 0). */
const fixed = (x: Rig, vec: number, level = false): boolean => x.bus.deliver(null, 0, 0, false, 0, vec, level);

test('power-up state (SDM 10.4.7.1) and version register (10.4.8)', () => {
  const { mem } = rig(false);
  assert.equal(r(mem, VER), 0x00050014, 'integrated APIC 0x14, 6 LVT entries (max index 5)');
  assert.equal(r(mem, ID), 0);
  assert.equal(r(mem, SVR), 0xff);
  assert.equal(r(mem, DFR), 0xffffffff);
  assert.equal(r(mem, TPR), 0);
  for (let k = 0; k < 6; k++) assert.equal(r(mem, LVT_TIMER + 0x10 * k), 0x00010000, `LVT ${k} masked`);
  assert.equal(r(mem, TICR), 0); assert.equal(r(mem, TCCR), 0); assert.equal(r(mem, TDCR), 0);
});

test('software-disabled APIC: LVT masks stay set, fixed interrupts are refused (10.4.7.2)', () => {
  const x = rig(false);
  w(x.mem, LVT_LINT0, 0x700);
  assert.equal(r(x.mem, LVT_LINT0), 0x10700, 'mask bit cannot be cleared while SVR.8 = 0');
  assert.equal(fixed(x, 0x40), false);
  assert.equal(bit(x.mem, IRR0, 0x40), false);
  w(x.mem, SVR, 0x1ff);
  w(x.mem, LVT_LINT0, 0x700);
  assert.equal(r(x.mem, LVT_LINT0), 0x700);
  w(x.mem, SVR, 0x0ff);
  assert.equal(r(x.mem, LVT_LINT0), 0x10700, 'disabling sets every mask');
});

test('fixed interrupts: IRR -> ISR on INTA, priority classes against PPR, EOI (10.8.3-10.8.5)', () => {
  const x = rig();
  const a = x.apic;
  fixed(x, 0x31); fixed(x, 0x62); fixed(x, 0x45);
  assert.ok(bit(x.mem, IRR0, 0x31) && bit(x.mem, IRR0, 0x45) && bit(x.mem, IRR0, 0x62));
  assert.equal(r(x.mem, IRR0 + 0x10), 0x00020000 | 0x00000000, 'IRR word 1: vector 0x31 = bit 17');
  assert.equal(a.hasInterrupt(), true);
  assert.equal(a.acknowledge(), 0x62);
  assert.ok(bit(x.mem, ISR0, 0x62) && !bit(x.mem, IRR0, 0x62));
  assert.equal(r(x.mem, PPR), 0x60, 'PPR = ISRV class when above TPR');
  assert.equal(a.hasInterrupt(), false, '0x45 (class 4) waits behind class 6 in service');
  fixed(x, 0x6f);
  assert.equal(a.hasInterrupt(), false, 'same class as the in-service vector does not nest');
  fixed(x, 0x70);
  assert.equal(a.acknowledge(), 0x70, 'class 7 nests above class 6');
  w(x.mem, EOI, 0);
  assert.equal(bit(x.mem, ISR0, 0x70), false, 'EOI clears the highest ISR bit');
  assert.equal(bit(x.mem, ISR0, 0x62), true);
  w(x.mem, EOI, 0);
  assert.equal(r(x.mem, PPR), 0);
  assert.equal(a.acknowledge(), 0x6f);
  w(x.mem, EOI, 0);
  assert.equal(a.acknowledge(), 0x45);
  w(x.mem, EOI, 0);
  assert.equal(a.acknowledge(), 0x31);
  w(x.mem, EOI, 0);
  assert.equal(a.hasInterrupt(), false);
});

test('TPR, PPR and APR (10.8.3.1, 10.6.2.4)', () => {
  const x = rig();
  w(x.mem, TPR, 0x5a);
  assert.equal(r(x.mem, PPR), 0x5a, 'PPR = TPR when TPR class >= ISRV class');
  fixed(x, 0x5f);
  assert.equal(x.apic.hasInterrupt(), false, 'class 5 is not above PPR class 5');
  assert.equal(r(x.mem, APR), 0x5a, 'APR = TPR: TPR class >= IRRV class and > ISRV class (0)');
  fixed(x, 0x61);
  assert.equal(r(x.mem, APR), 0x60, 'APR = IRRV class when it is above the TPR class');
  assert.equal(x.apic.acknowledge(), 0x61);
  assert.equal(r(x.mem, PPR), 0x60, 'ISRV class 6 above TPR class 5: PPR = 0x60');
  assert.equal(r(x.mem, APR), 0x60);
  w(x.mem, TPR, 0x70);
  assert.equal(r(x.mem, PPR), 0x70);
  w(x.mem, EOI, 0);
  w(x.mem, TPR, 0);
  assert.equal(x.apic.acknowledge(), 0x5f, 'lowering TPR releases the held vector');
});

test('spurious vector: INTA with nothing deliverable returns SVR[7:0] and sets no ISR bit (10.9)', () => {
  const x = rig();
  w(x.mem, SVR, 0x1ef);
  assert.equal(x.apic.acknowledge(), 0xef);
  for (let k = 0; k < 8; k++) assert.equal(r(x.mem, ISR0 + 0x10 * k), 0);
});

test('level-triggered vectors set TMR; their EOI is broadcast to I/O APICs (10.8.4, 10.8.5)', () => {
  const x = rig();
  const eois: number[] = [];
  x.bus.ioapics.push({ eoi: (v) => eois.push(v) });
  fixed(x, 0x41, true);
  fixed(x, 0x52, false);
  assert.equal(bit(x.mem, TMR0, 0x41), true);
  assert.equal(bit(x.mem, TMR0, 0x52), false);
  assert.equal(x.apic.acknowledge(), 0x52);
  w(x.mem, EOI, 0);
  assert.deepEqual(eois, [], 'edge vector: no EOI message');
  assert.equal(x.apic.acknowledge(), 0x41);
  w(x.mem, EOI, 0);
  assert.deepEqual(eois, [0x41]);
});

test('ESR: errors show only after a write, which also clears them; new errors raise the LVT error vector (10.5.3)', () => {
  const x = rig();
  w(x.mem, LVT_ERR, 0xfe);
  assert.equal(r(x.mem, 0x40), 0, 'reserved register reads 0');
  assert.equal(r(x.mem, ESR), 0, 'not visible before a write');
  w(x.mem, ESR, 0);
  assert.equal(r(x.mem, ESR), 0x80, 'illegal register address');
  assert.equal(bit(x.mem, IRR0, 0xfe), true, 'error interrupt');
  w(x.mem, ESR, 0);
  assert.equal(r(x.mem, ESR), 0, 'the write cleared it');
  w(x.mem, ICRLO, 0x00040005);                       // self IPI, fixed, vector 5
  fixed(x, 0x07);
  w(x.mem, ESR, 0);
  assert.equal(r(x.mem, ESR), 0x60, 'send illegal vector (bit 5) and receive illegal vector (bit 6)');
  assert.equal(bit(x.mem, IRR0, 5), false);
});

test('ICR: self, NMI, INIT, start-up and the shorthands; delivery status reads idle (10.6.1)', () => {
  const x = rig();
  w(x.mem, ICRLO, 0x00040080);                       // shorthand self, fixed, vector 0x80
  assert.equal(bit(x.mem, IRR0, 0x80), true);
  assert.equal(r(x.mem, ICRLO), 0x00040080, 'bit 12 (send pending) is 0');
  w(x.mem, ICRHI, 0x00000000);
  w(x.mem, ICRLO, 0x00000400);                       // NMI, physical destination 0
  assert.equal(x.log.nmi, 1);
  w(x.mem, ICRLO, 0x000c0400);                       // NMI to all excluding self: nobody else
  assert.equal(x.log.nmi, 1);
  w(x.mem, ICRLO, 0x00080400);                       // NMI to all including self
  assert.equal(x.log.nmi, 2);
  w(x.mem, ICRLO, 0x00008500);                       // INIT level de-assert: no effect
  assert.equal(x.log.init, 0);
  w(x.mem, ID, 0x03000000);
  w(x.mem, TPR, 0x20);
  w(x.mem, ICRHI, 0x03000000);
  w(x.mem, ICRLO, 0x00004500);                       // INIT assert to APIC 3 (ourselves)
  assert.equal(x.log.init, 1);
  assert.equal(r(x.mem, SVR), 0xff, 'INIT resets the APIC...');
  assert.equal(r(x.mem, TPR), 0);
  assert.equal(bit(x.mem, IRR0, 0x80), false);
  assert.equal(r(x.mem, ID), 0x03000000, '...but keeps its ID');
  assert.equal(r(x.mem, ICRHI), 0, 'INIT cleared the ICR');
  w(x.mem, ICRHI, 0x03000000);
  w(x.mem, ICRLO, 0x00004699);                       // start-up, vector 0x99
  assert.deepEqual(x.log.sipi, [0x99]);
});

test('destinations on a 4-APIC bus: physical, broadcast, flat and cluster logical, lowest priority (10.6.2)', () => {
  const clock = new Clock(1);
  const bus = new ApicBus(null);
  const apics = [0, 1, 2, 3].map((id) => { const a = new LocalApic(clock, id); bus.add(a); a.writeReg(SVR, 0x1ff); return a; });
  const irr = (a: LocalApic, v: number): boolean => ((a.readReg(IRR0 + 0x10 * (v >> 5)) >>> (v & 31)) & 1) === 1;
  const clear = (): void => { for (const a of apics) { while (a.hasInterrupt()) { a.acknowledge(); a.writeReg(EOI, 0); } } };
  bus.deliver(null, 0, 2, false, 0, 0x40, false);
  assert.deepEqual(apics.map((a) => irr(a, 0x40)), [false, false, true, false], 'physical ID 2');
  clear();
  bus.deliver(null, 0, 0xff, false, 0, 0x41, false);
  assert.deepEqual(apics.map((a) => irr(a, 0x41)), [true, true, true, true], 'physical broadcast 0xFF');
  clear();
  // Flat model: logical IDs 1, 2, 4, 8.
  apics.forEach((a, k) => a.writeReg(LDR, (1 << k) << 24));
  bus.deliver(null, 0, 0x05, true, 0, 0x42, false);
  assert.deepEqual(apics.map((a) => irr(a, 0x42)), [true, false, true, false], 'flat MDA 0x05');
  clear();
  // Cluster model: APIC k in cluster k>>1, member bit 1 << (k & 1).
  apics.forEach((a, k) => { a.writeReg(DFR, 0x0fffffff); a.writeReg(LDR, (((k >> 1) << 4) | (1 << (k & 1))) << 24); });
  assert.equal(apics[0].readReg(DFR) >>> 0, 0x0fffffff);
  bus.deliver(null, 0, 0x12, true, 0, 0x43, false);
  assert.deepEqual(apics.map((a) => irr(a, 0x43)), [false, false, false, true], 'cluster 1, member bit 1');
  clear();
  bus.deliver(null, 0, 0xf1, true, 0, 0x44, false);
  assert.deepEqual(apics.map((a) => irr(a, 0x44)), [true, false, true, false], 'all clusters, member bit 0');
  clear();
  // Lowest priority among all four: the lowest TPR (arbitration priority) wins.
  apics.forEach((a, k) => a.writeReg(TPR, [0x30, 0x20, 0x10, 0x40][k]));
  bus.deliver(null, 0, 0xff, false, 1, 0x45, false);
  assert.deepEqual(apics.map((a) => irr(a, 0x45)), [false, false, true, false], 'APIC 2 has the lowest TPR');
  clear();
  // All excluding self from APIC 1.
  apics[1].writeReg(ICRLO, 0x000c0046);
  assert.deepEqual(apics.map((a) => irr(a, 0x46)), [true, false, true, true]);
});

test('timer divide configuration (Figure 10-10)', () => {
  const want: [number, number][] = [[0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1]];
  for (const [dcr, div] of want) assert.equal(apicTimerDivisor(dcr), div, `DCR ${dcr}`);
});

test('timer one-shot: current count from virtual time at 100 MHz / divisor, one interrupt (10.5.4)', () => {
  const x = rig();
  w(x.mem, TDCR, 0x3);                               // divide by 16: 160 ns per count
  w(x.mem, LVT_TIMER, 0x40);
  advance(x.clock, 1000);
  w(x.mem, TICR, 1000);
  assert.equal(r(x.mem, TICR), 1000);
  assert.equal(r(x.mem, TCCR), 1000);
  advance(x.clock, 1000 + 159);
  assert.equal(r(x.mem, TCCR), 1000);
  advance(x.clock, 1000 + 160);
  assert.equal(r(x.mem, TCCR), 999);
  advance(x.clock, 1000 + 160 * 500 + 5);
  assert.equal(r(x.mem, TCCR), 500);
  advance(x.clock, 1000 + 160 * 1000 - 1);
  assert.equal(bit(x.mem, IRR0, 0x40), false);
  assert.equal(r(x.mem, TCCR), 1);
  advance(x.clock, 1000 + 160 * 1000);
  assert.equal(bit(x.mem, IRR0, 0x40), true, 'fires when the count reaches 0');
  assert.equal(r(x.mem, TCCR), 0);
  x.apic.acknowledge(); w(x.mem, EOI, 0);
  advance(x.clock, 1000 + 160 * 5000);
  assert.equal(bit(x.mem, IRR0, 0x40), false, 'one-shot: no second interrupt');
  assert.equal(r(x.mem, TCCR), 0);
});

test('timer periodic: reloads, interrupts every period, masked still counts; initial count 0 stops it', () => {
  const x = rig();
  w(x.mem, TDCR, 0xb);                               // divide by 1: 10 ns per count
  w(x.mem, LVT_TIMER, 0x20000 | 0x50);
  w(x.mem, TICR, 100);                               // 1000 ns period
  const fires: number[] = [];
  for (let t = 0; t <= 5000; t += 10) {
    advance(x.clock, t);
    if (x.apic.hasInterrupt()) { fires.push(t); assert.equal(x.apic.acknowledge(), 0x50); w(x.mem, EOI, 0); }
  }
  assert.deepEqual(fires, [1000, 2000, 3000, 4000, 5000]);
  advance(x.clock, 5250);
  assert.equal(r(x.mem, TCCR), 75, 'reloaded to 100 at 5000, 25 counts since');
  w(x.mem, LVT_TIMER, 0x30050);                      // masked, periodic
  advance(x.clock, 6100);
  assert.equal(x.apic.hasInterrupt(), false);
  assert.equal(r(x.mem, TCCR), 90, 'a masked timer keeps counting');
  w(x.mem, TICR, 0);
  assert.equal(r(x.mem, TCCR), 0);
  assert.equal(x.clock.nextDeadline(), Infinity);
});

test('LINT0 ExtINT: the 8259 INTR reaches the CPU through the APIC; masked LINT0 blocks it (virtual wire)', () => {
  const x = rig();
  x.pic.intr = true; x.pic.vector = 0x08;
  assert.equal(x.apic.hasInterrupt(), false, 'LINT0 masked');
  x.apic.biosVirtualWire();
  assert.equal(r(x.mem, LVT_LINT0), 0x700);
  assert.equal(r(x.mem, LVT_LINT1), 0x400);
  assert.equal(x.apic.hasInterrupt(), true);
  w(x.mem, TPR, 0xff);
  assert.equal(x.apic.hasInterrupt(), true, 'ExtINT bypasses the priority logic');
  assert.equal(x.apic.acknowledge(), 0x08, 'vector from the 8259');
  assert.equal(x.pic.acks, 1);
  assert.equal(r(x.mem, ISR0), 0, 'ExtINT does not use ISR');
  x.apic.lint1.set(true);
  assert.equal(x.log.nmi, 1, 'LINT1 = NMI');
});

test('hardware disable (IA32_APIC_BASE.EN = 0): PIC straight to the core, page gone, power-up state on re-enable (10.4.3)', () => {
  const x = rig();
  x.apic.biosVirtualWire();
  w(x.mem, TPR, 0x30);
  x.apic.setApicBase(0xfee00100, 0);                 // BSP, EN clear
  assert.equal(x.mem.read(BASE + VER, 4) >>> 0, 0xffffffff, 'no APIC at the page (above RAM)');
  w(x.mem, ICRLO, 0x00040400);                       // lost: no APIC there
  assert.equal(x.log.nmi, 0);
  x.pic.intr = true;
  assert.equal(x.apic.hasInterrupt(), true);
  assert.equal(x.apic.acknowledge(), 0x20);
  x.apic.lint1.set(true);
  assert.equal(x.log.nmi, 1, 'NMI pin reaches the core');
  x.apic.setApicBase(0xfee00900, 0);
  assert.equal(r(x.mem, VER), 0x00050014);
  assert.equal(r(x.mem, SVR), 0xff);
  assert.equal(r(x.mem, TPR), 0);
  assert.equal(r(x.mem, LVT_LINT0), 0x10000);
});

test('relocation through IA32_APIC_BASE maps the page at the new base', () => {
  const x = rig();
  x.apic.setApicBase(0xfed00900, 0);
  assert.equal(x.mem.read(0xfed00000 + VER, 4) >>> 0, 0x00050014);
  assert.equal(x.mem.read(BASE + VER, 4) >>> 0, 0xffffffff);
});

test('narrow reads return register bytes; narrow writes are ignored (10.4.1)', () => {
  const x = rig();
  assert.equal(x.mem.read(BASE + VER, 1), 0x14);
  assert.equal(x.mem.read(BASE + VER + 2, 1), 0x05);
  assert.equal(x.mem.read(BASE + VER + 2, 2), 0x0005);
  x.mem.write(BASE + TPR, 1, 0x40);
  assert.equal(r(x.mem, TPR), 0);
});

test('local APIC snapshot round trip (timer keeps its schedule)', () => {
  const x = rig();
  w(x.mem, TDCR, 0xb); w(x.mem, LVT_TIMER, 0x20051); w(x.mem, TICR, 300); w(x.mem, TPR, 0x20);
  fixed(x, 0x33); fixed(x, 0x90, true); x.apic.acknowledge();
  advance(x.clock, 1234);
  const snap = JSON.parse(JSON.stringify(x.apic.save()));
  const y = rig();
  y.clock.insns = 1234;
  y.apic.restore(snap);
  for (const off of [TPR, PPR, SVR, LVT_TIMER, TICR, TCCR, ISR0 + 0x40, TMR0 + 0x40, IRR0 + 0x10]) assert.equal(r(y.mem, off), r(x.mem, off), `reg ${off.toString(16)}`);
  assert.equal(y.clock.nextDeadline(), x.clock.nextDeadline());
});

// ------------------------------------------------------------------ I/O APIC
interface IoRig extends Rig { io: IoApic }
function ioRig(): IoRig {
  const x = rig();
  const io = new IoApic(x.bus, 1);
  x.mem.mapMmio(0xfec00000, 0x1000, io);
  return { ...x, io };
}
const ioRead = (m: PhysMem, reg: number): number => { m.write(0xfec00000, 4, reg); return m.read(0xfec00010, 4) >>> 0; };
const ioWrite = (m: PhysMem, reg: number, v: number): void => { m.write(0xfec00000, 4, reg); m.write(0xfec00010, 4, v); };

test('I/O APIC registers: ID, version 0x11 with 24 entries, arbitration ID, reset masks (82093AA)', () => {
  const x = ioRig();
  assert.equal(ioRead(x.mem, 0), 0x01000000);
  assert.equal(ioRead(x.mem, 1), 0x00170011);
  assert.equal(ioRead(x.mem, 2), 0x01000000);
  ioWrite(x.mem, 0, 0x0f0000ff);
  assert.equal(ioRead(x.mem, 0), 0x0f000000, 'ID is bits 27:24');
  ioWrite(x.mem, 1, 0);
  assert.equal(ioRead(x.mem, 1), 0x00170011, 'version is read-only');
  for (let n = 0; n < 24; n++) {
    assert.equal(ioRead(x.mem, 0x10 + 2 * n), 0x00010000, `entry ${n} masked`);
    assert.equal(ioRead(x.mem, 0x11 + 2 * n), 0);
  }
  ioWrite(x.mem, 0x12, 0xffffffff);
  assert.equal(ioRead(x.mem, 0x12), 0x0001afff, 'delivery status and remote IRR are read-only');
  ioWrite(x.mem, 0x13, 0xffffffff);
  assert.equal(ioRead(x.mem, 0x13), 0xff000000);
  assert.equal(x.mem.read(0xfec00000, 1), 0x13, 'IOREGSEL reads back');
});

test('I/O APIC edge-triggered pin: one message per rising edge; edges on a masked pin are lost', () => {
  const x = ioRig();
  ioWrite(x.mem, 0x11 + 4, 0x00000000);              // pin 2 → APIC 0
  ioWrite(x.mem, 0x10 + 4, 0x00000030);              // fixed, physical, edge, high, unmasked
  const pin = x.io.pin(2);
  pin.set(true);
  assert.equal(x.apic.acknowledge(), 0x30);
  w(x.mem, EOI, 0);
  pin.set(true);
  assert.equal(x.apic.hasInterrupt(), false, 'no edge, no message');
  pin.set(false); pin.set(true);
  assert.equal(x.apic.acknowledge(), 0x30);
  w(x.mem, EOI, 0);
  ioWrite(x.mem, 0x14, 0x00010030);
  pin.set(false); pin.set(true);
  ioWrite(x.mem, 0x14, 0x00000030);
  assert.equal(x.apic.hasInterrupt(), false, 'the masked edge was not held');
  assert.equal(bit(x.mem, TMR0, 0x30), false);
});

test('I/O APIC level-triggered pin: remote IRR until EOI, resend while asserted, TMR set', () => {
  const x = ioRig();
  const pin = x.io.pin(9);
  ioWrite(x.mem, 0x10 + 18, 0x0000a061);             // vector 0x61, level, active low, unmasked
  assert.equal(x.apic.hasInterrupt(), true, 'active-low pin at electrical low is asserted');
  assert.equal(ioRead(x.mem, 0x10 + 18) & 0x4000, 0x4000, 'remote IRR set');
  assert.equal(bit(x.mem, TMR0, 0x61), true);
  assert.equal(x.apic.acknowledge(), 0x61);
  w(x.mem, EOI, 0);
  assert.equal(ioRead(x.mem, 0x10 + 18) & 0x4000, 0x4000, 'resent: still asserted');
  assert.equal(x.apic.acknowledge(), 0x61);
  pin.set(true);                                     // deasserted (active low)
  w(x.mem, EOI, 0);
  assert.equal(ioRead(x.mem, 0x10 + 18) & 0x4000, 0, 'EOI cleared remote IRR');
  assert.equal(x.apic.hasInterrupt(), false);
  // Active high from here on; mask, assert, unmask: delivered.
  ioWrite(x.mem, 0x10 + 18, 0x00018061);
  pin.set(true);
  assert.equal(x.apic.hasInterrupt(), false);
  ioWrite(x.mem, 0x10 + 18, 0x00008061);
  assert.equal(x.apic.acknowledge(), 0x61);
  assert.equal(ioRead(x.mem, 0x10 + 18) & 0x4000, 0x4000);
  ioWrite(x.mem, 0x10 + 18, 0x00010061);             // masked, edge: remote IRR cleared
  assert.equal(ioRead(x.mem, 0x10 + 18) & 0x4000, 0);
});

test('I/O APIC logical destination, NMI and ExtINT delivery modes', () => {
  const x = ioRig();
  w(x.mem, LDR, 0x02000000);
  ioWrite(x.mem, 0x10 + 10, 0x00000855); ioWrite(x.mem, 0x11 + 10, 0x01000000);
  x.io.pin(5).set(true);
  assert.equal(x.apic.hasInterrupt(), false, 'logical 0x01 does not match LDR 0x02');
  x.io.pin(5).set(false);
  ioWrite(x.mem, 0x11 + 10, 0x02000000);
  x.io.pin(5).set(true);
  assert.equal(x.apic.acknowledge(), 0x55);
  ioWrite(x.mem, 0x10 + 12, 0x00000400);             // pin 6 NMI
  x.io.pin(6).set(true);
  assert.equal(x.log.nmi, 1);
  ioWrite(x.mem, 0x10 + 0, 0x00000700);              // pin 0 ExtINT
  x.pic.vector = 0x0c;
  x.io.pin(0).set(true);
  w(x.mem, TPR, 0xf0);
  assert.equal(x.apic.hasInterrupt(), true);
  assert.equal(x.apic.acknowledge(), 0x0c, 'INTA goes to the 8259');
});

test('ISA IRQ fan-out: IRQ0 reaches 8259 IRQ0 and I/O APIC pin 2, IRQn pin n, no IRQ2', () => {
  const x = ioRig();
  const picLines: boolean[] = new Array(16).fill(false);
  const pic = { irq: (n: number): IrqLine => ({ set: (l: boolean) => { picLines[n] = l; } }) };
  const lines = isaIrqLines(pic, x.io);
  assert.equal(lines[2], null);
  ioWrite(x.mem, 0x10 + 4, 0x31);
  ioWrite(x.mem, 0x10 + 8, 0x34);
  lines[0]!.set(true);
  assert.equal(picLines[0], true);
  assert.equal(x.apic.acknowledge(), 0x31);
  w(x.mem, EOI, 0);
  lines[4]!.set(true);
  assert.equal(picLines[4], true);
  assert.equal(x.apic.acknowledge(), 0x34);
});

test('I/O APIC snapshot round trip', () => {
  const x = ioRig();
  ioWrite(x.mem, 0x10 + 6, 0x0000a077); ioWrite(x.mem, 0x11 + 6, 0x05000000); ioWrite(x.mem, 0, 0x03000000);
  x.io.pin(3).set(true);
  const snap = JSON.parse(JSON.stringify(x.io.save()));
  const y = ioRig();
  y.io.restore(snap);
  for (const reg of [0, 0x16, 0x17]) assert.equal(ioRead(y.mem, reg), ioRead(x.mem, reg));
});

test('relocating the local APIC on top of the I/O APIC page is not decoded (and does not throw)', () => {
  const x = ioRig();
  x.apic.setApicBase(0xfec00900, 0);
  assert.equal(ioRead(x.mem, 1), 0x00170011, 'the I/O APIC still answers there');
});
