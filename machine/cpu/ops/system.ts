// System family: descriptor-table registers (SGDT SIDT LGDT LIDT, SLDT STR LLDT LTR), segment
// probes (LAR LSL VERR VERW), control and debug registers (MOV CRn/DRn, SMSW, LMSW, CLTS), TLB and
// cache control (INVLPG, INVD, WBINVD), RDMSR/WRMSR (msr.ts), RDTSC, RDPMC, CPUID (cpuid.ts), and
// the forms that always raise #UD here (UD0 UD1 UD2; RSM outside SMM; MONITOR/MWAIT and XGETBV/XSETBV,
// whose features CPUID does not report). Each follows the SDM Vol2 pseudo-code of the instruction.
//
// Sensitive instructions are split in two: the handler does the mode/CPL checks (those faults have
// priority over VM exits, SDM Vol3C 25.1.1), then comes the VMX exit check point, then one exported
// function with the whole architectural effect (it may still fault on operand values, e.g.
// reserved bits, which rank below VM exits). The VMX rows (VMCALL..., VMREAD/VMWRITE, VMPTRLD/
// VMPTRST) live with the VMX code, not here.

import type { CPU } from '../cpu.js';
import * as vmx from '../../vmx/intercepts.js';
import { PROC2 } from '../../vmx/controls.js';
import type { Insn } from '../insn.js';
import { AR, CR0, CR4, DR6, DR7, EFLAGS, EXC, SEG, SYS_TYPE } from '../arch.js';
import { Mode } from '../state.js';
import { Descriptor, readDescriptor } from '../segments.js';
import { cpuidOut, cpuidQuery, cr4ValidBits } from '../cpuid.js';
import { msrOut, rdmsr, readTsc, splitTsc, wrmsr } from '../msr.js';

const DESC = new Descriptor();

/** SLDT, STR, LLDT, LTR, LAR, LSL, VERR, VERW are not recognized in real-address and virtual-8086 mode. */
function protectedOnly(c: CPU): void { if (c.mode !== Mode.Protected) c.ud(); }
/** Privileged: CPL 0 (always true in real mode; virtual-8086 mode runs at CPL 3, so #GP(0) there). */
function cpl0(c: CPU): void { if (c.cpl !== 0) c.gp(0); }

/** Store a selector: 16 bits to memory; a register gets it zero-extended with 32-bit operand size (P6 and later). */
function storeSelector(c: CPU, i: Insn, sel: number): void {
  if (i.mod !== 3) c.wr16(c.eaLin(i, 2, true), sel);
  else if (i.o32) c.r32[i.rm] = sel;
  else c.r16[i.rm << 1] = sel;
}

// ================================================================== SLDT STR LLDT LTR

export function op_0F00_0_sldtEw(c: CPU, i: Insn): void {
  protectedOnly(c);
  if (c.nonRoot !== null) vmx.descriptorTable(c, i, true, 0);
  storeSelector(c, i, c.segSel[SEG.LDTR]);
}
export function op_0F00_1_strEw(c: CPU, i: Insn): void {
  protectedOnly(c);
  if (c.nonRoot !== null) vmx.descriptorTable(c, i, true, 1);
  storeSelector(c, i, c.segSel[SEG.TR]);
}

export function op_0F00_2_lldtEw(c: CPU, i: Insn): void {
  protectedOnly(c);
  cpl0(c);
  if (c.nonRoot !== null) vmx.descriptorTable(c, i, true, 2); // before the operand is read (Vol3C 25.1.1)
  const sel = c.readE16(i);
  loadLdtr(c, sel);
}

/**
 * LLDT (SDM Vol2): a null selector (bits 15:2 zero) leaves LDTR unusable; otherwise the selector must
 * name a GDT entry (TI = 0) holding an LDT descriptor (#GP(sel)) that is present (#NP(sel)).
 */
export function loadLdtr(c: CPU, sel: number): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) { c.setSegCache(SEG.LDTR, sel, 0, 0, AR.UNUSABLE); return; }
  if ((sel & 4) !== 0) c.gp(sel & 0xfffc);
  const d = readDescriptor(c, sel, EXC.GP, 0, DESC);
  if (d.isSegment || d.type !== SYS_TYPE.LDT) c.gp(sel & 0xfffc);
  if (!d.present) c.raise(EXC.NP, sel & 0xfffc);
  c.setSegCache(SEG.LDTR, sel, d.base, d.limit, d.ar);
}

export function op_0F00_3_ltrEw(c: CPU, i: Insn): void {
  protectedOnly(c);
  cpl0(c);
  if (c.nonRoot !== null) vmx.descriptorTable(c, i, true, 3);
  const sel = c.readE16(i);
  loadTr(c, sel);
}

/**
 * LTR (SDM Vol2): null selector → #GP(0); the selector must name a GDT entry (TI = 0) holding an
 * available 16- or 32-bit TSS (#GP(sel)) that is present (#NP(sel)). The descriptor is marked busy.
 */
export function loadTr(c: CPU, sel: number): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) c.gp(0);
  if ((sel & 4) !== 0) c.gp(sel & 0xfffc);
  const d = readDescriptor(c, sel, EXC.GP, 0, DESC);
  const t = d.type;
  if (d.isSegment || (t !== SYS_TYPE.TSS16_AVAIL && t !== SYS_TYPE.TSS32_AVAIL)) c.gp(sel & 0xfffc);
  if (!d.present) c.raise(EXC.NP, sel & 0xfffc);
  // Busy: type bit 1 (descriptor bit 41), in byte 5 of the descriptor.
  c.wrSys((d.addr + 5) | 0, 1, ((d.hi >>> 8) & 0xff) | 2);
  c.setSegCache(SEG.TR, sel, d.base, d.limit, d.ar | 2);
}

// ================================================================== LAR LSL VERR VERW

/**
 * Read the descriptor `sel` names without faulting on the selector (LAR/LSL/VERR/VERW only clear ZF):
 * false for a null selector, an LDT selector without a usable LDT, or one beyond its table's limit.
 * Reading the table itself may still #PF.
 */
function probe(c: CPU, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((c.segAr[SEG.LDTR] & AR.UNUSABLE) !== 0 || (c.segSel[SEG.LDTR] & 0xfffc) === 0) return false;
    base = c.segBase[SEG.LDTR]; limit = c.segLimit[SEG.LDTR];
  } else {
    base = c.gdtrBase; limit = c.gdtrLimit;
  }
  if ((sel & 0xfff8) + 7 > limit) return false;
  DESC.addr = (base + (sel & 0xfff8)) | 0;
  DESC.lo = c.rdSys(DESC.addr, 4);
  DESC.hi = c.rdSys((DESC.addr + 4) | 0, 4);
  return true;
}

/** Privilege test shared by the four: conforming code always passes, anything else needs DPL >= max(CPL, RPL). */
function visible(c: CPU, sel: number, d: Descriptor): boolean {
  if (d.isCode && d.dc) return true;
  return d.dpl >= c.cpl && d.dpl >= (sel & 3);
}

/** System types LAR accepts: TSS (16/32, available/busy), LDT, call gates (16/32), task gate. */
const LAR_SYS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 11) | (1 << 12);
/** System types LSL accepts: TSS (16/32, available/busy) and LDT (no gates: they have no limit). */
const LSL_SYS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 11);

function typeOk(d: Descriptor, sysMask: number): boolean { return d.isSegment || ((sysMask >> d.type) & 1) !== 0; }

/** LAR: ZF = 1 and the access rights (second dword masked by 00FxFF00H, x taken as 0) if valid and visible. */
function lar(c: CPU, i: Insn, o32: boolean): void {
  protectedOnly(c);
  const sel = c.readE16(i);
  const ok = probe(c, sel) && typeOk(DESC, LAR_SYS) && visible(c, sel, DESC);
  if (ok) {
    if (o32) c.r32[i.reg] = DESC.hi & 0x00f0ff00;
    else c.r16[i.reg << 1] = DESC.hi & 0xff00;
  }
  c.setFlag(EFLAGS.ZF, ok);
}
export function op_0F02_larGvEw16(c: CPU, i: Insn): void { lar(c, i, false); }
export function op_0F02_larGvEw32(c: CPU, i: Insn): void { lar(c, i, true); }

/** LSL: ZF = 1 and the byte-granular limit (scaled by G) if valid and visible. */
function lsl(c: CPU, i: Insn, o32: boolean): void {
  protectedOnly(c);
  const sel = c.readE16(i);
  const ok = probe(c, sel) && typeOk(DESC, LSL_SYS) && visible(c, sel, DESC);
  if (ok) {
    if (o32) c.r32[i.reg] = DESC.limit;
    else c.r16[i.reg << 1] = DESC.limit;
  }
  c.setFlag(EFLAGS.ZF, ok);
}
export function op_0F03_lslGvEw16(c: CPU, i: Insn): void { lsl(c, i, false); }
export function op_0F03_lslGvEw32(c: CPU, i: Insn): void { lsl(c, i, true); }

/** VERR: ZF = 1 if a visible code/data segment is readable (data, or readable code). Presence is not checked. */
export function op_0F00_4_verrEw(c: CPU, i: Insn): void {
  protectedOnly(c);
  const sel = c.readE16(i);
  const ok = probe(c, sel) && DESC.isSegment && visible(c, sel, DESC) && (!DESC.isCode || DESC.rw);
  c.setFlag(EFLAGS.ZF, ok);
}
/** VERW: ZF = 1 if a visible segment is writable data (code is never writable). */
export function op_0F00_5_verwEw(c: CPU, i: Insn): void {
  protectedOnly(c);
  const sel = c.readE16(i);
  const ok = probe(c, sel) && DESC.isSegment && !DESC.isCode && visible(c, sel, DESC) && DESC.rw;
  c.setFlag(EFLAGS.ZF, ok);
}

// ================================================================== SGDT SIDT LGDT LIDT

/** Linear addresses of the limit word and the base dword of a pseudo-descriptor operand (checked for `write`). */
let pdLimitLa = 0, pdBaseLa = 0;
function pseudoDescriptor(c: CPU, i: Insn, write: boolean): void {
  const ea = c.ea(i);
  pdLimitLa = c.lin(i.seg, ea, 2, write);
  pdBaseLa = c.lin(i.seg, i.a32 ? (ea + 2) | 0 : (ea + 2) & 0xffff, 4, write);
}

/** SGDT/SIDT: limit, then the full 32-bit base with either operand size (current SDM Vol2 SGDT). */
function storeDtr(c: CPU, i: Insn, base: number, limit: number): void {
  pseudoDescriptor(c, i, true);
  c.wr16(pdLimitLa, limit);
  c.wr32(pdBaseLa, base);
}
export function op_0F01_0_sgdtMs(c: CPU, i: Insn): void {
  if (c.nonRoot !== null) vmx.descriptorTable(c, i, false, 0);
  storeDtr(c, i, c.gdtrBase, c.gdtrLimit);
}
export function op_0F01_1_sidtMs(c: CPU, i: Insn): void {
  if (c.nonRoot !== null) vmx.descriptorTable(c, i, false, 1);
  storeDtr(c, i, c.idtrBase, c.idtrLimit);
}

/** LGDT/LIDT: CPL 0; with a 16-bit operand size only 24 bits of base are loaded (SDM Vol2 LGDT). */
let ldLimit = 0, ldBase = 0;
function readDtr(c: CPU, i: Insn): void {
  cpl0(c);
  pseudoDescriptor(c, i, false);
  ldLimit = c.rd16(pdLimitLa);
  ldBase = c.rd32(pdBaseLa);
  if (!i.o32) ldBase &= 0x00ffffff;
}
export function op_0F01_2_lgdtMs(c: CPU, i: Insn): void {
  if (c.nonRoot !== null) { cpl0(c); vmx.descriptorTable(c, i, false, 2); }
  readDtr(c, i);
  c.gdtrBase = ldBase; c.gdtrLimit = ldLimit;
}
export function op_0F01_3_lidtMs(c: CPU, i: Insn): void {
  if (c.nonRoot !== null) { cpl0(c); vmx.descriptorTable(c, i, false, 3); }
  readDtr(c, i);
  c.idtrBase = ldBase; c.idtrLimit = ldLimit;
}

// ================================================================== SMSW LMSW CLTS

/** SMSW: CR0[15:0] to memory; a register gets CR0 whole with a 32-bit operand size. Not privileged (no UMIP). */
export function op_0F01_4_smswEw(c: CPU, i: Insn): void {
  const cr0 = c.nonRoot !== null ? vmx.smswView(c) : c.cr0; // owned bits read from the shadow (Vol3C 25.3)
  if (i.mod !== 3) c.wr16(c.eaLin(i, 2, true), cr0);
  else if (i.o32) c.r32[i.rm] = cr0;
  else c.r16[i.rm << 1] = cr0;
}

export function op_0F01_6_lmswEw(c: CPU, i: Insn): void {
  cpl0(c);
  const v = c.readE16(i);
  if (c.nonRoot !== null) { c.setCr0(vmx.lmsw(c, i, v, i.mod === 3 ? 0 : (c.segBase[i.seg] + c.ea(i)) | 0)); return; }
  lmsw(c, v);
}
/** LMSW: loads CR0.PE/MP/EM/TS from the low 4 bits; it can set PE but never clear it (SDM Vol2 LMSW). */
export function lmsw(c: CPU, v: number): void {
  const msw = CR0.PE | CR0.MP | CR0.EM | CR0.TS;
  c.setCr0((c.cr0 & ~msw) | (v & msw) | (c.cr0 & CR0.PE));
}

export function op_0F06_clts(c: CPU, i: Insn): void {
  cpl0(c);
  if (c.nonRoot !== null && !vmx.clts(c, i)) return; // TS owned, shadow 0: CR0.TS unchanged (Vol3C 25.3)
  c.cr0 &= ~CR0.TS;
}

// ================================================================== INVLPG INVD WBINVD

export function op_0F01_7_invlpgMb(c: CPU, i: Insn): void {
  cpl0(c);
  // No segment checks: the operand only names a linear address (SDM Vol2 INVLPG).
  const lin = (c.segBase[i.seg] + c.ea(i)) | 0;
  if (c.nonRoot !== null) vmx.invlpg(c, i, lin);
  invlpg(c, lin);
}
/**
 * INVLPG: drop the translations of the page holding `lin`, global or not. The TLB keeps one entry per
 * 4 KiB, so with large pages possible (CR4.PSE: 4 MiB, PAE: 2 MiB) every 4 KiB entry of the aligned
 * large-page frame goes (dropping more than needed is always allowed, SDM Vol3A 4.10.4.1).
 */
export function invlpg(c: CPU, lin: number): void {
  const page = lin >>> 12;
  if ((c.cr4 & CR4.PAE) !== 0) { const p = page & ~0x1ff; c.tlb.fill(0, p, p + 0x200); }
  else if ((c.cr4 & CR4.PSE) !== 0) { const p = page & ~0x3ff; c.tlb.fill(0, p, p + 0x400); }
  else c.invlpg(lin);
}

/** INVD/WBINVD: caches are not modelled, so only the privilege check remains. */
export function op_0F08_invd(c: CPU, i: Insn): void {
  cpl0(c);
  if (c.nonRoot !== null) vmx.invdExits(c, i); // INVD always exits (Vol3C 25.1.2)
}
export function op_0F09_wbinvd(c: CPU, i: Insn): void {
  cpl0(c);
  if (c.nonRoot !== null) vmx.wbinvd(c, i);
}

// ================================================================== MOV to/from CRn

/** CR0 bits that exist; the others are reserved and ignored on write (ET is fixed to 1 on P6 and later). */
const CR0_BITS = CR0.PE | CR0.MP | CR0.EM | CR0.TS | CR0.ET | CR0.NE | CR0.WP | CR0.AM | CR0.NW | CR0.CD | CR0.PG;

/** CR1, CR5-CR7 and (outside 64-bit mode) CR8 do not exist: #UD, before the privilege check. */
function checkCr(c: CPU, n: number): void {
  if (n === 1 || n > 4) c.ud();
  cpl0(c);
}

export function op_0F20_movRdCd(c: CPU, i: Insn): void {
  checkCr(c, i.reg);
  // In non-root operation: CR3-store exiting, and CR0/CR4 read through the shadows (Vol3C 25.3).
  c.r32[i.rm] = c.nonRoot !== null ? vmx.movFromCr(c, i, i.reg, i.rm) : readCr(c, i.reg);
}
export function readCr(c: CPU, n: number): number {
  switch (n) {
    case 0: return c.cr0;
    case 2: return c.cr2;
    case 3: return c.cr3;
    default: return c.cr4;
  }
}

export function op_0F22_movCdRd(c: CPU, i: Insn): void {
  checkCr(c, i.reg);
  // In non-root operation: exits per the guest/host masks and CR3-load exiting; else the value
  // with the owned bits unchanged is written (Vol3C 25.1.3, 25.3).
  const v = c.nonRoot !== null && i.reg !== 2 ? vmx.movToCr(c, i, i.reg, i.rm, c.r32[i.rm]) : c.r32[i.rm];
  writeCr(c, i.reg, v);
}

/** MOV to CRn with the checks on the value (SDM Vol2 MOV—Move to/from Control Registers). */
export function writeCr(c: CPU, n: number, v: number): void {
  switch (n) {
    case 0: writeCr0(c, v); return;
    case 2: c.cr2 = v; return;
    case 3: c.setCr3(v); return;   // PAE with paging: loads the PDPTEs (#GP(0) on reserved bits)
    default: writeCr4(c, v); return;
  }
}

/**
 * CR0: PG without PE, or NW without CD, is #GP(0); setting PG with CR4.PAE loads the PDPTEs. In VMX
 * non-root operation a value violating IA32_VMX_CR0_FIXED0 (NE; PE and PG unless "unrestricted
 * guest") is #GP(0) too (Vol3C 25.3).
 */
export function writeCr0(c: CPU, v: number): void {
  v = (v & CR0_BITS) | CR0.ET;
  if ((v & CR0.PG) !== 0 && (v & CR0.PE) === 0) c.gp(0);
  if ((v & CR0.NW) !== 0 && (v & CR0.CD) === 0) c.gp(0);
  const nr = c.nonRoot;
  if (nr !== null) {
    const fixed0 = (nr.proc2 & PROC2.UNRESTRICTED_GUEST) !== 0 ? nr.unit.caps.cr0Fixed0 & ~(CR0.PE | CR0.PG) : nr.unit.caps.cr0Fixed0;
    if ((v & fixed0) !== fixed0) c.gp(0);
  }
  c.setCr0(v);
}

/**
 * CR4: a bit whose feature CPUID does not report (cpuid.ts cr4ValidBits) is #GP(0). In VMX non-root
 * operation the processor's own limits apply instead: IA32_VMX_CR4_FIXED0/1 (VMXE stays 1).
 */
export function writeCr4(c: CPU, v: number): void {
  const nr = c.nonRoot;
  if (nr !== null) {
    const caps = nr.unit.caps;
    if ((v & ~caps.cr4Fixed1) !== 0 || (v & caps.cr4Fixed0) !== caps.cr4Fixed0) c.gp(0);
  } else if ((v & ~cr4ValidBits(c)) !== 0) c.gp(0);
  c.setCr4(v);
}

// ================================================================== MOV to/from DRn

/**
 * Common checks (SDM Vol2 MOV—Move to/from Debug Registers, Vol3B 17.2): CPL 0; DR4/DR5 are #UD
 * with CR4.DE and aliases of DR6/DR7 without; DR7.GD turns any access into a #DB fault with DR6.BD
 * set (GD is cleared so the handler can use the debug registers, Vol3B 17.2.4). Returns the register.
 */
function checkDr(c: CPU, n: number): number {
  cpl0(c);
  if (n === 4 || n === 5) {
    if ((c.cr4 & CR4.DE) !== 0) c.ud();
    n += 2;
  }
  if ((c.dr[7] & DR7.GD) !== 0) {
    c.dbgCause |= DR6.BD; // DR6.BD is set, and DR7.GD cleared, when the #DB is delivered (exceptions.ts)
    c.raise(EXC.DB);
  }
  return n;
}

export function op_0F21_movRdDd(c: CPU, i: Insn): void {
  // MOV-DR exits outrank the CPL #GP and the DR4/DR5 #UD (Vol3C 25.1.3), so they come first.
  if (c.nonRoot !== null) vmx.movDr(c, i, i.reg, i.rm, true);
  const n = checkDr(c, i.reg);
  c.r32[i.rm] = c.dr[n];
}
export function op_0F23_movDdRd(c: CPU, i: Insn): void {
  if (c.nonRoot !== null) vmx.movDr(c, i, i.reg, i.rm, false);
  const n = checkDr(c, i.reg);
  writeDr(c, n, c.r32[i.rm]);
}
/** Store DRn (n = 0-3, 6, 7) with the fixed bits of DR6/DR7. Breakpoints are stored, not yet armed. */
export function writeDr(c: CPU, n: number, v: number): void {
  if (n === 6) c.dr[6] = (v & DR6.WRITABLE) | DR6.FIXED1;
  else if (n === 7) c.dr[7] = (v & ~DR7.RESERVED0) | DR7.FIXED1;
  else c.dr[n] = v;
}

// ================================================================== RDMSR WRMSR RDTSC RDPMC

export function op_0F32_rdmsr(c: CPU, i: Insn): void {
  cpl0(c);
  if (c.nonRoot !== null) vmx.msr(c, i, c.r32[1], false);
  if (!rdmsr(c, c.r32[1])) c.gp(0);
  c.r32[0] = msrOut.lo;
  c.r32[2] = msrOut.hi;
}

export function op_0F30_wrmsr(c: CPU, i: Insn): void {
  cpl0(c);
  if (c.nonRoot !== null) vmx.msr(c, i, c.r32[1], true);
  if (!wrmsr(c, c.r32[1], c.r32[0], c.r32[2])) c.gp(0);
}

/** RDTSC: with CR4.TSD only at CPL 0 (SDM Vol2 RDTSC). */
export function op_0F31_rdtsc(c: CPU, i: Insn): void {
  if ((c.cr4 & CR4.TSD) !== 0 && c.cpl !== 0) c.gp(0);
  // Non-root: RDTSC exiting, else the TSC plus the VMCS TSC offset (Vol3C 25.3).
  splitTsc(c.nonRoot !== null ? readTsc(c) + vmx.rdtsc(c, i) : readTsc(c));
  c.r32[0] = msrOut.lo;
  c.r32[2] = msrOut.hi;
}

/** RDPMC: no performance-monitoring counters exist (no CPUID leaf 0AH), so every ECX is invalid: #GP(0). */
export function op_0F33_rdpmc(c: CPU, i: Insn): void {
  if ((c.cr4 & CR4.PCE) === 0 && c.cpl !== 0) c.gp(0);
  if (c.nonRoot !== null) vmx.rdpmc(c, i);
  c.gp(0);
}

// ================================================================== CPUID

export function op_0FA2_cpuid(c: CPU, i: Insn): void {
  if (c.nonRoot !== null) vmx.cpuidExits(c, i); // CPUID always exits (Vol3C 25.1.2)
  cpuidQuery(c, c.r32[0], c.r32[1]);
  c.r32[0] = cpuidOut[0]; c.r32[3] = cpuidOut[1]; c.r32[1] = cpuidOut[2]; c.r32[2] = cpuidOut[3];
}

// ================================================================== always #UD

export function op_0F0B_ud2(c: CPU): void { c.ud(); }
export function op_0FB9_ud1(c: CPU): void { c.ud(); }
export function op_0FFF_ud0(c: CPU): void { c.ud(); }
/** RSM outside system-management mode (there is no SMM here). */
export function op_0FAA_rsm(c: CPU): void { c.ud(); }
/** MONITOR/MWAIT: CPUID.01H:ECX.MONITOR = 0. */
export function op_0F01_C8_monitor(c: CPU): void { c.ud(); }
export function op_0F01_C9_mwait(c: CPU): void { c.ud(); }
/** XGETBV/XSETBV: #UD while CR4.OSXSAVE = 0, which is always (XSAVE is not reported). */
export function op_0F01_D0_xgetbv(c: CPU): void { c.ud(); }
export function op_0F01_D1_xsetbv(c: CPU): void { c.ud(); }
