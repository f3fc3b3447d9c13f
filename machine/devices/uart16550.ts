// National Semiconductor PC16550D / 16550A UART (COM1 at 0x3F8, IRQ4 on a PC).
//
// Registers (datasheet, Table II): 0 RBR/THR (DLL with LCR.DLAB), 1 IER (DLM with DLAB), 2 IIR (read)
// / FCR (write), 3 LCR, 4 MCR, 5 LSR, 6 MSR, 7 SCR.
// - Interrupt priorities (IIR bits 3-1): receiver line status 011 > received data available 010 /
//   character timeout 110 > THR empty 001 > modem status 000; IIR bit 0 = 1 when none is pending;
//   IIR bits 7-6 = 11 when the FIFOs are enabled (FCR bit 0).
// - THRE interrupt: pending when THR becomes empty with IER.ETBEI set, or when ETBEI is set while
//   THR is already empty; cleared by reading IIR while it is the reported source, or by writing THR.
// - Line status interrupt: LSR OE/PE/FE/BI, cleared by reading LSR. Modem status interrupt: MSR
//   delta bits, cleared by reading MSR.
// - FIFO mode: 16-byte RX FIFO, data-available interrupt at the FCR trigger level (1/4/8/14 bytes).
// - Loopback (MCR bit 4): TX bytes are looped into the receiver and never leave; MSR inputs are
//   CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2; the output pins (and so OUT2) go inactive.
// On a PC the UART's INTR reaches the PIC only while MCR.OUT2 is active (a gate on the board), so
// the IRQ line is asserted when an interrupt is pending, OUT2 is set and loopback is off.
//
// Timing model: transmission is instantaneous: a byte written to THR goes to `onTx` (or, in
// loopback, into the receiver) at once, so THR and the transmitter are always empty again after the
// write (LSR.THRE = LSR.TEMT = 1, and with ETBEI a new THRE interrupt follows every THR write).
// Host input (`receive`) waits in a flow-controlled host queue and moves into the RX FIFO as room
// appears: host bytes are never lost. Only loopback can overrun the receiver (LSR.OE). Since the
// host delivers its bytes at once, the 4-character timeout is taken as already elapsed: a FIFO
// holding fewer bytes than the trigger level reports the character-timeout interrupt (IIR 0xCC).
// The modem inputs when not in loopback are CTS, DSR and DCD asserted (a connected terminal).

import type { IoBus, IrqLine, Snapshottable } from '../bus.js';
import { ByteDevice, asRecord, bool, num, nums } from './portio.js';

const IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_ELSI = 0x04, IER_EDSSI = 0x08;
const IIR_NONE = 0x01, IIR_MSR = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_RLS = 0x06, IIR_TIMEOUT = 0x0c, IIR_FIFO = 0xc0;
const FCR_ENABLE = 0x01, FCR_RX_RESET = 0x02, FCR_TX_RESET = 0x04;
const LCR_DLAB = 0x80;
const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40, LSR_ERRORS = 0x1e;
const MSR_DCTS = 0x01, MSR_TERI = 0x04, MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
const FIFO_SIZE = 16;
const TRIGGER = [1, 4, 8, 14];

/** The standard PC serial ports (base, IRQ). machine.ts wires COM1; others can be added with `addComPort`. */
export const COM_PORTS = [
  { base: 0x3f8, irq: 4 }, { base: 0x2f8, irq: 3 }, { base: 0x3e8, irq: 4 }, { base: 0x2e8, irq: 3 },
] as const;

export class Uart16550 extends ByteDevice implements Snapshottable {
  readonly name: string;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsr = LSR_THRE | LSR_TEMT;
  /** MSR input bits 7-4 and delta bits 3-0. */
  private msr = 0;
  private scr = 0;
  private dll = 1;
  private dlm = 0;
  private fcr = 0;
  /** THRE interrupt pending (see header). */
  private threIntr = false;
  /** RX FIFO (a ring; depth 1 in non-FIFO mode, where it is the receiver buffer register). */
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  /** Host input not yet in the RX FIFO. */
  private hostQueue: number[] = [];
  private irqLevel = false;

  constructor(readonly base: number, private readonly irq: IrqLine, private readonly onTx: (byte: number) => void) {
    super();
    this.name = `uart16550@${base.toString(16)}`;
    this.msr = this.modemInputs();
  }

  attach(io: IoBus): void { this.claim(io, this.base, 8); }

  /** Host → guest: queue a received byte. */
  receive(byte: number): void {
    this.hostQueue.push(byte & 0xff);
    this.refill();
    this.update();
  }

  /** Bytes received from the host that the guest has not read yet (FIFO + host queue). */
  pendingInput(): number { return this.rxCount + this.hostQueue.length; }

  private fifoOn(): boolean { return (this.fcr & FCR_ENABLE) !== 0; }
  private depth(): number { return this.fifoOn() ? FIFO_SIZE : 1; }
  private loop(): boolean { return (this.mcr & MCR_LOOP) !== 0; }

  /** Move host bytes into the RX FIFO while there is room (host input is flow-controlled). */
  private refill(): void {
    if (this.loop()) return;                       // in loopback the receiver is disconnected from the line
    const d = this.depth();
    while (this.hostQueue.length > 0 && this.rxCount < d) this.push(this.hostQueue.shift()!);
  }

  private push(b: number): void {
    if (this.rxCount >= this.depth()) {
      // Overrun: FIFO mode keeps the FIFO and loses the new character; 16450 mode overwrites RBR.
      this.lsr |= LSR_OE;
      if (!this.fifoOn()) this.rx[this.rxHead] = b;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = b;
    this.rxCount++;
  }

  private pop(): number {
    if (this.rxCount === 0) return this.rx[this.rxHead];   // empty: the last byte again
    const b = this.rx[this.rxHead];
    this.rxCount--;
    if (this.rxCount > 0) this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
    return b;
  }

  private clearRx(): void { this.rxHead = 0; this.rxCount = 0; }

  /** MSR bits 7-4 from the modem inputs (or, in loopback, from MCR). */
  private modemInputs(): number {
    if (!this.loop()) return MSR_CTS | MSR_DSR | MSR_DCD;
    const m = this.mcr;
    return ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) | ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0);
  }

  /** Recompute MSR inputs and latch delta bits (DCTS, DDSR, TERI on RI 1→0, DDCD). */
  private updateModem(): void {
    const old = this.msr & 0xf0, now = this.modemInputs();
    let delta = ((old ^ now) >> 4) & (MSR_DCTS | 0x02 | 0x08);
    if ((old & MSR_RI) !== 0 && (now & MSR_RI) === 0) delta |= MSR_TERI;
    this.msr = now | (this.msr & 0x0f) | delta;
  }

  /** The highest-priority pending interrupt as an IIR identification (IIR_NONE if none). */
  private source(): number {
    const ier = this.ier;
    if ((ier & IER_ELSI) !== 0 && (this.lsr & LSR_ERRORS) !== 0) return IIR_RLS;
    if ((ier & IER_ERBFI) !== 0 && this.rxCount > 0) {
      if (!this.fifoOn() || this.rxCount >= TRIGGER[this.fcr >> 6]) return IIR_RDA;
      return IIR_TIMEOUT;
    }
    if ((ier & IER_ETBEI) !== 0 && this.threIntr) return IIR_THRE;
    if ((ier & IER_EDSSI) !== 0 && (this.msr & 0x0f) !== 0) return IIR_MSR;
    return IIR_NONE;
  }

  private update(): void {
    const level = this.source() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0 && !this.loop();
    if (level !== this.irqLevel) { this.irqLevel = level; this.irq.set(level); }
  }

  private transmit(b: number): void {
    // THR write: the THRE interrupt is cleared (the IRQ line drops), then the byte leaves at once
    // and THR is empty again, which raises THRE anew: a fresh edge for an edge-triggered PIC.
    this.threIntr = false;
    this.update();
    if (this.loop()) this.push(b); else this.onTx(b);
    this.threIntr = true;
  }

  protected inb(port: number): number {
    let v: number;
    switch (port - this.base) {
      case 0:
        if ((this.lcr & LCR_DLAB) !== 0) return this.dll;
        v = this.pop();
        this.refill();
        break;
      case 1:
        return (this.lcr & LCR_DLAB) !== 0 ? this.dlm : this.ier;
      case 2: {
        const src = this.source();
        if (src === IIR_THRE) this.threIntr = false;  // reading IIR clears a reported THRE interrupt
        v = src | (this.fifoOn() ? IIR_FIFO : 0);
        break;
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5:
        v = this.lsr | (this.rxCount > 0 ? LSR_DR : 0);
        this.lsr &= ~(LSR_OE | LSR_ERRORS);
        break;
      case 6:
        v = this.msr;
        this.msr &= 0xf0;
        break;
      default: return this.scr;
    }
    this.update();
    return v;
  }

  protected outb(port: number, v: number): void {
    switch (port - this.base) {
      case 0:
        if ((this.lcr & LCR_DLAB) !== 0) { this.dll = v; return; }
        this.transmit(v);
        break;
      case 1: {
        if ((this.lcr & LCR_DLAB) !== 0) { this.dlm = v; return; }
        const old = this.ier;
        this.ier = v & 0x0f;
        // Enabling ETBEI while THR is empty raises the THRE interrupt at once.
        if ((old & IER_ETBEI) === 0 && (v & IER_ETBEI) !== 0) this.threIntr = true;
        break;
      }
      case 2: {
        if (((v ^ this.fcr) & FCR_ENABLE) !== 0) this.clearRx();   // mode change clears the FIFOs
        if ((v & FCR_ENABLE) === 0) { this.fcr = 0; break; }
        if ((v & FCR_RX_RESET) !== 0) this.clearRx();
        if ((v & FCR_TX_RESET) !== 0) { /* the transmitter is always empty */ }
        this.fcr = v & 0xc9;                       // trigger level, DMA mode, enable (reset bits self-clear)
        this.refill();
        break;
      }
      case 3: this.lcr = v; return;
      case 4: {
        const wasLoop = this.loop();
        this.mcr = v & 0x1f;
        this.updateModem();
        if (wasLoop && !this.loop()) this.refill();
        break;
      }
      case 5: case 6: return;                      // LSR and MSR are read-only (factory test writes ignored)
      default: this.scr = v; return;
    }
    this.update();
  }

  save(): unknown {
    const rx: number[] = [];
    for (let k = 0; k < this.rxCount; k++) rx.push(this.rx[(this.rxHead + k) % FIFO_SIZE]);
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsr: this.lsr, msr: this.msr, scr: this.scr, dll: this.dll,
      dlm: this.dlm, fcr: this.fcr, threIntr: this.threIntr, rx, lastRx: this.rx[this.rxHead], hostQueue: [...this.hostQueue],
      irqLevel: this.irqLevel,
    };
  }

  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.ier = num(s, 'ier'); this.lcr = num(s, 'lcr'); this.mcr = num(s, 'mcr'); this.lsr = num(s, 'lsr');
    this.msr = num(s, 'msr'); this.scr = num(s, 'scr'); this.dll = num(s, 'dll'); this.dlm = num(s, 'dlm');
    this.fcr = num(s, 'fcr'); this.threIntr = bool(s, 'threIntr');
    const rx = nums(s, 'rx');
    this.rx.fill(0);
    this.rxHead = 0;
    this.rxCount = Math.min(rx.length, FIFO_SIZE);
    for (let k = 0; k < this.rxCount; k++) this.rx[k] = rx[k];
    if (this.rxCount === 0) this.rx[0] = num(s, 'lastRx');
    this.hostQueue = nums(s, 'hostQueue').slice();
    this.irqLevel = bool(s, 'irqLevel');
  }
}

/** Create and attach the UART for COM`n` (1-4) with its standard base and IRQ. */
export function addComPort(io: IoBus, n: 1 | 2 | 3 | 4, irqLine: (irq: number) => IrqLine, onTx: (byte: number) => void): Uart16550 {
  const p = COM_PORTS[n - 1];
  const u = new Uart16550(p.base, irqLine(p.irq), onTx);
  u.attach(io);
  return u;
}
