// The architectural state of one x86 CPU, as typed arrays and numbers (V8 keeps this object
// monomorphic: every field is created here, in the constructor's order, and never deleted).
//
// Register file: `r32` holds 16 GPRs (8 used today; R8-R15 reserved for long mode) plus slot 16,
// which is always zero so the decoder can point an absent base/index register at it.
// `r16` and `r8` alias the same bytes (little endian): AX = r16[0], CX = r16[2]; AL = r8[0], AH = r8[1].

import { CR0, EFLAGS } from './arch.js';
import type { NonRoot } from '../vmx/nonroot.js';

export const ZERO_REG = 16;

export const enum Mode { Real = 0, Protected = 1, V86 = 2 }

/** Thrown (as this singleton, never an Error) to abort the current instruction with a fault. */
export class CpuFault { readonly kind = 'CpuFault'; }
export const FAULT = new CpuFault();

/** Why the run loop returned to its caller. */
export const enum Stop {
  None = 0, Budget = 1, Halted = 2, TripleFault = 3, Shutdown = 4, Unsupported = 5, Breakpoint = 6,
  Requested = 7, VmExit = 8,
  /** The debugger stopped the run at an instruction boundary (breakpoint, watchpoint, single step). */
  Debug = 9,
}

export class CpuState {
  readonly regBuf = new ArrayBuffer(17 * 4);
  readonly r32 = new Int32Array(this.regBuf);
  readonly r16 = new Uint16Array(this.regBuf);
  readonly r8 = new Uint8Array(this.regBuf);
  eip = 0;
  /** EIP of the instruction being executed (faults restart here). */
  prevEip = 0;

  // EFLAGS: `flags` holds every bit except those listed in `lazy`, which are computed on demand
  // from the last arithmetic operation (lOp, lA, lB, lRes, lTop). See flags.ts.
  flags = EFLAGS.FIXED1;
  lazy = 0;
  lOp = 0;
  lA = 0;
  lB = 0;
  lRes = 0;
  lTop = 31;

  // Segment registers ES CS SS DS FS GS LDTR TR, with their hidden (descriptor cache) parts.
  readonly segSel = new Uint16Array(8);
  readonly segBase = new Int32Array(8);
  /** Limits as unsigned numbers (byte granular, after G scaling). */
  readonly segLimit = new Float64Array(8);
  /** Access rights in VMCS format (arch.ts AR). */
  readonly segAr = new Int32Array(8);
  /** Largest valid offset of a 1-byte read / write through the segment for the fast path; -1 = always slow path. */
  readonly segRLim = new Float64Array(8);
  readonly segWLim = new Float64Array(8);

  gdtrBase = 0; gdtrLimit = 0xffff;
  idtrBase = 0; idtrLimit = 0x3ff;

  cr0 = CR0.ET | CR0.CD | CR0.NW; // Table 9-1: 60000010H
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  /** CR8 / TPR (long mode only; kept for the VMX TPR shadow later). */
  cr8 = 0;
  efer = 0;
  readonly dr = new Int32Array(8);
  /** PAE PDPTE registers (loaded with CR3 in PAE mode, SDM Vol3A 4.4.1): low and high halves. */
  readonly pdpteLo = new Int32Array(4);
  readonly pdpteHi = new Int32Array(4);

  // Derived mode state (kept in sync by the mode-change paths in cpu.ts).
  mode: Mode = Mode.Real;
  cpl = 0;
  /** CS.D: default operand/address size of code is 32-bit. */
  cs32 = false;
  /** SS.B: stack pointer is ESP (else SP). */
  ss32 = false;
  paging = false;

  // Interrupt state.
  halted = false;
  /** Interrupts (and debug traps) are inhibited for one instruction after STI / MOV SS / POP SS. */
  intShadow = false;
  /** The pending shadow comes from MOV SS / POP SS (else STI): VMX reports them apart (Vol3C 24.4.2). */
  shadowMovSs = false;
  /** While executing the instruction in a shadow: 1 = STI, 2 = MOV SS (for VM exits inside it), else 0. */
  shadowNow = 0;
  nmiPending = false;
  nmiBlocked = false;
  /** Wait-for-SIPI: after INIT, an application processor sleeps until a startup IPI; interrupts do not wake it (Vol3A 8.4). */
  waitForSipi = false;
  /** DR6 bits (B0-B3, BD, BS) of the #DB being raised: written to DR6 when it is delivered, not when it causes a VM exit (Vol3C 27.1). */
  dbgCause = 0;

  // MSR-backed state.
  tscOffset = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  apicBase = 0xfee00900; // BSP, enabled, default base
  apicBaseHi = 0;        // IA32_APIC_BASE[63:32] (base bits 35:32)
  patLo = 0x00070406; patHi = 0x00070406;
  mtrrDefType = 0;
  readonly mtrrFixed = new Int32Array(22); // 11 fixed-range MTRRs × 2 halves
  readonly mtrrVar = new Int32Array(32);   // 8 variable pairs (base, mask) × 2 halves
  miscEnable = 0x1;
  miscEnableHi = 0;      // IA32_MISC_ENABLE[63:32] (XD bit disable = bit 34)
  featureControl = 0x1;  // locked, VMX disabled: the guest CPU has no VMX (msr.ts)
  biosSignId = 0;
  mcgStatus = 0;

  /** Faulting linear address of a #PF being raised: CR2 is written when the #PF is delivered (a #PF that causes a VM exit leaves CR2 alone, Vol3C 27.1). */
  pfLinear = 0;
  /** VMX non-root operation: the decoded controls of the current VMCS, or null (bare, or VMX root). */
  nonRoot: NonRoot | null = null;
}
