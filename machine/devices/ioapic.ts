// Intel 82093AA I/O APIC (memory-mapped at 0xFEC00000) and the ISA IRQ wiring of a PC that has
// both the 8259 pair and an I/O APIC.
//
// Facts from the 82093AA datasheet (290566):
// - Two registers in the memory window: IOREGSEL at +0x00 (8-bit index of the register to reach)
//   and IOWIN at +0x10 (32-bit data of the selected register). Registers: 0x00 IOAPICID (ID in
//   bits 27:24), 0x01 IOAPICVER (version 0x11 in 7:0, maximum redirection entry 0x17 = 23 in 23:16,
//   read-only), 0x02 IOAPICARB (arbitration ID in 27:24, read-only), 0x10-0x3F the 24 64-bit
//   redirection entries (low dword at 0x10 + 2n, high dword at 0x11 + 2n).
// - Redirection entry: vector 7:0, delivery mode 10:8 (fixed, lowest priority, SMI, NMI, INIT,
//   ExtINT), destination mode 11 (0 physical, 1 logical), delivery status 12 (RO), pin polarity 13
//   (1 = active low), remote IRR 14 (RO), trigger mode 15 (1 = level), mask 16, destination 63:56.
//   After reset every entry is masked.
// - Edge-triggered: an assertion edge sends one message; edges on a masked pin are lost.
//   Level-triggered: an asserted, unmasked pin sends a message and sets remote IRR; the EOI message
//   with the entry's vector clears it, and a pin still asserted then sends again.
// - Delivery status is "idle" here: messages are delivered at once on the APIC bus.
// Behaviour Linux relies on with this (pre-0x20, no EOI register) version: switching an entry to
// edge-triggered clears its remote IRR (Linux's EOI-by-mode-switch for old I/O APICs), and
// unmasking a level-triggered pin that is asserted delivers it.
//
// Electrical model: `pin(n).set(level)` is the line's level; an active-low entry sees the inverse.
// ISA devices drive their IRQ active high.

import type { IrqLine, Snapshottable } from '../bus.js';
import type { MmioHandler } from '../memory.js';
import { DM, type ApicBus, type EoiListener } from './lapic.js';
import { asRecord, num, nums } from './portio.js';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;
/** IOAPICVER: maximum redirection entry 23, version 0x11 (82093AA). */
export const IOAPIC_VERSION = ((IOAPIC_PINS - 1) << 16) | 0x11;
/** Register indexes (82093AA "I/O APIC Registers"). */
export const IOAPIC_REG = { ID: 0x00, VER: 0x01, ARB: 0x02, REDTBL: 0x10 } as const;
/** Memory window offsets. */
export const IOAPIC_MMIO = { IOREGSEL: 0x00, IOWIN: 0x10 } as const;
/** Redirection entry bits (low dword). */
export const RTE = {
  VECTOR: 0xff, DM_SHIFT: 8, LOGICAL: 1 << 11, STATUS: 1 << 12, ACTIVE_LOW: 1 << 13, REMOTE_IRR: 1 << 14,
  LEVEL: 1 << 15, MASK: 1 << 16,
} as const;
const RTE_LO_WRITABLE = 0x1afff;
const RTE_HI_WRITABLE = 0xff000000 | 0;

export class IoApic implements MmioHandler, EoiListener, Snapshottable {
  readonly name = 'ioapic';
  private id: number;
  private regsel = 0;
  private readonly lo = new Int32Array(IOAPIC_PINS);
  private readonly hi = new Int32Array(IOAPIC_PINS);
  /** Electrical levels of the input pins (bit n = pin n high). */
  private levels = 0;
  private readonly lines: IrqLine[] = [];

  constructor(private readonly bus: ApicBus, id: number, readonly base = IOAPIC_DEFAULT_BASE) {
    this.id = id & 0xf;
    for (let n = 0; n < IOAPIC_PINS; n++) this.lines.push({ set: (level: boolean) => this.setPin(n, level) });
    this.reset();
    bus.ioapics.push(this);
  }

  reset(): void {
    this.regsel = 0;
    this.lo.fill(RTE.MASK);
    this.hi.fill(0);
  }

  /** Input pin n (0-23). */
  pin(n: number): IrqLine {
    if (n < 0 || n >= IOAPIC_PINS) throw new Error(`no I/O APIC pin ${n}`);
    return this.lines[n];
  }

  /** True if pin n's input is asserted (level, after polarity). */
  private asserted(n: number): boolean {
    return (((this.levels >>> n) & 1) !== 0) !== ((this.lo[n] & RTE.ACTIVE_LOW) !== 0);
  }

  private setPin(n: number, level: boolean): void {
    const was = this.asserted(n);
    if (level) this.levels |= 1 << n; else this.levels &= ~(1 << n);
    const now = this.asserted(n);
    const e = this.lo[n];
    if ((e & RTE.MASK) !== 0) return;
    if ((e & RTE.LEVEL) !== 0) { if (now) this.service(n); }
    else if (now && !was) this.send(n);
  }

  /** Level-triggered pin: send if asserted, unmasked and not waiting for an EOI. */
  private service(n: number): void {
    const e = this.lo[n];
    if ((e & (RTE.MASK | RTE.REMOTE_IRR)) !== 0 || !this.asserted(n)) return;
    if (this.send(n)) this.lo[n] |= RTE.REMOTE_IRR;
  }

  private send(n: number): boolean {
    const e = this.lo[n];
    const mode = (e >>> RTE.DM_SHIFT) & 7;
    const level = (e & RTE.LEVEL) !== 0 && (mode === DM.FIXED || mode === DM.LOWEST);
    return this.bus.deliver(null, 0, this.hi[n] >>> 24, (e & RTE.LOGICAL) !== 0, mode, e & RTE.VECTOR, level);
  }

  eoi(vector: number): void {
    for (let n = 0; n < IOAPIC_PINS; n++) {
      const e = this.lo[n];
      if ((e & RTE.REMOTE_IRR) !== 0 && (e & RTE.VECTOR) === vector) {
        this.lo[n] = e & ~RTE.REMOTE_IRR;
        if ((e & RTE.LEVEL) !== 0) this.service(n);
      }
    }
  }

  // ------------------------------------------------------------------ registers
  readReg(index: number): number {
    switch (index) {
      case IOAPIC_REG.ID: return this.id << 24;
      case IOAPIC_REG.VER: return IOAPIC_VERSION;
      case IOAPIC_REG.ARB: return this.id << 24;
      default: break;
    }
    if (index >= IOAPIC_REG.REDTBL && index < IOAPIC_REG.REDTBL + 2 * IOAPIC_PINS) {
      const n = (index - IOAPIC_REG.REDTBL) >>> 1;
      return (index & 1) === 0 ? this.lo[n] : this.hi[n];
    }
    return 0;
  }

  writeReg(index: number, v: number): void {
    if (index === IOAPIC_REG.ID) { this.id = (v >>> 24) & 0xf; return; }
    if (index < IOAPIC_REG.REDTBL || index >= IOAPIC_REG.REDTBL + 2 * IOAPIC_PINS) return;
    const n = (index - IOAPIC_REG.REDTBL) >>> 1;
    if ((index & 1) !== 0) { this.hi[n] = v & RTE_HI_WRITABLE; return; }
    const old = this.lo[n];
    let e = (v & RTE_LO_WRITABLE) | (old & RTE.REMOTE_IRR);
    if ((e & RTE.LEVEL) === 0) e &= ~RTE.REMOTE_IRR;           // edge mode: no remote IRR
    this.lo[n] = e;
    if ((e & RTE.LEVEL) !== 0) this.service(n);                  // e.g. unmasked while asserted
  }

  read(addr: number, size: number): number {
    const off = (addr - this.base) & 0xfff;
    let v: number;
    if ((off & ~0xf) === IOAPIC_MMIO.IOREGSEL) v = this.regsel;
    else if ((off & ~0xf) === IOAPIC_MMIO.IOWIN) v = this.readReg(this.regsel);
    else return 0;
    const sh = 8 * (off & 3);
    if ((off & 0xc) !== 0) return 0;
    if (size === 4) return v | 0;
    return (v >>> sh) & (size === 1 ? 0xff : 0xffff);
  }

  write(addr: number, size: number, value: number): void {
    const off = (addr - this.base) & 0xfff;
    if (off === IOAPIC_MMIO.IOREGSEL) { this.regsel = value & 0xff; return; }
    if (off === IOAPIC_MMIO.IOWIN && size === 4) this.writeReg(this.regsel, value | 0);
  }

  save(): unknown {
    return { id: this.id, regsel: this.regsel, lo: [...this.lo], hi: [...this.hi], levels: this.levels };
  }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.id = num(s, 'id'); this.regsel = num(s, 'regsel');
    this.lo.set(nums(s, 'lo')); this.hi.set(nums(s, 'hi')); this.levels = num(s, 'levels');
  }
}

/** An IRQ line wired to several controller inputs at once (the PC's ISA IRQs reach the 8259 and the I/O APIC). */
export class IrqFanout implements IrqLine {
  constructor(private readonly a: IrqLine, private readonly b: IrqLine) {}
  set(level: boolean): void { this.a.set(level); this.b.set(level); }
}

/**
 * I/O APIC input pin of ISA IRQ n on this machine, as on PC boards and as the MP table / MADT say:
 * IRQ0 (the PIT) goes to pin 2 (interrupt source override), the others to the pin of their number.
 * IRQ2 is the 8259 cascade and has no ISA device.
 */
export function isaIrqToPin(irq: number): number { return irq === 0 ? 2 : irq; }

/** ISA IRQ lines 0-15 (index 2 unused) fanned out to the 8259 pair and the I/O APIC. */
export function isaIrqLines(pic: { irq(n: number): IrqLine }, ioapic: IoApic): (IrqLine | null)[] {
  const out: (IrqLine | null)[] = [];
  for (let n = 0; n < 16; n++) out.push(n === 2 ? null : new IrqFanout(pic.irq(n), ioapic.pin(isaIrqToPin(n))));
  return out;
}
