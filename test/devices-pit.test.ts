// 8254 PIT: counter values read back at known virtual times in every mode, latch and read-back
// commands, access modes, BCD, counter 2 gate/OUT on port 0x61, IRQ0 edges and their drift-free
// timing. Expected values are computed here from the 82C54 datasheet's mode descriptions with
// BigInt tick arithmetic (tick k at ceil(k * 1e9 / 1193182) ns), independently of the device code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus, type IrqLine } from '../machine/bus.js';
import { Clock } from '../machine/clock.js';
import { Pit8254, pitTicks, pitTickNs } from '../machine/devices/pit8254.js';

const HZ = 1193182n;
/** ns of tick k (independent BigInt reference). */
const tickNs = (k: number): number => Number((BigInt(k) * 1_000_000_000n + HZ - 1n) / HZ);

interface Rig { io: IoBus; clock: Clock; pit: Pit8254; edges: number[]; level: () => boolean }
function rig(): Rig {
  const io = new IoBus();
  const clock = new Clock(1);
  let lvl = false;
  const edges: number[] = [];
  const irq: IrqLine = { set(l: boolean) { if (l && !lvl) edges.push(clock.nowNs()); lvl = l; } };
  const pit = new Pit8254(clock, irq);
  pit.attach(io);
  return { io, clock, pit, edges, level: () => lvl };
}
/** Move virtual time to `ns` (instructions at 1 ns each), firing due timers on the way. */
function advance(r: Rig, ns: number): void {
  for (;;) {
    const d = r.clock.nextDeadline();
    if (d > ns) break;
    r.clock.insns = d;
    r.clock.runDue();
  }
  r.clock.insns = ns;
  r.clock.runDue();
}
const at = (r: Rig, tick: number): void => advance(r, tickNs(tick));
function latch(r: Rig, ch: number): number {
  r.io.out(0x43, 1, ch << 6);
  const lo = r.io.in(0x40 + ch, 1);
  return lo | (r.io.in(0x40 + ch, 1) << 8);
}
function status(r: Rig, ch: number): number {
  r.io.out(0x43, 1, 0xe0 | (2 << ch));            // read-back, status only
  return r.io.in(0x40 + ch, 1);
}
const outBit = (r: Rig, ch: number): boolean => (status(r, ch) & 0x80) !== 0;

test('tick <-> ns conversion matches exact rational arithmetic', () => {
  for (const k of [0, 1, 2, 3, 596591, 1193181, 1193182, 1193183, 123456789, 9_876_543_210]) {
    assert.equal(pitTickNs(k), tickNs(k), `tick ${k}`);
    assert.equal(pitTicks(tickNs(k)), k);
    if (k > 0) assert.equal(pitTicks(tickNs(k) - 1), k - 1);
  }
  assert.equal(pitTicks(1e9), 1193182);
  assert.equal(pitTicks(3600e9), 3600 * 1193182);
});

test('mode 0: CE = N - (t - t0 - 1), OUT rises N+1 ticks after the count is written, counting wraps', () => {
  const r = rig();
  at(r, 100);
  r.io.out(0x43, 1, 0x30);                        // ch0, LSB/MSB, mode 0
  assert.equal(r.level(), false, 'OUT low after the control word');
  r.io.out(0x40, 1, 1000 & 0xff); r.io.out(0x40, 1, 1000 >> 8);
  at(r, 101); assert.equal(latch(r, 0), 1000, 'loaded on the next CLK');
  at(r, 600); assert.equal(latch(r, 0), 1000 - 499);
  at(r, 1100); assert.equal(latch(r, 0), 1); assert.equal(outBit(r, 0), false);
  assert.equal(r.edges.length, 0);
  at(r, 1101); assert.equal(latch(r, 0), 0); assert.equal(outBit(r, 0), true);
  assert.deepEqual(r.edges, [tickNs(1101)], 'IRQ0 rises exactly at terminal count');
  at(r, 1103); assert.equal(latch(r, 0), 0xfffe, 'keeps counting after terminal count');
  assert.equal(r.edges.length, 1, 'only one interrupt');
});

test('mode 0 on counter 2: port 0x61 bit 5 follows OUT2 (Linux PIT calibration loop)', () => {
  const r = rig();
  at(r, 5000);
  r.io.out(0x61, 1, (r.io.in(0x61, 1) & ~0x02) | 0x01);   // gate high, speaker off
  r.io.out(0x43, 1, 0xb0);                        // ch2, LSB/MSB, mode 0, binary
  r.io.out(0x42, 1, 0x9b); r.io.out(0x42, 1, 0x2e);  // CAL_LATCH-like count 0x2e9b = 11931
  const done = 5000 + 1 + 11931;
  at(r, done - 1);
  assert.equal(r.io.in(0x61, 1) & 0x20, 0);
  at(r, done);
  assert.equal(r.io.in(0x61, 1) & 0x20, 0x20);
  assert.equal(r.io.in(0x61, 1) & 0x01, 0x01, 'gate bit reads back');
  assert.equal(r.edges.length, 0, 'counter 2 does not drive IRQ0');
});

test('unlatched reads sample CE per byte; LSB-only and MSB-only access', () => {
  const r = rig();
  r.io.out(0x61, 1, 1);
  r.io.out(0x43, 1, 0xb0);
  r.io.out(0x42, 1, 0xff); r.io.out(0x42, 1, 0xff);   // quick_pit_calibrate: 0xffff
  at(r, 1 + 256 * 3 + 10);
  assert.equal(r.io.in(0x42, 1), (0xffff - 266 - 512) & 0xff);
  assert.equal(r.io.in(0x42, 1), (0xffff - 266 - 512) >> 8, 'MSB after 778 ticks');
  r.io.out(0x43, 1, 0x90);                        // ch2, LSB only, mode 0
  r.io.out(0x42, 1, 200);
  const t0 = pitTicks(r.clock.nowNs());
  at(r, t0 + 51);
  assert.equal(r.io.in(0x42, 1), 150);
  r.io.out(0x43, 1, 0xa0);                        // ch2, MSB only, mode 0
  r.io.out(0x42, 1, 0x02);                        // count 0x200
  at(r, t0 + 51 + 1 + 0x100);
  assert.equal(r.io.in(0x42, 1), 0x01);
});

test('a new count reads back before its loading CLK pulse (a PC port read outlasts a CLK period)', () => {
  // Linux's quick_pit_calibrate: gate high, counter 2 mode 0, count 0xFFFF, then at once reads
  // LSB/MSB pairs and needs MSB 0xFF from the first read on (on a PC each read takes ~1 µs > 838 ns).
  const r = rig();
  at(r, 7000);
  r.io.out(0x61, 1, (r.io.in(0x61, 1) & ~0x02) | 0x01);
  r.io.out(0x43, 1, 0xb0);
  r.io.out(0x42, 1, 0xff); r.io.out(0x42, 1, 0xff);
  assert.deepEqual([r.io.in(0x42, 1), r.io.in(0x42, 1)], [0xff, 0xff], 'same tick as the write');
  at(r, 7000 + 1 + 255); assert.equal((r.io.in(0x42, 1), r.io.in(0x42, 1)), 0xff, 'MSB 0xFF for 256 ticks after the load');
  at(r, 7000 + 1 + 256); assert.equal((r.io.in(0x42, 1), r.io.in(0x42, 1)), 0xfe);
  // Counter 0 reprogrammed mid-count (mode 2 → mode 0): the latched value before the next CLK is the new count.
  r.io.out(0x43, 1, 0x34); r.io.out(0x40, 1, 0x00); r.io.out(0x40, 1, 0x10);   // mode 2, 4096
  at(r, 7000 + 1 + 256 + 1000);
  r.io.out(0x43, 1, 0x30); r.io.out(0x40, 1, 0x34); r.io.out(0x40, 1, 0x12);   // mode 0, 0x1234
  assert.equal(latch(r, 0), 0x1234);
});

test('mode 2: period N, OUT low while CE = 1, IRQ0 edges without drift over 1000 periods', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x34);                        // ch0 mode 2 (Linux periodic)
  assert.deepEqual(r.edges, [0], 'the control word sets OUT high: a first edge (power-on OUT was low)');
  r.edges.length = 0;
  r.io.out(0x40, 1, 11932 & 0xff); r.io.out(0x40, 1, 11932 >> 8);  // ~100 Hz
  at(r, 1); assert.equal(latch(r, 0), 11932);
  at(r, 1 + 11930); assert.equal(latch(r, 0), 2); assert.equal(outBit(r, 0), true);
  at(r, 1 + 11931); assert.equal(latch(r, 0), 1); assert.equal(outBit(r, 0), false);
  at(r, 1 + 11932); assert.equal(latch(r, 0), 11932); assert.equal(outBit(r, 0), true);
  advance(r, 10e9);
  const want: number[] = [];
  for (let k = 1; 1 + k * 11932 <= pitTicks(10e9); k++) want.push(tickNs(1 + k * 11932));
  assert.equal(r.edges.length, want.length);
  assert.equal(r.edges.length, 999, '10 s at 1193182/11932 Hz');
  assert.deepEqual(r.edges, want, 'every edge exactly on its tick');
});

test('mode 2: a new count takes effect at the next reload', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x34);
  r.edges.length = 0;
  r.io.out(0x40, 1, 100); r.io.out(0x40, 1, 0);
  at(r, 51);
  r.io.out(0x40, 1, 40); r.io.out(0x40, 1, 0);
  assert.equal(status(r, 0) & 0x40, 0x40, 'NULL COUNT until the new count is loaded');
  at(r, 100); assert.equal(latch(r, 0), 1);
  at(r, 101); assert.equal(latch(r, 0), 40);
  assert.equal(status(r, 0) & 0x40, 0);
  at(r, 140); assert.equal(latch(r, 0), 1);
  assert.deepEqual(r.edges, [tickNs(101), tickNs(141)].slice(0, 1));
  at(r, 141); assert.deepEqual(r.edges, [tickNs(101), tickNs(141)]);
});

test('mode 3: square wave, CE counts down by two, OUT high N/2 then low N/2', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x36);
  r.edges.length = 0;
  r.io.out(0x40, 1, 1000 & 0xff); r.io.out(0x40, 1, 1000 >> 8);
  at(r, 1); assert.equal(latch(r, 0), 1000); assert.equal(outBit(r, 0), true);
  at(r, 1 + 100); assert.equal(latch(r, 0), 800);
  at(r, 1 + 499); assert.equal(latch(r, 0), 2); assert.equal(outBit(r, 0), true);
  at(r, 1 + 500); assert.equal(latch(r, 0), 1000); assert.equal(outBit(r, 0), false);
  at(r, 1 + 999); assert.equal(outBit(r, 0), false);
  at(r, 1 + 1000); assert.equal(outBit(r, 0), true);
  advance(r, tickNs(1 + 1000 * 50));
  assert.equal(r.edges.length, 50, 'one rising edge per period');
  assert.equal(r.edges[49], tickNs(1 + 1000 * 50));
  // Odd count: high (N+1)/2, low (N-1)/2.
  const s = rig();
  s.io.out(0x43, 1, 0x36); s.io.out(0x40, 1, 5); s.io.out(0x40, 1, 0);
  const outs: boolean[] = [];
  for (let k = 1; k <= 10; k++) { at(s, k); outs.push(outBit(s, 0)); }
  assert.deepEqual(outs, [true, true, true, false, false, true, true, true, false, false]);
});

test('mode 4: OUT low for exactly one tick when CE reaches 0 (Linux one-shot)', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x38);
  assert.equal(r.level(), true, 'OUT high after the mode 4 control word');
  const n = r.edges.length;
  r.io.out(0x40, 1, 50); r.io.out(0x40, 1, 0);
  at(r, 50); assert.equal(latch(r, 0), 1); assert.equal(outBit(r, 0), true);
  at(r, 51); assert.equal(latch(r, 0), 0); assert.equal(outBit(r, 0), false);
  at(r, 52); assert.equal(outBit(r, 0), true);
  assert.deepEqual(r.edges.slice(n), [tickNs(52)]);
  at(r, 5000);
  assert.equal(r.edges.length, n + 1, 'no further strobe');
});

test('modes 1 and 5 on counter 2 start on a gate rising edge', () => {
  const r = rig();
  r.io.out(0x43, 1, 0xb2);                        // ch2 mode 1
  r.io.out(0x42, 1, 10); r.io.out(0x42, 1, 0);
  at(r, 100);
  assert.equal(r.io.in(0x61, 1) & 0x20, 0x20, 'OUT high before the trigger');
  r.io.out(0x61, 1, 1);                           // trigger at tick 100
  at(r, 101); assert.equal(r.io.in(0x61, 1) & 0x20, 0, 'OUT low during the one-shot');
  at(r, 110); assert.equal(r.io.in(0x61, 1) & 0x20, 0);
  at(r, 111); assert.equal(r.io.in(0x61, 1) & 0x20, 0x20);
  r.io.out(0x61, 1, 0);
  r.io.out(0x43, 1, 0xba);                        // ch2 mode 5
  r.io.out(0x42, 1, 10); r.io.out(0x42, 1, 0);
  at(r, 200); r.io.out(0x61, 1, 1);
  at(r, 210); assert.equal(latch(r, 2), 1);
  at(r, 211); assert.equal(r.io.in(0x61, 1) & 0x20, 0, 'strobe');
  at(r, 212); assert.equal(r.io.in(0x61, 1) & 0x20, 0x20);
});

test('gate low stops mode 2 with OUT high; a rising gate reloads', () => {
  const r = rig();
  r.io.out(0x61, 1, 1);
  r.io.out(0x43, 1, 0xb4);                        // ch2 mode 2
  r.io.out(0x42, 1, 100); r.io.out(0x42, 1, 0);
  at(r, 31); assert.equal(latch(r, 2), 70);
  r.io.out(0x61, 1, 0);
  at(r, 500); assert.equal(latch(r, 2), 70, 'frozen');
  assert.equal(r.io.in(0x61, 1) & 0x20, 0x20);
  r.io.out(0x61, 1, 1);                           // reload on the next CLK
  at(r, 501); assert.equal(latch(r, 2), 100);
  at(r, 511); assert.equal(latch(r, 2), 90);
});

test('BCD counting', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x35);                        // mode 2, BCD
  r.edges.length = 0;
  r.io.out(0x40, 1, 0x00); r.io.out(0x40, 1, 0x10);  // 1000 decimal
  at(r, 1 + 1); assert.equal(latch(r, 0), 0x0999);
  at(r, 1 + 999); assert.equal(latch(r, 0), 0x0001);
  at(r, 1 + 1000); assert.equal(latch(r, 0), 0x1000);
  advance(r, tickNs(1 + 5000));
  assert.equal(r.edges.length, 5);
  r.io.out(0x43, 1, 0x31);                        // mode 0, BCD, count 0 = 10000
  r.io.out(0x40, 1, 0); r.io.out(0x40, 1, 0);
  const t0 = pitTicks(r.clock.nowNs());
  at(r, t0 + 2); assert.equal(latch(r, 0), 0x9999);
});

test('latch and read-back: the latched value holds until read, status before count', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x34);
  r.io.out(0x40, 1, 0x00); r.io.out(0x40, 1, 0x00);  // 65536
  at(r, 11);
  r.io.out(0x43, 1, 0x00);                        // latch at CE = 65536 - 10
  at(r, 500);
  r.io.out(0x43, 1, 0x00);                        // ignored: still latched
  assert.equal(r.io.in(0x40, 1), (65526) & 0xff);
  assert.equal(r.io.in(0x40, 1), 65526 >> 8);
  r.io.out(0x43, 1, 0xc2);                        // read-back count + status of ch0
  at(r, 900);
  assert.equal(r.io.in(0x40, 1), 0x80 | 0x34, 'status: OUT high, not null, RW=11 mode 2 binary');
  const v = r.io.in(0x40, 1) | (r.io.in(0x40, 1) << 8);
  assert.equal(v, 65536 - 499);
  r.io.out(0x43, 1, 0x34);
  assert.equal(status(r, 0) & 0x40, 0x40, 'NULL COUNT after a control word until a count is loaded');
});

test('interleaved read/write flip-flops (82C54: reads and writes may interleave)', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x30);
  r.io.out(0x40, 1, 0x34); r.io.out(0x40, 1, 0x12);
  at(r, 1);
  r.io.out(0x43, 1, 0x00);
  const lo = r.io.in(0x40, 1);
  r.io.out(0x40, 1, 0x78);                        // first byte of a new count
  const hi = r.io.in(0x40, 1);
  r.io.out(0x40, 1, 0x56);
  assert.equal(lo | (hi << 8), 0x1234);
  const t = pitTicks(r.clock.nowNs());
  at(r, t + 1); assert.equal(latch(r, 0), 0x5678);
});

test('port 0x61 refresh toggle (bit 4) flips every 18 ticks', () => {
  const r = rig();
  at(r, 17); const a = r.io.in(0x61, 1) & 0x10;
  at(r, 18); const b = r.io.in(0x61, 1) & 0x10;
  at(r, 36); const c = r.io.in(0x61, 1) & 0x10;
  assert.notEqual(a, b); assert.equal(a, c);
});

test('snapshot round trip mid-count', () => {
  const r = rig();
  r.io.out(0x43, 1, 0x34); r.io.out(0x40, 1, 0xe8); r.io.out(0x40, 1, 0x03);   // 1000
  r.io.out(0x61, 1, 1); r.io.out(0x43, 1, 0xb0); r.io.out(0x42, 1, 0x10); r.io.out(0x42, 1, 0x27);  // 10000
  at(r, 2500);
  r.io.out(0x43, 1, 0x80);                        // ch2 latched, not read yet
  const saved = JSON.parse(JSON.stringify(r.pit.save()));
  const s = rig();
  s.clock.insns = r.clock.insns;
  s.pit.restore(saved);
  assert.equal(s.clock.nextDeadline(), r.clock.nextDeadline());
  for (const x of [r, s]) {
    assert.equal(x.io.in(0x42, 1) | (x.io.in(0x42, 1) << 8), 10000 - 2499);
    at(x, 3001);
    assert.equal(latch(x, 0), 1000);
    at(x, 10000); assert.equal(x.io.in(0x61, 1) & 0x20, 0);
    at(x, 10001); assert.equal(x.io.in(0x61, 1) & 0x20, 0x20);
  }
  // Counter 0 rises at ticks 1001, 2001, ...: 2 before the snapshot (plus the control word's), 8 after.
  assert.deepEqual(r.edges, [0, ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => tickNs(1 + k * 1000))]);
  assert.deepEqual(s.edges, r.edges.slice(3));
});
