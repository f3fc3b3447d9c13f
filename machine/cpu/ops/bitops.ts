// Bit operations and the remaining integer rows: BT/BTS/BTR/BTC (0FA3 0FAB 0FB3 0FBB, 0FBA/4-7),
// BSF/BSR, SHLD/SHRD, CMPXCHG, CMPXCHG8B, XADD, ARPL, CLFLUSH and the fences.
//
// Undefined flags: BT* change only CF (the others are left as they were); BSF/BSR change only ZF;
// SHLD/SHRD follow the shift rules of shift.ts (AF = 0; SHLD OF = CF XOR MSB(result), SHRD OF =
// XOR of the result's two top bits, at every count).

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { EFLAGS, REG8_INDEX as REG8 } from '../arch.js';
import { CpuFlags } from '../flags.js';
import { Mode } from '../state.js';
import { Access } from '../paging.js';

const CF = EFLAGS.CF, ZF = EFLAGS.ZF;

// ------------------------------------------------------------------ BT BTS BTR BTC
// SDM Vol2 BT: with a register operand the bit offset is taken modulo the operand size; with a
// memory operand and a register bit offset, the offset is a signed integer that can address bits
// far below or above the operand (the operand-size unit containing the bit is accessed). With an
// immediate offset, it is taken modulo the operand size.
const enum BitOp { Test = 0, Set = 1, Reset = 2, Complement = 3 }

function bitApply(op: BitOp, v: number, mask: number): number {
  switch (op) {
    case BitOp.Set: return v | mask;
    case BitOp.Reset: return v & ~mask;
    case BitOp.Complement: return v ^ mask;
    default: return v;
  }
}

/** Linear address of the word/dword containing bit `off` (signed) of the memory operand. */
function bitAddr(c: CPU, i: Insn, off: number, bytes: number, write: boolean): number {
  const delta = bytes === 2 ? (off >> 4) << 1 : (off >> 5) << 2;
  let ea = c.ea(i) + delta;
  ea = i.a32 ? ea | 0 : ea & 0xffff;
  return c.lin(i.seg, ea, bytes, write);
}

function bt16(c: CPU, i: Insn, op: BitOp, off: number, regOff: boolean): void {
  const mask = 1 << (off & 15);
  if (i.mod === 3) {
    const k = i.rm << 1, v = c.r16[k];
    if (op !== BitOp.Test) c.r16[k] = bitApply(op, v, mask);
    c.setFlag(CF, (v & mask) !== 0);
    return;
  }
  const w = op !== BitOp.Test;
  const la = regOff ? bitAddr(c, i, (off << 16) >> 16, 2, w) : c.eaLin(i, 2, w);
  const v = c.rd16(la);
  if (w) c.wr16(la, bitApply(op, v, mask));
  c.setFlag(CF, (v & mask) !== 0);
}
function bt32(c: CPU, i: Insn, op: BitOp, off: number, regOff: boolean): void {
  const mask = 1 << (off & 31);
  if (i.mod === 3) {
    const v = c.r32[i.rm];
    if (op !== BitOp.Test) c.r32[i.rm] = bitApply(op, v, mask);
    c.setFlag(CF, (v & mask) !== 0);
    return;
  }
  const w = op !== BitOp.Test;
  const la = regOff ? bitAddr(c, i, off | 0, 4, w) : c.eaLin(i, 4, w);
  const v = c.rd32(la);
  if (w) c.wr32(la, bitApply(op, v, mask));
  c.setFlag(CF, (v & mask) !== 0);
}

export function op_0FA3_btEvGv16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Test, c.r16[i.reg << 1], true); }
export function op_0FA3_btEvGv32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Test, c.r32[i.reg], true); }
export function op_0FAB_btsEvGv16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Set, c.r16[i.reg << 1], true); }
export function op_0FAB_btsEvGv32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Set, c.r32[i.reg], true); }
export function op_0FB3_btrEvGv16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Reset, c.r16[i.reg << 1], true); }
export function op_0FB3_btrEvGv32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Reset, c.r32[i.reg], true); }
export function op_0FBB_btcEvGv16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Complement, c.r16[i.reg << 1], true); }
export function op_0FBB_btcEvGv32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Complement, c.r32[i.reg], true); }
export function op_0FBA_4_btEvIb16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Test, i.imm, false); }
export function op_0FBA_4_btEvIb32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Test, i.imm, false); }
export function op_0FBA_5_btsEvIb16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Set, i.imm, false); }
export function op_0FBA_5_btsEvIb32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Set, i.imm, false); }
export function op_0FBA_6_btrEvIb16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Reset, i.imm, false); }
export function op_0FBA_6_btrEvIb32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Reset, i.imm, false); }
export function op_0FBA_7_btcEvIb16(c: CPU, i: Insn): void { bt16(c, i, BitOp.Complement, i.imm, false); }
export function op_0FBA_7_btcEvIb32(c: CPU, i: Insn): void { bt32(c, i, BitOp.Complement, i.imm, false); }

// ------------------------------------------------------------------ BSF BSR
// A zero source sets ZF and leaves the destination unchanged (SDM: "undefined"; every Intel CPU
// keeps the old value, and software relies on it).
export function op_0FBC_bsfGvEv16(c: CPU, i: Insn): void {
  const v = c.readE16(i);
  if (v === 0) { c.setFlag(ZF, true); return; }
  c.r16[i.reg << 1] = 31 - Math.clz32(v & -v);
  c.setFlag(ZF, false);
}
export function op_0FBC_bsfGvEv32(c: CPU, i: Insn): void {
  const v = c.readE32(i);
  if (v === 0) { c.setFlag(ZF, true); return; }
  c.r32[i.reg] = 31 - Math.clz32(v & -v);
  c.setFlag(ZF, false);
}
export function op_0FBD_bsrGvEv16(c: CPU, i: Insn): void {
  const v = c.readE16(i);
  if (v === 0) { c.setFlag(ZF, true); return; }
  c.r16[i.reg << 1] = 31 - Math.clz32(v);
  c.setFlag(ZF, false);
}
export function op_0FBD_bsrGvEv32(c: CPU, i: Insn): void {
  const v = c.readE32(i);
  if (v === 0) { c.setFlag(ZF, true); return; }
  c.r32[i.reg] = 31 - Math.clz32(v);
  c.setFlag(ZF, false);
}

// ------------------------------------------------------------------ SHLD SHRD
// SDM Vol2 SHLD/SHRD: count masked to 5 bits; 0 = no operation (flags unchanged). 32-bit counts
// are always < 32. For 16-bit operands with a count of 17-31 (undefined by the SDM), P6-family
// processors shift the 48-bit value dest:src:dest, which is what is modelled here for every count.
let shF = 0;

/** SHLD/SHRD 16-bit: result of shifting `d` by `cnt` (1-31) with bits from `s`; flags to shF. */
function shd16(d: number, s: number, cnt: number, left: boolean): number {
  // X = d·2^32 + s·2^16 + d (48 bits, exact as a double).
  const x = d * 4294967296 + s * 65536 + d;
  let r: number, cf: number;
  if (left) {
    r = Math.floor(x / 2 ** (32 - cnt)) & 0xffff;
    cf = Math.floor(x / 2 ** (48 - cnt)) & 1;
    shF = cf | ((cf ^ (r >>> 15)) << 11);
  } else {
    r = Math.floor(x / 2 ** cnt) & 0xffff;
    cf = Math.floor(x / 2 ** (cnt - 1)) & 1;
    shF = cf | ((((r >>> 15) ^ (r >>> 14)) & 1) << 11);
  }
  shF |= CpuFlags.szp(r, 15);
  return r;
}
function shd32(d: number, s: number, cnt: number, left: boolean): number {
  let r: number, cf: number;
  if (left) {
    r = (d << cnt) | (s >>> (32 - cnt));
    cf = (d >>> (32 - cnt)) & 1;
    shF = cf | ((cf ^ (r >>> 31)) << 11);
  } else {
    r = (d >>> cnt) | (s << (32 - cnt));
    cf = (d >>> (cnt - 1)) & 1;
    shF = cf | ((((r >>> 31) ^ (r >>> 30)) & 1) << 11);
  }
  shF |= CpuFlags.szp(r, 31);
  return r;
}
function shd16E(c: CPU, i: Insn, count: number, left: boolean): void {
  const cnt = count & 0x1f;
  if (cnt === 0) return;
  const s = c.r16[i.reg << 1];
  if (i.mod === 3) {
    const k = i.rm << 1;
    c.r16[k] = shd16(c.r16[k], s, cnt, left);
  } else {
    const la = c.eaLin(i, 2, true);
    c.wr16(la, shd16(c.rd16(la), s, cnt, left));
  }
  c.flagsEager(shF);
}
function shd32E(c: CPU, i: Insn, count: number, left: boolean): void {
  const cnt = count & 0x1f;
  if (cnt === 0) return;
  const s = c.r32[i.reg];
  if (i.mod === 3) {
    c.r32[i.rm] = shd32(c.r32[i.rm], s, cnt, left);
  } else {
    const la = c.eaLin(i, 4, true);
    c.wr32(la, shd32(c.rd32(la), s, cnt, left));
  }
  c.flagsEager(shF);
}
export function op_0FA4_shldEvGvIb16(c: CPU, i: Insn): void { shd16E(c, i, i.imm, true); }
export function op_0FA4_shldEvGvIb32(c: CPU, i: Insn): void { shd32E(c, i, i.imm, true); }
export function op_0FA5_shldEvGvCL16(c: CPU, i: Insn): void { shd16E(c, i, c.r8[4], true); }
export function op_0FA5_shldEvGvCL32(c: CPU, i: Insn): void { shd32E(c, i, c.r8[4], true); }
export function op_0FAC_shrdEvGvIb16(c: CPU, i: Insn): void { shd16E(c, i, i.imm, false); }
export function op_0FAC_shrdEvGvIb32(c: CPU, i: Insn): void { shd32E(c, i, i.imm, false); }
export function op_0FAD_shrdEvGvCL16(c: CPU, i: Insn): void { shd16E(c, i, c.r8[4], false); }
export function op_0FAD_shrdEvGvCL32(c: CPU, i: Insn): void { shd32E(c, i, c.r8[4], false); }

// ------------------------------------------------------------------ CMPXCHG
// SDM Vol2 CMPXCHG: flags as CMP accumulator, destination. A memory destination is always written
// (with its old value when the comparison fails), so a read-only destination faults either way.
export function op_0FB0_cmpxchgEbGb(c: CPU, i: Insn): void {
  const a = c.r8[0], src = c.r8[REG8[i.reg]];
  let d: number;
  if (i.mod === 3) {
    const k = REG8[i.rm];
    d = c.r8[k];
    if (a === d) c.r8[k] = src; else c.r8[0] = d;
  } else {
    const la = c.eaLin(i, 1, true);
    d = c.rd8(la);
    c.wr8(la, a === d ? src : d);
    if (a !== d) c.r8[0] = d;
  }
  c.flagsSub(a, d, (a - d) & 0xff, 7);
}
export function op_0FB1_cmpxchgEvGv16(c: CPU, i: Insn): void {
  const a = c.r16[0], src = c.r16[i.reg << 1];
  let d: number;
  if (i.mod === 3) {
    const k = i.rm << 1;
    d = c.r16[k];
    if (a === d) c.r16[k] = src; else c.r16[0] = d;
  } else {
    const la = c.eaLin(i, 2, true);
    d = c.rd16(la);
    c.wr16(la, a === d ? src : d);
    if (a !== d) c.r16[0] = d;
  }
  c.flagsSub(a, d, (a - d) & 0xffff, 15);
}
export function op_0FB1_cmpxchgEvGv32(c: CPU, i: Insn): void {
  const a = c.r32[0], src = c.r32[i.reg];
  let d: number;
  if (i.mod === 3) {
    d = c.r32[i.rm];
    if (a === d) c.r32[i.rm] = src; else c.r32[0] = d;
  } else {
    const la = c.eaLin(i, 4, true);
    d = c.rd32(la);
    c.wr32(la, a === d ? src : d);
    if (a !== d) c.r32[0] = d;
  }
  c.flagsSub(a, d, (a - d) | 0, 31);
}

// CMPXCHG8B m64 (0FC7/1; the register form is #UD by the table): compare EDX:EAX with m64; equal:
// ZF = 1, m64 = ECX:EBX; else ZF = 0, EDX:EAX = m64 (written back unchanged). Only ZF changes.
export function op_0FC7_1_cmpxchg8b(c: CPU, i: Insn): void {
  const la = c.eaLin(i, 8, true);
  const lo = c.rd32(la), hi = c.rd32((la + 4) | 0);
  // Both halves are written either way: check the second page is writable before the first write.
  c.translate((la + 7) | 0, Access.Write, c.cpl === 3);
  if (lo === c.r32[0] && hi === c.r32[2]) {
    c.wr32(la, c.r32[3]); c.wr32((la + 4) | 0, c.r32[1]);
    c.setFlag(ZF, true);
  } else {
    c.wr32(la, lo); c.wr32((la + 4) | 0, hi);
    c.r32[0] = lo; c.r32[2] = hi;
    c.setFlag(ZF, false);
  }
}

// ------------------------------------------------------------------ XADD
// SDM Vol2 XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (so XADD r, r leaves the sum).
export function op_0FC0_xaddEbGb(c: CPU, i: Insn): void {
  const g = REG8[i.reg], s = c.r8[g];
  let d: number, r: number;
  if (i.mod === 3) {
    const k = REG8[i.rm];
    d = c.r8[k]; r = (d + s) & 0xff;
    c.r8[g] = d; c.r8[k] = r;
  } else {
    const la = c.eaLin(i, 1, true);
    d = c.rd8(la); r = (d + s) & 0xff;
    c.wr8(la, r); c.r8[g] = d;
  }
  c.flagsAdd(d, s, r, 7);
}
export function op_0FC1_xaddEvGv16(c: CPU, i: Insn): void {
  const g = i.reg << 1, s = c.r16[g];
  let d: number, r: number;
  if (i.mod === 3) {
    const k = i.rm << 1;
    d = c.r16[k]; r = (d + s) & 0xffff;
    c.r16[g] = d; c.r16[k] = r;
  } else {
    const la = c.eaLin(i, 2, true);
    d = c.rd16(la); r = (d + s) & 0xffff;
    c.wr16(la, r); c.r16[g] = d;
  }
  c.flagsAdd(d, s, r, 15);
}
export function op_0FC1_xaddEvGv32(c: CPU, i: Insn): void {
  const s = c.r32[i.reg];
  let d: number, r: number;
  if (i.mod === 3) {
    d = c.r32[i.rm]; r = (d + s) | 0;
    c.r32[i.reg] = d; c.r32[i.rm] = r;
  } else {
    const la = c.eaLin(i, 4, true);
    d = c.rd32(la); r = (d + s) | 0;
    c.wr32(la, r); c.r32[i.reg] = d;
  }
  c.flagsAdd(d, s, r, 31);
}

// ------------------------------------------------------------------ ARPL
// SDM Vol2 ARPL: protected mode only (#UD in real-address and virtual-8086 mode). If the
// destination selector's RPL is below the source's, raise it and set ZF; else clear ZF.
export function op_63_arplEwGw(c: CPU, i: Insn): void {
  if (c.mode !== Mode.Protected) c.ud();
  const src = c.r16[i.reg << 1];
  if (i.mod === 3) {
    const k = i.rm << 1, d = c.r16[k];
    if ((d & 3) < (src & 3)) { c.r16[k] = (d & ~3) | (src & 3); c.setFlag(ZF, true); } else c.setFlag(ZF, false);
    return;
  }
  const la = c.eaLin(i, 2, true);
  const d = c.rd16(la);
  if ((d & 3) < (src & 3)) { c.wr16(la, (d & ~3) | (src & 3)); c.setFlag(ZF, true); } else c.setFlag(ZF, false);
}

// ------------------------------------------------------------------ CLFLUSH, fences
// No caches are modelled: CLFLUSH only performs the checks of a byte load (SDM Vol2 CLFLUSH:
// segment limit, paging and privilege) without touching memory; the fences order nothing.
export function op_0FAE_7_clflush(c: CPU, i: Insn): void {
  c.translate(c.eaLin(i, 1, false), Access.Read, c.cpl === 3);
}
export function op_0FAE_E8_lfence(): void {}
export function op_0FAE_F0_mfence(): void {}
export function op_0FAE_F8_sfence(): void {}

