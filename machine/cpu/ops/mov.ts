// Data movement: MOV (88-8B, A0-A3, B0-BF, C6/C7), LEA, XCHG, MOVZX/MOVSX, CBW/CWD, BSWAP, XLAT,
// CMOVcc, SETcc, LAHF/SAHF, flag instructions (CLC STC CMC CLD STD), NOP forms, SALC.

import type { CPU } from '../cpu.js';
import { Rep, type Insn } from '../insn.js';
import { pause as vmxPause } from '../../vmx/intercepts.js';
import { EFLAGS, REG8_INDEX as REG8 } from '../arch.js';

// --- MOV E,G and G,E ---
export function op_88_movEbGb(c: CPU, i: Insn): void { c.writeE8(i, c.r8[REG8[i.reg]]); }
export function op_89_movEvGv16(c: CPU, i: Insn): void { c.writeE16(i, c.r16[i.reg << 1]); }
export function op_89_movEvGv32(c: CPU, i: Insn): void {
  if (i.mod === 3) c.r32[i.rm] = c.r32[i.reg]; else c.wr32(c.eaLin(i, 4, true), c.r32[i.reg]);
}
export function op_8A_movGbEb(c: CPU, i: Insn): void { c.r8[REG8[i.reg]] = c.readE8(i); }
export function op_8B_movGvEv16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = c.readE16(i); }
export function op_8B_movGvEv32(c: CPU, i: Insn): void {
  c.r32[i.reg] = i.mod === 3 ? c.r32[i.rm] : c.rd32(c.eaLin(i, 4, false));
}
// --- MOV with moffs (decoder put the offset in disp) ---
export function op_A0_movALOb(c: CPU, i: Insn): void { c.r8[0] = c.rd8(c.eaLin(i, 1, false)); }
export function op_A1_moveAXOv16(c: CPU, i: Insn): void { c.r16[0] = c.rd16(c.eaLin(i, 2, false)); }
export function op_A1_moveAXOv32(c: CPU, i: Insn): void { c.r32[0] = c.rd32(c.eaLin(i, 4, false)); }
export function op_A2_movObAL(c: CPU, i: Insn): void { c.wr8(c.eaLin(i, 1, true), c.r8[0]); }
export function op_A3_movOveAX16(c: CPU, i: Insn): void { c.wr16(c.eaLin(i, 2, true), c.r16[0]); }
export function op_A3_movOveAX32(c: CPU, i: Insn): void { c.wr32(c.eaLin(i, 4, true), c.r32[0]); }
// --- MOV immediate ---
export function op_B0_B7_movZbIb(c: CPU, i: Insn): void { c.r8[REG8[i.reg]] = i.imm; }
export function op_B8_BF_movZvIv16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = i.imm; }
export function op_B8_BF_movZvIv32(c: CPU, i: Insn): void { c.r32[i.reg] = i.imm; }
export function op_C6_0_movEbIb(c: CPU, i: Insn): void { c.writeE8(i, i.imm); }
export function op_C7_0_movEvIz16(c: CPU, i: Insn): void { c.writeE16(i, i.imm); }
export function op_C7_0_movEvIz32(c: CPU, i: Insn): void { c.writeE32(i, i.imm); }

// --- LEA: the offset only, truncated to the operand size ---
export function op_8D_leaGvM16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = c.ea(i); }
export function op_8D_leaGvM32(c: CPU, i: Insn): void { c.r32[i.reg] = c.ea(i); }

// --- XCHG (memory forms are implicitly locked; no difference for one CPU) ---
export function op_86_xchgEbGb(c: CPU, i: Insn): void {
  const g = REG8[i.reg];
  if (i.mod === 3) { const r = REG8[i.rm]; const t = c.r8[r]; c.r8[r] = c.r8[g]; c.r8[g] = t; return; }
  const la = c.eaLin(i, 1, true); const t = c.rd8(la); c.wr8(la, c.r8[g]); c.r8[g] = t;
}
export function op_87_xchgEvGv16(c: CPU, i: Insn): void {
  const g = i.reg << 1;
  if (i.mod === 3) { const r = i.rm << 1; const t = c.r16[r]; c.r16[r] = c.r16[g]; c.r16[g] = t; return; }
  const la = c.eaLin(i, 2, true); const t = c.rd16(la); c.wr16(la, c.r16[g]); c.r16[g] = t;
}
export function op_87_xchgEvGv32(c: CPU, i: Insn): void {
  if (i.mod === 3) { const t = c.r32[i.rm]; c.r32[i.rm] = c.r32[i.reg]; c.r32[i.reg] = t; return; }
  const la = c.eaLin(i, 4, true); const t = c.rd32(la); c.wr32(la, c.r32[i.reg]); c.r32[i.reg] = t;
}
export function op_91_97_xchgZveAX16(c: CPU, i: Insn): void { const t = c.r16[0]; c.r16[0] = c.r16[i.reg << 1]; c.r16[i.reg << 1] = t; }
export function op_91_97_xchgZveAX32(c: CPU, i: Insn): void { const t = c.r32[0]; c.r32[0] = c.r32[i.reg]; c.r32[i.reg] = t; }
/** NOP; with F3 it is PAUSE, which can exit in VMX non-root operation ("PAUSE exiting"). */
export function op_90_nop(c: CPU, i: Insn): void { if (i.rep === Rep.RepE && c.nonRoot !== null) vmxPause(c, i); }
export function op_0F18_hintNop(): void { /* prefetch hints and multi-byte NOP (0F 18-1F): no architectural effect */ }
export function op_0F19_hintNop(): void {}
export function op_0F1A_hintNop(): void {}
export function op_0F1B_hintNop(): void {}
export function op_0F1C_hintNop(): void {}
export function op_0F1D_hintNop(): void {}
export function op_0F1E_hintNop(): void {}
export function op_0F1F_hintNop(): void {}
export function op_0F0D_hintNop(): void { /* 0F 0D: PREFETCHW / reserved NOP (SDM Vol2 PREFETCHW, Table A-3) */ }

// --- MOVZX / MOVSX ---
export function op_0FB6_movzxGvEb16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = c.readE8(i); }
export function op_0FB6_movzxGvEb32(c: CPU, i: Insn): void { c.r32[i.reg] = c.readE8(i); }
export function op_0FB7_movzxGvEw16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = c.readE16(i); }
export function op_0FB7_movzxGvEw32(c: CPU, i: Insn): void { c.r32[i.reg] = c.readE16(i); }
export function op_0FBE_movsxGvEb16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = (c.readE8(i) << 24) >> 24; }
export function op_0FBE_movsxGvEb32(c: CPU, i: Insn): void { c.r32[i.reg] = (c.readE8(i) << 24) >> 24; }
export function op_0FBF_movsxGvEw16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = c.readE16(i); }
export function op_0FBF_movsxGvEw32(c: CPU, i: Insn): void { c.r32[i.reg] = (c.readE16(i) << 16) >> 16; }

// --- CBW/CWDE, CWD/CDQ ---
export function op_98_cbw16(c: CPU): void { c.r16[0] = (c.r8[0] << 24) >> 24; }
export function op_98_cbw32(c: CPU): void { c.r32[0] = (c.r16[0] << 16) >> 16; }
export function op_99_cwd16(c: CPU): void { c.r16[4] = (c.r16[0] & 0x8000) !== 0 ? 0xffff : 0; }
export function op_99_cwd32(c: CPU): void { c.r32[2] = c.r32[0] >> 31; }

// --- BSWAP (16-bit operand size is undefined by the SDM; real CPUs zero the register) ---
export function op_0FC8_CF_bswapZd16(c: CPU, i: Insn): void { c.r16[i.reg << 1] = 0; }
export function op_0FC8_CF_bswapZd32(c: CPU, i: Insn): void {
  const v = c.r32[i.reg];
  c.r32[i.reg] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

// --- XLAT: AL = [seg:(E)BX + AL] ---
export function op_D7_xlat(c: CPU, i: Insn): void {
  const seg = i.segOverride >= 0 ? i.segOverride : 3;
  const off = i.a32 ? (c.r32[3] + c.r8[0]) | 0 : (c.r16[6] + c.r8[0]) & 0xffff;
  c.r8[0] = c.rd8(c.lin(seg, off, 1, false));
}
// --- SALC (undocumented D6): AL = CF ? FF : 00 ---
export function op_D6_salc(c: CPU): void { c.r8[0] = c.getCF() !== 0 ? 0xff : 0; }

// --- CMOVcc (the source is read even when the condition is false, so it can fault) ---
export function op_0F40_4F_cmovccGvEv16(c: CPU, i: Insn): void { const v = c.readE16(i); if (c.cond(i.cc)) c.r16[i.reg << 1] = v; }
export function op_0F40_4F_cmovccGvEv32(c: CPU, i: Insn): void { const v = c.readE32(i); if (c.cond(i.cc)) c.r32[i.reg] = v; }
// --- SETcc ---
export function op_0F90_9F_setccEb(c: CPU, i: Insn): void { c.writeE8(i, c.cond(i.cc) ? 1 : 0); }

// --- LAHF / SAHF: SF ZF AF PF CF <-> AH ---
const AHMASK = EFLAGS.SF | EFLAGS.ZF | EFLAGS.AF | EFLAGS.PF | EFLAGS.CF;
export function op_9F_lahf(c: CPU): void { c.r8[1] = (c.getEflags() & 0xff); }
export function op_9E_sahf(c: CPU): void { c.setFlagBits(c.r8[1], AHMASK); }

// --- flag instructions ---
export function op_F8_clc(c: CPU): void { c.setFlag(EFLAGS.CF, false); }
export function op_F9_stc(c: CPU): void { c.setFlag(EFLAGS.CF, true); }
export function op_F5_cmc(c: CPU): void { c.setFlag(EFLAGS.CF, c.getCF() === 0); }
export function op_FC_cld(c: CPU): void { c.flags &= ~EFLAGS.DF; }
export function op_FD_std(c: CPU): void { c.flags |= EFLAGS.DF; }
