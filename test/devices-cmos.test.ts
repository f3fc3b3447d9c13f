// MC146818 RTC + PC/AT CMOS: time and date at the fixed start, BCD/binary and 12/24 h encodings,
// advance with virtual time, UIP window, register C flags cleared on read, periodic interrupt
// rates from register A, update-ended and alarm interrupts, SET, the memory size fields,
// snapshot. Expected values come from the MC146818A datasheet and hand-computed calendars.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus, type IrqLine } from '../machine/bus.js';
import { Clock } from '../machine/clock.js';
import { Cmos } from '../machine/devices/cmos.js';

interface Rig { io: IoBus; clock: Clock; cmos: Cmos; rises: number[]; level: () => boolean }
function rig(ramMiB = 64, start?: Date): Rig {
  const io = new IoBus();
  const clock = new Clock(1);
  let lvl = false;
  const rises: number[] = [];
  const irq: IrqLine = { set(l: boolean) { if (l && !lvl) rises.push(clock.nowNs()); lvl = l; } };
  const cmos = new Cmos(clock, irq, { ramBytes: ramMiB * 1048576, start });
  cmos.attach(io);
  return { io, clock, cmos, rises, level: () => lvl };
}
const rd = (r: Rig, i: number): number => { r.io.out(0x70, 1, i); return r.io.in(0x71, 1); };
const wr = (r: Rig, i: number, v: number): void => { r.io.out(0x70, 1, i); r.io.out(0x71, 1, v); };
/** Advance virtual time to `ns`, firing due timers; `onIrq` runs at each IRQ8 rise (a handler). */
function advance(r: Rig, ns: number, onIrq?: () => void): void {
  for (;;) {
    const d = r.clock.nextDeadline();
    if (d > ns) break;
    r.clock.insns = d;
    const n = r.rises.length;
    r.clock.runDue();
    if (onIrq && r.rises.length > n) onIrq();
  }
  r.clock.insns = ns;
  r.clock.runDue();
}
const time = (r: Rig): number[] => [0, 2, 4, 6, 7, 8, 9, 0x32].map((i) => rd(r, i));

test('start: 2026-01-01 00:00:00 Thursday in BCD, 24 h; register D VRT', () => {
  const r = rig();
  assert.equal(rd(r, 0x0b), 0x02, 'BCD, 24-hour');
  assert.deepEqual(time(r), [0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x26, 0x20]);
  assert.equal(rd(r, 0x0d), 0x80);
  assert.equal(rd(r, 0x0a) & 0x7f, 0x26, 'DV = 32.768 kHz, 1024 Hz rate');
});

test('time advances with the virtual clock; BCD and binary, 12 and 24 hours', () => {
  const r = rig();
  advance(r, (13 * 3600 + 5 * 60 + 9) * 1e9 + 0.5e9);   // 13:05:09.5
  assert.deepEqual(time(r).slice(0, 3), [0x09, 0x05, 0x13]);
  wr(r, 0x0b, 0x06);                                     // binary, 24 h
  assert.deepEqual(time(r), [9, 5, 13, 5, 1, 1, 26, 20]);
  wr(r, 0x0b, 0x04);                                     // binary, 12 h
  assert.equal(rd(r, 4), 0x81, '1 PM');
  wr(r, 0x0b, 0x00);                                     // BCD, 12 h
  assert.equal(rd(r, 4), 0x81);
  advance(r, (23 * 3600 + 59 * 60 + 59) * 1e9 + 1e9);   // next day 00:00:00 → 12 AM
  assert.equal(rd(r, 4), 0x12);
  assert.equal(rd(r, 7), 0x02);
  assert.equal(rd(r, 6), 0x06, 'Friday');
});

test('a custom start date and the month/year rollover', () => {
  const r = rig(64, new Date(Date.UTC(1999, 11, 31, 23, 59, 58)));
  assert.deepEqual(time(r), [0x58, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19]);
  advance(r, 2e9);
  assert.deepEqual(time(r), [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20]);
});

test('UIP is set from 244 µs before the update until the update completes (2228 µs window)', () => {
  const r = rig();
  advance(r, 1e9 - 2_228_001);
  assert.equal(rd(r, 0x0a) & 0x80, 0);
  advance(r, 1e9 - 2_228_000);
  assert.equal(rd(r, 0x0a) & 0x80, 0x80);
  assert.equal(rd(r, 0), 0x00, 'old second during the update');
  advance(r, 1e9 - 1);
  assert.equal(rd(r, 0x0a) & 0x80, 0x80);
  advance(r, 1e9);
  assert.equal(rd(r, 0x0a) & 0x80, 0);
  assert.equal(rd(r, 0), 0x01);
});

test('register C: flags set whatever the enables, cleared by reading', () => {
  const r = rig();
  assert.equal(rd(r, 0x0c), 0x00);
  advance(r, 1_000_000);                                 // > 976.5 µs: one 1024 Hz edge
  assert.equal(rd(r, 0x0c), 0x40, 'PF without PIE, no IRQF');
  assert.equal(rd(r, 0x0c), 0x00, 'cleared by the read');
  advance(r, 1e9);
  assert.equal(rd(r, 0x0c), 0x50, 'PF and UF');
  assert.equal(r.rises.length, 0, 'no enables: no IRQ');
});

test('periodic interrupt: rate from register A, IRQ8 until C is read', () => {
  for (const [rs, hz] of [[6, 1024], [3, 8192], [15, 2], [1, 256], [2, 128], [10, 64]] as const) {
    const r = rig();
    wr(r, 0x0a, 0x20 | rs);
    wr(r, 0x0b, 0x42);                                   // PIE
    let c = 0;
    advance(r, 1e9, () => { c++; assert.equal(rd(r, 0x0c) & 0xc0, 0xc0, 'IRQF | PF'); });
    assert.equal(c, hz, `RS=${rs}`);
    assert.equal(r.rises.length, hz);
    // Edge k at ceil(k·1e9/hz) ns.
    assert.equal(r.rises[0], Math.ceil(1e9 / hz));
    assert.equal(r.rises[hz - 1], 1e9);
  }
  const r = rig();
  wr(r, 0x0b, 0x42);
  advance(r, 10e6);
  assert.equal(r.rises.length, 1, 'without reading C, IRQ8 stays high: one edge');
  assert.equal(r.level(), true);
  rd(r, 0x0c);
  assert.equal(r.level(), false);
  wr(r, 0x0a, 0x20);                                     // RS = 0: no periodic interrupt
  advance(r, 1e9);
  assert.equal(r.rises.length, 1);
});

test('update-ended and alarm interrupts', () => {
  const r = rig();
  wr(r, 0x0b, 0x12);                                     // UIE
  let n = 0;
  advance(r, 3.5e9, () => { n++; assert.equal(rd(r, 0x0c) & 0x90, 0x90, 'IRQF | UF'); });
  assert.deepEqual(r.rises, [1e9, 2e9, 3e9]);
  assert.equal(n, 3);
  const s = rig();
  wr(s, 1, 0x05); wr(s, 3, 0x00); wr(s, 5, 0x00);        // alarm 00:00:05
  wr(s, 0x0b, 0x22);                                     // AIE
  advance(s, 10e9, () => { rd(s, 0x0c); });
  assert.deepEqual(s.rises, [5e9]);
  const t = rig();
  wr(t, 1, 0x30); wr(t, 3, 0xc0); wr(t, 5, 0xff);        // xx:xx:30 every minute
  advance(t, 200e9);
  assert.equal(rd(t, 0x0c) & 0x20, 0x20, 'AF set without AIE');
  wr(t, 0x0b, 0x22);
  advance(t, 400e9, () => { rd(t, 0x0c); });
  assert.deepEqual(t.rises, [210e9, 270e9, 330e9, 390e9]);
});

test('SET halts updates and clears UIE; written time continues after SET is cleared', () => {
  const r = rig();
  wr(r, 0x0b, 0x12);
  advance(r, 2.25e9);
  wr(r, 0x0b, 0x82);
  assert.equal(rd(r, 0x0b), 0x82, 'UIE cleared by SET');
  assert.equal(rd(r, 0x0a) & 0x80, 0, 'no UIP while SET');
  wr(r, 0, 0x30); wr(r, 2, 0x45); wr(r, 4, 0x12); wr(r, 7, 0x15); wr(r, 8, 0x06); wr(r, 9, 0x24); wr(r, 6, 0x07);
  advance(r, 10e9);
  assert.deepEqual(time(r), [0x30, 0x45, 0x12, 0x07, 0x15, 0x06, 0x24, 0x20], 'frozen while SET');
  advance(r, 10.4e9);
  wr(r, 0x0b, 0x02);
  advance(r, 11e9 - 1);
  assert.equal(rd(r, 0), 0x30);
  advance(r, 11e9);
  assert.equal(rd(r, 0), 0x31, 'next update on the divider\'s second boundary');
  assert.equal(rd(r, 6), 0x07, 'day of week is its own register');
});

test('divider reset (DV = 11x) holds the time; first update 500 ms after release', () => {
  const r = rig();
  wr(r, 0x0a, 0x70);
  advance(r, 5e9);
  assert.equal(rd(r, 0), 0x00);
  wr(r, 0x0a, 0x26);
  advance(r, 5.5e9 - 1);
  assert.equal(rd(r, 0), 0x00);
  advance(r, 5.5e9);
  assert.equal(rd(r, 0), 0x01);
});

test('NMI-disable bit of port 0x70 does not change the register index', () => {
  const r = rig();
  r.io.out(0x70, 1, 0x80 | 0x09);
  assert.equal(r.io.in(0x71, 1), 0x26);
  wr(r, 0x40, 0x5a);
  r.io.out(0x70, 1, 0xc0);
  assert.equal(r.io.in(0x71, 1), 0x5a, 'NVRAM byte');
});

test('PC/AT memory size fields and checksum', () => {
  const w16 = (r: Rig, i: number): number => rd(r, i) | (rd(r, i + 1) << 8);
  for (const [mib, ext, above16] of [[64, 64512, 768], [128, 0xffff, 1792], [8, 7168, 0], [16, 15360, 0], [3072, 0xffff, (3072 - 16) * 16]] as const) {
    const r = rig(mib);
    assert.equal(w16(r, 0x15), 640, `${mib} MiB base`);
    assert.equal(w16(r, 0x17), ext, `${mib} MiB extended`);
    assert.equal(w16(r, 0x30), ext);
    assert.equal(w16(r, 0x34), above16, `${mib} MiB above 16 MiB`);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(r, i);
    assert.equal((rd(r, 0x2e) << 8) | rd(r, 0x2f), sum);
  }
});

test('snapshot round trip', () => {
  const r = rig();
  wr(r, 0x0b, 0x46); wr(r, 0x0a, 0x2f); wr(r, 0x50, 0x77); wr(r, 1, 0x11);
  advance(r, 7.3e9, () => rd(r, 0x0c));
  const saved = JSON.parse(JSON.stringify(r.cmos.save()));
  const s = rig();
  s.clock.insns = r.clock.insns;
  s.cmos.restore(saved);
  assert.deepEqual(s.cmos.save(), r.cmos.save());
  assert.equal(s.clock.nextDeadline(), r.clock.nextDeadline());
  const n = r.rises.length;
  for (const x of [r, s]) {
    assert.deepEqual(time(x), [7, 0, 0, 5, 1, 1, 26, 20]);
    assert.equal(rd(x, 0x50), 0x77);
    advance(x, 9e9, () => rd(x, 0x0c));
  }
  assert.deepEqual(s.rises, r.rises.slice(n));
  assert.deepEqual(s.rises, [7.5e9, 8e9, 8.5e9, 9e9]);
});
