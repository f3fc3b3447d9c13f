// The debuggable target over the Machine (see target.ts). It installs itself as the CPU's debugger
// hooks (CpuDebug in machine/cpu/cpu.ts, MmuWatch in machine/cpu/mmu.ts) only while it needs them:
// breakpoints, watchpoints, a single step or a trace. Otherwise the CPU runs at full speed.
//
// Guest-invisible by construction: breakpoints are addresses compared with CS.base + EIP at
// instruction boundaries (nothing is written into guest memory); watchpoints mark TLB entries so
// accesses to watched pages take the MMU's slow path; the guest's DR0-DR7 and EFLAGS.TF are never
// touched; memory is read through side-effect-free walks; stops happen between instructions and
// the run resumes exactly where it stopped, so the guest computes the same with or without them.
//
// Registers: while the processor runs the guest (bare, or in VMX non-root operation), the CPU's.
// While it is in VMX root operation with a launched current VMCS (the hypervisor stopped the machine
// after a VM exit), the guest's: from the VMCS guest-state area, and the GPRs other than ESP from
// the register file (a VM exit does not change them, SDM Vol3C 27.5). See regView().
//
// Browser-safe.

import type { Machine, RunResult } from '../machine/machine.js';
import type { CPU, CpuDebug } from '../machine/cpu/cpu.js';
import { T_WATCH_R, T_WATCH_W, type MmuWatch } from '../machine/cpu/mmu.js';
import { SEG, EFLAGS } from '../machine/cpu/arch.js';
import { Mode } from '../machine/cpu/state.js';
import { R } from '../machine/cpu/fpu/float80.js';
import { Ept } from '../machine/vmx/ept.js';
import { F, type VmcsField } from '../machine/vmx/vmcs-fields.js';
import { LaunchState } from '../machine/vmx/vmcs.js';
import { REGISTERS, type DebugTarget, type MemSpace, type PointKind, type RegView, type StopEvent } from './target.js';
import { translateLinear, type GuestPaging } from './pagewalk.js';
import { vmcsGuestPaging } from './vmcs-dump.js';
import { runMonitor } from './monitor.js';
import type { Tracer } from './trace.js';

interface Watch { kind: 'write' | 'read' | 'access'; addr: number; len: number }

const SEG8 = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'];
const SEG_INDEX: Record<string, number> = Object.fromEntries(SEG8.map((s, k) => [s, k]));
const GPR_INDEX: Record<string, number> = { eax: 0, ecx: 1, edx: 2, ebx: 3, esp: 4, ebp: 5, esi: 6, edi: 7 };
const FPU_CTRL = ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'];

export class MachineTarget implements DebugTarget, CpuDebug, MmuWatch {
  readonly registers = REGISTERS;
  readonly cpu: CPU;
  running = false;
  lastStop: StopEvent = { kind: 'initial' };
  /** Instruction limit of the run (--max-instructions). */
  limit = Infinity;
  /** Trace of executed instructions and VM exits (--trace), or null. */
  tracer: Tracer | null = null;

  private readonly swBps = new Set<number>();
  private readonly hwBps = new Set<number>();
  /** Linear page → number of breakpoints on it. */
  private readonly bpPages = new Map<number, number>();
  private watches: Watch[] = [];
  private watchFlags = new Map<number, number>();
  /** A stop decided inside the CPU's run (breakpoint, watchpoint, step), reported by runFor. */
  private pending: StopEvent | null = null;
  private stepping = false;
  private stepInsns = 0;
  private stepPc = 0;
  /** Resuming at a breakpoint: do not stop there again before moving (like EFLAGS.RF). */
  private skipPc = -1;
  private skipInsns = -1;

  constructor(readonly m: Machine) {
    this.cpu = m.cpu;
  }

  get ended(): RunResult | null { return this.m.result; }
  get idle(): boolean { return this.m.idle; }

  // ================================================================ execution
  /** The linear address of CS:EIP. */
  pcLinear(): number {
    if (this.regView() === 'vmcs-guest') return (this.vmcs(F.GUEST_CS_BASE) + this.vmcs(F.GUEST_RIP)) >>> 0;
    return (this.cpu.segBase[SEG.CS] + this.cpu.eip) >>> 0;
  }

  /** Hook the CPU only while something needs it (zero cost otherwise). */
  install(): void {
    const need = this.stepping || this.bpPages.size > 0 || this.watches.length > 0 || this.tracer !== null;
    this.cpu.dbg = need ? this : null;
    this.cpu.watch = this.watches.length > 0 ? this : null;
  }

  resume(step: boolean): void {
    if (this.m.result !== null) { this.running = false; this.lastStop = { kind: 'ended', result: this.m.result }; return; }
    const pc = this.pcLinear();
    this.skipPc = pc; this.skipInsns = this.m.clock.insns;
    this.stepping = step;
    this.stepPc = pc; this.stepInsns = this.m.clock.insns;
    this.pending = null;
    this.running = true;
    this.install();
  }

  runFor(budget: number): StopEvent | null {
    if (!this.running) return this.lastStop;
    const r = this.m.runSlice(budget, this.limit);
    if (r !== null) return this.stopWith({ kind: 'ended', result: r });
    if (this.pending !== null) { const p = this.pending; this.pending = null; return this.stopWith(p); }
    return null;
  }

  interrupt(): StopEvent {
    if (this.m.result !== null) return this.stopWith({ kind: 'ended', result: this.m.result });
    return this.running ? this.stopWith({ kind: 'interrupt' }) : this.lastStop;
  }

  private stopWith(e: StopEvent): StopEvent {
    this.running = false;
    this.stepping = false;
    this.lastStop = e;
    this.install();
    return e;
  }

  /** The debugger is done with the machine (gdb `kill`): stop running, drop every breakpoint and watchpoint. */
  kill(): void { this.running = false; this.stepping = false; this.clearPoints(); }

  // ---- CpuDebug (called by the CPU's run loop)
  after(c: CPU): boolean {
    if (this.pending !== null) return true;
    if (this.tracer !== null) this.tracer.pollExits();
    if (this.stepping && (c.clock.insns !== this.stepInsns || ((c.segBase[SEG.CS] + c.eip) >>> 0) !== this.stepPc)) {
      this.pending = { kind: 'step' };
      return true;
    }
    return false;
  }

  before(c: CPU): number {
    const lin = (c.segBase[SEG.CS] + c.eip) >>> 0;
    const skip = lin === this.skipPc && c.clock.insns === this.skipInsns;
    this.skipPc = -1;
    let one = this.stepping;
    if (this.bpPages.size !== 0 && this.bpPages.has(lin >>> 12)) {
      if (!skip && (this.swBps.has(lin) || this.hwBps.has(lin))) {
        this.pending = { kind: 'breakpoint', addr: lin, hw: !this.swBps.has(lin) };
        return -1;
      }
      one = true; // a breakpoint further on this page: one instruction at a time
    }
    if (this.tracer !== null && this.tracer.insn(c, lin)) one = true;
    return one ? 1 : 0;
  }

  // ---- MmuWatch (called by the MMU's slow path while watchpoints exist)
  pageFlags(page: number): number { return this.watchFlags.get(page) ?? 0; }

  access(lin: number, size: number, write: boolean): void {
    const a = lin >>> 0, end = a + size;
    for (const w of this.watches) {
      if (a >= w.addr + w.len || end <= w.addr) continue;
      if (w.kind === 'write' ? !write : w.kind === 'read' ? write : false) continue;
      if (this.pending === null) this.pending = { kind: 'watch', type: w.kind, addr: Math.max(a, w.addr) };
      this.cpu.blockStop = true; // end the block after this instruction; after() reports it
      return;
    }
  }

  // ================================================================ breakpoints and watchpoints
  insertPoint(kind: PointKind, addr: number, len: number): boolean {
    addr >>>= 0;
    if (kind === 'sw' || kind === 'hw') {
      const set = kind === 'sw' ? this.swBps : this.hwBps;
      if (!set.has(addr)) { set.add(addr); this.bpPages.set(addr >>> 12, (this.bpPages.get(addr >>> 12) ?? 0) + 1); }
    } else {
      if (len <= 0) return false;
      this.watches.push({ kind, addr, len });
      this.retagWatches();
    }
    this.install();
    return true;
  }

  removePoint(kind: PointKind, addr: number, len: number): boolean {
    addr >>>= 0;
    if (kind === 'sw' || kind === 'hw') {
      const set = kind === 'sw' ? this.swBps : this.hwBps;
      if (!set.delete(addr)) return false;
      const n = (this.bpPages.get(addr >>> 12) ?? 1) - 1;
      if (n <= 0) this.bpPages.delete(addr >>> 12); else this.bpPages.set(addr >>> 12, n);
    } else {
      const k = this.watches.findIndex((w) => w.kind === kind && w.addr === addr && w.len === len);
      if (k < 0) return false;
      this.watches.splice(k, 1);
      this.retagWatches();
    }
    this.install();
    return true;
  }

  clearPoints(): void {
    this.swBps.clear(); this.hwBps.clear(); this.bpPages.clear();
    this.watches = [];
    this.retagWatches();
    this.install();
  }

  get pointCounts(): { breakpoints: number; watchpoints: number } {
    return { breakpoints: this.swBps.size + this.hwBps.size, watchpoints: this.watches.length };
  }

  /** Recompute the watched pages and re-flag their TLB entries in place (no flush: the guest's TLB contents stay as they are). */
  private retagWatches(): void {
    const old = this.watchFlags;
    const flags = new Map<number, number>();
    for (const w of this.watches) {
      const f = (w.kind !== 'write' ? T_WATCH_R : 0) | (w.kind !== 'read' ? T_WATCH_W : 0);
      for (let p = w.addr >>> 12; p <= ((w.addr + w.len - 1) >>> 12); p++) flags.set(p & 0xfffff, (flags.get(p & 0xfffff) ?? 0) | f);
    }
    this.watchFlags = flags;
    const tlb = this.cpu.tlb;
    for (const p of new Set([...old.keys(), ...flags.keys()])) {
      if (tlb[p] !== 0) tlb[p] = (tlb[p] & ~(T_WATCH_R | T_WATCH_W)) | (flags.get(p) ?? 0);
    }
  }

  // ================================================================ registers
  /** 'vmcs-guest' while the processor is in VMX root operation with a launched current VMCS. */
  regView(): RegView {
    const u = this.m.vmx;
    return u.inVmxOperation && this.cpu.nonRoot === null && u.current !== null && u.current.launch === LaunchState.Launched ? 'vmcs-guest' : 'cpu';
  }

  private vmcs(f: VmcsField): number { return this.m.vmx.current!.get(f); }
  private setVmcs(f: VmcsField, v: number): void { this.m.vmx.current!.set(f, v); }

  /** A 16/32-bit register by name, as a number (unsigned). */
  reg(name: string): number {
    const c = this.cpu;
    const guest = this.regView() === 'vmcs-guest';
    const gi = GPR_INDEX[name];
    if (gi !== undefined) return (guest && gi === 4 ? this.vmcs(F.GUEST_RSP) : c.r32[gi]) >>> 0;
    const si = SEG_INDEX[name];
    if (si !== undefined) return guest ? this.vmcs(F[`GUEST_${name.toUpperCase()}_SELECTOR`]) : c.segSel[si];
    const hid = /^(\w+)_(base|limit|ar)$/.exec(name);
    if (hid !== null && SEG_INDEX[hid[1]] !== undefined) {
      const s = SEG_INDEX[hid[1]];
      if (guest) return this.vmcs(F[`GUEST_${hid[1].toUpperCase()}_${hid[2] === 'ar' ? 'AR_BYTES' : hid[2].toUpperCase()}`]) >>> 0;
      return (hid[2] === 'base' ? c.segBase[s] : hid[2] === 'limit' ? c.segLimit[s] : c.segAr[s]) >>> 0;
    }
    const f = c.fpu;
    switch (name) {
      case 'eip': return this.pcLinear();
      case 'eip_offset': return guest ? this.vmcs(F.GUEST_RIP) : c.eip >>> 0;
      case 'eflags': return guest ? this.vmcs(F.GUEST_RFLAGS) : c.getEflags() >>> 0;
      case 'cr0': return guest ? this.vmcs(F.GUEST_CR0) : c.cr0 >>> 0;
      case 'cr2': return c.cr2 >>> 0;
      case 'cr3': return guest ? this.vmcs(F.GUEST_CR3) : c.cr3 >>> 0;
      case 'cr4': return guest ? this.vmcs(F.GUEST_CR4) : c.cr4 >>> 0;
      case 'efer': return this.paging().regs.efer >>> 0;
      case 'dr0': case 'dr1': case 'dr2': case 'dr3': case 'dr6': return c.dr[Number(name[2])] >>> 0;
      case 'dr7': return guest ? this.vmcs(F.GUEST_DR7) : c.dr[7] >>> 0;
      case 'gdtr_base': return guest ? this.vmcs(F.GUEST_GDTR_BASE) : c.gdtrBase >>> 0;
      case 'gdtr_limit': return guest ? this.vmcs(F.GUEST_GDTR_LIMIT) : c.gdtrLimit;
      case 'idtr_base': return guest ? this.vmcs(F.GUEST_IDTR_BASE) : c.idtrBase >>> 0;
      case 'idtr_limit': return guest ? this.vmcs(F.GUEST_IDTR_LIMIT) : c.idtrLimit;
      case 'fctrl': return f.cw;
      case 'fstat': return f.status;
      case 'ftag': return f.tagWord();
      case 'fiseg': return f.fcs & 0xffff;
      case 'fioff': return f.fip >>> 0;
      case 'foseg': return f.fds & 0xffff;
      case 'fooff': return f.fdp >>> 0;
      case 'fop': return f.fop & 0x7ff;
      default: return 0;
    }
  }

  /** Write a 16/32-bit register by name; false if it is not writable. */
  setReg(name: string, v: number): boolean {
    const c = this.cpu;
    const guest = this.regView() === 'vmcs-guest';
    v >>>= 0;
    const gi = GPR_INDEX[name];
    if (gi !== undefined) { if (guest && gi === 4) this.setVmcs(F.GUEST_RSP, v); else c.r32[gi] = v; return true; }
    const si = SEG_INDEX[name];
    if (si !== undefined) {
      v &= 0xffff;
      if (guest) { this.setVmcs(F[`GUEST_${name.toUpperCase()}_SELECTOR`], v); return true; }
      // Real and virtual-8086 mode: the base follows the selector. Protected mode: only the visible
      // part changes; set the hidden parts with the *_base/_limit/_ar registers.
      if (c.mode !== Mode.Protected && si < 6) c.setSegCache(si, v, v << 4, c.segLimit[si], c.segAr[si]);
      else c.segSel[si] = v;
      return true;
    }
    const hid = /^(\w+)_(base|limit|ar)$/.exec(name);
    if (hid !== null && SEG_INDEX[hid[1]] !== undefined) {
      const s = SEG_INDEX[hid[1]];
      if (guest) { this.setVmcs(F[`GUEST_${hid[1].toUpperCase()}_${hid[2] === 'ar' ? 'AR_BYTES' : hid[2].toUpperCase()}`], v); return true; }
      c.setSegCache(s, c.segSel[s], hid[2] === 'base' ? v : c.segBase[s], hid[2] === 'limit' ? v : c.segLimit[s], hid[2] === 'ar' ? v : c.segAr[s]);
      if (s === SEG.CS || s === SEG.SS) c.updateMode();
      return true;
    }
    const f = c.fpu;
    switch (name) {
      case 'eip': {
        const base = guest ? this.vmcs(F.GUEST_CS_BASE) : c.segBase[SEG.CS];
        return this.setReg('eip_offset', (v - base) >>> 0);
      }
      case 'eip_offset':
        if (guest) this.setVmcs(F.GUEST_RIP, v); else { c.eip = v & c.ipMask; c.prevEip = c.eip; }
        return true;
      case 'eflags':
        if (guest) { this.setVmcs(F.GUEST_RFLAGS, v | EFLAGS.FIXED1); return true; }
        c.lazy = 0; c.flags = (v | EFLAGS.FIXED1) & 0x3f7fd7;
        if (((c.mode === Mode.V86) !== ((v & EFLAGS.VM) !== 0))) c.updateMode();
        return true;
      case 'cr2': c.cr2 = v; return true;
      case 'dr0': case 'dr1': case 'dr2': case 'dr3': case 'dr6': c.dr[Number(name[2])] = v; return true;
      case 'dr7': if (guest) this.setVmcs(F.GUEST_DR7, v); else c.dr[7] = v; return true;
      case 'gdtr_base': if (guest) this.setVmcs(F.GUEST_GDTR_BASE, v); else c.gdtrBase = v | 0; return true;
      case 'gdtr_limit': if (guest) this.setVmcs(F.GUEST_GDTR_LIMIT, v & 0xffff); else c.gdtrLimit = v & 0xffff; return true;
      case 'idtr_base': if (guest) this.setVmcs(F.GUEST_IDTR_BASE, v); else c.idtrBase = v | 0; return true;
      case 'idtr_limit': if (guest) this.setVmcs(F.GUEST_IDTR_LIMIT, v & 0xffff); else c.idtrLimit = v & 0xffff; return true;
      case 'cr0': case 'cr3': case 'cr4': case 'efer': {
        if (guest) {
          if (name === 'efer') return false;
          this.setVmcs(name === 'cr0' ? F.GUEST_CR0 : name === 'cr3' ? F.GUEST_CR3 : F.GUEST_CR4, v);
          return true;
        }
        // The CPU's own transitions (TLB flush, PDPTE load, mode); a value the CPU refuses (#GP) is not written.
        try {
          if (name === 'cr0') c.setCr0(v); else if (name === 'cr3') c.setCr3(v); else if (name === 'cr4') c.setCr4(v); else c.setEfer(v);
          c.blockStop = false;
          return true;
        } catch { return false; }
      }
      case 'fctrl': f.setControl(v); return true;
      case 'fstat': f.setStatus(v); return true;
      case 'ftag': f.setTagWord(v & 0xffff); return true;
      case 'fiseg': f.fcs = v & 0xffff; return true;
      case 'fioff': f.fip = v | 0; return true;
      case 'foseg': f.fds = v & 0xffff; return true;
      case 'fooff': f.fdp = v | 0; return true;
      case 'fop': f.fop = v & 0x7ff; return true;
      default: return false;
    }
  }

  readRegister(index: number): Uint8Array {
    const info = REGISTERS[index];
    const out = new Uint8Array(info.bits / 8);
    if (info.bits === 80) {
      const f = this.cpu.fpu, p = f.phys(Number(info.name.slice(2)));
      f.get80(p);
      const dv = new DataView(out.buffer);
      dv.setInt32(0, R.lo, true); dv.setInt32(4, R.hi, true); dv.setUint16(8, R.se & 0xffff, true);
      return out;
    }
    new DataView(out.buffer).setUint32(0, this.reg(info.name), true);
    return out;
  }

  writeRegister(index: number, bytes: Uint8Array): boolean {
    const info = REGISTERS[index];
    if (info === undefined || bytes.length < info.bits / 8) return false;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (info.bits === 80) {
      const f = this.cpu.fpu, p = f.phys(Number(info.name.slice(2)));
      f.setX(p, dv.getInt32(0, true), dv.getInt32(4, true), dv.getUint16(8, true));
      return true;
    }
    return this.setReg(info.name, dv.getUint32(0, true));
  }

  // ================================================================ memory
  /** The current translation context: the CPU's, or the guest's from the VMCS (see regView). */
  paging(): GuestPaging {
    const c = this.cpu, mem = this.m.mem;
    if (this.regView() === 'vmcs-guest') return vmcsGuestPaging(this.m.vmx, mem);
    const nr = c.nonRoot;
    let ept: Ept | null = null;
    if (nr !== null && nr.ept !== null) { ept = new Ept(mem); ept.root = nr.ept.root; ept.ad = false; }
    return { paging: c.paging, regs: c, ept, a20: mem.a20 };
  }

  translate(lin: number): number | null { return translateLinear(this.m.mem, this.paging(), lin); }

  /** Guest-physical → host-physical (through the EPT when it is in use), or null. */
  private hostOf(gpa: number, g: GuestPaging): number | null {
    if (g.ept === null) return gpa;
    const h = g.ept.translate(gpa, 1);
    return h < 0 ? null : h;
  }

  /** Host-physical address of each byte (RAM only), page by page; null stops. */
  private each(addr: number, len: number, space: MemSpace, fn: (pa: number, k: number) => void): number {
    const mem = this.m.mem;
    const g = space === 'host' ? null : this.paging();
    let k = 0, pageBase = -1, pagePa = 0;
    while (k < len) {
      const a = (addr + k) >>> 0;
      if ((a >>> 12) !== pageBase) {
        pageBase = a >>> 12;
        const page = (a & ~0xfff) >>> 0;
        const pa = g === null ? page : space === 'linear' ? translateLinear(mem, g, page) : this.hostOf(page, g);
        if (pa === null || !mem.isRamPage(pa)) break;
        pagePa = pa;
      }
      fn(pagePa + (a & 0xfff), k);
      k++;
      if (a === 0xffffffff) break;
    }
    return k;
  }

  readMemory(addr: number, len: number, space: MemSpace): Uint8Array {
    const out = new Uint8Array(len);
    const mem = this.m.mem;
    const n = this.each(addr, len, space, (pa, k) => { out[k] = mem.ram[pa]; });
    return out.subarray(0, n);
  }

  writeMemory(addr: number, data: Uint8Array, space: MemSpace): number {
    const mem = this.m.mem;
    // Through PhysMem.write so decoded code on the page is dropped (the debugger may patch code).
    return this.each(addr, data.length, space, (pa, k) => mem.write(pa, 1, data[k]));
  }

  // ================================================================ monitor
  monitor(line: string): string { return runMonitor(this, line); }
}
