// Event delivery: exceptions, software interrupts, external interrupts and NMI, through the
// real-mode IVT or the protected-mode IDT (SDM Vol3A ch. 6), with the double-fault rules of
// Table 6-5 and the triple fault (shutdown) the machine reports instead of resetting.
//
// Runs in: the CPU's run loop, after an instruction faulted (EIP already rolled back) or between
// instructions (interrupts), or from INT n / INT3 / INTO handlers (EIP = next instruction).

import { AR, DR6, DR7, EFLAGS, EXC, EXC_HAS_ERROR_CODE, EXC_NAMES, SEG } from './arch.js';
import type { CPU } from './cpu.js';
import { FAULT, Mode } from './state.js';
import { checkStackSeg, Descriptor, loadCS, loadFromDescriptor, loadNull, readDescriptor, tssStack } from './segments.js';
import { eventExits, intrType, taskSwitch as vmxTaskSwitch, tripleFault as vmxTripleFault } from '../vmx/intercepts.js';
import { INTR_INFO, QUAL_TASK_SWITCH } from '../vmx/controls.js';

export const enum EventKind {
  /** Exception reported on the faulting instruction (EIP points at it; RF pushed as 1). */
  Fault = 0,
  /** Exception reported after an instruction (single-step #DB). */
  Trap = 1,
  /** INT n: the gate's DPL is checked against CPL. */
  Software = 2,
  /** INT3 / INTO / INT1: exceptions raised by an instruction, also DPL-checked (except INT1). */
  SoftException = 3,
  /** Maskable interrupt from the interrupt controller. */
  External = 4,
  Nmi = 5,
  /** INT1 (ICEBP): a #DB trap raised by an instruction, not DPL-checked (VMX: privileged software exception). */
  Icebp = 6,
}

const CONTRIBUTORY = (1 << EXC.DE) | (1 << EXC.TS) | (1 << EXC.NP) | (1 << EXC.SS) | (1 << EXC.GP);

export function excName(v: number): string { return EXC_NAMES[v] ?? `vector ${v}`; }

/** Events of the current delivery chain, for the triple-fault report (no allocation per event). */
const CHAIN = new Int32Array(4);

/**
 * Deliver an event, applying the double-fault rules when delivery itself faults. In VMX non-root
 * operation each event first consults the "does it exit?" rules (exception bitmap, NMI exiting:
 * Vol3C 25.2) and is recorded as the event being delivered (IDT-vectoring information, 27.2.4).
 */
export function deliverEvent(c: CPU, vector: number, kind: EventKind, errorCode: number, injected: boolean): void {
  let vec = vector, k = kind, ec = errorCode, n = 0, checkExit = !injected;
  CHAIN[n++] = vector;
  for (;;) {
    const nr = c.nonRoot;
    if (nr !== null) {
      // Error codes are delivered (and reported) only in protected mode, for the exceptions that have one.
      const code = ec >= 0 && k === EventKind.Fault && c.mode !== Mode.Real && ((EXC_HAS_ERROR_CODE >> vec) & 1) !== 0 ? ec : -1;
      if (checkExit) eventExits(c, vec, k, code, c.pfLinear, c.dbgCause);
      checkExit = true; // an exception during delivery of an injected event is checked (Vol3C 26.6.1)
      const soft = k === EventKind.Software || k === EventKind.SoftException || k === EventKind.Icebp;
      nr.vectoringInfo = vec | (intrType(k) << INTR_INFO.TYPE_SHIFT) | (code >= 0 ? INTR_INFO.ERROR_CODE_VALID : 0) | INTR_INFO.VALID;
      nr.vectoringErrorCode = code >= 0 ? code : 0;
      nr.vectoringInstrLen = soft ? ((c.eip - c.prevEip) & c.ipMask) : 0;
      nr.vectoringRip = soft ? c.prevEip : c.eip;
    }
    // CR2 is loaded when the #PF is delivered, not when it is detected (a #PF that exits leaves it);
    // a #PF injected by VM entry does not load it either (the VMM sets CR2, Vol3C 26.6.1).
    if (vec === EXC.PF && k === EventKind.Fault && !(injected && n === 1)) c.cr2 = c.pfLinear;
    // Likewise DR6 (and DR7.GD for BD) for a #DB (Vol3B 17.2.3-17.2.4).
    if (vec === EXC.DB && c.dbgCause !== 0) {
      c.dr[6] |= c.dbgCause;
      if ((c.dbgCause & DR6.BD) !== 0) c.dr[7] &= ~DR7.GD;
      c.dbgCause = 0;
    }
    try {
      deliverOnce(c, vec, k, ec);
      c.halted = false;
      if (nr !== null) nr.vectoringInfo = 0;
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
      const v2 = c.excVector;
      if (n < CHAIN.length) CHAIN[n++] = v2;
      // A fault while delivering INT n / INT3 / INTO is reported on that instruction: the saved
      // EIP points at it, not past it (SDM Vol3A 6.5 "faults ... restartable"; Vol2 INT n).
      if (k === EventKind.Software || k === EventKind.SoftException) c.eip = c.prevEip;
      // In VMX non-root operation the nested exception consults the exception bitmap itself, before
      // it can form a #DF (Vol3C 25.2); the event being delivered is its IDT-vectoring information.
      if (c.nonRoot !== null) eventExits(c, v2, EventKind.Fault, c.excHasCode && c.mode !== Mode.Real ? c.excCode : -1, c.pfLinear, c.dbgCause);
      if (vec === EXC.DF) {
        if (c.nonRoot !== null) vmxTripleFault(c);
        const names: string[] = [];
        for (let j = 0; j < n; j++) names.push(excName(CHAIN[j]));
        c.tripleFault(`triple fault: ${names.join(' → ')} (${excName(v2)} while delivering #DF)`);
        return;
      }
      const firstIsExc = k === EventKind.Fault || k === EventKind.Trap || k === EventKind.SoftException || k === EventKind.Icebp;
      const firstContrib = firstIsExc && ((CONTRIBUTORY >> vec) & 1) !== 0;
      const firstPf = firstIsExc && vec === EXC.PF;
      const secondContrib = ((CONTRIBUTORY >> v2) & 1) !== 0;
      if ((firstContrib && secondContrib) || (firstPf && (secondContrib || v2 === EXC.PF))) {
        if (v2 === EXC.PF) c.cr2 = c.pfLinear; // the #PF that caused the #DF still loads CR2
        vec = EXC.DF; ec = 0;
      } else {
        vec = v2; ec = c.excHasCode ? c.excCode : -1;
      }
      k = EventKind.Fault;
    }
  }
}

function deliverOnce(c: CPU, vec: number, kind: EventKind, errorCode: number): void {
  if (c.mode === Mode.Real) { deliverReal(c, vec); return; }
  deliverProtected(c, vec, kind, errorCode);
}

/** Real mode: IVT entry (offset, segment) at IDTR.base + 4·vector; push FLAGS, CS, IP (SDM Vol3A 20.1.4). */
function deliverReal(c: CPU, vec: number): void {
  if (vec * 4 + 3 > c.idtrLimit) c.gp(0);
  const ent = c.rdSys((c.idtrBase + vec * 4) | 0, 4);
  c.push16(c.getEflags() & 0xffff);
  c.push16(c.segSel[SEG.CS]);
  c.push16(c.eip & 0xffff);
  c.setFlagBits(0, EFLAGS.IF | EFLAGS.TF | EFLAGS.AC | EFLAGS.RF);
  c.loadSegReal(SEG.CS, ent >>> 16);
  c.eip = ent & 0xffff;
}

const GATE_DESC = new Descriptor();
const CS_DESC = new Descriptor();
const SS_DESC = new Descriptor();

/** Protected mode (and virtual-8086): through an IDT gate (SDM Vol3A 6.12, Vol2 INT n pseudo-code). */
function deliverProtected(c: CPU, vec: number, kind: EventKind, errorCode: number): void {
  const soft = kind === EventKind.Software || kind === EventKind.SoftException;
  const ext = soft ? 0 : 1;
  const idtCode = vec * 8 + 2 + ext;
  if (vec * 8 + 7 > c.idtrLimit) c.gp(idtCode);
  const glo = c.rdSys((c.idtrBase + vec * 8) | 0, 4);
  const ghi = c.rdSys((c.idtrBase + vec * 8 + 4) | 0, 4);
  const gtype = (ghi >>> 8) & 0x1f; // S bit + type
  const gdpl = (ghi >>> 13) & 3;
  if (gtype !== 5 && gtype !== 6 && gtype !== 7 && gtype !== 14 && gtype !== 15) c.gp(idtCode);
  if (soft && gdpl < c.cpl) c.gp(vec * 8 + 2);
  if ((ghi & (1 << 15)) === 0) c.raise(EXC.NP, idtCode);
  if (gtype === 5) {
    if (c.nonRoot !== null) vmxTaskSwitch(c, glo >>> 16, QUAL_TASK_SWITCH.IDT_GATE, false); // always exits (Vol3C 25.1.2)
    c.unsupported(`task gate in IDT vector ${vec} (hardware task switch is not implemented)`); return;
  }
  const gate32 = (gtype & 8) !== 0;
  const isInterruptGate = (gtype & 1) === 0;
  const sel = glo >>> 16;
  const offset = gate32 ? ((glo & 0xffff) | (ghi & 0xffff0000)) : glo & 0xffff;
  if ((sel & 0xfffc) === 0) c.gp(ext);
  const cs = readDescriptor(c, sel, EXC.GP, ext, CS_DESC);
  if (!cs.isCode || cs.dpl > c.cpl) c.gp((sel & 0xfffc) | ext);
  if (!cs.present) c.raise(EXC.NP, (sel & 0xfffc) | ext);

  const hasCode = errorCode >= 0 && kind === EventKind.Fault && ((EXC_HAS_ERROR_CODE >> vec) & 1) !== 0 && vec < 32;
  const size = gate32 ? 4 : 2;
  let eflags = c.getEflags();
  if (kind === EventKind.Fault && vec !== EXC.DB) eflags |= EFLAGS.RF;
  const v86 = c.mode === Mode.V86;
  const newCpl = cs.dc ? c.cpl : cs.dpl;

  if (newCpl < c.cpl) {
    // Inter-privilege: switch to the new ring's stack from the TSS and push the old SS:ESP.
    if (v86 && newCpl !== 0) c.gp((sel & 0xfffc) | ext);
    const { ss, esp } = tssStack(c, newCpl, ext);
    const ssd = checkStackSeg(c, ss, newCpl, ext, SS_DESC);
    const vals: number[] = [];
    if (v86) vals.push(c.segSel[SEG.GS], c.segSel[SEG.FS], c.segSel[SEG.DS], c.segSel[SEG.ES]);
    vals.push(c.segSel[SEG.SS], c.ss32 ? c.r32[4] : c.r16[8], eflags, c.segSel[SEG.CS], c.eip);
    if (hasCode) vals.push(errorCode);
    const ss32 = (ssd.ar & AR.DB) !== 0;
    const newEsp = pushFrame(c, ssd, ss, esp, ss32, vals, size, newCpl === 3, ext);
    // Commit.
    c.setFlagBits(0, EFLAGS.VM | EFLAGS.TF | EFLAGS.NT | EFLAGS.RF | (isInterruptGate ? EFLAGS.IF : 0));
    if (v86) { for (const s of [SEG.GS, SEG.FS, SEG.DS, SEG.ES]) loadNull(c, s, 0); }
    loadFromDescriptor(c, SEG.SS, (ss & 0xfffc) | newCpl, ssd);
    if (ss32) c.r32[4] = newEsp; else c.r16[8] = newEsp;
    loadCS(c, sel, cs, newCpl);
  } else {
    if (v86) c.gp((sel & 0xfffc) | ext);
    const vals = [eflags, c.segSel[SEG.CS], c.eip];
    if (hasCode) vals.push(errorCode);
    // Same privilege: push on the current stack (checked against the current SS).
    const total = vals.length * size;
    const sp0 = c.ss32 ? c.r32[4] : c.r16[8];
    let sp = sp0;
    for (const v of vals) {
      sp = c.ss32 ? (sp - size) | 0 : (sp - size) & 0xffff;
      const la = c.lin(SEG.SS, sp, size, true);
      c.wrPriv(la, size, v, c.cpl === 3);
    }
    void total;
    c.setFlagBits(0, EFLAGS.VM | EFLAGS.TF | EFLAGS.NT | EFLAGS.RF | (isInterruptGate ? EFLAGS.IF : 0));
    if (c.ss32) c.r32[4] = sp; else c.r16[8] = sp;
    loadCS(c, sel, cs, c.cpl);
  }
  c.eip = offset;
}

/** Push `vals` (highest address first) on the stack described by `ssd` from `esp`; returns the new ESP. */
function pushFrame(c: CPU, ssd: Descriptor, ssSel: number, esp: number, ss32: boolean, vals: number[], size: number, user: boolean, ext: number): number {
  const limit = ssd.limit, base = ssd.base;
  const expandDown = ssd.dc;
  let sp = esp;
  for (const v of vals) {
    sp = ss32 ? (sp - size) | 0 : (sp - size) & 0xffff;
    const o = sp >>> 0;
    const bad = expandDown ? (o <= limit || o + size - 1 > (ss32 ? 0xffffffff : 0xffff)) : o + size - 1 > limit;
    if (bad) c.raise(EXC.SS, (ssSel & 0xfffc) | ext);
    c.wrPriv((base + sp) | 0, size, v, user);
  }
  return sp;
}
