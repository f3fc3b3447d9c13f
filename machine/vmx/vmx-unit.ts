// The VMX unit of one processor: VMX operation, the VMX instructions as VMX root operation sees
// them, and the interface through which the TypeScript hypervisor drives this CPU.
//
// The hypervisor cannot execute x86 instructions; it *is* the code running in VMX root operation.
// So what XMHF does with inline assembly (mov cr4, wrmsr, vmxon, vmptrld, vmwrite, vmlaunch...)
// it does through this object's methods, with the SDM's semantics: VMsucceed / VMfailInvalid /
// VMfailValid(n) results (Vol3C 31.2), #UD/#GP conditions reported as HostFault (a hypervisor bug).
// VMLAUNCH/VMRESUME that succeed return at once: the guest then runs when the machine's run loop
// continues, and every VM exit calls the handler registered with onVmExit() — the code at
// HOST_RIP — with the processor in the host state the VMCS describes.
//
// x86 code running on this machine never executes in VMX root operation: CPUID executed by x86
// code reports no VMX (bare or hypervised alike), and VMX instructions are #UD for it outside
// non-root operation. VMX is this processor's interface to the TypeScript host only.

import { CR0, CR4, EFER, EFLAGS, MSR } from '../cpu/arch.js';
import type { CPU } from '../cpu/cpu.js';
import { Stop } from '../cpu/state.js';
import type { PhysMem } from '../memory.js';
import type { Timer } from '../clock.js';
import { computeCaps, fieldSupported, physAddrOk, VMCS_REVISION, type VmxCaps } from './capabilities.js';
import { eptpProblem } from './entry-checks.js';
import { INVEPT_TYPE, INVVPID_TYPE, VMX_ERROR, VMX_MSR } from './controls.js';
import { fieldByEncoding, F, Width, type VmcsField } from './vmcs-fields.js';
import { isReadOnly, LaunchState, Vmcs } from './vmcs.js';
import { NonRoot } from './nonroot.js';
import { vmEntry } from './entry.js';
import { ExitInfo } from './exit.js';

/** Result of a VMX instruction: 0 = VMsucceed, -1 = VMfailInvalid, n > 0 = VMfailValid with error n. */
export type VmxStatus = number;
export const VM_SUCCEED = 0;
export const VM_FAIL_INVALID = -1;

/** A fault of an instruction executed by the host (the hypervisor): #UD or #GP in VMX root operation. */
export class HostFault extends Error {
  override readonly name = 'HostFault';
}

/** IA32_FEATURE_CONTROL bits (Vol3C 23.7). */
export const FEATURE_CONTROL = { LOCK: 1 << 0, VMX_IN_SMX: 1 << 1, VMX_OUTSIDE_SMX: 1 << 2 } as const;

/** Why the host stopped the machine (see haltHost). */
export interface HostHalt { message: string; status: number }

export interface CapturedSegment { sel: number; base: number; limit: number; ar: number }
export interface CapturedState {
  cr0: number; cr3: number; cr4: number; dr7: number; efer: number; patLo: number; patHi: number;
  sysenterCs: number; sysenterEsp: number; sysenterEip: number;
  /** ES CS SS DS FS GS LDTR TR, access rights in VMCS format (bit 16 = unusable). */
  segs: CapturedSegment[];
  gdtrBase: number; gdtrLimit: number; idtrBase: number; idtrLimit: number;
  rip: number; rsp: number; rflags: number; cpl: number;
  blockingBySti: boolean; blockingByMovSs: boolean;
  pdpteLo: number[]; pdpteHi: number[];
}

/** Size of the always-on ring buffer of recent VM exits. */
export const EXIT_RING = 256;

export class VmxUnit {
  readonly caps: VmxCaps;
  /** In VMX operation (after VMXON, before VMXOFF). */
  inVmxOperation = false;
  vmxonPtr = -1;
  /** The current VMCS (VMPTRLD), or null. */
  current: Vmcs | null = null;
  private readonly regions = new Map<number, Vmcs>();
  /** Decoded controls while in non-root operation (the CPU's nonRoot points here). */
  readonly nr: NonRoot;
  /** Exit information staged by the code that detects a VM exit (exit.ts). */
  readonly x = new ExitInfo();
  /** A VM exit happened and the host handler has not run yet. */
  exitPending = false;
  /** Result of the last VMX instruction (also reflected in the host's RFLAGS CF/ZF). */
  status: VmxStatus = VM_SUCCEED;
  featureControl = 0;
  /** Guest IA32_DEBUGCTL (not otherwise modelled: no debug-control features exist). */
  debugCtl = 0;
  /** The code at HOST_RIP. */
  private handler: (() => void) | null = null;
  /** Set when the host gave up (haltHost); the machine stops with it. */
  hostHalt: HostHalt | null = null;
  /** Tag of the linear mappings in the TLB (VPID and EPTP), to flush when it changes. */
  tlbTag = -1;

  // Statistics and the exit ring (reason, qualification, guest RIP, instruction count per exit).
  exits = 0;
  entries = 0;
  readonly ringReason = new Int32Array(EXIT_RING);
  readonly ringQual = new Int32Array(EXIT_RING);
  readonly ringRip = new Int32Array(EXIT_RING);
  readonly ringInsns = new Float64Array(EXIT_RING);

  /** Clock timer at the VMX-preemption timer's deadline (it only wakes the machine; the exit is taken at the boundary). */
  readonly preemptionTimer: Timer;

  constructor(readonly cpu: CPU, readonly mem: PhysMem, cr4Supported: number) {
    this.caps = computeCaps(cr4Supported);
    this.nr = new NonRoot(this, mem);
    this.preemptionTimer = cpu.clock.addTimer('vmx-preemption-timer', () => {});
  }

  // ================================================================ the host's interface

  /** Register the host's VM-exit handler (the code at HOST_RIP). */
  onVmExit(handler: () => void): void { this.handler = handler; }

  /** The host stops the machine (XMHF's "halt"): the run ends with `status` and `message`. */
  haltHost(message: string, status: number): void {
    if (this.hostHalt === null) this.hostHalt = { message, status };
    this.cpu.stop = Stop.Requested;
    this.cpu.blockStop = true;
  }

  /** Run the host handler for pending VM exits (including VM-entry failures that exit at once). */
  dispatchExits(): void {
    let guard = 0;
    while (this.exitPending && this.hostHalt === null) {
      this.exitPending = false;
      if (this.handler === null) { this.haltHost('VM exit with no host handler registered (onVmExit)', 70); return; }
      this.handler();
      if (++guard > 1000) { this.haltHost('VM entry keeps failing: more than 1000 consecutive entry-failure exits', 70); return; }
    }
  }

  /**
   * The general-purpose registers, as the host sees them: after a VM exit they still hold the
   * guest's values except ESP (= HOST_RSP), exactly as on hardware, where XMHF's exit stub saves
   * them. The host writes the guest's values back before VMRESUME.
   */
  get gprs(): Int32Array { return this.cpu.r32; }

  /**
   * The processor's current state in VMCS guest-state form: what a late-launching hypervisor reads
   * with MOV from CRn/DRn, SGDT/SIDT/SLDT/STR, LAR/LSL and RDMSR before it virtualizes the running
   * system (as SimpleVisor does). Used once, to start the guest where the boot loader left it.
   */
  readCurrentState(): CapturedState {
    const c = this.cpu;
    const segs: CapturedSegment[] = [];
    for (let s = 0; s < 8; s++) segs.push({ sel: c.segSel[s], base: c.segBase[s], limit: c.segLimit[s], ar: c.segAr[s] });
    return {
      cr0: c.cr0, cr3: c.cr3, cr4: c.cr4, dr7: c.dr[7], efer: c.efer, patLo: c.patLo, patHi: c.patHi,
      sysenterCs: c.sysenterCs, sysenterEsp: c.sysenterEsp, sysenterEip: c.sysenterEip,
      segs, gdtrBase: c.gdtrBase, gdtrLimit: c.gdtrLimit, idtrBase: c.idtrBase, idtrLimit: c.idtrLimit,
      rip: c.eip, rsp: c.r32[4], rflags: c.getEflags(), cpl: c.cpl,
      blockingBySti: c.intShadow && !c.shadowMovSs, blockingByMovSs: c.intShadow && c.shadowMovSs,
      pdpteLo: Array.from(c.pdpteLo), pdpteHi: Array.from(c.pdpteHi),
    };
  }

  /** IN / OUT by the host (to emulate a guest's port access on its behalf). */
  hostIn(port: number, size: number): number { return this.cpu.io.in(port & 0xffff, size); }
  hostOut(port: number, size: number, value: number): void { this.cpu.io.out(port & 0xffff, size, value); }

  // ---------------------------------------------------------------- privileged instructions of the host

  /** CPUID as the host sees it: the processor's own leaves, with VMX reported (leaf 1 ECX bit 5). */
  cpuid(leaf: number, subleaf = 0): [number, number, number, number] {
    const r = this.cpu.cpuidLeaf(leaf, subleaf);
    if (leaf === 1) r[2] |= 1 << 5;
    return r;
  }

  /** RDMSR by the host: the VMX capability MSRs and IA32_FEATURE_CONTROL here, the rest from the CPU. */
  rdmsr(index: number): [number, number] {
    const v = this.caps.msrs.get(index);
    if (v !== undefined) return [v[0], v[1]];
    if (index === MSR.IA32_FEATURE_CONTROL) return [this.featureControl, 0];
    const r = this.cpu.hostRdmsr(index);
    if (r === null) throw new HostFault(`#GP(0): RDMSR of unknown MSR 0x${index.toString(16)}`);
    return r;
  }

  wrmsr(index: number, lo: number, hi: number): void {
    if (this.caps.msrs.has(index)) throw new HostFault(`#GP(0): WRMSR to read-only VMX capability MSR ${VMX_MSR_NAME(index)}`);
    if (index === MSR.IA32_FEATURE_CONTROL) {
      if ((this.featureControl & FEATURE_CONTROL.LOCK) !== 0) throw new HostFault('#GP(0): WRMSR to IA32_FEATURE_CONTROL after it was locked');
      if ((lo & ~7) !== 0 || hi !== 0) throw new HostFault('#GP(0): reserved bits in IA32_FEATURE_CONTROL');
      this.featureControl = lo;
      return;
    }
    if (!this.cpu.hostWrmsr(index, lo, hi)) throw new HostFault(`#GP(0): WRMSR to MSR 0x${index.toString(16)} (unknown or reserved bits)`);
  }

  /** MOV from CR0/CR2/CR3/CR4 by the host. */
  readCr(n: 0 | 2 | 3 | 4): number {
    const c = this.cpu;
    return n === 0 ? c.cr0 : n === 2 ? c.cr2 : n === 3 ? c.cr3 : c.cr4;
  }

  /** MOV to CR0/CR3/CR4 by the host, with the #GP conditions of the SDM and of VMX operation (Vol3C 23.8). */
  writeCr(n: 0 | 3 | 4, v: number): void {
    const c = this.cpu;
    v |= 0;
    if (n === 0) {
      if ((v & CR0.PG) !== 0 && (v & CR0.PE) === 0) throw new HostFault('#GP(0): CR0.PG without CR0.PE');
      if ((v & CR0.NW) !== 0 && (v & CR0.CD) === 0) throw new HostFault('#GP(0): CR0.NW without CR0.CD');
      if (this.inVmxOperation && (v & this.caps.cr0Fixed0) !== this.caps.cr0Fixed0) {
        throw new HostFault('#GP(0): MOV to CR0 would clear a bit fixed to 1 in VMX operation (PE, NE, PG)');
      }
      c.setCr0(v);
    } else if (n === 3) {
      c.setCr3(v);
    } else {
      if ((v & CR4.VMXE) === 0 && this.inVmxOperation) throw new HostFault('#GP(0): MOV to CR4 clearing VMXE in VMX operation');
      if ((v & ~this.caps.cr4Fixed1) !== 0) throw new HostFault(`#GP(0): MOV to CR4 sets unsupported bits 0x${(v & ~this.caps.cr4Fixed1).toString(16)}`);
      c.setCr4(v);
    }
  }

  /** MOV to CR2 by the host: VMX does not switch CR2, so a VMM injecting a #PF sets the guest's CR2 here. */
  writeCr2(v: number): void { this.cpu.cr2 = v | 0; }

  /** LGDT / LIDT by the host. */
  lgdt(base: number, limit: number): void { this.cpu.gdtrBase = base | 0; this.cpu.gdtrLimit = limit & 0xffff; }
  lidt(base: number, limit: number): void { this.cpu.idtrBase = base | 0; this.cpu.idtrLimit = limit & 0xffff; }

  /** Load a segment register (MOV Sreg / far JMP for CS / LTR for TR) by the host, with descriptor checks. */
  loadSegment(seg: number, sel: number): void {
    const err = this.cpu.hostLoadSegment(seg, sel);
    if (err !== null) throw new HostFault(err);
  }

  // ---------------------------------------------------------------- VMX instructions (Vol3C 31.3)

  private setStatus(s: VmxStatus): VmxStatus {
    this.status = s;
    // VMsucceed: CF = PF = AF = ZF = SF = OF = 0; VMfailInvalid: CF = 1; VMfailValid: ZF = 1 (Vol3C 31.2).
    const cf = s === VM_FAIL_INVALID ? EFLAGS.CF : 0, zf = s > 0 ? EFLAGS.ZF : 0;
    this.cpu.flagsEager(cf | zf);
    if (s > 0 && this.current !== null) this.current.set(F.VM_INSTRUCTION_ERROR, s);
    return s;
  }
  /** VMfail(n): VMfailValid if there is a current VMCS, else VMfailInvalid. */
  private vmfail(n: number): VmxStatus { return this.setStatus(this.current !== null ? n : VM_FAIL_INVALID); }

  private requireVmx(what: string): void {
    if (!this.inVmxOperation) throw new HostFault(`#UD: ${what} outside VMX operation`);
  }

  /** VMXON with the VMXON region at `pa`. */
  vmxon(pa: number): VmxStatus {
    const c = this.cpu;
    if (this.inVmxOperation) return this.vmfail(VMX_ERROR.VMXON_IN_VMX_ROOT);
    if ((c.cr4 & CR4.VMXE) === 0) throw new HostFault('#UD: VMXON with CR4.VMXE = 0');
    if ((c.cr0 & this.caps.cr0Fixed0) !== this.caps.cr0Fixed0) throw new HostFault('#GP(0): VMXON with CR0 violating IA32_VMX_CR0_FIXED0 (PE, NE, PG must be 1)');
    if ((c.cr4 & ~this.caps.cr4Fixed1) !== 0) throw new HostFault('#GP(0): VMXON with CR4 violating IA32_VMX_CR4_FIXED1');
    if ((this.featureControl & (FEATURE_CONTROL.LOCK | FEATURE_CONTROL.VMX_OUTSIDE_SMX)) !== (FEATURE_CONTROL.LOCK | FEATURE_CONTROL.VMX_OUTSIDE_SMX)) {
      throw new HostFault('#GP(0): VMXON with IA32_FEATURE_CONTROL not locked with "enable VMX outside SMX"');
    }
    if (!this.mem.a20) throw new HostFault('#GP(0): VMXON in A20M mode');
    // Bits 30:0 must be the revision identifier and bit 31 must be 0 (Vol3C 31.3 VMXON).
    if (!aligned4k(pa) || this.mem.read(pa, 4) !== VMCS_REVISION) return this.setStatus(VM_FAIL_INVALID);
    this.inVmxOperation = true;
    this.vmxonPtr = pa;
    this.current = null;
    return this.setStatus(VM_SUCCEED);
  }

  vmxoff(): VmxStatus {
    this.requireVmx('VMXOFF');
    // A VMCS launched in this VMX operation and not cleared cannot be resumed in the next (Table 31-1, error 6).
    for (const v of this.regions.values()) if (v.launch === LaunchState.Launched) v.launchedBeforeVmxoff = true;
    this.inVmxOperation = false;
    this.vmxonPtr = -1;
    this.current = null;
    return this.setStatus(VM_SUCCEED);
  }

  vmclear(pa: number): VmxStatus {
    this.requireVmx('VMCLEAR');
    if (!aligned4k(pa) || pa >= this.mem.size) return this.vmfail(VMX_ERROR.VMCLEAR_INVALID_ADDRESS);
    if (pa === this.vmxonPtr) return this.vmfail(VMX_ERROR.VMCLEAR_VMXON_POINTER);
    const v = this.regions.get(pa);
    if (v !== undefined) { v.launch = LaunchState.Clear; v.launchedBeforeVmxoff = false; }
    else this.regions.set(pa, new Vmcs(pa, this.mem.read(pa, 4) & 0x7fffffff));
    if (this.current !== null && this.current.pa === pa) this.current = null;
    return this.setStatus(VM_SUCCEED);
  }

  vmptrld(pa: number): VmxStatus {
    this.requireVmx('VMPTRLD');
    if (!aligned4k(pa) || pa >= this.mem.size) return this.vmfail(VMX_ERROR.VMPTRLD_INVALID_ADDRESS);
    if (pa === this.vmxonPtr) return this.vmfail(VMX_ERROR.VMPTRLD_VMXON_POINTER);
    // Bit 31 (shadow-VMCS indicator) must be 0: VMCS shadowing is not supported (Vol3C 31.3 VMPTRLD).
    if (this.mem.read(pa, 4) !== VMCS_REVISION) return this.vmfail(VMX_ERROR.VMPTRLD_INCORRECT_REVISION);
    let v = this.regions.get(pa);
    if (v === undefined) { v = new Vmcs(pa, VMCS_REVISION); this.regions.set(pa, v); }
    this.current = v;
    return this.setStatus(VM_SUCCEED);
  }

  /** VMPTRST: the current-VMCS pointer (FFFFFFFF_FFFFFFFFH as -1 when there is none). */
  vmptrst(): number {
    this.requireVmx('VMPTRST');
    this.setStatus(VM_SUCCEED);
    return this.current !== null ? this.current.pa : -1;
  }

  /** VMREAD of a field encoding; the result status is in `status`. 64-bit fields return exact numbers. */
  vmread(encoding: number): number {
    this.requireVmx('VMREAD');
    if (this.current === null) { this.setStatus(VM_FAIL_INVALID); return 0; }
    const r = fieldByEncoding(encoding);
    if (r === null || !fieldSupported(r.field)) { this.vmfail(VMX_ERROR.VMREAD_VMWRITE_UNSUPPORTED_COMPONENT); return 0; }
    this.setStatus(VM_SUCCEED);
    if (r.high) return this.current.getHi(r.field) >>> 0;
    // On a 32-bit processor VMREAD of a 64-bit field's full encoding returns its low 32 bits (Vol3C 24.11.2).
    return r.field.width === Width.W64 ? this.current.get32(r.field) >>> 0 : this.current.get(r.field);
  }

  /** VMWRITE: value truncated to the field width; exit-information fields are read-only (IA32_VMX_MISC bit 29 = 0). */
  vmwrite(encoding: number, value: number): VmxStatus {
    this.requireVmx('VMWRITE');
    if (this.current === null) return this.setStatus(VM_FAIL_INVALID);
    const r = fieldByEncoding(encoding);
    if (r === null || !fieldSupported(r.field)) return this.vmfail(VMX_ERROR.VMREAD_VMWRITE_UNSUPPORTED_COMPONENT);
    if (isReadOnly(r.field)) return this.vmfail(VMX_ERROR.VMWRITE_READ_ONLY_COMPONENT);
    const v = this.current, f = r.field;
    if (f.width === Width.W64) {
      if (r.high) v.set64(f, v.get32(f), value);
      else v.set64(f, value, 0); // a 32-bit VMWRITE of the full encoding clears the high half (Vol2 VMWRITE)
    } else {
      v.set(f, value);
    }
    return this.setStatus(VM_SUCCEED);
  }

  /** Convenience: VMREAD / VMWRITE by field (as hvpp's typed accessors). Full 64-bit values for 64-bit fields. */
  read(f: VmcsField): number {
    this.requireVmx('VMREAD');
    if (this.current === null) throw new HostFault('VMREAD with no current VMCS (VMfailInvalid)');
    return this.current.get(f);
  }
  write(f: VmcsField, value: number): void {
    this.requireVmx('VMWRITE');
    if (this.current === null) throw new HostFault('VMWRITE with no current VMCS (VMfailInvalid)');
    if (isReadOnly(f)) throw new HostFault(`VMWRITE to read-only field ${f.name} (VMfailValid 13)`);
    this.current.set(f, value);
  }

  /** VMWRITE of a 64-bit field from its two halves (both accesses of Vol3C 24.11.2 at once). */
  write64(f: VmcsField, lo: number, hi: number): void {
    this.write(f, 0);
    this.current!.set64(f, lo, hi);
  }

  vmlaunch(): VmxStatus { this.requireVmx('VMLAUNCH'); return this.setStatus(vmEntry(this, true)); }
  vmresume(): VmxStatus { this.requireVmx('VMRESUME'); return this.setStatus(vmEntry(this, false)); }

  /**
   * INVEPT (Vol3C 31.3): invalidate EPT-derived (combined) mappings. This TLB is untagged: flush it.
   * `eptp` is the descriptor's EPTP (bits 63:0) for single-context invalidation; it defaults to the
   * current VMCS's EPT pointer.
   */
  invept(type: number, eptp = this.current !== null ? this.current.get(F.EPT_POINTER) : 0): VmxStatus {
    this.requireVmx('INVEPT');
    if (type !== INVEPT_TYPE.SINGLE_CONTEXT && type !== INVEPT_TYPE.ALL_CONTEXT) return this.vmfail(VMX_ERROR.INVALID_OPERAND_INVEPT_INVVPID);
    // Single-context: the EPTP must be one VM entry would accept.
    if (type === INVEPT_TYPE.SINGLE_CONTEXT && eptpProblem(eptp % 0x100000000 | 0, Math.floor(eptp / 0x100000000) | 0) !== null) {
      return this.vmfail(VMX_ERROR.INVALID_OPERAND_INVEPT_INVVPID);
    }
    this.cpu.flushTlb(false);
    return this.setStatus(VM_SUCCEED);
  }

  /** INVVPID (Vol3C 31.3): individual-address invalidations drop one page; the others flush. */
  invvpid(type: number, vpid: number, linear = 0): VmxStatus {
    this.requireVmx('INVVPID');
    if (type < INVVPID_TYPE.INDIVIDUAL_ADDRESS || type > INVVPID_TYPE.SINGLE_CONTEXT_RETAINING_GLOBALS) return this.vmfail(VMX_ERROR.INVALID_OPERAND_INVEPT_INVVPID);
    if (vpid < 0 || vpid > 0xffff) return this.vmfail(VMX_ERROR.INVALID_OPERAND_INVEPT_INVVPID); // descriptor bits 63:16
    if (type !== INVVPID_TYPE.ALL_CONTEXT && vpid === 0) return this.vmfail(VMX_ERROR.INVALID_OPERAND_INVEPT_INVVPID);
    if (type === INVVPID_TYPE.INDIVIDUAL_ADDRESS) this.cpu.invlpg(linear);
    else this.cpu.flushTlb(type === INVVPID_TYPE.SINGLE_CONTEXT_RETAINING_GLOBALS);
    return this.setStatus(VM_SUCCEED);
  }

  /** Record a VM exit in the ring buffer (called by the exit procedure). */
  record(reason: number, qual: number, rip: number): void {
    const k = this.exits % EXIT_RING;
    this.ringReason[k] = reason; this.ringQual[k] = qual; this.ringRip[k] = rip; this.ringInsns[k] = this.cpu.clock.insns;
    this.exits++;
  }

  /** The last `n` exits, oldest first. */
  recentExits(n: number): { reason: number; qualification: number; rip: number; insns: number }[] {
    const out = [];
    const count = Math.min(n, this.exits, EXIT_RING);
    for (let k = this.exits - count; k < this.exits; k++) {
      const j = k % EXIT_RING;
      out.push({ reason: this.ringReason[j] >>> 0, qualification: this.ringQual[j] >>> 0, rip: this.ringRip[j] >>> 0, insns: this.ringInsns[j] });
    }
    return out;
  }
}

function aligned4k(pa: number): boolean { return pa >= 0 && pa % 4096 === 0 && physAddrOk(pa); }
function VMX_MSR_NAME(index: number): string { return '0x' + index.toString(16); }
export { EFER };
