// Every "does this cause a VM exit?" decision of VMX non-root operation, in one module (Intel SDM
// Vol3C 25.1-25.2 for instructions and events, 25.3 for the changed behaviour of instructions that
// do not exit). Instruction handlers call these only when `c.nonRoot !== null`; a function either
// returns (no exit: the instruction proceeds, possibly with a value to use) or performs the VM exit
// and throws VMEXIT, which unwinds the instruction (its RIP is saved, so it is not retired).
//
// Relative priority (25.1.1): #UD, privilege-based faults and I/O-permission #GP come first — so
// handlers run their own CPL/IOPL checks before calling in here — then these exits, then the
// instruction's remaining faults.

import type { CPU } from '../cpu/cpu.js';
import type { Insn } from '../cpu/insn.js';
import { CR0, EXC } from '../cpu/arch.js';
import { EventKind } from '../cpu/exceptions.js';
import { EXIT_REASON } from './exit-reasons.js';
import { vmExit, VMEXIT } from './exit.js';
import type { NonRoot } from './nonroot.js';
import { CR_ACCESS, INTR_INFO, INTR_TYPE, PIN, PROC, PROC2, QUAL_CR, QUAL_DR, QUAL_EPT, QUAL_IO, EXIT_CTL } from './controls.js';
import { EptAccess } from './ept.js';

/**
 * Perform an exit caused by the instruction being executed (its RIP and length are saved).
 * `linear` is the guest-linear address field (LMSW with a memory operand, INS/OUTS: Vol3C 27.2.1).
 */
export function exitInstr(c: CPU, i: Insn, reason: number, qualification: number, instrInfo = 0, linear = 0): never {
  const u = c.nonRoot!.unit, x = u.x;
  x.reset();
  x.rip = c.prevEip; x.ripValid = true;
  x.instrLen = i.len;
  x.qualification = qualification | 0;
  x.instrInfo = instrInfo;
  x.guestLinear = linear;
  c.eip = c.prevEip;
  vmExit(u, reason);
  throw VMEXIT;
}

// ================================================================ instructions that always exit (25.1.2)

export function cpuidExits(c: CPU, i: Insn): never { return exitInstr(c, i, EXIT_REASON.CPUID, 0); }
export function invdExits(c: CPU, i: Insn): never { return exitInstr(c, i, EXIT_REASON.INVD, 0); }

/** VMCALL, VMCLEAR, VMLAUNCH, VMPTRLD, VMPTRST, VMREAD, VMRESUME, VMWRITE, VMXOFF, VMXON, INVEPT, INVVPID. */
export function vmxInstructionExits(c: CPU, i: Insn, reason: number, qualification = 0, instrInfo = 0): never {
  return exitInstr(c, i, reason, qualification, instrInfo);
}

// ================================================================ conditional instruction exits (25.1.3)

export function hlt(c: CPU, i: Insn): void {
  if ((c.nonRoot!.proc & PROC.HLT_EXITING) !== 0) exitInstr(c, i, EXIT_REASON.HLT, 0);
}
export function invlpg(c: CPU, i: Insn, linear: number): void {
  if ((c.nonRoot!.proc & PROC.INVLPG_EXITING) !== 0) exitInstr(c, i, EXIT_REASON.INVLPG, linear);
}
export function rdpmc(c: CPU, i: Insn): void {
  if ((c.nonRoot!.proc & PROC.RDPMC_EXITING) !== 0) exitInstr(c, i, EXIT_REASON.RDPMC, 0);
}
/** RDTSC: exits with "RDTSC exiting"; otherwise returns the TSC offset to add (25.3 "RDTSC"). */
export function rdtsc(c: CPU, i: Insn): number {
  const nr = c.nonRoot!;
  if ((nr.proc & PROC.RDTSC_EXITING) !== 0) exitInstr(c, i, EXIT_REASON.RDTSC, 0);
  return nr.tscOffset;
}
export function wbinvd(c: CPU, i: Insn): void {
  if ((c.nonRoot!.proc2 & PROC2.WBINVD_EXITING) !== 0) exitInstr(c, i, EXIT_REASON.WBINVD, 0);
}
/** PAUSE (F3 90). PAUSE-loop exiting is not supported; only "PAUSE exiting". */
export function pause(c: CPU, i: Insn): void {
  if ((c.nonRoot!.proc & PROC.PAUSE_EXITING) !== 0) exitInstr(c, i, EXIT_REASON.PAUSE, 0);
}

/** LGDT LIDT SGDT SIDT (reason 46) and LLDT LTR SLDT STR (reason 47) with "descriptor-table exiting". */
export function descriptorTable(c: CPU, i: Insn, ldtrTr: boolean, instrIdentity: number): void {
  if ((c.nonRoot!.proc2 & PROC2.DESCRIPTOR_TABLE_EXITING) === 0) return;
  exitInstr(c, i, ldtrTr ? EXIT_REASON.LDTR_TR_ACCESS : EXIT_REASON.GDTR_IDTR_ACCESS, i.mod === 3 ? 0 : i.disp, descriptorInstrInfo(i, instrIdentity));
}

/** VM-exit instruction information for descriptor-table and VMX instructions (Vol3C 27.2.5, Tables 27-10/27-11). */
export function descriptorInstrInfo(i: Insn, identity: number): number {
  let v = (i.a32 ? 1 : 0) << 7 | (i.o32 ? 1 : 0) << 11 | (identity & 3) << 28;
  if (i.mod === 3) return v | (1 << 10) | (i.rm << 3);
  v |= (i.seg & 7) << 15;
  if (i.index !== 16) v |= (i.index & 7) << 18 | (i.scale << 0); else v |= 1 << 22;
  if (i.base !== 16) v |= (i.base & 7) << 23; else v |= 1 << 27;
  return v;
}

// ---------------------------------------------------------------- control registers (25.1.3, 25.3)

/** MOV to CR0/CR3/CR4: exits per the masks and shadows / CR3-target list; returns the value to load. */
export function movToCr(c: CPU, i: Insn, cr: number, gpr: number, value: number): number {
  const nr = c.nonRoot!;
  const qual = cr | (CR_ACCESS.MOV_TO_CR << QUAL_CR.ACCESS_SHIFT) | (gpr << QUAL_CR.GPR_SHIFT);
  if (cr === 0) {
    // Exits if any owned bit (mask = 1) of the source differs from the read shadow.
    if (((value ^ nr.cr0Shadow) & nr.cr0Mask) !== 0) exitInstr(c, i, EXIT_REASON.CR_ACCESS, qual);
    return (value & ~nr.cr0Mask) | (c.cr0 & nr.cr0Mask); // owned bits keep their current value
  }
  if (cr === 4) {
    if (((value ^ nr.cr4Shadow) & nr.cr4Mask) !== 0) exitInstr(c, i, EXIT_REASON.CR_ACCESS, qual);
    return (value & ~nr.cr4Mask) | (c.cr4 & nr.cr4Mask);
  }
  if (cr === 3 && (nr.proc & PROC.CR3_LOAD_EXITING) !== 0) {
    for (let k = 0; k < nr.cr3TargetCount; k++) if (nr.cr3Targets[k] === value) return value;
    exitInstr(c, i, EXIT_REASON.CR_ACCESS, qual);
  }
  return value;
}

/** MOV from CR0/CR3/CR4: CR3-store exiting; CR0/CR4 read through the shadows. Returns the value read. */
export function movFromCr(c: CPU, i: Insn, cr: number, gpr: number): number {
  const nr = c.nonRoot!;
  if (cr === 3) {
    if ((nr.proc & PROC.CR3_STORE_EXITING) !== 0) {
      exitInstr(c, i, EXIT_REASON.CR_ACCESS, 3 | (CR_ACCESS.MOV_FROM_CR << QUAL_CR.ACCESS_SHIFT) | (gpr << QUAL_CR.GPR_SHIFT));
    }
    return c.cr3;
  }
  return cr === 0 ? nr.cr0View(c.cr0) : cr === 4 ? nr.cr4View(c.cr4) : cr === 2 ? c.cr2 : 0;
}

/** CLTS: exits if CR0.TS is owned and its shadow is 1; owned with shadow 0: no change (25.3). Returns whether TS may be cleared. */
export function clts(c: CPU, i: Insn): boolean {
  const nr = c.nonRoot!;
  if ((nr.cr0Mask & CR0.TS) === 0) return true;
  if ((nr.cr0Shadow & CR0.TS) !== 0) exitInstr(c, i, EXIT_REASON.CR_ACCESS, CR_ACCESS.CLTS << QUAL_CR.ACCESS_SHIFT);
  return false;
}

/**
 * LMSW: exits if an owned bit among PE, MP, EM, TS would change relative to the shadow (PE only when
 * the shadow has PE = 0 and the source PE = 1). Otherwise returns the new CR0 (owned bits unchanged).
 */
export function lmsw(c: CPU, i: Insn, src: number, memAddr: number): number {
  const nr = c.nonRoot!;
  const low = CR0.MP | CR0.EM | CR0.TS;
  const owned = nr.cr0Mask;
  const exits = ((src ^ nr.cr0Shadow) & owned & low) !== 0 ||
    ((owned & CR0.PE) !== 0 && (nr.cr0Shadow & CR0.PE) === 0 && (src & CR0.PE) !== 0);
  if (exits) {
    const qual = (CR_ACCESS.LMSW << QUAL_CR.ACCESS_SHIFT) | (i.mod !== 3 ? QUAL_CR.LMSW_MEMORY : 0) | ((src & 0xffff) << QUAL_CR.LMSW_DATA_SHIFT);
    exitInstr(c, i, EXIT_REASON.CR_ACCESS, qual, 0, i.mod !== 3 ? memAddr : 0);
  }
  // LMSW can set but not clear PE; only PE/MP/EM/TS are affected; owned bits stay.
  const change = (low | CR0.PE) & ~owned;
  let v = (c.cr0 & ~change) | (src & change);
  if ((c.cr0 & CR0.PE) !== 0) v |= CR0.PE;
  return v;
}

/** Guest view of CR0 for SMSW (25.3): owned bits from the shadow. */
export function smswView(c: CPU): number { return c.nonRoot!.cr0View(c.cr0); }

/** MOV DR with "MOV-DR exiting". */
export function movDr(c: CPU, i: Insn, dr: number, gpr: number, fromDr: boolean): void {
  if ((c.nonRoot!.proc & PROC.MOV_DR_EXITING) === 0) return;
  exitInstr(c, i, EXIT_REASON.DR_ACCESS, dr | (fromDr ? QUAL_DR.DIRECTION_FROM_DR : 0) | (gpr << QUAL_DR.GPR_SHIFT));
}

// ---------------------------------------------------------------- I/O (25.1.3), after the I/O-permission checks

/** True if any port of [port, port + size) is set in the I/O bitmaps, or the access wraps past FFFFH. */
function ioBitmapSays(c: CPU, nr: NonRoot, port: number, size: number): boolean {
  if (port + size - 1 > 0xffff) return true;
  for (let p = port; p < port + size; p++) {
    const bitmap = p < 0x8000 ? nr.ioBitmapA : nr.ioBitmapB;
    const q = p & 0x7fff;
    if ((c.mem.read(bitmap + (q >>> 3), 1) >>> (q & 7) & 1) !== 0) return true;
  }
  return false;
}

/**
 * IN/OUT/INS/OUTS: exits with "unconditional I/O exiting" (and no bitmaps) or per the I/O bitmaps.
 * For INS/OUTS, `linear` is the memory operand's linear address and `seg` its segment.
 */
export function io(c: CPU, i: Insn, port: number, size: number, isIn: boolean, isString: boolean, immediate: boolean, linear = 0, seg = 0): void {
  const nr = c.nonRoot!;
  const exits = (nr.proc & PROC.USE_IO_BITMAPS) !== 0 ? ioBitmapSays(c, nr, port, size) : (nr.proc & PROC.UNCONDITIONAL_IO_EXITING) !== 0;
  if (!exits) return;
  const qual = (size - 1) | (isIn ? QUAL_IO.DIRECTION_IN : 0) | (isString ? QUAL_IO.STRING : 0) |
    (isString && i.rep !== 0 ? QUAL_IO.REP : 0) | (immediate ? QUAL_IO.OPERAND_IMMEDIATE : 0) | (port << QUAL_IO.PORT_SHIFT);
  if (isString) {
    // VM-exit instruction information for INS/OUTS (Table 27-8): address size, segment.
    exitInstr(c, i, EXIT_REASON.IO_INSTRUCTION, qual, ((i.a32 ? 1 : 0) << 7) | ((seg & 7) << 15), linear);
  }
  exitInstr(c, i, EXIT_REASON.IO_INSTRUCTION, qual);
}

// ---------------------------------------------------------------- MSRs (25.1.3)

/** RDMSR / WRMSR: exits without MSR bitmaps, or per the bitmap for ECX in 0-1FFFH / C0000000H-C0001FFFH. */
export function msr(c: CPU, i: Insn, index: number, write: boolean): void {
  const nr = c.nonRoot!;
  let exits = true;
  if ((nr.proc & PROC.USE_MSR_BITMAPS) !== 0) {
    const e = index >>> 0;
    let off = -1;
    if (e <= 0x1fff) off = (write ? 2048 : 0) + (e >>> 3);
    else if (e >= 0xc0000000 && e <= 0xc0001fff) off = (write ? 3072 : 1024) + ((e - 0xc0000000) >>> 3);
    exits = off < 0 || ((c.mem.read(nr.msrBitmap + off, 1) >>> (e & 7)) & 1) !== 0;
  }
  if (exits) exitInstr(c, i, write ? EXIT_REASON.WRMSR : EXIT_REASON.RDMSR, 0);
}

// ================================================================ events (25.2)

/** Interruption type of an event kind for the exit/vectoring information fields. */
export function intrType(kind: EventKind): number {
  switch (kind) {
    case EventKind.External: return INTR_TYPE.EXTERNAL_INTERRUPT;
    case EventKind.Nmi: return INTR_TYPE.NMI;
    case EventKind.Software: return INTR_TYPE.SOFTWARE_INTERRUPT;
    case EventKind.SoftException: return INTR_TYPE.SOFTWARE_EXCEPTION;
    case EventKind.Icebp: return INTR_TYPE.PRIVILEGED_SOFTWARE_EXCEPTION;
    default: return INTR_TYPE.HARDWARE_EXCEPTION;
  }
}

/** Does this exception cause a VM exit (exception bitmap, #PF error-code mask/match)? */
export function exceptionExits(nr: NonRoot, vector: number, errorCode: number): boolean {
  if (vector === EXC.PF) {
    const bit = (nr.exceptionBitmap >>> 14) & 1;
    return ((errorCode & nr.pfecMask) === nr.pfecMatch) ? bit === 1 : bit === 0;
  }
  return ((nr.exceptionBitmap >>> vector) & 1) !== 0;
}

/**
 * Called by event delivery for each event about to go through the IDT in non-root operation.
 * Exceptions (not INT n) consult the exception bitmap; NMIs "NMI exiting". If the event exits,
 * performs the exit (reason 0, with the interruption information) and throws VMEXIT.
 * `pfLinear` is the faulting address of a #PF (the exit qualification; CR2 is not written).
 */
export function eventExits(c: CPU, vector: number, kind: EventKind, errorCode: number, pfLinear: number, dr6: number): void {
  const nr = c.nonRoot!;
  let exits = false;
  if (kind === EventKind.Nmi) exits = (nr.pin & PIN.NMI_EXITING) !== 0;
  else if (kind === EventKind.Fault || kind === EventKind.Trap || kind === EventKind.SoftException || kind === EventKind.Icebp) {
    exits = exceptionExits(nr, vector, errorCode);
  }
  if (!exits) return;
  const u = nr.unit, x = u.x;
  x.reset();
  const hasCode = errorCode >= 0;
  x.intrInfo = vector | (intrType(kind) << INTR_INFO.TYPE_SHIFT) | (hasCode ? INTR_INFO.ERROR_CODE_VALID : 0) | INTR_INFO.VALID;
  x.intrErrorCode = hasCode ? errorCode : 0;
  // #DB: the causes of this exception (B3-B0, BD, BS; Table 27-1), which DR6 does not receive (27.1).
  x.qualification = vector === EXC.PF ? pfLinear : vector === EXC.DB ? dr6 & 0x600f : 0;
  if (vector === EXC.DB) c.dbgCause = 0;
  if (kind === EventKind.SoftException || kind === EventKind.Icebp) {
    // INT3/INTO/INT1: RIP of the instruction, with its length, so the VMM can re-inject it.
    x.rip = c.prevEip; x.ripValid = true; x.instrLen = ((c.eip - c.prevEip) & c.ipMask) || 1;
  } else if (kind === EventKind.Fault) {
    x.rip = c.eip; x.ripValid = true;
  }
  vmExit(u, EXIT_REASON.EXCEPTION_NMI);
  throw VMEXIT;
}

/** IRET in non-root operation (Vol3C 25.3): unblocks NMIs only without "NMI exiting"; with "virtual NMIs" it removes virtual-NMI blocking. */
export function iretNmiUnblocking(c: CPU): void {
  const nr = c.nonRoot!;
  if ((nr.pin & PIN.NMI_EXITING) === 0) c.nmiBlocked = false;
  else if ((nr.pin & PIN.VIRTUAL_NMIS) !== 0) nr.virtualNmiBlocked = false;
}

/** A triple fault in non-root operation is a VM exit (reason 2), not a shutdown (25.2). */
export function tripleFault(c: CPU): never {
  const u = c.nonRoot!.unit;
  u.x.reset();
  u.nr.vectoringInfo = 0;
  vmExit(u, EXIT_REASON.TRIPLE_FAULT);
  throw VMEXIT;
}

/**
 * Task switches always exit in non-root operation (25.1.2); qualification: selector and source
 * (Table 27-2). `byInstruction`: CALL/JMP/IRET (RIP and length of that instruction are saved);
 * else a task gate in the IDT during event delivery (the event is the IDT-vectoring information).
 */
export function taskSwitch(c: CPU, selector: number, source: number, byInstruction: boolean): never {
  const nr = c.nonRoot!, u = nr.unit;
  u.x.reset();
  u.x.qualification = (selector & 0xffff) | (source << 30);
  u.x.rip = byInstruction ? c.prevEip : nr.vectoringRip; u.x.ripValid = true;
  if (byInstruction) u.x.instrLen = (c.eip - c.prevEip) & c.ipMask;
  c.eip = u.x.rip;
  vmExit(u, EXIT_REASON.TASK_SWITCH);
  throw VMEXIT;
}

/**
 * External interrupt recognized in non-root operation with "external-interrupt exiting" = 1.
 * With "acknowledge interrupt on exit" the vector is taken from the controller and reported.
 */
export function externalInterruptExit(c: CPU): void {
  const nr = c.nonRoot!, u = nr.unit;
  u.x.reset();
  if ((nr.exitCtl & EXIT_CTL.ACKNOWLEDGE_INTERRUPT_ON_EXIT) !== 0 && c.intc !== null) {
    const vec = c.intc.acknowledge();
    u.x.intrInfo = vec | (INTR_TYPE.EXTERNAL_INTERRUPT << INTR_INFO.TYPE_SHIFT) | INTR_INFO.VALID;
  }
  vmExit(u, EXIT_REASON.EXTERNAL_INTERRUPT);
}

/** Exits at an instruction boundary with no further information (interrupt/NMI window, MTF, preemption timer). */
export function boundaryExit(c: CPU, reason: number): void {
  const u = c.nonRoot!.unit;
  u.x.reset();
  vmExit(u, reason);
}

// ================================================================ EPT (28.2.3)

/**
 * An EPT violation or misconfiguration while translating `gpa` (for linear address `lin`, or -1
 * when no linear address is involved, e.g. PDPTE loading). `final` = the access was to the final
 * translation (not a guest paging-structure entry). Performs the exit and throws VMEXIT.
 */
export function eptFault(c: CPU, misconfig: boolean, gpa: number, lin: number, access: number, final: boolean): never {
  const nr = c.nonRoot!, u = nr.unit, x = u.x;
  x.reset();
  x.guestPhysical = gpa;
  x.rip = nr.vectoringInfo !== 0 ? nr.vectoringRip : c.prevEip; x.ripValid = true;
  if (!misconfig) {
    let q = ((access & EptAccess.Read) !== 0 ? QUAL_EPT.READ : 0) | ((access & EptAccess.Write) !== 0 ? QUAL_EPT.WRITE : 0) |
      ((access & EptAccess.Fetch) !== 0 ? QUAL_EPT.FETCH : 0) | ((nr.ept!.perm & 7) << 3);
    if (lin !== -1) { q |= QUAL_EPT.GLA_VALID | (final ? QUAL_EPT.GLA_TRANSLATED : 0); x.guestLinear = lin; }
    x.qualification = q;
  }
  c.eip = x.rip;
  vmExit(u, misconfig ? EXIT_REASON.EPT_MISCONFIG : EXIT_REASON.EPT_VIOLATION);
  throw VMEXIT;
}

// ================================================================ INIT and SIPI (25.2)

/**
 * An INIT signal reaches a processor in VMX non-root operation: always a VM exit (reason 3), at an
 * instruction boundary; the guest state saved is the state before the INIT.
 */
export function initSignalExit(c: CPU): void {
  const u = c.nonRoot!.unit;
  u.x.reset();
  vmExit(u, EXIT_REASON.INIT_SIGNAL);
}

/**
 * A SIPI reaches a processor whose guest is in the wait-for-SIPI activity state: a VM exit
 * (reason 4) with the SIPI vector as the qualification. True if it exited; a SIPI to a guest in
 * any other activity state is discarded, as SIPIs are outside wait-for-SIPI (Vol3A 8.4.4.1).
 */
export function sipiExit(c: CPU, vector: number): boolean {
  if (!c.waitForSipi) return false;
  const u = c.nonRoot!.unit;
  u.x.reset();
  u.x.qualification = vector & 0xff;
  vmExit(u, EXIT_REASON.SIPI);
  return true;
}
