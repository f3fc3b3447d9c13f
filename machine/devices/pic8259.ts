// The PC/AT interrupt controller pair: two Intel 8259A PICs, the slave cascaded on the master's IR2,
// plus the PIIX-style edge/level control registers (ELCR) at 0x4D0/0x4D1.
//
// Facts from the Intel 8259A datasheet (231468):
// - ICW1 (command port, D4 = 1) starts initialisation: IMR cleared, IR7 lowest priority, special
//   mask mode off, status read = IRR, edge sense reset (a line must go low→high again to request).
//   ICW2 (vector base, T7-T3), ICW3 (only if SNGL = 0), ICW4 (only if IC4 = 1) follow on the data port.
// - OCW1 = IMR (data port). OCW2 (D4 D3 = 00): R SL EOI L2-L0, the EOI and rotation commands.
//   OCW3 (D4 D3 = 01): ESMM SMM (special mask), P (poll), RR RIS (read IRR / ISR).
// - Priority: fully nested; IR (lowest+1) mod 8 has the highest priority. A request interrupts the
//   CPU when it is unmasked and has a higher priority than every level in service.
// - Edge mode: a low→high transition sets the IRR bit; level mode: the IRR bit follows the line.
//   In both modes the request must still be high at the INTA cycle, else the 8259A answers with
//   IR7 (a "spurious" interrupt, without setting the ISR bit): here a line that drops before the
//   acknowledge withdraws its request, and acknowledge() with nothing pending returns the IR7
//   vector. A spurious request on the slave gives the slave's IR7 vector (IRQ15) while the
//   master's IR2 goes in service, as on real hardware.
// - Special fully nested mode and the MCS-80/85 mode (ICW4 µPM = 0) are not implemented: µPM = 0
//   is treated as 8086 mode. Buffered mode bits are stored and ignored.
//
// State at reset is what a PC BIOS leaves (the machine starts guests without firmware): master
// vectors 0x08-0x0F, slave 0x70-0x77, 8086 mode, normal EOI, every line masked except the cascade.

import type { IoBus, IrqLine, Snapshottable } from '../bus.js';
import type { InterruptController } from '../cpu/cpu.js';
import { ByteDevice, asRecord, bool, num } from './portio.js';

/** ICW1/OCW bits (8259A datasheet, "Initialization Command Words" and "Operation Command Words"). */
const ICW1_IC4 = 0x01, ICW1_SNGL = 0x02, ICW1_LTIM = 0x08, ICW1_SEL = 0x10;
const ICW4_AEOI = 0x02;
const OCW3_SEL = 0x08, OCW3_RIS = 0x01, OCW3_RR = 0x02, OCW3_P = 0x04, OCW3_SMM = 0x20, OCW3_ESMM = 0x40;
/** ELCR bits that are reserved (always edge): IRQ0-2 on the master, IRQ8 and IRQ13 on the slave. */
const ELCR_WRITABLE = [0xf8, 0xde];

/** One 8259A. */
class Pic {
  irr = 0;
  isr = 0;
  imr = 0xff;
  /** Current input levels of IR0-7. */
  lines = 0;
  /** Lines level-triggered through the ELCR. */
  elcr = 0;
  ltim = false;
  vectorBase = 0;
  icw3 = 0;
  icw4 = 0;
  /** Initialisation step: 0 = operational, 2/3/4 = the next data-port write is ICW2/3/4. */
  initStep = 0;
  needIcw4 = false;
  single = false;
  autoEoi = false;
  rotateOnAeoi = false;
  /** The lowest-priority level (priority rotation); IR (lowest+1)&7 has the highest. */
  lowest = 7;
  readIsr = false;
  specialMask = false;
  poll = false;

  levelMask(): number { return this.ltim ? 0xff : this.elcr; }

  /** The level among `mask` with the highest priority, or -1. */
  highest(mask: number): number {
    for (let k = 1; k <= 8; k++) {
      const ir = (this.lowest + k) & 7;
      if ((mask & (1 << ir)) !== 0) return ir;
    }
    return -1;
  }

  /** Priority rank of `ir`: 0 = highest. */
  rank(ir: number): number { return (ir - this.lowest - 1) & 7; }

  /** The request that would interrupt the CPU now (-1 if none): unmasked, above every level in service. */
  pending(): number {
    const req = this.irr & ~this.imr & 0xff;
    if (req === 0) return -1;
    if (this.specialMask) {
      // Special mask mode: in-service levels only inhibit themselves (datasheet, "Special Mask Mode").
      return this.highest(req & ~this.isr);
    }
    const ir = this.highest(req);
    const s = this.highest(this.isr);
    return s < 0 || this.rank(ir) < this.rank(s) ? ir : -1;
  }

  setLine(ir: number, level: boolean): void {
    const bit = 1 << ir;
    if (level) {
      if ((this.lines & bit) === 0) { this.lines |= bit; this.irr |= bit; }
    } else if ((this.lines & bit) !== 0) {
      // Edge or level: a request that goes away before INTA is withdrawn.
      this.lines &= ~bit;
      this.irr &= ~bit;
    }
  }

  /** INTA: put the winning request in service; -1 if there is none (the caller answers IR7). */
  ack(): number {
    const ir = this.pending();
    if (ir < 0) return -1;
    const bit = 1 << ir;
    this.irr &= ~bit;
    // Level mode: the request stays while the line is high (it is blocked by ISR until EOI).
    this.irr |= this.lines & this.levelMask() & bit;
    if (this.autoEoi) { if (this.rotateOnAeoi) this.lowest = ir; } else this.isr |= bit;
    return ir;
  }

  writeCommand(v: number): void {
    if ((v & ICW1_SEL) !== 0) {
      // ICW1.
      this.initStep = 2;
      this.needIcw4 = (v & ICW1_IC4) !== 0;
      this.single = (v & ICW1_SNGL) !== 0;
      this.ltim = (v & ICW1_LTIM) !== 0;
      this.imr = 0; this.isr = 0;
      this.irr = this.lines & this.levelMask();   // edge sense reset: edge lines need a new rising edge
      this.lowest = 7; this.specialMask = false; this.readIsr = false; this.poll = false;
      if (!this.needIcw4) { this.icw4 = 0; this.autoEoi = false; }
      this.rotateOnAeoi = false;
      return;
    }
    if ((v & OCW3_SEL) === 0) { this.ocw2(v); return; }
    // OCW3.
    if ((v & OCW3_ESMM) !== 0) this.specialMask = (v & OCW3_SMM) !== 0;
    if ((v & OCW3_RR) !== 0) this.readIsr = (v & OCW3_RIS) !== 0;
    this.poll = (v & OCW3_P) !== 0;
  }

  private ocw2(v: number): void {
    const l = v & 7;
    switch (v >>> 5) {
      case 1: { const ir = this.highest(this.isr); if (ir >= 0) this.isr &= ~(1 << ir); break; }      // non-specific EOI
      case 3: this.isr &= ~(1 << l); break;                                                          // specific EOI
      case 5: { const ir = this.highest(this.isr); if (ir >= 0) { this.isr &= ~(1 << ir); this.lowest = ir; } break; } // rotate on NS EOI
      case 4: this.rotateOnAeoi = true; break;                                                       // set rotate in AEOI
      case 0: this.rotateOnAeoi = false; break;                                                      // clear rotate in AEOI
      case 7: this.isr &= ~(1 << l); this.lowest = l; break;                                         // rotate on specific EOI
      case 6: this.lowest = l; break;                                                                // set priority
      default: break;                                                                                // 2: no operation
    }
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        return;
      case 3:
        this.icw3 = v;
        this.initStep = this.needIcw4 ? 4 : 0;
        return;
      case 4:
        this.icw4 = v;
        this.autoEoi = (v & ICW4_AEOI) !== 0;
        this.initStep = 0;
        return;
      default:
        this.imr = v;
    }
  }

  /** Poll command read: bit 7 = a request was pending, bits 2-0 = its level (acknowledged). */
  pollRead(): number {
    this.poll = false;
    const ir = this.ack();
    return ir < 0 ? 0 : 0x80 | ir;
  }

  save(): Record<string, number | boolean> {
    return {
      irr: this.irr, isr: this.isr, imr: this.imr, lines: this.lines, elcr: this.elcr, ltim: this.ltim,
      vectorBase: this.vectorBase, icw3: this.icw3, icw4: this.icw4, initStep: this.initStep, needIcw4: this.needIcw4,
      single: this.single, autoEoi: this.autoEoi, rotateOnAeoi: this.rotateOnAeoi, lowest: this.lowest,
      readIsr: this.readIsr, specialMask: this.specialMask, poll: this.poll,
    };
  }
  restore(s: Record<string, unknown>): void {
    this.irr = num(s, 'irr'); this.isr = num(s, 'isr'); this.imr = num(s, 'imr'); this.lines = num(s, 'lines');
    this.elcr = num(s, 'elcr'); this.ltim = bool(s, 'ltim'); this.vectorBase = num(s, 'vectorBase');
    this.icw3 = num(s, 'icw3'); this.icw4 = num(s, 'icw4'); this.initStep = num(s, 'initStep');
    this.needIcw4 = bool(s, 'needIcw4'); this.single = bool(s, 'single'); this.autoEoi = bool(s, 'autoEoi');
    this.rotateOnAeoi = bool(s, 'rotateOnAeoi'); this.lowest = num(s, 'lowest'); this.readIsr = bool(s, 'readIsr');
    this.specialMask = bool(s, 'specialMask'); this.poll = bool(s, 'poll');
  }
}

/** The cascaded master/slave pair as wired on a PC/AT. */
export class PicPair extends ByteDevice implements InterruptController, Snapshottable {
  readonly name = 'pic8259';
  private readonly master = new Pic();
  private readonly slave = new Pic();
  private readonly lines: IrqLine[] = [];
  /** Cached: the master's INT output (read between blocks by the CPU). */
  private intr = false;

  constructor() {
    super();
    for (let n = 0; n < 16; n++) this.lines.push({ set: (level: boolean) => this.setIrq(n, level) });
    const m = this.master, s = this.slave;
    m.vectorBase = 0x08; m.icw3 = 0x04; m.icw4 = 0x01; m.imr = 0xfb;
    s.vectorBase = 0x70; s.icw3 = 0x02; s.icw4 = 0x01; s.imr = 0xff;
  }

  attach(io: IoBus): void {
    this.claim(io, 0x20, 2);
    this.claim(io, 0xa0, 2);
    this.claim(io, 0x4d0, 2);
  }

  /** The request line for ISA IRQ n (0-15). IRQ2 is the cascade and is not wired to a device. */
  irq(n: number): IrqLine {
    if (n < 0 || n > 15 || n === 2) throw new Error(`no ISA IRQ line ${n}`);
    return this.lines[n];
  }

  private setIrq(n: number, level: boolean): void {
    if (n < 8) this.master.setLine(n, level); else this.slave.setLine(n - 8, level);
    this.update();
  }

  /** Propagate the slave's INT output to the master's IR2 and recompute the CPU's INTR. */
  private update(): void {
    if (!this.master.single) this.master.setLine(2, this.slave.pending() >= 0);
    this.intr = this.master.pending() >= 0;
  }

  hasInterrupt(): boolean { return this.intr; }

  acknowledge(): number {
    const m = this.master;
    const ir = m.ack();
    let vec: number;
    if (ir < 0) vec = m.vectorBase | 7;                  // spurious IRQ7
    else if (ir === 2 && !m.single) {
      const sir = this.slave.ack();
      vec = this.slave.vectorBase | (sir < 0 ? 7 : sir); // spurious IRQ15 if the slave's request went away
    } else vec = m.vectorBase | ir;
    this.update();
    return vec;
  }

  protected inb(port: number): number {
    if (port === 0x4d0) return this.master.elcr;
    if (port === 0x4d1) return this.slave.elcr;
    const pic = port < 0xa0 ? this.master : this.slave;
    let v: number;
    if (pic.poll) {
      v = pic.pollRead();   // each chip is polled on its own (datasheet, "The Poll Command")
      this.update();
    } else if ((port & 1) === 0) v = pic.readIsr ? pic.isr : pic.irr;
    else v = pic.imr;
    return v;
  }

  protected outb(port: number, v: number): void {
    if (port === 0x4d0 || port === 0x4d1) {
      const k = port & 1;
      const pic = k === 0 ? this.master : this.slave;
      pic.elcr = v & ELCR_WRITABLE[k];
      pic.irr = (pic.irr & ~pic.levelMask()) | (pic.lines & pic.levelMask());
    } else {
      const pic = port < 0xa0 ? this.master : this.slave;
      if ((port & 1) === 0) pic.writeCommand(v); else pic.writeData(v);
    }
    this.update();
  }

  save(): unknown { return { master: this.master.save(), slave: this.slave.save() }; }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.master.restore(asRecord(s.master, this.name));
    this.slave.restore(asRecord(s.slave, this.name));
    this.update();
  }
}
