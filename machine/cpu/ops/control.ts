// Control family: HLT, CLI/STI; far JMP/CALL/RET (direct and through call gates), INT n/INT3/INTO/
// INT1, IRET (real, protected, to and from virtual-8086 mode), SYSENTER/SYSEXIT, BOUND,
// LDS/LES/LSS/LFS/LGS and MOV to/from segment registers. Each follows the SDM Vol2 pseudo-code of
// the instruction; faults are raised before any register changes (memory below the stack pointer
// may already be written, which is invisible to the program).
// Hardware task switches (JMP/CALL to a TSS or task gate, IRET with NT=1) are not implemented:
// they stop the run with a report via c.unsupported().

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { AR, EFLAGS, EXC, IOPL_SHIFT, SEG, SYS_TYPE } from '../arch.js';
import { Mode } from '../state.js';
import { EventKind } from '../exceptions.js';
import * as vmx from '../../vmx/intercepts.js';
import { QUAL_TASK_SWITCH } from '../../vmx/controls.js';
import {
  checkStackSeg, Descriptor, loadCS, loadFromDescriptor, loadSeg, nullifyInaccessible, readDescriptor, setAccessed, tssStack,
} from '../segments.js';

// ================================================================== HLT, CLI, STI

/** HLT (CPL 0 only): stop until an interrupt, NMI or reset (SDM Vol2 HLT). */
export function op_F4_hlt(c: CPU, i: Insn): void {
  if (c.cpl !== 0) c.gp(0);
  if (c.nonRoot !== null) vmx.hlt(c, i);
  c.halted = true;
  c.blockStop = true;
}

function iopl(c: CPU): number { return (c.flags >>> IOPL_SHIFT) & 3; }

/** CLI/STI: allowed when CPL <= IOPL (protected mode) or IOPL = 3 (V86); no VME/PVI support. */
function ifAllowed(c: CPU): boolean {
  if (c.mode === Mode.Real) return true;
  return c.mode === Mode.V86 ? iopl(c) === 3 : c.cpl <= iopl(c);
}
export function op_FA_cli(c: CPU): void { if (!ifAllowed(c)) c.gp(0); c.flags &= ~EFLAGS.IF; }
export function op_FB_sti(c: CPU): void {
  if (!ifAllowed(c)) c.gp(0);
  // STI inhibits interrupts until after the next instruction, only if IF was clear (SDM Vol2 STI).
  if ((c.flags & EFLAGS.IF) === 0) { c.intShadow = true; c.shadowMovSs = false; }
  c.flags |= EFLAGS.IF;
}

// ================================================================== helpers

// Scratch descriptors: the selector being transferred to (code segment or gate), the code segment
// a gate points to, and a stack segment. Separate from segments.ts's own scratch.
const DESC = new Descriptor();
const CSD = new Descriptor();
const SSD = new Descriptor();
/** Call-gate parameters read from the caller's stack (at most 31). */
const PARAMS = new Int32Array(32);

function getSp(c: CPU): number { return c.ss32 ? c.r32[4] : c.r16[8]; }
/** Set the stack pointer by the current SS.B: a 16-bit SS keeps ESP's upper half (SDM Vol3A 6.12.1 note on 16-bit stacks). */
function setSp(c: CPU, v: number): void { if (c.ss32) c.r32[4] = v; else c.r16[8] = v; }
function subSp(ss32: boolean, sp: number, n: number): number { return ss32 ? (sp - n) | 0 : (sp - n) & 0xffff; }

/**
 * Push the return address CS:EIP (two `n`-byte slots) on the current stack for a far CALL: room
 * first (#SS(0)), then the target offset against `limit` (#GP(0)), as the SDM orders the checks.
 * Returns the new stack pointer; the caller commits it together with CS.
 */
function pushReturn(c: CPU, n: number, target: number, limit: number): number {
  const sp0 = getSp(c);
  const s1 = subSp(c.ss32, sp0, n), s2 = subSp(c.ss32, sp0, 2 * n);
  const la1 = c.lin(SEG.SS, s1, n, true), la2 = c.lin(SEG.SS, s2, n, true);
  if ((target >>> 0) > limit) c.gp(0);
  if (n === 4) { c.wr32(la1, c.segSel[SEG.CS]); c.wr32(la2, c.eip); }
  else { c.wr16(la1, c.segSel[SEG.CS]); c.wr16(la2, c.eip & 0xffff); }
  return s2;
}

/** Linear address of an `n`-byte slot at offset `sp` of a not-yet-loaded stack segment; #SS(sel) outside it. */
function newStackSlot(c: CPU, d: Descriptor, sel: number, sp: number, n: number, ss32: boolean): number {
  const o = sp >>> 0;
  const bad = d.dc ? (o <= d.limit || o + n - 1 > (ss32 ? 0xffffffff : 0xffff)) : o + n - 1 > d.limit;
  if (bad) c.raise(EXC.SS, sel & 0xfffc);
  return (d.base + sp) | 0;
}

/** Offset of a call gate (16-bit gates: low word only). */
function gateOffset(g: Descriptor): number {
  return g.type === SYS_TYPE.CALL_GATE32 ? (g.lo & 0xffff) | (g.hi & 0xffff0000) : g.lo & 0xffff;
}

/**
 * Read and check the code segment a call gate names (SDM Vol2 CALL/JMP "CALL-GATE"): null → #GP(0);
 * not code, or DPL > CPL (CALL) / conforming DPL > CPL or non-conforming DPL ≠ CPL (JMP) → #GP(sel);
 * not present → #NP(sel).
 */
function gateTarget(c: CPU, g: Descriptor, isJmp: boolean): Descriptor {
  const sel = g.lo >>> 16, s = sel & 0xfffc;
  if (s === 0) c.gp(0);
  const d = readDescriptor(c, sel, EXC.GP, 0, CSD);
  if (!d.isCode) c.gp(s);
  if (isJmp ? (d.dc ? d.dpl > c.cpl : d.dpl !== c.cpl) : d.dpl > c.cpl) c.gp(s);
  if (!d.present) c.raise(EXC.NP, s);
  return d;
}

/** Task gate or available TSS as a JMP/CALL target: the privilege and presence checks, then stop (no task switch). */
function taskTarget(c: CPU, sel: number, d: Descriptor, isJmp: boolean): void {
  if (d.dpl < c.cpl || d.dpl < (sel & 3)) c.gp(sel & 0xfffc);
  if (!d.present) c.raise(EXC.NP, sel & 0xfffc);
  // In VMX non-root operation every task switch is a VM exit (Vol3C 25.1.2).
  // The qualification names the TSS: through a task gate, the gate's TSS selector (Vol3C Table 27-2).
  if (c.nonRoot !== null) vmx.taskSwitch(c, d.type === 5 ? d.lo >>> 16 : sel, isJmp ? QUAL_TASK_SWITCH.JMP : QUAL_TASK_SWITCH.CALL, true);
  c.unsupported('far jmp/call to a TSS or task gate (hardware task switch)');
}

/**
 * Check a direct code-segment target of JMP/CALL (SDM "CONFORMING-CODE-SEGMENT" /
 * "NONCONFORMING-CODE-SEGMENT"): conforming needs DPL <= CPL; non-conforming RPL <= CPL and DPL = CPL.
 */
function checkDirectCode(c: CPU, sel: number, d: Descriptor): void {
  const s = sel & 0xfffc;
  if (!d.isCode) c.gp(s);
  if (d.dc ? d.dpl > c.cpl : ((sel & 3) > c.cpl || d.dpl !== c.cpl)) c.gp(s);
  if (!d.present) c.raise(EXC.NP, s);
}

/** A JMP/CALL target selector: null → #GP(0), beyond the table → #GP(sel). Returns its descriptor (DESC). */
function readTarget(c: CPU, sel: number): Descriptor {
  if ((sel & 0xfffc) === 0) c.gp(0);
  return readDescriptor(c, sel, EXC.GP, 0, DESC);
}

function isTaskTarget(t: number): boolean {
  return t === SYS_TYPE.TASK_GATE || t === SYS_TYPE.TSS16_AVAIL || t === SYS_TYPE.TSS32_AVAIL;
}

// Far pointer read from memory (m16:16 / m16:32): offset first, then the selector word.
let fpOff = 0, fpSel = 0;
function readFarPtr(c: CPU, i: Insn): void {
  const n = i.o32 ? 4 : 2;
  const ea = c.ea(i);
  const la = c.lin(i.seg, ea, n, false);
  const la2 = c.lin(i.seg, i.a32 ? (ea + n) | 0 : (ea + n) & 0xffff, 2, false);
  fpOff = n === 4 ? c.rd32(la) : c.rd16(la);
  fpSel = c.rd16(la2);
}

// ================================================================== far JMP

function farJmp(c: CPU, sel: number, off: number): void {
  if (c.mode !== Mode.Protected) {
    // Real-address / virtual-8086 mode: CS = selector, base = selector × 16.
    if ((off >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
    c.loadSegReal(SEG.CS, sel);
    c.eip = off;
    c.updateMode();
    return;
  }
  const d = readTarget(c, sel);
  if (d.isSegment) {
    checkDirectCode(c, sel, d);
    if ((off >>> 0) > d.limit) c.gp(0);
    loadCS(c, sel, d, c.cpl); // CS.RPL ← CPL
    c.eip = off;
    return;
  }
  const t = d.type;
  if (t === SYS_TYPE.CALL_GATE16 || t === SYS_TYPE.CALL_GATE32) {
    // JMP through a call gate: only to the same privilege (no stack switch).
    if (d.dpl < c.cpl || d.dpl < (sel & 3)) c.gp(sel & 0xfffc);
    if (!d.present) c.raise(EXC.NP, sel & 0xfffc);
    const cs = gateTarget(c, d, true);
    const off2 = gateOffset(d);
    if ((off2 >>> 0) > cs.limit) c.gp(0);
    loadCS(c, d.lo >>> 16, cs, c.cpl);
    c.eip = off2;
    return;
  }
  if (isTaskTarget(t)) { taskTarget(c, sel, d, true); return; }
  c.gp(sel & 0xfffc); // data, LDT, busy TSS, interrupt/trap gate
}

export function op_EA_jmpfAp(c: CPU, i: Insn): void { farJmp(c, i.imm2, i.imm); }
export function op_FF_5_jmpfMp(c: CPU, i: Insn): void { readFarPtr(c, i); farJmp(c, fpSel, fpOff); }

// ================================================================== far CALL

function farCall(c: CPU, sel: number, off: number, o32: boolean): void {
  const n = o32 ? 4 : 2;
  if (c.mode !== Mode.Protected) {
    const sp = pushReturn(c, n, off, c.segLimit[SEG.CS]);
    setSp(c, sp);
    c.loadSegReal(SEG.CS, sel);
    c.eip = off;
    c.updateMode();
    return;
  }
  const d = readTarget(c, sel);
  if (d.isSegment) {
    checkDirectCode(c, sel, d);
    const sp = pushReturn(c, n, off, d.limit);
    setAccessed(c, d); // may #PF: do it before ESP changes
    setSp(c, sp);
    loadCS(c, sel, d, c.cpl);
    c.eip = off;
    return;
  }
  const t = d.type;
  if (t === SYS_TYPE.CALL_GATE16 || t === SYS_TYPE.CALL_GATE32) { callGate(c, sel, d); return; }
  if (isTaskTarget(t)) { taskTarget(c, sel, d, false); return; }
  c.gp(sel & 0xfffc);
}

/** CALL through a call gate (SDM Vol2 CALL "CALL-GATE"); push sizes follow the gate's size. */
function callGate(c: CPU, gsel: number, g: Descriptor): void {
  if (g.dpl < c.cpl || (gsel & 3) > g.dpl) c.gp(gsel & 0xfffc);
  if (!g.present) c.raise(EXC.NP, gsel & 0xfffc);
  const d = gateTarget(c, g, false);
  const csSel = g.lo >>> 16;
  const n = g.type === SYS_TYPE.CALL_GATE32 ? 4 : 2;
  const off = gateOffset(g);
  if (!d.dc && d.dpl < c.cpl) { callGateInner(c, g, d, csSel, off, n); return; }
  // SAME-PRIVILEGE.
  const sp = pushReturn(c, n, off, d.limit);
  setAccessed(c, d);
  setSp(c, sp);
  loadCS(c, csSel, d, c.cpl);
  c.eip = off;
}

/**
 * "MORE-PRIVILEGE": switch to the TSS stack of the target DPL, push the caller's SS:ESP, copy the
 * gate's parameter count of words/dwords from the caller's stack, then push CS:EIP.
 */
function callGateInner(c: CPU, g: Descriptor, d: Descriptor, csSel: number, off: number, n: number): void {
  const newCpl = d.dpl;
  const { ss, esp } = tssStack(c, newCpl, 0);           // #TS(TSS) if beyond the TSS limit
  const ssd = checkStackSeg(c, ss, newCpl, 0, SSD);     // #TS(SS) / #SS(SS)
  const ss32 = (ssd.ar & AR.DB) !== 0;
  const count = g.hi & 0x1f;
  const slots = 4 + count;
  // Room for all slots on the new stack (#SS(SS)), then the target offset (#GP(0)).
  for (let k = 1; k <= slots; k++) newStackSlot(c, ssd, ss, subSp(ss32, esp, k * n), n, ss32);
  if ((off >>> 0) > d.limit) c.gp(0);
  // Parameters, read from the caller's stack at the caller's privilege (#SS(0) / #PF).
  for (let k = 0; k < count; k++) PARAMS[k] = c.peekStack(k * n, n);
  const oldSs = c.segSel[SEG.SS], oldSp = getSp(c), oldCs = c.segSel[SEG.CS], oldEip = c.eip;
  let sp = esp;
  const push = (v: number): void => {
    sp = subSp(ss32, sp, n);
    c.wrPriv(newStackSlot(c, ssd, ss, sp, n, ss32), n, n === 2 ? v & 0xffff : v, false);
  };
  push(oldSs); push(oldSp);
  for (let k = count - 1; k >= 0; k--) push(PARAMS[k]);
  push(oldCs); push(oldEip);
  // Commit: SS:ESP, then CS:EIP at the new privilege.
  setAccessed(c, ssd); setAccessed(c, d);
  loadFromDescriptor(c, SEG.SS, ss, ssd);
  if (ss32) c.r32[4] = sp; else { c.r32[4] = esp; c.r16[8] = sp; }
  loadCS(c, csSel, d, newCpl);
  c.eip = off;
}

export function op_9A_callfAp(c: CPU, i: Insn): void { farCall(c, i.imm2, i.imm, i.o32); }
export function op_FF_3_callfMp(c: CPU, i: Insn): void { readFarPtr(c, i); farCall(c, fpSel, fpOff, i.o32); }

// ================================================================== far RET

/**
 * Checks on the return CS of RETF/IRET (SDM Vol2 RET "PROTECTED-MODE", IRET "PROTECTED-MODE-RETURN"):
 * null → #GP(0); not code, RPL < CPL, conforming DPL > RPL, non-conforming DPL ≠ RPL → #GP(sel);
 * not present → #NP(sel).
 */
function checkReturnCS(c: CPU, sel: number): Descriptor {
  const s = sel & 0xfffc, rpl = sel & 3;
  if (s === 0) c.gp(0);
  const d = readDescriptor(c, sel, EXC.GP, 0, CSD);
  if (!d.isCode || rpl < c.cpl || (d.dc ? d.dpl > rpl : d.dpl !== rpl)) c.gp(s);
  if (!d.present) c.raise(EXC.NP, s);
  return d;
}

/** Checks on the SS popped by a return to an outer level: RPL = DPL = return RPL, writable data, present (#SS(sel)). */
function checkReturnSS(c: CPU, sel: number, rpl: number): Descriptor {
  const s = sel & 0xfffc;
  if (s === 0) c.gp(0);
  const d = readDescriptor(c, sel, EXC.GP, 0, SSD);
  if ((sel & 3) !== rpl || !d.isSegment || d.isCode || !d.rw || d.dpl !== rpl) c.gp(s);
  if (!d.present) c.raise(EXC.SS, s);
  return d;
}

/** Load SS:ESP popped on a return to an outer level; a 16-bit SS takes only SP. */
function loadOuterStack(c: CPU, ss: number, ssd: Descriptor, esp: number): void {
  loadFromDescriptor(c, SEG.SS, ss, ssd);
  setSp(c, esp);
}

function retf(c: CPU, i: Insn, imm: number): void {
  const n = i.o32 ? 4 : 2;
  // Top 2n bytes must be within the stack (#SS(0)); the CS slot is popped as n bytes.
  const eip = c.peekStack(0, n), sel = c.peekStack(n, n) & 0xffff;
  if (c.mode !== Mode.Protected) {
    if ((eip >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
    c.adjustSp(2 * n + imm);
    c.loadSegReal(SEG.CS, sel);
    c.eip = eip;
    c.updateMode();
    return;
  }
  const d = checkReturnCS(c, sel);
  const rpl = sel & 3;
  if (rpl === c.cpl) {
    // RETURN-TO-SAME-PRIVILEGE-LEVEL.
    if ((eip >>> 0) > d.limit) c.gp(0);
    setAccessed(c, d);
    c.adjustSp(2 * n + imm);
    loadCS(c, sel, d, rpl);
    c.eip = eip;
    return;
  }
  // RETURN-TO-OUTER-PRIVILEGE-LEVEL: SS:ESP sit above the Iw bytes of parameters.
  const esp = c.peekStack(2 * n + imm, n), ss = c.peekStack(3 * n + imm, n) & 0xffff;
  const ssd = checkReturnSS(c, ss, rpl);
  if ((eip >>> 0) > d.limit) c.gp(0);
  setAccessed(c, ssd); setAccessed(c, d);
  loadCS(c, sel, d, rpl);
  loadOuterStack(c, ss, ssd, esp);
  c.adjustSp(imm); // the Iw adjustment applies to the outer stack too (SDM Vol2 RET)
  nullifyInaccessible(c);
  c.eip = eip;
}

export function op_CB_retf(c: CPU, i: Insn): void { retf(c, i, 0); }
export function op_CA_retfIw(c: CPU, i: Insn): void { retf(c, i, i.imm & 0xffff); }

// ================================================================== INT n, INT3, INTO, INT1

/** INT n: IOPL-sensitive in virtual-8086 mode without VME (#GP(0) to the monitor, SDM Vol3A 20.2.7). */
export function op_CD_intIb(c: CPU, i: Insn): void {
  if (c.mode === Mode.V86 && iopl(c) < 3) c.gp(0);
  c.deliver(i.imm & 0xff, EventKind.Software, -1);
}
/** INT3 and INTO are not IOPL-sensitive in V86 mode; their gates are DPL-checked like INT n. */
export function op_CC_int3(c: CPU): void { c.deliver(EXC.BP, EventKind.SoftException, -1); }
export function op_CE_into(c: CPU): void { if (c.getOF() !== 0) c.deliver(EXC.OF, EventKind.SoftException, -1); }
/** INT1 (ICEBP): a #DB trap, not DPL-checked; error codes of faults during its delivery have EXT = 1. */
export function op_F1_int1(c: CPU): void { c.deliver(EXC.DB, EventKind.Icebp, -1); }

// ================================================================== IRET

/** EFLAGS bits that exist on this CPU (0-21 less the reserved ones); FIXED1 is forced by setFlagBits. */
const EFLAGS_ALL = 0x3f7fd5;
/** Real mode 32-bit IRET: all but VM, VIF, VIP (SDM Vol2 IRET: tempEFLAGS AND 257FD5H). */
const REAL_IRET32 = 0x257fd5;
const IRET_BASE = EFLAGS.CF | EFLAGS.PF | EFLAGS.AF | EFLAGS.ZF | EFLAGS.SF | EFLAGS.TF | EFLAGS.DF | EFLAGS.OF | EFLAGS.NT;

/** Protected-mode IRET: which EFLAGS bits the popped image may change at the current CPL/IOPL. */
function iretMask(c: CPU, o32: boolean): number {
  let m = IRET_BASE;
  if (o32) m |= EFLAGS.RF | EFLAGS.AC | EFLAGS.ID;
  if (c.cpl <= iopl(c)) m |= EFLAGS.IF;
  if (c.cpl === 0) { m |= EFLAGS.IOPL; if (o32) m |= EFLAGS.VIF | EFLAGS.VIP; }
  return m;
}

function iret(c: CPU, o32: boolean): void {
  // IRET unblocks NMIs even if it then faults (SDM Vol3A 6.7.1); in VMX non-root operation with
  // "NMI exiting" it leaves NMI blocking alone and unblocks virtual NMIs instead (Vol3C 25.3).
  if (c.nonRoot === null) c.nmiBlocked = false; else vmx.iretNmiUnblocking(c);
  const n = o32 ? 4 : 2;
  if (c.mode === Mode.V86 && iopl(c) < 3) c.gp(0); // trap to the V86 monitor (no VME)
  if (c.mode === Mode.Protected && (c.flags & EFLAGS.NT) !== 0) {
    if (c.nonRoot !== null) vmx.taskSwitch(c, c.rdSys(c.segBase[SEG.TR], 2), QUAL_TASK_SWITCH.IRET, true);
    c.unsupported('IRET with EFLAGS.NT=1 (task return: hardware task switch)');
    return;
  }
  const eip = c.peekStack(0, n), sel = c.peekStack(n, n) & 0xffff, fl = c.peekStack(2 * n, n);
  if (c.mode !== Mode.Protected) {
    // Real mode: all flags but VM/VIF/VIP. V86 (IOPL = 3): VM, IOPL, VIF, VIP are not popped.
    const mask = c.mode === Mode.Real
      ? (o32 ? REAL_IRET32 : 0x7fd5)
      : (o32 ? EFLAGS_ALL & ~(EFLAGS.VM | EFLAGS.IOPL | EFLAGS.VIF | EFLAGS.VIP) : 0x7fd5 & ~EFLAGS.IOPL);
    if ((eip >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
    c.adjustSp(3 * n);
    c.setFlagBits(fl, mask);
    c.loadSegReal(SEG.CS, sel);
    c.eip = eip;
    c.updateMode();
    return;
  }
  if (o32 && (fl & EFLAGS.VM) !== 0 && c.cpl === 0) { iretToV86(c, eip, sel, fl); return; }
  // PROTECTED-MODE-RETURN.
  const d = checkReturnCS(c, sel);
  const rpl = sel & 3;
  const mask = iretMask(c, o32); // uses the CPL before the return
  if (rpl === c.cpl) {
    if ((eip >>> 0) > d.limit) c.gp(0);
    setAccessed(c, d);
    c.adjustSp(3 * n);
    c.setFlagBits(fl, mask);
    loadCS(c, sel, d, rpl);
    c.eip = eip;
    return;
  }
  // RETURN-TO-OUTER-PRIVILEGE-LEVEL: pop ESP and SS too.
  const esp = c.peekStack(3 * n, n), ss = c.peekStack(4 * n, n) & 0xffff;
  const ssd = checkReturnSS(c, ss, rpl);
  if ((eip >>> 0) > d.limit) c.gp(0);
  setAccessed(c, ssd); setAccessed(c, d);
  c.setFlagBits(fl, mask);
  loadCS(c, sel, d, rpl);
  loadOuterStack(c, ss, ssd, esp);
  nullifyInaccessible(c);
  c.eip = eip;
}

/** RETURN-TO-VIRTUAL-8086-MODE (CPL 0, 32-bit IRET, VM=1 in the image): pop ESP, SS, ES, DS, FS, GS. */
function iretToV86(c: CPU, eip: number, cs: number, fl: number): void {
  const esp = c.peekStack(12, 4), ss = c.peekStack(16, 4) & 0xffff;   // all 36 bytes within SS (#SS(0))
  const es = c.peekStack(20, 4) & 0xffff, ds = c.peekStack(24, 4) & 0xffff;
  const fs = c.peekStack(28, 4) & 0xffff, gs = c.peekStack(32, 4) & 0xffff;
  if ((eip >>> 0) > 0xffff) c.gp(0); // the V86 code segment limit is 0FFFFH
  c.setFlagBits(fl, EFLAGS_ALL);
  c.updateMode(); // now V86 (CPL 3): the segment loads below are real-mode style
  c.loadSegReal(SEG.CS, cs);
  c.loadSegReal(SEG.SS, ss);
  c.loadSegReal(SEG.ES, es);
  c.loadSegReal(SEG.DS, ds);
  c.loadSegReal(SEG.FS, fs);
  c.loadSegReal(SEG.GS, gs);
  c.r32[4] = esp;
  c.eip = eip & 0xffff;
  c.updateMode();
}

export function op_CF_iret16(c: CPU): void { iret(c, false); }
export function op_CF_iret32(c: CPU): void { iret(c, true); }

// ================================================================== SYSENTER / SYSEXIT

/** Flat 4 GiB code (type 11: execute/read, accessed) and data (type 3: read/write, accessed), D/B = G = 1. */
const FLAT_CODE = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G;
const FLAT_DATA = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;

/** SYSENTER (SDM Vol2): to CPL 0 at SYSENTER_CS:SYSENTER_EIP, stack SYSENTER_CS+8:SYSENTER_ESP. */
export function op_0F34_sysenter(c: CPU): void {
  if (c.mode === Mode.Real || (c.sysenterCs & 0xfffc) === 0) c.gp(0);
  c.setFlagBits(0, EFLAGS.VM | EFLAGS.IF | EFLAGS.RF);
  const cs = c.sysenterCs & 0xfffc;
  c.setSegCache(SEG.CS, cs, 0, 0xffffffff, FLAT_CODE);
  c.setSegCache(SEG.SS, (cs + 8) & 0xffff, 0, 0xffffffff, FLAT_DATA);
  c.cpl = 0;
  c.updateMode();
  c.r32[4] = c.sysenterEsp;
  c.eip = c.sysenterEip;
}

/** SYSEXIT (SDM Vol2, 32-bit form): to CPL 3 at (SYSENTER_CS+16)|3 : EDX, stack CS+8 : ECX. */
export function op_0F35_sysexit(c: CPU): void {
  if (c.mode !== Mode.Protected || c.cpl !== 0 || (c.sysenterCs & 0xfffc) === 0) c.gp(0);
  const cs = ((c.sysenterCs + 16) | 3) & 0xffff;
  c.setSegCache(SEG.CS, cs, 0, 0xffffffff, FLAT_CODE | (3 << AR.DPL_SHIFT));
  c.setSegCache(SEG.SS, (cs + 8) & 0xffff, 0, 0xffffffff, FLAT_DATA | (3 << AR.DPL_SHIFT));
  c.cpl = 3;
  c.updateMode();
  c.r32[4] = c.r32[1];
  c.eip = c.r32[2];
}

// ================================================================== BOUND

/** BOUND: #BR (a fault, no error code) unless lower <= index <= upper, signed (SDM Vol2 BOUND). */
export function op_62_boundGvMa16(c: CPU, i: Insn): void {
  const ea = c.ea(i);
  const lo = (c.rd16(c.lin(i.seg, ea, 2, false)) << 16) >> 16;
  const hi = (c.rd16(c.lin(i.seg, i.a32 ? (ea + 2) | 0 : (ea + 2) & 0xffff, 2, false)) << 16) >> 16;
  const idx = (c.r16[i.reg << 1] << 16) >> 16;
  if (idx < lo || idx > hi) c.raise(EXC.BR);
}
export function op_62_boundGvMa32(c: CPU, i: Insn): void {
  const ea = c.ea(i);
  const lo = c.rd32(c.lin(i.seg, ea, 4, false));
  const hi = c.rd32(c.lin(i.seg, i.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff, 4, false));
  const idx = c.r32[i.reg];
  if (idx < lo || idx > hi) c.raise(EXC.BR);
}

// ================================================================== LDS LES LSS LFS LGS

/** Load a far pointer: the segment register first (it may fault), then the offset register. */
function loadFarPtr(c: CPU, i: Insn, s: number): void {
  readFarPtr(c, i);
  const off = fpOff;
  loadSeg(c, s, fpSel);
  if (i.o32) c.r32[i.reg] = off; else c.r16[i.reg << 1] = off;
}
export function op_C4_lesGvMp(c: CPU, i: Insn): void { loadFarPtr(c, i, SEG.ES); }
export function op_C5_ldsGvMp(c: CPU, i: Insn): void { loadFarPtr(c, i, SEG.DS); }
/** LSS does not inhibit interrupts (only MOV SS and POP SS do). */
export function op_0FB2_lssGvMp(c: CPU, i: Insn): void { loadFarPtr(c, i, SEG.SS); }
export function op_0FB4_lfsGvMp(c: CPU, i: Insn): void { loadFarPtr(c, i, SEG.FS); }
export function op_0FB5_lgsGvMp(c: CPU, i: Insn): void { loadFarPtr(c, i, SEG.GS); }

// ================================================================== MOV Sreg

/** MOV Sreg, r/m16: CS or sreg > 5 is #UD; loading SS inhibits interrupts for one instruction. */
export function op_8E_movSwEw(c: CPU, i: Insn): void {
  const s = i.reg;
  if (s === SEG.CS || s > 5) c.ud();
  const sel = i.mod === 3 ? c.r16[i.rm << 1] : c.rd16(c.eaLin(i, 2, false));
  loadSeg(c, s, sel);
  if (s === SEG.SS) { c.intShadow = true; c.shadowMovSs = true; }
}
/** MOV r/m, Sreg: memory destinations are always 16 bits; a 32-bit register gets the selector zero-extended. */
export function op_8C_movEvSw16(c: CPU, i: Insn): void {
  if (i.reg > 5) c.ud();
  c.writeE16(i, c.segSel[i.reg]);
}
export function op_8C_movEvSw32(c: CPU, i: Insn): void {
  if (i.reg > 5) c.ud();
  if (i.mod === 3) c.r32[i.rm] = c.segSel[i.reg];
  else c.wr16(c.eaLin(i, 2, true), c.segSel[i.reg]);
}
