// ACPI fixed hardware (ACPI spec 6.x, 4.8): PM timer at 3.579545 MHz from virtual time (24-bit,
// TMR_STS on bit 23 changes), PM1 status write-1-to-clear, the SCI as a level line while STS & EN,
// PM1 control with SCI_EN fixed at 1 and SLP_EN entering the SLP_TYP state. Expected counts are
// computed here with BigInt from the spec's frequency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus } from '../machine/bus.js';
import { Clock } from '../machine/clock.js';
import { AcpiPm } from '../machine/devices/acpi-pm.js';

function rig(): { io: IoBus; clock: Clock; pm: AcpiPm; sci: () => boolean; sleeps: number[] } {
  const io = new IoBus();
  const clock = new Clock(1);
  let level = false;
  const sleeps: number[] = [];
  const pm = new AcpiPm(clock, { set: (l) => { level = l; } });
  pm.onSleep = (t) => sleeps.push(t);
  pm.attach(io);
  return { io, clock, pm, sci: () => level, sleeps };
}
const ticksAt = (ns: number): number => Number((BigInt(ns) * 3579545n) / 1_000_000_000n);
function advance(clock: Clock, ns: number): void {
  for (;;) { const d = clock.nextDeadline(); if (d > ns) break; clock.insns = d; clock.runDue(); }
  clock.insns = ns; clock.runDue();
}

test('PM timer: 3.579545 MHz from virtual time, 24 bits, one sample per 32-bit read', () => {
  const r = rig();
  for (const ns of [0, 279, 280, 1_000_000, 999_999_999, 4_686_999_999, 4_687_000_000, 12_345_678_901]) {
    advance(r.clock, ns);
    assert.equal(r.io.in(0x608, 4) >>> 0, ticksAt(ns) % (1 << 24), `at ${ns} ns`);
  }
  assert.equal(r.io.in(0x60b, 1), 0, 'bits 31:24 read 0');
});

test('TMR_STS on bit 23 changes, write 1 to clear; SCI follows STS & EN', () => {
  const r = rig();
  assert.equal(r.io.in(0x600, 2) & 1, 0);
  // Bit 23 first changes at tick 2^23 = 8388608, at ceil(8388608e9/3579545) ns.
  const t23 = Number((8388608n * 1_000_000_000n + 3579545n - 1n) / 3579545n);
  advance(r.clock, t23 - 1);
  assert.equal(r.io.in(0x600, 2) & 1, 0);
  advance(r.clock, t23);
  assert.equal(r.io.in(0x600, 2) & 1, 1, 'TMR_STS');
  assert.equal(r.sci(), false, 'TMR_EN clear: no SCI');
  r.io.out(0x602, 2, 0x0001);
  assert.equal(r.sci(), true, 'TMR_EN set: SCI asserted');
  r.io.out(0x600, 2, 0x0001);
  assert.equal(r.io.in(0x600, 2) & 1, 0, 'cleared');
  assert.equal(r.sci(), false);
  advance(r.clock, 2 * t23 + 1);
  assert.equal(r.sci(), true, 'the next bit-23 change raises the SCI by itself (timer armed)');
});

test('power button status, enable and clear; SCI_EN reads 1; PM1_EN reserved bits', () => {
  const r = rig();
  assert.equal(r.io.in(0x604, 2) & 1, 1, 'SCI_EN');
  r.io.out(0x602, 2, 0xffff);
  assert.equal(r.io.in(0x602, 2), 0x0721, 'TMR_EN GBL_EN PWRBTN_EN SLPBTN_EN RTC_EN');
  r.pm.pressPowerButton();
  assert.equal(r.io.in(0x600, 2) & 0x100, 0x100);
  assert.equal(r.sci(), true);
  r.io.out(0x600, 2, 0x0100);
  assert.equal(r.sci(), false);
  assert.equal(r.io.in(0x600, 2) & 0x100, 0);
});

test('SLP_EN enters the SLP_TYP state (5 = S5 soft off); SLP_TYP reads back, SLP_EN does not', () => {
  const r = rig();
  r.io.out(0x604, 2, 5 << 10);
  assert.deepEqual(r.sleeps, []);
  assert.equal(r.io.in(0x604, 2), (5 << 10) | 1);
  r.io.out(0x604, 2, (5 << 10) | (1 << 13));
  assert.deepEqual(r.sleeps, [5]);
  assert.equal(r.io.in(0x604, 2) & (1 << 13), 0);
});

test('ACPI PM snapshot round trip', () => {
  const a = rig();
  a.io.out(0x602, 2, 0x0100); a.pm.pressPowerButton();
  const b = rig();
  b.pm.restore(JSON.parse(JSON.stringify(a.pm.save())));
  assert.equal(b.io.in(0x600, 2), a.io.in(0x600, 2));
  assert.equal(b.io.in(0x602, 2), 0x0100);
  assert.equal(b.sci(), true);
});
