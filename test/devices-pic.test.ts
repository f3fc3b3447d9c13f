// 8259A PIC pair: initialisation, priority, EOI, masking, edge/level (ELCR), spurious IRQ7/15,
// AEOI, rotation, poll, special mask mode, snapshot. Expected values come from the Intel 8259A
// datasheet's command descriptions, worked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBus } from '../machine/bus.js';
import { PicPair } from '../machine/devices/pic8259.js';

function setup(opts: { masterIcw4?: number; slaveIcw4?: number; masterBase?: number; slaveBase?: number } = {}): { io: IoBus; pic: PicPair } {
  const io = new IoBus();
  const pic = new PicPair();
  pic.attach(io);
  // Linux's init_8259A sequence: ICW1 = edge, cascade, ICW4 needed.
  io.out(0x20, 1, 0x11); io.out(0x21, 1, opts.masterBase ?? 0x30); io.out(0x21, 1, 0x04); io.out(0x21, 1, opts.masterIcw4 ?? 0x01);
  io.out(0xa0, 1, 0x11); io.out(0xa1, 1, opts.slaveBase ?? 0x38); io.out(0xa1, 1, 0x02); io.out(0xa1, 1, opts.slaveIcw4 ?? 0x01);
  return { io, pic };
}
const readIrr = (io: IoBus, port: number): number => { io.out(port, 1, 0x0a); return io.in(port, 1); };
const readIsr = (io: IoBus, port: number): number => { io.out(port, 1, 0x0b); return io.in(port, 1); };
const EOI = 0x20;

test('reset state is what a BIOS leaves: everything masked but the cascade', () => {
  const io = new IoBus();
  const pic = new PicPair();
  pic.attach(io);
  assert.equal(io.in(0x21, 1), 0xfb);
  assert.equal(io.in(0xa1, 1), 0xff);
  assert.equal(pic.hasInterrupt(), false);
});

test('ICW1 clears the IMR; the IMR reads back what OCW1 wrote (Linux probe)', () => {
  const { io } = setup();
  assert.equal(io.in(0x21, 1), 0x00, 'IMR cleared by ICW1');
  io.out(0xa1, 1, 0xff); io.out(0x21, 1, 0xfb);
  assert.equal(io.in(0x21, 1), 0xfb);
  assert.equal(io.in(0xa1, 1), 0xff);
  io.out(0x21, 1, 0x5a);
  assert.equal(io.in(0x21, 1), 0x5a);
});

test('fully nested priority: lower IR wins; in-service level blocks lower ones until EOI', () => {
  const { io, pic } = setup();
  pic.irq(5).set(true); pic.irq(3).set(true);
  assert.equal(readIrr(io, 0x20), 0x28);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x33);
  assert.equal(readIsr(io, 0x20), 0x08);
  assert.equal(readIrr(io, 0x20), 0x20);
  assert.equal(pic.hasInterrupt(), false, 'IR5 is below IR3 in service');
  pic.irq(1).set(true);
  assert.equal(pic.hasInterrupt(), true, 'IR1 nests above IR3');
  assert.equal(pic.acknowledge(), 0x31);
  assert.equal(readIsr(io, 0x20), 0x0a);
  io.out(0x20, 1, EOI);                           // non-specific EOI clears the highest: IR1
  assert.equal(readIsr(io, 0x20), 0x08);
  assert.equal(pic.hasInterrupt(), false);
  io.out(0x20, 1, 0x63);                          // specific EOI for IR3
  assert.equal(readIsr(io, 0x20), 0x00);
  assert.equal(pic.acknowledge(), 0x35);
});

test('masking: a masked request stays in IRR and fires when unmasked', () => {
  const { io, pic } = setup();
  io.out(0x21, 1, 0x10);
  pic.irq(4).set(true);
  assert.equal(readIrr(io, 0x20), 0x10);
  assert.equal(pic.hasInterrupt(), false);
  io.out(0x21, 1, 0x00);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x34);
});

test('slave cascade on IR2: vector from the slave, both ISRs set, EOI to both', () => {
  const { io, pic } = setup();
  pic.irq(8).set(true);
  assert.equal(readIrr(io, 0x20) & 0x04, 0x04, 'slave INT seen on master IR2');
  assert.equal(pic.acknowledge(), 0x38);
  assert.equal(readIsr(io, 0x20), 0x04);
  assert.equal(readIsr(io, 0xa0), 0x01);
  pic.irq(12).set(true);
  assert.equal(pic.hasInterrupt(), false, 'master IR2 in service blocks the slave');
  io.out(0xa0, 1, EOI); io.out(0x20, 1, EOI);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x3c);
  // A master line above IR2 still nests over a slave interrupt in service.
  pic.irq(1).set(true);
  assert.equal(pic.acknowledge(), 0x31);
});

test('edge-triggered: a line held high requests once; level-triggered (ELCR): again after EOI', () => {
  const { io, pic } = setup();
  pic.irq(4).set(true);
  assert.equal(pic.acknowledge(), 0x34);
  io.out(0x20, 1, EOI);
  assert.equal(pic.hasInterrupt(), false, 'edge: no new request while the line stays high');
  pic.irq(4).set(false); pic.irq(4).set(true);
  assert.equal(pic.hasInterrupt(), true, 'edge: a new rising edge requests again');
  pic.acknowledge(); io.out(0x20, 1, EOI);

  io.out(0x4d1, 1, 0x04);                        // IRQ10 level-triggered
  assert.equal(io.in(0x4d1, 1), 0x04);
  pic.irq(10).set(true);
  assert.equal(pic.acknowledge(), 0x3a);
  io.out(0xa0, 1, EOI); io.out(0x20, 1, EOI);
  assert.equal(pic.hasInterrupt(), true, 'level: still requesting while the line is high');
  assert.equal(pic.acknowledge(), 0x3a);
  io.out(0xa0, 1, EOI); io.out(0x20, 1, EOI);
  pic.irq(10).set(false);
  assert.equal(pic.hasInterrupt(), false);
});

test('ELCR: IRQ0-2, IRQ8 and IRQ13 cannot be level-triggered', () => {
  const { io } = setup();
  io.out(0x4d0, 1, 0xff); io.out(0x4d1, 1, 0xff);
  assert.equal(io.in(0x4d0, 1), 0xf8);
  assert.equal(io.in(0x4d1, 1), 0xde);
  io.out(0x4d0, 2, 0x0000);
  assert.equal(io.in(0x4d0, 2), 0x0000, '16-bit access splits into the two ELCR bytes');
});

test('spurious: request withdrawn before INTA gives IR7 (master) / IR15 (slave) without ISR', () => {
  const { io, pic } = setup();
  io.out(0x4d0, 1, 0x20);                        // IRQ5 level
  pic.irq(5).set(true);
  assert.equal(pic.hasInterrupt(), true);
  pic.irq(5).set(false);
  assert.equal(pic.acknowledge(), 0x37, 'master spurious vector = base + 7');
  assert.equal(readIsr(io, 0x20), 0x00, 'a spurious IR7 sets no ISR bit');
  // Slave: the master acknowledges IR2 but the slave's request is gone.
  io.out(0x4d1, 1, 0x08);                        // IRQ11 level
  pic.irq(11).set(true);
  pic.irq(11).set(false);
  // Force the INTA race: master latched IR2, slave has nothing.
  pic.irq(11).set(true);
  const m = pic as unknown as { master: { irr: number } };
  pic.irq(11).set(false);
  m.master.irr |= 0x04;                          // the master saw the cascade request
  assert.equal(pic.acknowledge(), 0x3f, 'slave spurious vector = slave base + 7');
  assert.equal(readIsr(io, 0x20), 0x04, 'master IR2 goes in service');
  assert.equal(readIsr(io, 0xa0), 0x00);
});

test('auto-EOI (ICW4 bit 1): acknowledge sets no ISR bit', () => {
  const { io, pic } = setup({ masterIcw4: 0x03 });
  pic.irq(6).set(true);
  assert.equal(pic.acknowledge(), 0x36);
  assert.equal(readIsr(io, 0x20), 0x00);
  pic.irq(7).set(true);
  assert.equal(pic.hasInterrupt(), true, 'no in-service level blocks IR7');
});

test('rotation: set-priority and rotate-on-specific-EOI move the lowest priority', () => {
  const { io, pic } = setup();
  io.out(0x20, 1, 0xc0 | 4);                     // set priority: IR4 lowest, IR5 highest
  pic.irq(3).set(true); pic.irq(6).set(true);
  assert.equal(pic.acknowledge(), 0x36);
  io.out(0x20, 1, 0xe0 | 6);                     // rotate on specific EOI 6: IR6 lowest, IR7 highest
  pic.irq(7).set(true);
  assert.equal(pic.acknowledge(), 0x37);
  io.out(0x20, 1, 0xa0);                         // rotate on non-specific EOI: IR7 becomes lowest
  pic.irq(6).set(false); pic.irq(6).set(true);
  assert.equal(pic.acknowledge(), 0x30 | 3, 'IR0 highest now, so IR3 beats IR6');
});

test('poll command: next read returns 0x80 | level and puts it in service', () => {
  const { io, pic } = setup();
  pic.irq(5).set(true);
  io.out(0x20, 1, 0x0c);
  assert.equal(io.in(0x20, 1), 0x85);
  assert.equal(readIsr(io, 0x20), 0x20);
  io.out(0x20, 1, 0x0c);
  assert.equal(io.in(0x20, 1), 0x00, 'nothing pending');
});

test('special mask mode: a masked in-service level no longer blocks lower levels', () => {
  const { io, pic } = setup();
  pic.irq(3).set(true);
  assert.equal(pic.acknowledge(), 0x33);
  pic.irq(5).set(true);
  assert.equal(pic.hasInterrupt(), false);
  io.out(0x20, 1, 0x68);                          // OCW3: set special mask
  io.out(0x21, 1, 0x08);                          // mask IR3
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x35);
  io.out(0x20, 1, 0x48);                          // reset special mask
  io.out(0x21, 1, 0x00);
  pic.irq(6).set(true);
  assert.equal(pic.hasInterrupt(), false, 'fully nested again: IR3 and IR5 in service block IR6');
});

test('ICW1 resets the edge sense: a line already high must go low and high again', () => {
  const { io, pic } = setup();
  pic.irq(4).set(true);
  io.out(0x20, 1, 0x11); io.out(0x21, 1, 0x30); io.out(0x21, 1, 0x04); io.out(0x21, 1, 0x01);
  assert.equal(pic.hasInterrupt(), false);
  assert.equal(readIrr(io, 0x20), 0x00);
});

test('snapshot round trip', () => {
  const { io, pic } = setup();
  io.out(0x21, 1, 0x80); io.out(0x4d1, 1, 0x04);
  pic.irq(3).set(true); pic.irq(9).set(true); pic.irq(10).set(true);
  assert.equal(pic.acknowledge(), 0x39, 'setup: the cascade (IR2) outranks IR3');
  const saved = JSON.parse(JSON.stringify(pic.save()));
  const io2 = new IoBus();
  const pic2 = new PicPair();
  pic2.attach(io2);
  pic2.restore(saved);
  assert.deepEqual(pic2.save(), pic.save());
  for (const [a, b] of [[io, pic], [io2, pic2]] as const) {
    assert.equal(a.in(0x21, 1), 0x80);
    assert.equal(readIsr(a, 0x20), 0x04);
    assert.equal(readIsr(a, 0xa0), 0x02);
    a.out(0xa0, 1, EOI); a.out(0x20, 1, EOI);
    assert.equal(b.acknowledge(), 0x3a, 'IRQ10 (level, still high) next');
    assert.equal(b.hasInterrupt(), false);
  }
});
