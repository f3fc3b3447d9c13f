// Local APIC (xAPIC mode, memory-mapped at IA32_APIC_BASE) and the APIC "bus" that carries
// interrupt messages between local APICs and I/O APICs. One LocalApic per CPU; the machine has one
// CPU today, but every message goes through ApicBus so more CPUs only need more LocalApics.
//
// Facts from the Intel SDM Vol3A ch. 10 ("Advanced Programmable Interrupt Controller"):
// - Register map (Table 10-1): 32-bit registers on 16-byte boundaries in a 4 KiB page; reserved
//   offsets set ESR "illegal register address". Accesses should be 32-bit aligned (10.4.1): narrower
//   reads return the bytes of the register; narrower or misaligned writes are ignored here.
// - Version (10.4.8): 0x14 = integrated APIC (Pentium 4 / Core class), max LVT entry 5 (timer,
//   thermal, perfmon, LINT0, LINT1, error). No EOI-broadcast suppression, no CMCI, no TSC deadline.
// - Priorities (10.8.3): PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0. A pending IRR vector
//   is dispatched only if its class (bits 7:4) is above PPR[7:4]. INTA moves it IRR -> ISR; EOI
//   clears the highest ISR bit and, if its TMR bit is set (level), broadcasts an EOI to I/O APICs.
//   APR (10.6.2.4): TPR if TPR[7:4] >= IRRV[7:4] and > ISRV[7:4], else the highest of their classes.
// - NMI, SMI, INIT, ExtINT and start-up go straight to the core, bypassing IRR/ISR (10.8.1).
//   ExtINT makes the CPU fetch the vector from the 8259 (through-local-APIC virtual wire mode, MP
//   spec 1.4 3.6.2.2: LINT0 = ExtINT, LINT1 = NMI).
// - Software disable (SVR bit 8 = 0, 10.4.7.2): LVT mask bits are set and cannot be cleared; fixed
//   interrupts are not accepted; NMI, SMI, INIT and start-up still are; pending IRR/ISR are kept.
// - Hardware disable (IA32_APIC_BASE bit 11 = 0, 10.4.3): the processor behaves as one without an
//   APIC: INTR and NMI pins go straight to the core; re-enabling gives the power-up state.
// - Power-up / INIT state (10.4.7.1): IRR, ISR, TMR, ICR, LDR, TPR, timer counts, DCR = 0,
//   DFR = all ones, LVTs = masked, SVR = 0xFF; INIT keeps the APIC ID.
// - ESR (10.5.3): errors accumulate internally; a write to ESR copies them into the readable
//   register and clears them. A new error raises the LVT error interrupt.
// - Timer (10.5.4): counts down at the bus clock / DCR divisor; one-shot stops at 0, periodic
//   reloads from the initial count; writing the initial count (re)starts it, 0 stops it.
//   The bus clock here is APIC_BUS_HZ = 100 MHz, so one tick is 10 ns x divisor of virtual time:
//   the current count is computed from the virtual clock, never ticked.
// - ICR (10.6.1): a write to the low half sends the IPI at once (delivery status always reads idle).
//
// Reset state of the BSP: the machine has no BIOS, so it calls `biosVirtualWire()` to leave the
// APIC as a PC BIOS does (software-enabled, spurious vector 0xFF, LINT0 ExtINT, LINT1 NMI), which
// keeps the 8259 working through the APIC until the OS reprograms it.

import type { IrqLine, Snapshottable } from '../bus.js';
import type { Clock, Timer } from '../clock.js';
import type { MmioHandler, PhysMem } from '../memory.js';
import type { InterruptController } from '../cpu/cpu.js';
import { APIC_BASE } from '../cpu/arch.js';
import { asRecord, bool, num, nums } from './portio.js';

/** Default physical base of the local APIC page (SDM Vol3A 10.4.1). */
export const LAPIC_DEFAULT_BASE = 0xfee00000;
/** APIC timer input ("bus") clock of this machine, Hz, and the resulting ns per tick at divide-by-1. */
export const APIC_BUS_HZ = 100_000_000;
export const APIC_TICK_NS = 1e9 / APIC_BUS_HZ;
/** Version register: integrated APIC version 0x14, max LVT entry index 5 in bits 23:16 (10.4.8). */
export const LAPIC_VERSION = 0x00050014;

/** Register offsets (SDM Vol3A Table 10-1). */
export const LAPIC_REG = {
  ID: 0x020, VERSION: 0x030, TPR: 0x080, APR: 0x090, PPR: 0x0a0, EOI: 0x0b0, RRD: 0x0c0, LDR: 0x0d0,
  DFR: 0x0e0, SVR: 0x0f0, ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, LVT_CMCI: 0x2f0, ICR_LO: 0x300,
  ICR_HI: 0x310, LVT_TIMER: 0x320, LVT_THERMAL: 0x330, LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360,
  LVT_ERROR: 0x370, TIMER_ICR: 0x380, TIMER_CCR: 0x390, TIMER_DCR: 0x3e0,
} as const;
/** Delivery modes of LVT entries, the ICR and I/O APIC redirection entries (10.5.1, 10.6.1). */
export const DM = { FIXED: 0, LOWEST: 1, SMI: 2, NMI: 4, INIT: 5, STARTUP: 6, EXTINT: 7 } as const;
/** LVT bits (Figure 10-8). */
export const LVT = {
  VECTOR: 0xff, DM_SHIFT: 8, STATUS: 1 << 12, POLARITY: 1 << 13, REMOTE_IRR: 1 << 14, LEVEL: 1 << 15,
  MASK: 1 << 16, PERIODIC: 1 << 17,
} as const;
/** ESR bits (Figure 10-9). */
export const ESR = {
  SEND_ILLEGAL_VECTOR: 1 << 5, RECV_ILLEGAL_VECTOR: 1 << 6, ILLEGAL_REGISTER: 1 << 7,
} as const;
/** SVR bits (Figure 10-23). */
export const SVR = { VECTOR: 0xff, ENABLE: 1 << 8, FOCUS_DISABLE: 1 << 9 } as const;
/** ICR bits (Figure 10-12). */
export const ICR = {
  VECTOR: 0xff, DM_SHIFT: 8, LOGICAL: 1 << 11, STATUS: 1 << 12, ASSERT: 1 << 14, LEVEL: 1 << 15,
  SHORTHAND_SHIFT: 18,
} as const;
/** Destination shorthands (ICR bits 19:18). */
export const SHORTHAND = { NONE: 0, SELF: 1, ALL: 2, OTHERS: 3 } as const;

/** LVT slots in register order 0x320..0x370. */
const enum L { Timer = 0, Thermal = 1, Perf = 2, Lint0 = 3, Lint1 = 4, Error = 5 }
const LVT_COUNT = 6;
/** Writable bits of each LVT (Figure 10-8): timer has no delivery mode and (no TSC deadline) one mode bit. */
const LVT_WRITABLE = [0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff];
const ICR_LO_WRITABLE = 0x000ccfff;
const SVR_WRITABLE = 0x3ff;

/** Signals a local APIC sends to its CPU core (the machine connects them). */
export interface ApicCpuSignals {
  /** Raise NMI on the core. */
  nmi(): void;
  /** INIT (not INIT level de-assert): the core resets (APs then wait for SIPI). The APIC has reset itself. */
  init(): void;
  /** Start-up IPI with its vector (start at vector << 12). */
  sipi(vector: number): void;
  /** SMI: no SMM in this machine; the machine may report it. */
  smi(): void;
  /** An interrupt may have become deliverable: end the current block so the CPU looks. */
  kick(): void;
}
const NO_SIGNALS: ApicCpuSignals = { nmi() {}, init() {}, sipi() {}, smi() {}, kick() {} };

/** What an I/O APIC attached to the bus must do. */
export interface EoiListener { eoi(vector: number): void }

/**
 * The APIC bus (a system-bus message fabric on xAPIC systems): routes interrupt messages to local
 * APICs by destination, broadcasts EOIs to I/O APICs, and decodes the local-APIC MMIO page, which
 * every CPU sees at its own IA32_APIC_BASE (accesses go to the APIC of CPU `current`).
 */
export class ApicBus implements MmioHandler {
  readonly name = 'lapic';
  readonly apics: LocalApic[] = [];
  readonly ioapics: EoiListener[] = [];
  /** Index of the CPU whose memory accesses are running (the machine sets it when switching CPUs). */
  current = 0;
  /** Pages currently mapped for local APIC windows. */
  private readonly windows: number[] = [];
  /** Called after a window was mapped at a new address (the CPUs must flush their TLBs). */
  onMapChange: (() => void) | null = null;

  constructor(private readonly mem: PhysMem | null = null) {}

  add(apic: LocalApic): void { this.apics.push(apic); apic.bus = this; if (this.mem) this.mapWindow(apic.base); }

  /** Make sure the 4 KiB page at `base` decodes to the local APICs. */
  mapWindow(base: number): void {
    if (this.mem === null || base >= 0x100000000 || this.windows.includes(base)) return;
    // A base on top of another device's MMIO cannot be decoded here: the APIC is unreachable there.
    try { this.mem.mapMmio(base, 0x1000, this); } catch { return; }
    this.windows.push(base);
    if (this.onMapChange) this.onMapChange();
  }

  private target(addr: number): LocalApic | null {
    const a = this.apics[this.current];
    return a !== undefined && a.hwEnabled && (addr & ~0xfff) >>> 0 === a.base ? a : null;
  }
  read(addr: number, size: number): number {
    const a = this.target(addr);
    if (a !== null) return a.read(addr & 0xfff, size);
    return this.mem !== null && addr + size <= this.mem.size ? ramRead(this.mem.ram, addr, size) : size === 4 ? -1 : (1 << (8 * size)) - 1;
  }
  write(addr: number, size: number, value: number): void {
    const a = this.target(addr);
    if (a !== null) { a.write(addr & 0xfff, size, value); return; }
    if (this.mem !== null) for (let k = 0; k < size; k++) if (addr + k < this.mem.size) this.mem.ram[addr + k] = value >>> (8 * k);
  }

  /**
   * Deliver an interrupt message. `src` is the sending local APIC (IPIs) or null (I/O APIC).
   * Returns true if at least one local APIC accepted it.
   */
  deliver(src: LocalApic | null, shorthand: number, dest: number, logical: boolean, mode: number, vector: number, level: boolean): boolean {
    const list = this.apics;
    if (mode === DM.LOWEST && shorthand === SHORTHAND.NONE) {
      // Lowest priority: the target with the lowest arbitration priority wins (10.6.2.4); ties go to
      // the lowest bus index. Software-disabled APICs do not take part.
      let best: LocalApic | null = null;
      for (const a of list) {
        if (!a.hwEnabled || !a.swEnabled || !a.matches(dest, logical)) continue;
        if (best === null || a.apr() < best.apr()) best = a;
      }
      if (best === null) return false;
      return best.receive(DM.FIXED, vector, level);
    }
    let any = false;
    for (const a of list) {
      if (!a.hwEnabled) continue;
      let hit: boolean;
      switch (shorthand) {
        case SHORTHAND.SELF: hit = a === src; break;
        case SHORTHAND.ALL: hit = true; break;
        case SHORTHAND.OTHERS: hit = a !== src; break;
        default: hit = a.matches(dest, logical); break;
      }
      if (hit && a.receive(mode === DM.LOWEST ? DM.FIXED : mode, vector, level)) any = true;
    }
    return any;
  }

  /** EOI for a level-triggered vector: every I/O APIC clears the remote IRR of entries with this vector. */
  eoi(vector: number): void { for (const io of this.ioapics) io.eoi(vector); }
}

function ramRead(ram: Uint8Array, a: number, size: number): number {
  let v = 0;
  for (let k = 0; k < size; k++) v |= ram[a + k] << (8 * k);
  return v;
}

/** Highest set bit index in a 256-bit register (8 words), or -1. */
function highest(r: Uint32Array): number {
  for (let w = 7; w >= 0; w--) {
    const x = r[w];
    if (x !== 0) return (w << 5) + 31 - Math.clz32(x);
  }
  return -1;
}
const testBit = (r: Uint32Array, v: number): boolean => (r[v >>> 5] & (1 << (v & 31))) !== 0;
const setBit = (r: Uint32Array, v: number): void => { r[v >>> 5] |= 1 << (v & 31); };
const clearBit = (r: Uint32Array, v: number): void => { r[v >>> 5] &= ~(1 << (v & 31)); };

/** The timer divisor for a DCR value (Figure 10-10): bits 3,1,0; 0b111 = divide by 1. */
export function apicTimerDivisor(dcr: number): number {
  const v = (dcr & 3) | ((dcr >>> 1) & 4);
  return v === 7 ? 1 : 2 << v;
}

export class LocalApic implements InterruptController, Snapshottable {
  readonly name: string;
  bus: ApicBus | null = null;
  /** Physical base of the register page (IA32_APIC_BASE[35:12]) and global enable (bit 11). */
  base = LAPIC_DEFAULT_BASE;
  hwEnabled = true;

  private id: number;
  private tpr = 0;
  private ldr = 0;
  private dfr = -1;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  /** ESR as last latched by a write, and the errors found since. */
  private esr = 0;
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Int32Array(LVT_COUNT);
  // Timer: started at `timerStart` ns with `timerInitial` ticks of `timerTickNs` ns; false once a one-shot ran out.
  private timerInitial = 0;
  private dcr = 0;
  private timerTickNs = 2 * APIC_TICK_NS;
  private timerStart = 0;
  private timerRunning = false;
  private readonly timer: Timer;
  /** An ExtINT message (from an I/O APIC) waits for the INTA cycle. */
  private extIntPending = false;
  /** Input level of the LINT1 pin. */
  private lint1Level = false;

  // Cached for the CPU's between-blocks check: highest IRR and ISR vectors (-1 = none), PPR, ExtINT via LINT0.
  private irrv = -1;
  private isrv = -1;
  private ppr = 0;
  private lint0ExtInt = false;
  swEnabled = false;

  /** The CPU this APIC belongs to reacts to these (set by the machine). */
  signals: ApicCpuSignals = NO_SIGNALS;
  /** LINT1 as a line (the PC's NMI logic); LINT0 is the 8259's INTR, read through `pic`. */
  readonly lint1: IrqLine;

  /**
   * `id`: initial APIC ID. `pic`: the 8259 pair whose INTR output is wired to LINT0 (and, when the
   * APIC is hardware-disabled, straight to the core).
   */
  constructor(private readonly clock: Clock, id: number, private readonly pic: InterruptController | null = null) {
    this.name = `lapic${id}`;
    this.id = id & 0xff;
    this.timer = clock.addTimer(`lapic${id}-timer`, (now) => this.timerFired(now));
    this.lint1 = { set: (level: boolean) => this.setLint1(level) };
    this.powerUp();
  }

  // ------------------------------------------------------------------ state changes
  /** Power-up / INIT state (SDM Vol3A 10.4.7.1); the APIC ID is kept. */
  powerUp(): void {
    this.tpr = 0; this.ldr = 0; this.dfr = -1; this.svr = 0xff;
    this.isr.fill(0); this.tmr.fill(0); this.irr.fill(0);
    this.esr = 0; this.esrPending = 0; this.icrLo = 0; this.icrHi = 0;
    this.lvt.fill(LVT.MASK);
    this.timerInitial = 0; this.dcr = 0; this.timerTickNs = apicTimerDivisor(0) * APIC_TICK_NS;
    this.timerRunning = false; this.timerStart = 0;
    this.clock.arm(this.timer, Infinity);
    this.extIntPending = false;
    this.update();
  }

  /** What a PC BIOS leaves on the BSP: through-local-APIC virtual wire mode (MP spec 3.6.2.2). */
  biosVirtualWire(): void {
    this.writeReg(LAPIC_REG.SVR, SVR.ENABLE | 0xff);
    this.writeReg(LAPIC_REG.LVT_LINT0, DM.EXTINT << LVT.DM_SHIFT);
    this.writeReg(LAPIC_REG.LVT_LINT1, DM.NMI << LVT.DM_SHIFT);
  }

  /** IA32_APIC_BASE was written (msr.ts hook): relocate, or hardware-enable/disable (10.4.3, 10.4.4). */
  setApicBase(lo: number, hi: number): void {
    const en = (lo & APIC_BASE.EN) !== 0;
    const base = (hi & 0xf) !== 0 ? 0x100000000 : (lo & ~0xfff) >>> 0;
    if (!en && this.hwEnabled) this.powerUp();       // re-enabling later gives the power-up state
    this.hwEnabled = en;
    this.base = base;
    if (this.bus !== null && en) this.bus.mapWindow(base);
    this.update();
  }

  /** Recompute the cached priorities and ExtINT routing. */
  private update(): void {
    this.swEnabled = (this.svr & SVR.ENABLE) !== 0;
    this.irrv = highest(this.irr);
    this.isrv = highest(this.isr);
    const isrClass = this.isrv < 0 ? 0 : this.isrv & 0xf0;
    this.ppr = (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
    const l0 = this.lvt[L.Lint0];
    this.lint0ExtInt = (l0 & LVT.MASK) === 0 && ((l0 >>> LVT.DM_SHIFT) & 7) === DM.EXTINT;
  }

  /** Arbitration priority (SDM Vol3A 10.6.2.4, Figure 10-15). */
  apr(): number {
    const t = this.tpr & 0xf0, irr = this.irrv < 0 ? 0 : this.irrv & 0xf0, isr = this.isrv < 0 ? 0 : this.isrv & 0xf0;
    if (t >= irr && t > isr) return this.tpr;
    return Math.max(t, irr, isr);
  }

  /** Does this APIC match `dest` (physical APIC ID, or logical MDA against LDR/DFR, 10.6.2)? */
  matches(dest: number, logical: boolean): boolean {
    dest &= 0xff;
    if (!logical) return dest === 0xff || dest === this.id;
    const ld = this.ldr >>> 24;
    if (dest === 0xff) return true;
    if ((this.dfr >>> 28) === 0xf) return (ld & dest) !== 0;                    // flat model
    // Cluster model: cluster in bits 7:4 (0xF = all clusters), member bitmap in bits 3:0.
    const cl = dest >>> 4;
    return (cl === 0xf || cl === ld >>> 4) && (dest & ld & 0xf) !== 0;
  }

  /** An interrupt message arrives (10.8.1). Returns true if it was accepted. */
  receive(mode: number, vector: number, level: boolean): boolean {
    switch (mode) {
      case DM.FIXED: return this.accept(vector, level);
      case DM.NMI: this.signals.nmi(); return true;
      case DM.SMI: this.signals.smi(); return true;
      case DM.INIT:
        this.powerUp();
        this.signals.init();
        return true;
      case DM.STARTUP: this.signals.sipi(vector & 0xff); return true;
      case DM.EXTINT: this.extIntPending = true; this.signals.kick(); return true;
      default: return false;
    }
  }

  /** A fixed interrupt enters the IRR; TMR records level triggering (10.8.4). */
  private accept(vector: number, level: boolean): boolean {
    vector &= 0xff;
    if (vector < 16) { this.error(ESR.RECV_ILLEGAL_VECTOR); return false; }
    if (!this.swEnabled) return false;
    setBit(this.irr, vector);
    if (level) setBit(this.tmr, vector); else clearBit(this.tmr, vector);
    if (vector > this.irrv) this.irrv = vector;
    this.signals.kick();
    return true;
  }

  /** Record an error and raise the LVT error interrupt for new ones (10.5.3). */
  private error(bits: number): void {
    const fresh = bits & ~this.esrPending;
    this.esrPending |= bits;
    if (fresh !== 0) this.fireLvt(L.Error);
  }

  /** Deliver the interrupt an LVT entry describes, unless masked (10.5.1). */
  private fireLvt(k: number): void {
    const e = this.lvt[k];
    if ((e & LVT.MASK) !== 0) return;
    const mode = (e >>> LVT.DM_SHIFT) & 7;
    const level = (k === L.Lint0 || k === L.Lint1) && (e & LVT.LEVEL) !== 0;
    if (k === L.Timer || k === L.Error || mode === DM.FIXED) {
      // Level-triggered LINT fixed interrupts hold their remote IRR until EOI.
      if (level) { if ((e & LVT.REMOTE_IRR) !== 0) return; }
      if (this.accept(e & LVT.VECTOR, level) && level) this.lvt[k] |= LVT.REMOTE_IRR;
      return;
    }
    this.receive(mode, e & LVT.VECTOR, level);
  }

  private setLint1(level: boolean): void {
    const rising = level && !this.lint1Level;
    this.lint1Level = level;
    if (!this.hwEnabled) { if (rising) this.signals.nmi(); return; }   // the NMI pin reaches the core directly
    const e = this.lvt[L.Lint1];
    if ((e & LVT.LEVEL) !== 0 && ((e >>> LVT.DM_SHIFT) & 7) === DM.FIXED) { if (level) this.fireLvt(L.Lint1); }
    else if (rising) this.fireLvt(L.Lint1);
  }

  // ------------------------------------------------------------------ InterruptController (the CPU's INTR/INTA)
  hasInterrupt(): boolean {
    if (!this.hwEnabled) return this.pic !== null && this.pic.hasInterrupt();
    if (this.extIntPending || (this.lint0ExtInt && this.pic !== null && this.pic.hasInterrupt())) return true;
    const v = this.irrv;
    return v >= 0 && (v & 0xf0) > (this.ppr & 0xf0);
  }

  acknowledge(): number {
    if (!this.hwEnabled) return this.pic !== null ? this.pic.acknowledge() : 0xff;
    if (this.extIntPending || (this.lint0ExtInt && this.pic !== null && this.pic.hasInterrupt())) {
      this.extIntPending = false;
      if (this.pic !== null) return this.pic.acknowledge();
    }
    const v = this.irrv;
    // Nothing deliverable any more (e.g. TPR raised since): the spurious vector, no ISR bit (10.9).
    if (v < 0 || (v & 0xf0) <= (this.ppr & 0xf0)) return this.svr & SVR.VECTOR;
    clearBit(this.irr, v);
    setBit(this.isr, v);
    this.update();
    return v;
  }

  private eoi(): void {
    const v = this.isrv;
    if (v < 0) return;
    clearBit(this.isr, v);
    const level = testBit(this.tmr, v);
    this.update();
    if (level) {
      const e0 = this.lvt[L.Lint0];
      if ((e0 & LVT.REMOTE_IRR) !== 0 && (e0 & LVT.VECTOR) === v) this.lvt[L.Lint0] = e0 & ~LVT.REMOTE_IRR;
      const e1 = this.lvt[L.Lint1];
      if ((e1 & LVT.REMOTE_IRR) !== 0 && (e1 & LVT.VECTOR) === v) {
        this.lvt[L.Lint1] = e1 & ~LVT.REMOTE_IRR;
        if (this.lint1Level) this.fireLvt(L.Lint1);                    // still asserted: again
      }
      if (this.bus !== null) this.bus.eoi(v);
    }
    this.signals.kick();
  }

  // ------------------------------------------------------------------ timer
  private timerCount(now: number): number {
    if (!this.timerRunning || this.timerInitial === 0) return 0;
    const k = Math.floor((now - this.timerStart) / this.timerTickNs);
    if ((this.lvt[L.Timer] & LVT.PERIODIC) !== 0) return this.timerInitial - (k % this.timerInitial);
    return k >= this.timerInitial ? 0 : this.timerInitial - k;
  }

  /** Arm the clock at the next time the count reaches 0. */
  private armTimer(now: number): void {
    if (!this.timerRunning) { this.clock.arm(this.timer, Infinity); return; }
    const period = this.timerInitial * this.timerTickNs;
    const periods = Math.floor((now - this.timerStart) / period) + 1;
    if ((this.lvt[L.Timer] & LVT.PERIODIC) === 0 && periods > 1) { this.timerRunning = false; this.clock.arm(this.timer, Infinity); return; }
    this.clock.arm(this.timer, this.timerStart + periods * period);
  }

  private timerFired(now: number): void {
    if (!this.timerRunning) return;
    if ((this.lvt[L.Timer] & LVT.PERIODIC) === 0) this.timerRunning = false;
    this.fireLvt(L.Timer);
    this.armTimer(now);
  }

  private setDivide(v: number): void {
    const now = this.clock.nowNs();
    const tick = apicTimerDivisor(v) * APIC_TICK_NS;
    if (this.timerRunning && tick !== this.timerTickNs) {
      // Keep the count where it is and continue at the new rate (start of the current tick).
      const done = Math.floor((now - this.timerStart) / this.timerTickNs);
      this.timerTickNs = tick;
      this.timerStart = now - done * tick;
    }
    this.dcr = v & 0xb;
    this.timerTickNs = tick;
    if (this.timerRunning) this.armTimer(now);
  }

  // ------------------------------------------------------------------ registers
  /** Read `size` bytes at page offset `off`. */
  read(off: number, size: number): number {
    const reg = off & 0xff0;
    const v = this.readReg(reg);
    const sh = 8 * (off & 0xf);
    if (sh >= 32) return 0;
    if (size === 4) return sh === 0 ? v | 0 : v >>> sh;
    return (v >>> sh) & (size === 1 ? 0xff : 0xffff);
  }

  write(off: number, size: number, value: number): void {
    if (size !== 4 || (off & 0xf) !== 0) return;       // model-specific (10.4.1): ignored
    this.writeReg(off & 0xff0, value | 0);
  }

  private reserved(reg: number): number { if (reg < 0x400) this.error(ESR.ILLEGAL_REGISTER); return 0; }

  readReg(reg: number): number {
    switch (reg) {
      case LAPIC_REG.ID: return this.id << 24;
      case LAPIC_REG.VERSION: return LAPIC_VERSION;
      case LAPIC_REG.TPR: return this.tpr;
      case LAPIC_REG.APR: return this.apr();
      case LAPIC_REG.PPR: return this.ppr;
      case LAPIC_REG.EOI: return 0;
      case LAPIC_REG.RRD: return 0;
      case LAPIC_REG.LDR: return this.ldr;
      case LAPIC_REG.DFR: return this.dfr | 0x0fffffff;
      case LAPIC_REG.SVR: return this.svr;
      case LAPIC_REG.ESR: return this.esr;
      case LAPIC_REG.ICR_LO: return this.icrLo;
      case LAPIC_REG.ICR_HI: return this.icrHi;
      case LAPIC_REG.TIMER_ICR: return this.timerInitial;
      case LAPIC_REG.TIMER_CCR: return this.timerCount(this.clock.nowNs());
      case LAPIC_REG.TIMER_DCR: return this.dcr;
      default: break;
    }
    if (reg >= LAPIC_REG.ISR && reg < LAPIC_REG.ESR) {
      const w = (reg - LAPIC_REG.ISR) >>> 4;
      return (w < 8 ? this.isr[w] : w < 16 ? this.tmr[w - 8] : this.irr[w - 16]) | 0;
    }
    if (reg >= LAPIC_REG.LVT_TIMER && reg <= LAPIC_REG.LVT_ERROR) return this.lvt[(reg - LAPIC_REG.LVT_TIMER) >>> 4];
    return this.reserved(reg);
  }

  writeReg(reg: number, v: number): void {
    switch (reg) {
      case LAPIC_REG.ID: this.id = v >>> 24; return;
      case LAPIC_REG.TPR: this.tpr = v & 0xff; this.update(); this.signals.kick(); return;
      case LAPIC_REG.EOI: this.eoi(); return;
      case LAPIC_REG.LDR: this.ldr = v & 0xff000000; return;
      case LAPIC_REG.DFR: this.dfr = v | 0x0fffffff; return;
      case LAPIC_REG.SVR:
        this.svr = v & SVR_WRITABLE;
        if ((this.svr & SVR.ENABLE) === 0) for (let k = 0; k < LVT_COUNT; k++) this.lvt[k] |= LVT.MASK;
        this.update();
        this.signals.kick();
        return;
      case LAPIC_REG.ESR: this.esr = this.esrPending; this.esrPending = 0; return;
      case LAPIC_REG.ICR_HI: this.icrHi = v & 0xff000000; return;
      case LAPIC_REG.ICR_LO: this.icrLo = v & ICR_LO_WRITABLE; this.sendIpi(); return;
      case LAPIC_REG.TIMER_ICR: {
        const now = this.clock.nowNs();
        this.timerInitial = v >>> 0;
        this.timerStart = now;
        this.timerRunning = this.timerInitial !== 0;
        this.armTimer(now);
        return;
      }
      case LAPIC_REG.TIMER_DCR: this.setDivide(v); return;
      case LAPIC_REG.VERSION: case LAPIC_REG.APR: case LAPIC_REG.PPR: case LAPIC_REG.RRD: case LAPIC_REG.TIMER_CCR: return;
      default: break;
    }
    if (reg >= LAPIC_REG.ISR && reg < LAPIC_REG.ESR) return;   // read-only
    if (reg >= LAPIC_REG.LVT_TIMER && reg <= LAPIC_REG.LVT_ERROR) {
      const k = (reg - LAPIC_REG.LVT_TIMER) >>> 4;
      let e = (v & LVT_WRITABLE[k]) | (this.lvt[k] & LVT.REMOTE_IRR);
      if (!this.swEnabled) e |= LVT.MASK;                      // 10.4.7.2: masks cannot be cleared
      const modeChange = k === L.Timer && ((e ^ this.lvt[k]) & LVT.PERIODIC) !== 0 && this.timerRunning;
      if (modeChange) {
        // The count continues from where it is in the current period under the new mode.
        const now = this.clock.nowNs(), period = this.timerInitial * this.timerTickNs;
        this.timerStart += Math.floor((now - this.timerStart) / period) * period;
      }
      this.lvt[k] = e;
      if (modeChange) this.armTimer(this.clock.nowNs());
      this.update();
      this.signals.kick();
      return;
    }
    this.reserved(reg);
  }

  /** Send the IPI the ICR describes (10.6.1). */
  private sendIpi(): void {
    const lo = this.icrLo;
    const mode = (lo >>> ICR.DM_SHIFT) & 7;
    const vector = lo & ICR.VECTOR;
    const shorthand = (lo >>> ICR.SHORTHAND_SHIFT) & 3;
    const level = (lo & ICR.LEVEL) !== 0;
    // INIT level de-assert only synchronises arbitration IDs (10.6.1): nothing to do.
    if (mode === DM.INIT && level && (lo & ICR.ASSERT) === 0) return;
    if ((mode === DM.FIXED || mode === DM.LOWEST) && vector < 16) { this.error(ESR.SEND_ILLEGAL_VECTOR); return; }
    if (this.bus === null) {
      if (shorthand === SHORTHAND.SELF || shorthand === SHORTHAND.ALL || this.matches(this.icrHi >>> 24, (lo & ICR.LOGICAL) !== 0)) {
        this.receive(mode === DM.LOWEST ? DM.FIXED : mode, vector, level);
      }
      return;
    }
    this.bus.deliver(this, shorthand, this.icrHi >>> 24, (lo & ICR.LOGICAL) !== 0, mode, vector, level);
  }

  // ------------------------------------------------------------------ snapshot
  save(): unknown {
    return {
      base: this.base, hwEnabled: this.hwEnabled, id: this.id, tpr: this.tpr, ldr: this.ldr, dfr: this.dfr, svr: this.svr,
      isr: [...this.isr], tmr: [...this.tmr], irr: [...this.irr], esr: this.esr, esrPending: this.esrPending,
      icrLo: this.icrLo, icrHi: this.icrHi, lvt: [...this.lvt], timerInitial: this.timerInitial, dcr: this.dcr,
      timerStart: this.timerStart, timerRunning: this.timerRunning, timerDeadline: this.timer.deadline === Infinity ? -1 : this.timer.deadline,
      extIntPending: this.extIntPending, lint1Level: this.lint1Level,
    };
  }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.base = num(s, 'base'); this.hwEnabled = bool(s, 'hwEnabled'); this.id = num(s, 'id'); this.tpr = num(s, 'tpr');
    this.ldr = num(s, 'ldr'); this.dfr = num(s, 'dfr'); this.svr = num(s, 'svr');
    this.isr.set(nums(s, 'isr')); this.tmr.set(nums(s, 'tmr')); this.irr.set(nums(s, 'irr'));
    this.esr = num(s, 'esr'); this.esrPending = num(s, 'esrPending'); this.icrLo = num(s, 'icrLo'); this.icrHi = num(s, 'icrHi');
    this.lvt.set(nums(s, 'lvt')); this.timerInitial = num(s, 'timerInitial'); this.dcr = num(s, 'dcr');
    this.timerTickNs = apicTimerDivisor(this.dcr) * APIC_TICK_NS;
    this.timerStart = num(s, 'timerStart'); this.timerRunning = bool(s, 'timerRunning');
    const d = num(s, 'timerDeadline');
    this.timer.deadline = d < 0 ? Infinity : d;
    this.extIntPending = bool(s, 'extIntPending'); this.lint1Level = bool(s, 'lint1Level');
    if (this.bus !== null && this.hwEnabled) this.bus.mapWindow(this.base);
    this.update();
  }
}
