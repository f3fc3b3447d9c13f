// isa-debug-exit, POST port 0x80/0xED, 8042 keyboard controller (commands Linux and boot code use),
// system control port A (0x92), snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus } from '../machine/bus.js';
import { DebugExit, Port80, I8042, SysCtrlPortA } from '../machine/devices/misc.js';

test('isa-debug-exit: status = (value << 1) | 1 at the written width', () => {
  const io = new IoBus();
  const got: number[] = [];
  new DebugExit((s) => got.push(s)).attach(io);
  io.out(0xf4, 1, 0); io.out(0xf4, 1, 5); io.out(0xf4, 1, 0x1ff); io.out(0xf4, 2, 0x1234); io.out(0xf4, 4, 0x10000);
  assert.deepEqual(got, [1, 11, 0x1ff, 0x2469, 0x20001]);
});

test('port 0x80 keeps the last POST code; 0xED is a harmless delay port', () => {
  const io = new IoBus();
  const p = new Port80();
  p.attach(io);
  io.out(0x80, 1, 0x12); io.out(0xed, 1, 0x99); io.out(0x80, 1, 0x34);
  assert.equal(p.last, 0x34);
  assert.equal(io.in(0x80, 1), 0x34);
  assert.equal(io.in(0xed, 1), 0xff);
  const q = new Port80();
  q.restore(JSON.parse(JSON.stringify(p.save())));
  assert.equal(q.last, 0x34);
});

function kbc(): { io: IoBus; k: I8042; a20: boolean[]; resets: () => number } {
  const io = new IoBus();
  const a20: boolean[] = [];
  let resets = 0;
  const k = new I8042({ onA20: (on) => a20.push(on), onReset: () => { resets++; } });
  k.attach(io);
  return { io, k, a20, resets: () => resets };
}

test('i8042: status, self test, reading 0x60 with no data, command byte read/write', () => {
  const { io } = kbc();
  const st = io.in(0x64, 1);
  assert.equal(st & 0x03, 0, 'output buffer empty, input buffer empty');
  assert.equal(st & 0x04, 0x04, 'system flag');
  io.out(0x64, 1, 0xaa);
  assert.equal(io.in(0x64, 1) & 0x01, 0x01, 'OBF after the self test');
  assert.equal(io.in(0x60, 1), 0x55);
  assert.equal(io.in(0x64, 1) & 0x01, 0);
  assert.equal(io.in(0x60, 1), 0x55, 'no data: the last byte again');
  assert.equal(io.in(0x64, 1) & 0x01, 0, 'and OBF stays clear');
  io.out(0x64, 1, 0x20);
  assert.equal(io.in(0x60, 1), 0x45);
  io.out(0x64, 1, 0x60); io.out(0x60, 1, 0x65);
  io.out(0x64, 1, 0x20);
  assert.equal(io.in(0x60, 1), 0x65);
  io.out(0x64, 1, 0xa7); io.out(0x64, 1, 0x20);
  assert.equal(io.in(0x60, 1) & 0x20, 0x20, '0xA7 sets CTR aux-disable');
  io.out(0x64, 1, 0xa8); io.out(0x64, 1, 0x20);
  assert.equal(io.in(0x60, 1) & 0x20, 0, '0xA8 clears it');
  io.out(0x64, 1, 0xad); io.out(0x64, 1, 0x20);
  assert.equal(io.in(0x60, 1) & 0x10, 0x10, '0xAD sets CTR keyboard-disable');
  io.out(0x64, 1, 0xae); io.out(0x64, 1, 0x20);
  assert.equal(io.in(0x60, 1) & 0x10, 0);
  io.out(0x64, 1, 0xab);
  assert.equal(io.in(0x60, 1), 0x00, 'keyboard interface test passed');
});

test('i8042: aux loop (0xD3) answers with the aux flag; bytes to the absent keyboard get no answer', () => {
  const { io } = kbc();
  io.out(0x64, 1, 0xd3); io.out(0x60, 1, 0x5a);
  assert.equal(io.in(0x64, 1) & 0x21, 0x21, 'OBF with AUXB');
  assert.equal(io.in(0x60, 1), 0x5a);
  io.out(0x60, 1, 0xff);                          // keyboard reset command: nobody answers
  assert.equal(io.in(0x64, 1) & 0x01, 0);
});

test('i8042: output port (0xD1) drives A20 and reset; 0xFE pulses reset; 0xD0 reads it back', () => {
  const { io, a20, resets } = kbc();
  io.out(0x64, 1, 0xd0);
  assert.equal(io.in(0x60, 1) & 0x03, 0x03, 'A20 on, not in reset');
  io.out(0x64, 1, 0xd1); io.out(0x60, 1, 0xdd);   // A20 off
  io.out(0x64, 1, 0xd1); io.out(0x60, 1, 0xdf);   // A20 on
  assert.deepEqual(a20, [false, true]);
  assert.equal(resets(), 0);
  io.out(0x64, 1, 0xfe);
  assert.equal(resets(), 1);
  io.out(0x64, 1, 0xff);                          // pulse nothing
  assert.equal(resets(), 1);
  io.out(0x64, 1, 0xd1); io.out(0x60, 1, 0xde);   // bit 0 low: reset
  assert.equal(resets(), 2);
  io.out(0x64, 1, 0xdd);
  assert.deepEqual(a20, [false, true, false]);
});

test('i8042 snapshot round trip', () => {
  const a = kbc();
  a.io.out(0x64, 1, 0x60); a.io.out(0x60, 1, 0x47);
  a.io.out(0x64, 1, 0xd2); a.io.out(0x60, 1, 0x1c);
  a.io.out(0x64, 1, 0xd1);                        // waiting for its data byte
  const b = kbc();
  b.k.restore(JSON.parse(JSON.stringify(a.k.save())));
  assert.deepEqual(b.k.save(), a.k.save());
  for (const x of [a, b]) {
    x.io.out(0x60, 1, 0xdd);
    assert.deepEqual(x.a20, [false]);
    assert.equal(x.io.in(0x60, 1), 0x1c);
    x.io.out(0x64, 1, 0x20);
    assert.equal(x.io.in(0x60, 1), 0x47);
  }
});

test('port 0x92: bit 1 A20, bit 0 reset on a 0→1 write, reads back', () => {
  const io = new IoBus();
  const a20: boolean[] = [];
  let resets = 0;
  const p = new SysCtrlPortA({ onA20: (on) => a20.push(on), onReset: () => { resets++; } });
  p.attach(io);
  assert.equal(io.in(0x92, 1), 0x02, 'A20 on at start');
  io.out(0x92, 1, 0x00); io.out(0x92, 1, 0x02);
  assert.deepEqual(a20, [false, true]);
  io.out(0x92, 1, 0x03);
  assert.equal(resets, 1);
  io.out(0x92, 1, 0x03);
  assert.equal(resets, 1, 'only a 0→1 transition resets');
  const q = new SysCtrlPortA({ onA20: () => {}, onReset: () => {} });
  q.restore(JSON.parse(JSON.stringify(p.save())));
  const io2 = new IoBus(); q.attach(io2);
  assert.equal(io2.in(0x92, 1), 0x03);
});
