// The CPU: run loop, decoded-block cache, segment/stack helpers and control-register transitions.
// Instruction semantics live in ops/*.ts (one file per family); descriptor checks in segments.ts;
// event delivery (exceptions, interrupts, double and triple fault) in exceptions.ts.
//
// Execution model: code is decoded into blocks of Insn (straight-line, ending at a control
// transfer, a mode change or the page end) cached by physical address and CS.D (blocks.ts).
// Writes to RAM that hold decoded code drop that page's blocks (see checkCodeWrite). A block run
// often enough is compiled to one JS function (jit.ts) that does exactly what the interpreter loop
// in execBlock does. Faults are thrown as the FAULT singleton and delivered here, with EIP rolled
// back to the faulting instruction.

import { AR, CR0, CR4, EFER, EFLAGS, EXC, SEG, SEG_NONE } from './arch.js';
import { CpuMmu, T_NX, T_SLOW, T_VALID } from './mmu.js';
import { FAULT, Mode, Stop, ZERO_REG } from './state.js';
import { Insn } from './insn.js';
import { decode, endsBlock } from './decoder.js';
import { Access, loadPdptes } from './paging.js';
import { deliverEvent, EventKind } from './exceptions.js';
import type { IoBus } from '../bus.js';
import { VMEXIT } from '../vmx/exit.js';
import { boundaryExit, externalInterruptExit } from '../vmx/intercepts.js';
import { boundaryExits } from '../vmx/boundary.js';
import { PIN, PROC } from '../vmx/controls.js';
import { EXIT_REASON } from '../vmx/exit-reasons.js';
import type { Clock } from '../clock.js';
import { rdmsr, wrmsr, msrOut } from './msr.js';
import { cpuidQuery, cpuidOut } from './cpuid.js';
import { loadSeg, loadCS, readDescriptor, Descriptor } from './segments.js';
import { loadTr } from './ops/system.js';
import { X87 } from './fpu/x87.js';
import { Block, CodeCache, NO_BLOCK } from './blocks.js';
import { compileBlock, jitSettings } from './jit.js';

/** What the CPU asks of its interrupt controller (8259 pair or local APIC). */
export interface InterruptController {
  /** An unmasked interrupt request is pending (cheap: called between blocks). */
  hasInterrupt(): boolean;
  /** INTA cycle: the vector of the highest-priority pending request. */
  acknowledge(): number;
}

/** Hooks the machine may install (tracing, debugger, VMX). All optional; null = no cost. */
export interface CpuHooks {
  /** Called for every event delivered (exception, interrupt) before it is delivered. */
  onEvent?: (vector: number, kind: EventKind, errorCode: number) => void;
  /** IA32_APIC_BASE was written (msr.ts): the local APIC device relocates or enables itself. */
  onApicBaseWrite?: (lo: number, hi: number) => void;
}

/**
 * Debugger hooks (debug/machine-target.ts). While `CPU.dbg` is null the run loop pays nothing (it is
 * read once per run() call). While set: after() runs at the start of each loop iteration and
 * reports a stop owed to what just happened (single step done, watchpoint hit); before() runs just
 * before the instruction at CS:EIP executes (after pending events were delivered): < 0 stops there
 * (breakpoint), > 0 runs one instruction at a time. Stops are at instruction boundaries (Stop.Debug).
 */
export interface CpuDebug {
  after(c: CPU): boolean;
  before(c: CPU): number;
}

const MAX_BLOCK_INSNS = 64;

export class CPU extends CpuMmu {
  io: IoBus;
  clock: Clock;
  intc: InterruptController | null = null;
  hooks: CpuHooks = {};
  /** 0xffff in 16-bit code, -1 (all bits) in 32-bit code: EIP wraps accordingly. */
  ipMask = 0xffff;
  stop: Stop = Stop.None;
  /** Human-readable reason for the last stop (triple fault, unsupported instruction...). */
  stopMessage = '';
  /** On an unimplemented instruction: stop the run with a report (true) or raise #UD (false). */
  stopOnUnimplemented = true;
  /** Decoded blocks (blocks.ts). */
  private readonly code = new CodeCache();
  /** Interpreted runs after which a block is compiled to a JS function (jit.ts); 0 = never (also where code generation is unavailable). */
  jitThreshold = jitSettings.threshold;
  /** CPUID model (set by the machine; see cpuid.ts). */
  cpuidLeaves: Map<number, [number, number, number, number]> = new Map();
  /** Nonzero while delivering an event (for double-fault classification, see exceptions.ts). */
  deliveryDepth = 0;
  /** The x87 FPU (fpu/x87.ts; instructions in ops/x87.ts). The machine wires `fpu.onFerr` to IRQ 13. */
  readonly fpu = new X87();
  /** Debugger hooks, or null (see CpuDebug). Changed only between run() calls. */
  dbg: CpuDebug | null = null;

  constructor(io: IoBus, clock: Clock) {
    super();
    this.io = io;
    this.clock = clock;
  }

  /** Power-on / RESET state (SDM Vol3A 9.1.1, Table 9-1). */
  reset(): void {
    this.r32.fill(0);
    // EDX = the family/model/stepping signature, CPUID.01H:EAX (SDM Vol3A 9.1.4).
    const sig = this.cpuidLeaves.get(1);
    this.r32[2] = sig !== undefined ? sig[0] : 0x00000600;
    this.flags = EFLAGS.FIXED1; this.lazy = 0;
    this.cr0 = CR0.ET | CR0.CD | CR0.NW; this.cr2 = 0; this.cr3 = 0; this.cr4 = 0; this.efer = 0;
    this.dr.fill(0); this.dr[6] = 0xffff0ff0 | 0; this.dr[7] = 0x400;
    for (let s = 0; s < 6; s++) this.setSegCache(s, 0, 0, 0xffff, AR.P | AR.S | AR.RW | AR.ACCESSED);
    this.setSegCache(SEG.CS, 0xf000, 0xffff0000 | 0, 0xffff, AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED);
    this.setSegCache(SEG.LDTR, 0, 0, 0xffff, AR.P | 2);
    this.setSegCache(SEG.TR, 0, 0, 0xffff, AR.P | 11);
    this.gdtrBase = 0; this.gdtrLimit = 0xffff; this.idtrBase = 0; this.idtrLimit = 0xffff;
    this.eip = 0xfff0;
    this.halted = false; this.intShadow = false; this.nmiPending = false; this.nmiBlocked = false;
    this.fpu.reset();
    this.updateMode();
    this.flushTlb(false);
  }

  // ------------------------------------------------------------------ run loop
  /**
   * Run until the clock's instruction count reaches `until`, or a stop condition. In VMX non-root
   * operation a VM exit ends the run with Stop.VmExit (the processor is then in the host state).
   */
  run(until: number): Stop {
    const clock = this.clock;
    const dbg = this.dbg;
    this.stop = Stop.None;
    while (clock.insns < until) {
      try {
        // Fast path: nothing can happen at this boundary (see quietBoundary), so the code below would
        // only run the block.
        if (dbg === null && this.quietBoundary()) {
          this.runQuiet(until);
          if (this.stop !== Stop.None) return this.stop;
          continue;
        }
        if (dbg !== null && dbg.after(this)) return Stop.Debug;
        const nr = this.nonRoot;
        // Exits at an instruction boundary: VMX-preemption timer, NMI window, interrupt window (Vol3C 25.2).
        if (nr !== null && (nr.pin | nr.proc) !== 0 && boundaryExits(this, nr)) return Stop.VmExit;
        if (this.halted && !this.pendingEvent()) return Stop.Halted;
        const shadow = this.intShadow;
        this.intShadow = false;
        if (!shadow && this.deliverPendingEvent()) {
          if (this.stop !== Stop.None) return this.stop;
          // Monitor trap flag: an MTF VM exit is pending after the delivery of an event (Vol3C 25.5.2).
          if (this.nonRoot !== null && (this.nonRoot.proc & PROC.MONITOR_TRAP_FLAG) !== 0) this.nonRoot.mtfPending = true;
          continue;
        }
        this.halted = false;
        const tf = (this.flags & EFLAGS.TF) !== 0;
        const mtf = nr !== null && (nr.proc & PROC.MONITOR_TRAP_FLAG) !== 0;
        let max = until - clock.insns;
        if (shadow || tf || mtf) max = 1;
        if (dbg !== null) {
          const d = dbg.before(this);
          if (d < 0) { this.intShadow = shadow; return Stop.Debug; } // breakpoint: resume will redo this boundary
          if (d > 0) max = 1;
        }
        this.shadowNow = shadow ? (this.shadowMovSs ? 2 : 1) : 0;
        this.execBlock(max);
        this.shadowNow = 0;
        if (tf && this.stop === Stop.None && this.lastBlockRan > 0) {
          this.dbgCause |= 0x4000; // DR6.BS, set when the #DB is delivered
          this.prevEip = this.eip;
          this.deliver(EXC.DB, EventKind.Trap, -1);
        }
        // Monitor trap flag: a VM exit after the instruction, or after the delivery of the fault it raised (Vol3C 25.5.2).
        if (mtf && this.nonRoot !== null && this.stop === Stop.None) {
          boundaryExit(this, EXIT_REASON.MONITOR_TRAP_FLAG);
          return Stop.VmExit;
        }
        if (this.stop !== Stop.None) return this.stop;
      } catch (e) {
        // A VM exit detected outside an instruction (event delivery after a fault, an interrupt).
        if (e !== VMEXIT) throw e;
        this.shadowNow = 0;
        return Stop.VmExit;
      }
    }
    return Stop.Budget;
  }

  /**
   * True if the boundary checks of run() would find nothing to do: no boundary VM exit, not halted,
   * no interrupt shadow, no event to deliver, no single step (TF) and no monitor trap flag. Must stay
   * in step with run(): any new boundary condition there needs its test here too.
   */
  private quietBoundary(): boolean {
    if (this.halted || this.intShadow || this.nmiPending || (this.flags & EFLAGS.TF) !== 0) return false;
    const nr = this.nonRoot;
    if (nr !== null && (nr.mtfPending || (nr.pin & QUIET_PIN) !== 0 || (nr.proc & QUIET_PROC) !== 0)) return false;
    return (this.flags & EFLAGS.IF) === 0 || this.intc === null || !this.intc.hasInterrupt();
  }

  /** Instructions completed by the last execBlock (0 if it faulted on the first). */
  private lastBlockRan = 0;
  /** The block the last execBlock ran to its end (its chained successors are tried first), or NO_BLOCK. */
  private lastBlock: Block = NO_BLOCK;

  /**
   * The fast path of run(): blocks back to back for as long as each boundary is quiet and the budget
   * allows, exactly as run()'s loop would take them (the caller checked the first boundary).
   */
  private runQuiet(until: number): void {
    const clock = this.clock;
    try {
      for (;;) {
        const blk = this.nextBlock();
        this.blockStop = false;
        const fn = blk.fn;
        if (fn !== null && blk.insns.length <= until - clock.insns) fn(this);
        else this.interpret(blk, until - clock.insns);
        this.lastBlock = blk;
        if (this.stop !== Stop.None || clock.insns >= until || !this.quietBoundary()) return;
      }
    } catch (e) {
      this.blockFault(e);
    }
  }

  private execBlock(max: number): void {
    // The clock advances per retired instruction, so RDTSC and device reads inside a block see
    // exact virtual time.
    const clock = this.clock;
    const start = clock.insns;
    try {
      const blk = this.nextBlock();
      this.blockStop = false;
      const fn = blk.fn;
      if (fn !== null && blk.insns.length <= max) fn(this);
      else this.interpret(blk, max);
      this.lastBlock = blk;
    } catch (e) {
      this.lastBlockRan = clock.insns - start;
      this.blockFault(e);
      return;
    }
    this.lastBlockRan = clock.insns - start;
  }

  /** Run up to `max` instructions of `blk` one by one (compiling it once it is hot and may run whole). */
  private interpret(blk: Block, max: number): void {
    const insns = blk.insns;
    if (insns.length <= max && ++blk.hits === this.jitThreshold && blk.pa >= 0) {
      const fn = blk.fn = compileBlock(blk);
      if (fn !== null) { fn(this); return; }
    }
    const clock = this.clock;
    const n = insns.length < max ? insns.length : max;
    for (let k = 0; k < n;) {
      const i = insns[k];
      this.prevEip = this.eip;
      this.eip = (this.eip + i.len) & this.ipMask;
      i.exec(this, i);
      k++;
      clock.insns++;
      if (this.blockStop) break;
    }
  }

  /** A block ended by a throw: a VM exit (already done), or a fault delivered at the faulting instruction. */
  private blockFault(e: unknown): void {
    this.lastBlock = NO_BLOCK;
    if (e === VMEXIT) return;
    if (e !== FAULT) throw e;
    this.eip = this.prevEip;
    this.deliver(this.excVector, EventKind.Fault, this.excHasCode ? this.excCode : -1);
  }

  /** The block at CS:EIP: a chained successor of the last block if it was found in this epoch, else fetchBlock (and chain it). */
  private nextBlock(): Block {
    const prev = this.lastBlock;
    const eip = this.eip, epoch = this.codeEpoch;
    if (prev.eipA === eip && prev.epochA === epoch && prev.nextA!.valid) { this.prevEip = eip; return prev.nextA!; }
    if (prev.eipB === eip && prev.epochB === epoch && prev.nextB!.valid) { this.prevEip = eip; return prev.nextB!; }
    this.lastBlock = NO_BLOCK;
    const blk = this.fetchBlock();
    if (blk.pa >= 0 && prev.pa >= 0 && this.codeEpoch === epoch) {
      if (prev.epochA !== epoch || !prev.nextA!.valid) { prev.nextA = blk; prev.eipA = eip; prev.epochA = epoch; }
      else { prev.nextB = blk; prev.eipB = eip; prev.epochB = epoch; }
    }
    return blk;
  }

  /** Find or build the block at CS:EIP. Fetch faults (#PF, #GP for the CS limit) are thrown. */
  private fetchBlock(): Block {
    const eip = this.eip;
    this.prevEip = eip;
    const limit = this.segLimit[SEG.CS];
    if ((eip >>> 0) > limit) this.gp(0);
    const lin = (this.segBase[SEG.CS] + eip) | 0;
    let e = this.tlb[lin >>> 12];
    if ((e & (this.rdMask | T_NX)) !== T_VALID) {
      this.translate(lin, Access.Fetch, this.cpl === 3);
      e = this.tlb[lin >>> 12];
      if ((e & T_SLOW) !== 0 || (e & T_VALID) === 0) return this.uncachedBlock(lin);
    }
    const pa = (e & ~0xfff) | (lin & 0xfff);
    let b = this.code.lookup(pa, this.cs32);
    if (b === null) {
      b = this.buildBlock(pa);
      if (b === null) return this.uncachedBlock(lin);
      this.code.insert(b);
    }
    if (((eip + b.bytes - 1) >>> 0) > limit) return this.uncachedBlock(lin);
    return b;
  }

  /** Decode a block from RAM at `pa`; null if the first instruction crosses the page end. */
  private buildBlock(pa: number): Block | null {
    const insns: Insn[] = [];
    const end = (pa | 0xfff) + 1;
    let p = pa;
    while (insns.length < MAX_BLOCK_INSNS) {
      const i = new Insn();
      const len = decode(this.ram, p, end, this.cs32, i);
      if (len === 0) break;
      insns.push(i);
      p += len;
      if (endsBlock(i) || p >= end) break;
    }
    if (insns.length === 0) return null;
    // Mark the bytes as code so writes to them invalidate this page's blocks.
    for (let a = pa & ~31; a < p; a += 32) this.codeBits[a >>> 10] |= 1 << ((a >>> 5) & 31);
    return new Block(insns, p - pa, pa, this.cs32);
  }

  /** One instruction decoded through linear fetches (page-crossing, MMIO, or near the CS limit). Not cached. */
  private uncachedBlock(lin: number): Block {
    const buf = new Uint8Array(16);
    const user = this.cpl === 3;
    const limit = this.segLimit[SEG.CS];
    const i = new Insn();
    let have = 0;
    for (;;) {
      const len = decode(buf, 0, have, this.cs32, i);
      if (len !== 0) break;
      if (have >= 15) { i.reset(); i.len = 15; i.exec = (c) => c.gp(0); break; }
      // Fetch the next byte: past the CS limit is #GP(0), a not-present page #PF.
      if (((this.eip + have) >>> 0) > limit) this.gp(0);
      const pa = this.translate((lin + have) | 0, Access.Fetch, user);
      buf[have++] = this.physRead(pa, 1);
    }
    return new Block([i], i.len, -1, this.cs32);
  }

  /** Drop decoded blocks on the page(s) of a write that hit marked code bytes. */
  override checkCodeWrite(pa: number, len: number): void {
    const cb = this.codeBits;
    // Only RAM holds decoded code. (`pa` is unsigned and may lie far above RAM, e.g. a stack that
    // wrapped to 0xFFFFxxxx: a loop from `pa & ~31`, negative there, up to pa once cost 2^27 steps.)
    const top = cb.length * 1024;
    if (pa >= top) return;
    const end = Math.min(pa + len, top);
    let hit = false;
    for (let a = pa - (pa & 31); a < end; a += 32) {
      if ((cb[a >>> 10] & (1 << ((a >>> 5) & 31))) !== 0) { hit = true; break; }
    }
    if (!hit) return;
    for (let page = pa >>> 12; page <= (end - 1) >>> 12; page++) {
      this.code.dropPage(page);
      const w0 = page << 2;
      cb[w0] = 0; cb[w0 + 1] = 0; cb[w0 + 2] = 0; cb[w0 + 3] = 0;
    }
    this.blockStop = true;
  }

  /** Forget all decoded code (e.g. after loading a new image or a snapshot). */
  flushCodeCache(): void { this.code.flush(); this.codeBits.fill(0); }

  // ------------------------------------------------------------------ events
  /** External interrupts are recognized: IF = 1, or in non-root operation with "external-interrupt exiting" (Vol3C 25.2). */
  private interruptsOpen(): boolean {
    if ((this.flags & EFLAGS.IF) !== 0) return true;
    const nr = this.nonRoot;
    return nr !== null && (nr.pin & PIN.EXTERNAL_INTERRUPT_EXITING) !== 0;
  }

  /** True if an event would be delivered now (used to wake from HLT). */
  pendingEvent(): boolean {
    if (this.waitForSipi) return false; // only a SIPI (or INIT) wakes it, delivered by the machine
    if (this.nmiPending && !this.nmiBlocked) return true;
    return this.intc !== null && this.interruptsOpen() && this.intc.hasInterrupt();
  }

  /** True if something can still wake a halted CPU (an NMI, an unmasked interrupt source, a VMX timer). */
  canWake(): boolean {
    if (this.nmiPending || this.interruptsOpen()) return true;
    const nr = this.nonRoot;
    return nr !== null && nr.preemptionDeadline !== Infinity;
  }

  /** Deliver a pending NMI or external interrupt; returns true if one was delivered (or caused a VM exit). */
  private deliverPendingEvent(): boolean {
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false;
      this.prevEip = this.eip;
      this.deliver(EXC.NMI, EventKind.Nmi, -1); // may exit ("NMI exiting"); else NMIs are now blocked
      this.nmiBlocked = true;
      return true;
    }
    if (this.intc !== null && this.interruptsOpen() && this.intc.hasInterrupt()) {
      this.prevEip = this.eip;
      const nr = this.nonRoot;
      if (nr !== null && (nr.pin & PIN.EXTERNAL_INTERRUPT_EXITING) !== 0) {
        externalInterruptExit(this);
        throw VMEXIT;
      }
      const vec = this.intc.acknowledge();
      this.deliver(vec, EventKind.External, -1);
      return true;
    }
    return false;
  }

  /** Deliver an event through the IVT/IDT (see exceptions.ts). */
  deliver(vector: number, kind: EventKind, errorCode: number): void {
    if (this.hooks.onEvent) this.hooks.onEvent(vector, kind, errorCode);
    deliverEvent(this, vector, kind, errorCode, false);
  }

  /** Deliver an event injected by VM entry: it does not consult the exception bitmap itself (Vol3C 26.6.1). */
  deliverInjected(vector: number, kind: EventKind, errorCode: number): void {
    if (this.hooks.onEvent) this.hooks.onEvent(vector, kind, errorCode);
    deliverEvent(this, vector, kind, errorCode, true);
  }

  /** Enter the shutdown state after a triple fault (the machine reports it; SDM Vol3A 6.15 #DF). */
  tripleFault(why: string): void {
    this.stop = Stop.TripleFault;
    this.stopMessage = why;
    this.blockStop = true;
  }

  // ------------------------------------------------------------------ the host's view (VMX root operation)
  // The hypervisor is TypeScript, not x86 code: these are the privileged instructions it "executes"
  // through the VMX unit (machine/vmx/vmx-unit.ts), with the instructions' own checks.

  /** CPUID leaf as x86 code would read it (a fresh array: host use only, not a hot path). */
  cpuidLeaf(leaf: number, subleaf: number): [number, number, number, number] {
    cpuidQuery(this, leaf, subleaf);
    return [cpuidOut[0], cpuidOut[1], cpuidOut[2], cpuidOut[3]];
  }
  /** RDMSR without faulting: [lo, hi], or null for an MSR this CPU does not have. */
  hostRdmsr(index: number): [number, number] | null {
    return rdmsr(this, index) ? [msrOut.lo, msrOut.hi] : null;
  }
  /** WRMSR without faulting: false if the MSR does not exist or the value is invalid. */
  hostWrmsr(index: number, lo: number, hi: number): boolean { return wrmsr(this, index, lo, hi); }
  /**
   * Load a segment register (CS like a far JMP at CPL 0, TR like LTR, the others like MOV) in
   * protected mode. Returns null, or the fault as text.
   */
  hostLoadSegment(seg: number, sel: number): string | null {
    try {
      if (seg === SEG.TR) loadTr(this, sel);
      else if (seg === SEG.CS) {
        if ((sel & 0xfffc) === 0) this.gp(0);
        const d = readDescriptor(this, sel, EXC.GP, 0, HOST_DESC);
        if (!d.isCode || d.dpl !== 0) this.gp(sel & 0xfffc);
        if (!d.present) this.raise(EXC.NP, sel & 0xfffc);
        loadCS(this, sel, d, 0);
      } else loadSeg(this, seg, sel);
      return null;
    } catch (e) {
      if (e !== FAULT) throw e;
      return `fault ${this.excVector}${this.excHasCode ? `(0x${this.excCode.toString(16)})` : ''} loading selector 0x${sel.toString(16)} into segment register ${seg}`;
    }
  }

  /** An instruction the machine does not implement: stop with a report, or #UD. */
  unsupported(what: string): void {
    if (!this.stopOnUnimplemented) this.ud();
    this.eip = this.prevEip;
    this.stop = Stop.Unsupported;
    this.stopMessage = what;
    this.blockStop = true;
  }

  // ------------------------------------------------------------------ modes and control registers
  /** Recompute mode, CPL and derived fast-path state after CR0.PE / EFLAGS.VM / CS changes. */
  updateMode(): void {
    const pe = (this.cr0 & CR0.PE) !== 0;
    this.mode = !pe ? Mode.Real : (this.flags & EFLAGS.VM) !== 0 ? Mode.V86 : Mode.Protected;
    if (this.mode === Mode.Real) this.cpl = 0;
    else if (this.mode === Mode.V86) this.cpl = 3;
    // Protected mode: CPL is state of its own, set by whatever loads CS (loadCS, SYSENTER/SYSEXIT,
    // VM entry). It equals CS.RPL, not CS.DPL (a conforming segment runs at the caller's CPL), and
    // stays 0 right after MOV CR0 sets PE until the far jump (SDM Vol3A 5.5, 9.9.1).
    this.cs32 = this.mode !== Mode.V86 && (this.segAr[SEG.CS] & AR.DB) !== 0;
    this.ss32 = this.mode !== Mode.V86 && (this.segAr[SEG.SS] & AR.DB) !== 0;
    this.ipMask = this.cs32 ? -1 : 0xffff;
    this.paging = pe && (this.cr0 & CR0.PG) !== 0;
    for (let s = 0; s < 6; s++) this.refreshSeg(s);
    this.updateMasks();
  }

  /** MOV to CR0 semantics (checks done by the caller: #GP conditions in ops/system.ts). */
  setCr0(v: number): void {
    const old = this.cr0;
    this.cr0 = v | CR0.ET;
    if (((old ^ this.cr0) & (CR0.PG | CR0.WP | CR0.PE)) !== 0) this.flushTlb(false);
    if ((this.cr0 & CR0.PG) !== 0 && (old & CR0.PG) === 0 && (this.cr4 & CR4.PAE) !== 0) {
      if (!loadPdptes(this.pdpteMem(), this.cr3, this.pdpteLo, this.pdpteHi)) { this.cr0 = old; this.gp(0); }
    }
    this.updateMode();
    this.blockStop = true;
  }
  setCr3(v: number): void {
    if (this.paging && (this.cr4 & CR4.PAE) !== 0 && !loadPdptes(this.pdpteMem(), v, this.pdpteLo, this.pdpteHi)) this.gp(0);
    this.cr3 = v;
    this.flushTlb((this.cr4 & CR4.PGE) !== 0);
    this.blockStop = true;
  }
  setCr4(v: number): void {
    const old = this.cr4;
    if (this.paging && (v & CR4.PAE) !== 0 && ((old ^ v) & (CR4.PAE | CR4.PSE | CR4.PGE)) !== 0) {
      if (!loadPdptes(this.pdpteMem(), this.cr3, this.pdpteLo, this.pdpteHi)) this.gp(0);
    }
    this.cr4 = v;
    if (((old ^ v) & (CR4.PAE | CR4.PSE | CR4.PGE)) !== 0) this.flushTlb(false);
    this.blockStop = true;
  }
  setEfer(v: number): void {
    const old = this.efer;
    this.efer = v;
    if (((old ^ v) & EFER.NXE) !== 0) this.flushTlb(false);
  }

  // ------------------------------------------------------------------ segments
  /** Load a segment register's visible and hidden parts directly (no checks). */
  setSegCache(s: number, sel: number, base: number, limit: number, ar: number): void {
    this.segSel[s] = sel; this.segBase[s] = base | 0; this.segLimit[s] = limit >>> 0; this.segAr[s] = ar;
    if (s < 6) this.refreshSeg(s);
    if (s === SEG.CS) this.codeEpoch++;
    if (s === SEG.CS || s === SEG.SS) {
      this.cs32 = this.mode !== Mode.V86 && (this.segAr[SEG.CS] & AR.DB) !== 0;
      this.ss32 = this.mode !== Mode.V86 && (this.segAr[SEG.SS] & AR.DB) !== 0;
      this.ipMask = this.cs32 ? -1 : 0xffff;
    }
  }

  /** Recompute the fast-path offset limits of segment `s` from its hidden state. */
  refreshSeg(s: number): void {
    const ar = this.segAr[s], lim = this.segLimit[s];
    if (this.mode !== Mode.Protected) {
      this.segRLim[s] = lim; this.segWLim[s] = lim;
    } else if ((ar & AR.UNUSABLE) !== 0 || (ar & AR.P) === 0) {
      this.segRLim[s] = -1; this.segWLim[s] = -1;
    } else if ((ar & AR.CODE) !== 0) {
      this.segRLim[s] = (ar & AR.RW) !== 0 ? lim : -1; this.segWLim[s] = -1;
    } else if ((ar & AR.DC) !== 0) {
      this.segRLim[s] = -1; this.segWLim[s] = -1; // expand-down: slow path checks
    } else {
      this.segRLim[s] = lim; this.segWLim[s] = (ar & AR.RW) !== 0 ? lim : -1;
    }
  }

  /** Real-mode / V86 segment load: base = selector × 16; limit and attributes kept (SDM 20.1.1). */
  loadSegReal(s: number, sel: number): void {
    sel &= 0xffff;
    let ar = this.segAr[s];
    if (this.mode === Mode.V86) {
      this.setSegCache(s, sel, sel << 4, 0xffff, AR.P | AR.S | AR.RW | AR.ACCESSED | (3 << AR.DPL_SHIFT) | (s === SEG.CS ? AR.CODE : 0));
      return;
    }
    if (s === SEG.CS) ar = (ar & ~(AR.DB | AR.UNUSABLE)) | AR.P | AR.S | AR.CODE | AR.RW;
    else ar = (ar & ~AR.UNUSABLE) | AR.P | AR.S | AR.RW;
    this.setSegCache(s, sel, sel << 4, this.segLimit[s], ar);
  }

  /** Linear address of offset `off` in segment `s` for an access of `size` bytes; #GP/#SS on violation. */
  lin(s: number, off: number, size: number, write: boolean): number {
    const o = off >>> 0;
    const lim = write ? this.segWLim[s] : this.segRLim[s];
    if (o + size - 1 > lim) this.segViolation(s, o, size, write);
    return (this.segBase[s] + off) | 0;
  }

  /** Slow segment check: expand-down, unusable, read-only and limit faults (SDM Vol3A 5.3, 5.5). */
  segViolation(s: number, o: number, size: number, write: boolean): void {
    const ar = this.segAr[s];
    const fault = (): never => (s === SEG.SS ? this.raise(EXC.SS, 0) : this.gp(0));
    if (this.mode !== Mode.Protected) {
      if (o + size - 1 > this.segLimit[s]) fault();
      return;
    }
    if ((ar & AR.UNUSABLE) !== 0 || (ar & AR.P) === 0) fault();
    if ((ar & AR.CODE) !== 0) { if (write || (ar & AR.RW) === 0) fault(); }
    else if (write && (ar & AR.RW) === 0) fault();
    if ((ar & AR.CODE) === 0 && (ar & AR.DC) !== 0) {
      const upper = (ar & AR.DB) !== 0 ? 0xffffffff : 0xffff;
      if (o <= this.segLimit[s] || o + size - 1 > upper) fault();
      return;
    }
    if (o + size - 1 > this.segLimit[s]) fault();
  }

  // ------------------------------------------------------------------ operands
  /** Effective address (offset) of the instruction's memory operand. */
  ea(i: Insn): number {
    const a = (this.r32[i.base] + (this.r32[i.index] << i.scale) + i.disp) | 0;
    return i.a32 ? a : a & 0xffff;
  }
  /** Linear address of the memory operand for an access of `size` bytes. */
  eaLin(i: Insn, size: number, write: boolean): number {
    return this.lin(i.seg, this.ea(i), size, write);
  }

  // Register-or-memory operand access (ModRM "E" operands).
  readE8(i: Insn): number { return i.mod === 3 ? this.r8[REG8[i.rm]] : this.rd8(this.eaLin(i, 1, false)); }
  readE16(i: Insn): number { return i.mod === 3 ? this.r16[i.rm << 1] : this.rd16(this.eaLin(i, 2, false)); }
  readE32(i: Insn): number { return i.mod === 3 ? this.r32[i.rm] : this.rd32(this.eaLin(i, 4, false)); }
  writeE8(i: Insn, v: number): void { if (i.mod === 3) this.r8[REG8[i.rm]] = v; else this.wr8(this.eaLin(i, 1, true), v); }
  writeE16(i: Insn, v: number): void { if (i.mod === 3) this.r16[i.rm << 1] = v; else this.wr16(this.eaLin(i, 2, true), v); }
  writeE32(i: Insn, v: number): void { if (i.mod === 3) this.r32[i.rm] = v; else this.wr32(this.eaLin(i, 4, true), v); }

  // ------------------------------------------------------------------ stack
  push16(v: number): void {
    if (this.ss32) { const sp = (this.r32[4] - 2) | 0; this.wr16(this.lin(SEG.SS, sp, 2, true), v); this.r32[4] = sp; }
    else { const sp = (this.r16[8] - 2) & 0xffff; this.wr16(this.lin(SEG.SS, sp, 2, true), v); this.r16[8] = sp; }
  }
  push32(v: number): void {
    if (this.ss32) { const sp = (this.r32[4] - 4) | 0; this.wr32(this.lin(SEG.SS, sp, 4, true), v); this.r32[4] = sp; }
    else { const sp = (this.r16[8] - 4) & 0xffff; this.wr32(this.lin(SEG.SS, sp, 4, true), v); this.r16[8] = sp; }
  }
  pop16(): number {
    if (this.ss32) { const sp = this.r32[4]; const v = this.rd16(this.lin(SEG.SS, sp, 2, false)); this.r32[4] = (sp + 2) | 0; return v; }
    const sp = this.r16[8]; const v = this.rd16(this.lin(SEG.SS, sp, 2, false)); this.r16[8] = (sp + 2) & 0xffff; return v;
  }
  pop32(): number {
    if (this.ss32) { const sp = this.r32[4]; const v = this.rd32(this.lin(SEG.SS, sp, 4, false)); this.r32[4] = (sp + 4) | 0; return v; }
    const sp = this.r16[8]; const v = this.rd32(this.lin(SEG.SS, sp, 4, false)); this.r16[8] = (sp + 4) & 0xffff; return v;
  }
  /** Read the stack at SP + `offset` without popping (for instructions that pop only after checks). */
  peekStack(offset: number, size: number): number {
    const sp = this.ss32 ? (this.r32[4] + offset) | 0 : (this.r16[8] + offset) & 0xffff;
    const la = this.lin(SEG.SS, sp, size, false);
    return size === 4 ? this.rd32(la) : this.rd16(la);
  }
  /** Add to (E)SP by the stack-size rule. */
  adjustSp(delta: number): void {
    if (this.ss32) this.r32[4] = (this.r32[4] + delta) | 0; else this.r16[8] = (this.r16[8] + delta) & 0xffff;
  }

  // ------------------------------------------------------------------ conditions
  /** Evaluate condition code cc (0-15) as used by Jcc/SETcc/CMOVcc (SDM Vol1 B.1). */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.getOF() !== 0; break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF() !== 0; break;
      case 3: r = (this.getCF() | this.getZF()) !== 0; break;
      case 4: r = this.getSF() !== 0; break;
      case 5: r = this.getPF() !== 0; break;
      case 6: r = this.getSF() !== this.getOF(); break;
      default: r = this.getZF() !== 0 || this.getSF() !== this.getOF(); break;
    }
    return (cc & 1) !== 0 ? !r : r;
  }

  // ------------------------------------------------------------------ misc
  /** Linear address of CS:EIP of the current instruction (for reports). */
  get csEipLinear(): number { return (this.segBase[SEG.CS] + this.prevEip) | 0; }

  /** Read up to `n` code bytes at a linear address without faulting (for reports); stops at the first unmapped byte. */
  peekLinear(lin: number, n: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      try { out.push(this.rdSlow((lin + k) | 0, 1, false)); } catch (e) { if (e === FAULT) break; throw e; }
    }
    return out;
  }
}

// VMX controls that make a boundary eventful (quietBoundary): the preemption timer, external
// interrupts that exit even with IF = 0, the NMI and interrupt windows, the monitor trap flag.
const QUIET_PIN = PIN.ACTIVATE_VMX_PREEMPTION_TIMER | PIN.EXTERNAL_INTERRUPT_EXITING;
const QUIET_PROC = PROC.NMI_WINDOW_EXITING | PROC.INTERRUPT_WINDOW_EXITING | PROC.MONITOR_TRAP_FLAG;
const REG8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);
const HOST_DESC = new Descriptor();
export { REG8, SEG_NONE, ZERO_REG };
