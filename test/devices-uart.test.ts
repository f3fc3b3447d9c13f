// 16550A UART: reset values, DLAB, scratch, TX, THRE interrupt rules, RX FIFO and trigger levels,
// IIR priority order, loopback (Linux's probe), modem status deltas, OUT2 gating, flow-controlled
// host input, snapshot. Expected values from the PC16550D datasheet register descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus, type IrqLine } from '../machine/bus.js';
import { Uart16550, COM_PORTS, addComPort } from '../machine/devices/uart16550.js';

const B = 0x3f8;
const THR = B, RBR = B, IER = B + 1, IIR = B + 2, FCR = B + 2, LCR = B + 3, MCR = B + 4, LSR = B + 5, MSR = B + 6, SCR = B + 7;

interface Rig { io: IoBus; uart: Uart16550; tx: number[]; level: () => boolean; rises: () => number }
function rig(): Rig {
  const io = new IoBus();
  const tx: number[] = [];
  let lvl = false, rises = 0;
  const irq: IrqLine = { set(l: boolean) { if (l && !lvl) rises++; lvl = l; } };
  const uart = new Uart16550(B, irq, (b) => tx.push(b));
  uart.attach(io);
  return { io, uart, tx, level: () => lvl, rises: () => rises };
}
const inb = (r: Rig, p: number): number => r.io.in(p, 1);
const outb = (r: Rig, p: number, v: number): void => r.io.out(p, 1, v);

test('reset values: IER 0, IIR 01 (no interrupt), LCR/MCR 0, LSR 60 (THRE, TEMT)', () => {
  const r = rig();
  assert.equal(inb(r, IER), 0);
  assert.equal(inb(r, IIR), 0x01);
  assert.equal(inb(r, LCR), 0);
  assert.equal(inb(r, MCR), 0);
  assert.equal(inb(r, LSR), 0x60);
  assert.equal(inb(r, MSR) & 0xf0, 0xb0, 'CTS, DSR, DCD asserted by the host side');
});

test('DLAB selects the divisor latch; IER keeps only bits 0-3; scratch register', () => {
  const r = rig();
  outb(r, LCR, 0x83);
  outb(r, B, 0x01); outb(r, B + 1, 0x00);          // 115200 baud
  assert.equal(inb(r, B), 0x01);
  outb(r, B + 1, 0x12);
  assert.equal(inb(r, B + 1), 0x12);
  outb(r, LCR, 0x03);
  assert.equal(inb(r, IER), 0x00, 'IER untouched by divisor writes');
  outb(r, IER, 0xff);
  assert.equal(inb(r, IER), 0x0f, 'upper IER bits read 0 on a 16550A (Linux autoconfig)');
  outb(r, LCR, 0x80);
  assert.equal(inb(r, B + 1), 0x12);
  outb(r, SCR, 0xa5);
  assert.equal(inb(r, SCR), 0xa5);
  assert.equal(r.tx.length, 0, 'divisor writes are not transmitted');
});

test('transmission is instantaneous: bytes reach onTx, THRE and TEMT stay set', () => {
  const r = rig();
  for (const c of 'hi!') outb(r, THR, c.charCodeAt(0));
  assert.deepEqual(r.tx, [0x68, 0x69, 0x21]);
  assert.equal(inb(r, LSR) & 0x60, 0x60);
});

test('THRE interrupt: on enabling ETBEI with THR empty, cleared by IIR read or THR write, re-raised per byte', () => {
  const r = rig();
  outb(r, MCR, 0x08);                               // OUT2: IRQ gate open
  outb(r, IER, 0x02);
  assert.equal(r.level(), true);
  assert.equal(inb(r, IIR), 0x02, 'THRE reported');
  assert.equal(r.level(), false, 'reading IIR cleared the THRE interrupt');
  assert.equal(inb(r, IIR), 0x01);
  // Linux's UART_BUG_THRE test: disable and re-enable ETBEI must raise THRE again.
  outb(r, IER, 0x00); outb(r, IER, 0x02);
  assert.equal(inb(r, IIR), 0x02);
  outb(r, IER, 0x00);
  outb(r, IER, 0x02);
  const before = r.rises();
  outb(r, THR, 0x41);
  assert.equal(r.rises(), before + 1, 'a THR write drops the line and the (instant) empty THR raises it again');
  assert.equal(inb(r, IIR), 0x02);
  outb(r, IER, 0x00);
  assert.equal(r.level(), false);
  assert.equal(inb(r, IIR), 0x01);
});

test('OUT2 gates the IRQ line (PC wiring); IIR still reports', () => {
  const r = rig();
  outb(r, IER, 0x02);
  assert.equal(r.level(), false);
  outb(r, MCR, 0x08);
  assert.equal(r.level(), true);
  outb(r, MCR, 0x00);
  assert.equal(r.level(), false);
  assert.equal(inb(r, IIR), 0x02);
});

test('non-FIFO receive: DR, data-available interrupt, overrun overwrites RBR', () => {
  const r = rig();
  outb(r, MCR, 0x08); outb(r, IER, 0x01);
  assert.equal(inb(r, LSR) & 1, 0);
  r.uart.receive(0x31);
  assert.equal(inb(r, LSR) & 1, 1);
  assert.equal(inb(r, IIR), 0x04);
  assert.equal(r.level(), true);
  assert.equal(inb(r, RBR), 0x31);
  assert.equal(inb(r, LSR) & 1, 0);
  assert.equal(inb(r, IIR), 0x01);
  assert.equal(r.level(), false);
});

test('FIFO: IIR bits 7-6 set, trigger levels 1/4/8/14, character timeout below the trigger', () => {
  const r = rig();
  outb(r, FCR, 0xc7);                               // enable, reset both, trigger 14
  assert.equal(inb(r, IIR), 0xc1);
  outb(r, IER, 0x01);
  for (let k = 0; k < 13; k++) r.uart.receive(0x40 + k);
  assert.equal(inb(r, IIR), 0xcc, '13 bytes < 14: character timeout');
  r.uart.receive(0x4d);
  assert.equal(inb(r, IIR), 0xc4, '14 bytes: data available');
  for (let k = 0; k < 14; k++) assert.equal(inb(r, RBR), 0x40 + k, 'FIFO order');
  assert.equal(inb(r, IIR), 0xc1);
  for (const [fcr, trig] of [[0x01, 1], [0x41, 4], [0x81, 8]] as const) {
    outb(r, FCR, fcr | 0x02);
    for (let k = 1; k < trig; k++) r.uart.receive(k);
    assert.equal(inb(r, IIR), trig === 1 ? 0xc1 : 0xcc, `below trigger ${trig}`);
    r.uart.receive(0);
    assert.equal(inb(r, IIR), 0xc4, `at trigger ${trig}`);
    outb(r, FCR, fcr | 0x02);                       // RX reset empties the FIFO
    assert.equal(inb(r, LSR) & 1, 0);
  }
  outb(r, FCR, 0x00);
  assert.equal(inb(r, IIR) & 0xc0, 0, 'FIFOs off');
});

test('host input is flow-controlled: nothing lost past 16 bytes, no overrun', () => {
  const r = rig();
  outb(r, FCR, 0x01);
  for (let k = 0; k < 40; k++) r.uart.receive(k);
  const got: number[] = [];
  while (inb(r, LSR) & 1) got.push(inb(r, RBR));
  assert.deepEqual(got, Array.from({ length: 40 }, (_, k) => k));
  assert.equal(inb(r, LSR) & 0x02, 0);
});

test('loopback: MSR inputs from MCR (Linux probe reads 0x90), TX comes back as RX, no IRQ', () => {
  const r = rig();
  outb(r, MCR, 0x10 | 0x0a);                        // LOOP | RTS | OUT2: Linux's autoconfig test
  assert.equal(inb(r, MSR) & 0xf0, 0x90);
  outb(r, MCR, 0x1f);
  assert.equal(inb(r, MSR) & 0xf0, 0xf0);
  outb(r, MCR, 0x10);
  assert.equal(inb(r, MSR) & 0xf0, 0x00);
  outb(r, IER, 0x0f);
  outb(r, MCR, 0x18);
  outb(r, THR, 0x5a);
  assert.deepEqual(r.tx, [], 'nothing leaves in loopback');
  assert.equal(inb(r, LSR) & 1, 1);
  assert.equal(inb(r, IIR), 0x04, 'the looped byte raises data available');
  assert.equal(r.level(), false, 'OUT2 pin inactive in loopback: no IRQ');
  assert.equal(inb(r, RBR), 0x5a);
  r.uart.receive(0x77);
  assert.equal(inb(r, LSR) & 1, 0, 'the line input is disconnected in loopback');
  outb(r, MCR, 0x08);
  assert.equal(inb(r, RBR), 0x77, 'host byte arrives after loopback ends');
});

test('modem status: delta bits latch changes (TERI on RI falling) and clear on read', () => {
  const r = rig();
  outb(r, MCR, 0x10);
  inb(r, MSR);
  outb(r, MCR, 0x10 | 0x02);                        // RTS → CTS rises
  assert.equal(inb(r, MSR), 0x10 | 0x01);
  assert.equal(inb(r, MSR), 0x10, 'deltas cleared by the read');
  outb(r, MCR, 0x10 | 0x04);                        // OUT1 → RI rises; CTS falls
  assert.equal(inb(r, MSR), 0x40 | 0x01, 'RI rising sets no TERI; CTS falling sets DCTS');
  outb(r, MCR, 0x10);
  assert.equal(inb(r, MSR), 0x04, 'TERI on the trailing edge of RI');
  outb(r, MCR, 0x10 | 0x09);                        // DTR, OUT2 → DSR, DCD
  assert.equal(inb(r, MSR), 0xa0 | 0x02 | 0x08);
});

test('IIR priority: line status > data available > THRE > modem status', () => {
  const r = rig();
  outb(r, MCR, 0x10);                               // loopback, FIFOs off
  inb(r, MSR);
  outb(r, THR, 1); outb(r, THR, 2);                 // second byte overruns the 1-byte RBR
  outb(r, MCR, 0x12);                               // CTS change: modem status pending
  outb(r, IER, 0x0f);                               // also THRE now
  assert.equal(inb(r, IIR), 0x06, 'overrun: receiver line status');
  assert.equal(inb(r, LSR) & 0x03, 0x03, 'OE and DR');
  assert.equal(inb(r, LSR) & 0x02, 0, 'OE cleared by reading LSR');
  assert.equal(inb(r, IIR), 0x04, 'then data available');
  assert.equal(inb(r, RBR), 2, '16450 mode: the overrunning byte replaced RBR');
  assert.equal(inb(r, IIR), 0x02, 'then THRE (cleared by this read)');
  assert.equal(inb(r, IIR), 0x00, 'then modem status');
  inb(r, MSR);
  assert.equal(inb(r, IIR), 0x01);
});

test('FIFO overrun keeps the FIFO and drops the new byte', () => {
  const r = rig();
  outb(r, FCR, 0x07); outb(r, MCR, 0x10);
  for (let k = 0; k < 17; k++) outb(r, THR, k);
  assert.equal(inb(r, LSR) & 0x03, 0x03);
  const got: number[] = [];
  while (inb(r, LSR) & 1) got.push(inb(r, RBR));
  assert.deepEqual(got, Array.from({ length: 16 }, (_, k) => k));
});

test('COM port table and addComPort', () => {
  assert.deepEqual(COM_PORTS.map((p) => [p.base, p.irq]), [[0x3f8, 4], [0x2f8, 3], [0x3e8, 4], [0x2e8, 3]]);
  const io = new IoBus();
  const lines: number[] = [];
  const u = addComPort(io, 2, (n) => { lines.push(n); return { set() {} }; }, () => {});
  assert.deepEqual(lines, [3]);
  io.out(0x2ff, 1, 0x42);
  assert.equal(io.in(0x2ff, 1), 0x42);
  assert.equal(u.base, 0x2f8);
});

test('snapshot round trip', () => {
  const r = rig();
  outb(r, LCR, 0x83); outb(r, B, 3); outb(r, LCR, 0x03);
  outb(r, FCR, 0x81); outb(r, MCR, 0x0b); outb(r, IER, 0x03); outb(r, SCR, 9);
  for (let k = 0; k < 20; k++) r.uart.receive(100 + k);
  inb(r, RBR);
  const saved = JSON.parse(JSON.stringify(r.uart.save()));
  const s = rig();
  s.uart.restore(saved);
  assert.deepEqual(s.uart.save(), r.uart.save());
  for (const x of [r, s]) {
    assert.equal(inb(x, IIR), 0xc4);
    assert.equal(inb(x, SCR), 9);
    outb(x, LCR, 0x83); assert.equal(inb(x, B), 3); outb(x, LCR, 0x03);
    const got: number[] = [];
    while (inb(x, LSR) & 1) got.push(inb(x, RBR));
    assert.deepEqual(got, Array.from({ length: 19 }, (_, k) => 101 + k));
  }
});
