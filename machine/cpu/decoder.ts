// Instruction decoder: bytes → Insn, driven entirely by the opcode table (optable.ts).
// Decoding never raises a guest fault: blocks are decoded ahead of execution, so an undefined
// opcode, a bad LOCK or an over-long instruction decodes to a handler that faults when executed.

import { OPDEFS, OpFlag, X87_UD, type OpDef } from './optable.js';
import { Insn, Rep, type Handler } from './insn.js';
import { SEG } from './arch.js';
import { ZERO_REG } from './state.js';
import { HANDLERS, op_ud, op_gp0, unimplemented } from './ops/index.js';

/** A table row with its handlers resolved for each operand size. */
interface DecEntry { def: OpDef; h16: Handler; h32: Handler }
interface DecSlot {
  plain: DecEntry | null;
  /** Group rows by ModRM.reg. */
  group: (DecEntry | null)[] | null;
  /** Register-form rows by full ModRM byte (0xC0-0xFF). */
  byModrm: (DecEntry | null)[] | null;
  /** Forms selected by a mandatory prefix 66 / F3 / F2 (SDM Vol2 2.1.2), if the opcode has any. */
  p66: DecSlot | null;
  pF3: DecSlot | null;
  pF2: DecSlot | null;
  /** Some form of this opcode has a ModRM byte. */
  modrm: boolean;
}

function resolve(def: OpDef): DecEntry {
  const h = HANDLERS;
  const base = h[def.handler];
  const h16 = h[def.handler + '16'] ?? base;
  const h32 = h[def.handler + '32'] ?? base;
  return { def, h16: h16 ?? unimplemented, h32: h32 ?? unimplemented };
}

/** Handler names the table expects but no ops module implements (for tests and reports). */
export const MISSING_HANDLERS: string[] = [];

const newSlot = (): DecSlot => ({ plain: null, group: null, byModrm: null, p66: null, pF3: null, pF2: null, modrm: false });
const MAP = new Array<DecSlot>(0x200);
for (let k = 0; k < 0x200; k++) MAP[k] = newSlot();
for (const def of OPDEFS) {
  const main = MAP[def.opcode >= 0x0f00 ? 0x100 + (def.opcode & 0xff) : def.opcode];
  const slot = def.prefix === 0x66 ? (main.p66 ??= newSlot()) : def.prefix === 0xf3 ? (main.pF3 ??= newSlot())
    : def.prefix === 0xf2 ? (main.pF2 ??= newSlot()) : main;
  const e = resolve(def);
  if (e.h16 === unimplemented && e.h32 === unimplemented && !MISSING_HANDLERS.includes(def.handler)) MISSING_HANDLERS.push(def.handler);
  if (def.modrmByte >= 0) {
    slot.byModrm ??= new Array(256).fill(null);
    for (let m = def.modrmByte; m <= def.modrmLast; m++) slot.byModrm[m] = e;
  } else if (def.groupReg >= 0) (slot.group ??= new Array(8).fill(null))[def.groupReg] = e;
  else slot.plain = e;
  if (def.hasModrm) { slot.modrm = true; main.modrm = true; }
}

/** The row of `slot` that ModRM byte `m` selects, or null (none, or its mod is not allowed). */
function lookup(slot: DecSlot, opcode: number, m: number): DecEntry | null {
  const mod = m >> 6;
  let e = slot.plain;
  if (e !== null) {
    if ((mod === 3 && e.def.memOnly) || (mod !== 3 && e.def.regOnly && !isMovCrDr(opcode))) return null;
    return e;
  }
  if (mod === 3 && slot.byModrm !== null && slot.byModrm[m] !== null) return slot.byModrm[m];
  e = slot.group !== null ? slot.group[(m >> 3) & 7] : null;
  if (e !== null && ((mod === 3 && e.def.memOnly) || (mod !== 3 && e.def.modrmByte >= 0))) return null;
  return e;
}

const UD_ENTRY: DecEntry = { def: null as unknown as OpDef, h16: op_ud, h32: op_ud };

/** Immediate byte count for a kind. */
function immSize(kind: string, o32: boolean, a32: boolean): number {
  switch (kind) {
    case 'b': case 'bs': return 1;
    case 'w': return 2;
    case 'z': case 'zs': return o32 ? 4 : 2;
    case 'o': return a32 ? 4 : 2;
    case 'p': return (o32 ? 4 : 2) + 2;
  }
  return 0;
}

/**
 * Decode one instruction from `bytes[pos..end)` for code of default size `cs32`.
 * Returns the length, or 0 if the instruction does not fit before `end` (caller fetches more).
 */
export function decode(bytes: Uint8Array, pos: number, end: number, cs32: boolean, i: Insn): number {
  i.reset();
  const start = pos;
  let o32 = cs32, a32 = cs32, seg = -1, rep = Rep.None, lock = false, has66 = false;
  let b = 0;
  // Prefixes (SDM Vol2 2.1.1): any number, in any order; of each group the last one counts.
  // More than 15 bytes in total is #GP(0).
  for (;;) {
    if (pos - start === 15) { i.exec = op_gp0; i.len = 15; return 15; }
    if (pos >= end) return 0;
    b = bytes[pos++];
    switch (b) {
      case 0x66: o32 = !cs32; has66 = true; continue;
      case 0x67: a32 = !cs32; continue;
      case 0xf0: lock = true; continue;
      case 0xf2: rep = Rep.RepNE; continue;
      case 0xf3: rep = Rep.RepE; continue;
      case 0x26: seg = SEG.ES; continue;
      case 0x2e: seg = SEG.CS; continue;
      case 0x36: seg = SEG.SS; continue;
      case 0x3e: seg = SEG.DS; continue;
      case 0x64: seg = SEG.FS; continue;
      case 0x65: seg = SEG.GS; continue;
    }
    break;
  }
  let opcode = b;
  if (b === 0x0f) {
    if (pos >= end) return 0;
    opcode = 0x0f00 | bytes[pos++];
  }
  const slot = MAP[opcode >= 0x0f00 ? 0x100 + (opcode & 0xff) : opcode];
  let e: DecEntry | null = slot.plain;
  let mandatory = false;
  if (slot.modrm) {
    if (pos >= end) return 0;
    const m = bytes[pos++];
    const mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
    i.mod = mod; i.reg = reg; i.rm = rm;
    e = lookup(slot, opcode, m);
    // A mandatory prefix selects another instruction when the table has one for it (F2/F3 before 66).
    const ps = rep === Rep.RepE ? slot.pF3 : rep === Rep.RepNE ? slot.pF2 : has66 ? slot.p66 : null;
    if (ps !== null) {
      const pe = lookup(ps, opcode, m);
      if (pe !== null) {
        e = pe; mandatory = true;
        if (pe.def.prefix === 0x66) o32 = cs32; else rep = Rep.None;
      }
    }
    if (mod !== 3 && !(e !== null && e.def.regOnly)) {
      // Memory operand (SDM Vol2 Tables 2-1, 2-2, 2-3).
      let defSeg: number = SEG.DS;
      if (a32) {
        if (rm === 4) {
          if (pos >= end) return 0;
          const sib = bytes[pos++];
          const sbase = sib & 7, sidx = (sib >> 3) & 7;
          i.scale = sib >> 6;
          i.index = sidx === 4 ? ZERO_REG : sidx;
          if (sbase === 5 && mod === 0) {
            i.base = ZERO_REG;
            if (pos + 4 > end) return 0;
            i.disp = rd32(bytes, pos); pos += 4;
          } else {
            i.base = sbase;
            if (sbase === 4 || sbase === 5) defSeg = SEG.SS;
          }
        } else if (rm === 5 && mod === 0) {
          i.base = ZERO_REG;
          if (pos + 4 > end) return 0;
          i.disp = rd32(bytes, pos); pos += 4;
        } else {
          i.base = rm;
          if (rm === 5) defSeg = SEG.SS;
        }
        if (mod === 1) { if (pos >= end) return 0; i.disp = (bytes[pos++] << 24) >> 24; }
        else if (mod === 2) { if (pos + 4 > end) return 0; i.disp = rd32(bytes, pos); pos += 4; }
      } else {
        // 16-bit addressing: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (disp16 if mod=0), BX.
        switch (rm) {
          case 0: i.base = 3; i.index = 6; break;
          case 1: i.base = 3; i.index = 7; break;
          case 2: i.base = 5; i.index = 6; defSeg = SEG.SS; break;
          case 3: i.base = 5; i.index = 7; defSeg = SEG.SS; break;
          case 4: i.base = 6; break;
          case 5: i.base = 7; break;
          case 6:
            if (mod === 0) {
              i.base = ZERO_REG;
              if (pos + 2 > end) return 0;
              i.disp = bytes[pos] | (bytes[pos + 1] << 8); pos += 2;
            } else { i.base = 5; defSeg = SEG.SS; }
            break;
          case 7: i.base = 3; break;
        }
        if (mod === 1) { if (pos >= end) return 0; i.disp = (bytes[pos++] << 24) >> 24; }
        else if (mod === 2) { if (pos + 2 > end) return 0; i.disp = (bytes[pos] | (bytes[pos + 1] << 8)) << 16 >> 16; pos += 2; }
      }
      i.seg = seg >= 0 ? seg : defSeg;
    }
  }
  i.op = opcode; i.o32 = o32; i.a32 = a32; i.rep = rep; i.lock = lock; i.segOverride = seg;
  if (e !== null && isRegInOpcode(e.def)) i.reg = opcode & 7;
  if (e !== null && isCondOpcode(opcode)) i.cc = opcode & 0xf;

  // Immediates.
  if (e !== null) {
    const imms = e.def.imms;
    for (let k = 0; k < imms.length; k++) {
      const kind = imms[k];
      const n = immSize(kind, o32, a32);
      if (pos + n > end) return 0;
      let v = 0;
      if (kind === 'o') {
        v = n === 4 ? rd32(bytes, pos) : bytes[pos] | (bytes[pos + 1] << 8);
        i.disp = v; i.base = ZERO_REG; i.index = ZERO_REG; i.seg = seg >= 0 ? seg : SEG.DS;
        pos += n;
        continue;
      }
      if (kind === 'p') {
        const on = n - 2;
        i.imm = on === 4 ? rd32(bytes, pos) : bytes[pos] | (bytes[pos + 1] << 8);
        i.imm2 = bytes[pos + on] | (bytes[pos + on + 1] << 8);
        pos += n;
        continue;
      }
      if (n === 1) v = kind === 'bs' ? (bytes[pos] << 24) >> 24 : bytes[pos];
      else if (n === 2) { v = bytes[pos] | (bytes[pos + 1] << 8); if (kind === 'zs') v = (v << 16) >> 16; }
      else v = rd32(bytes, pos);
      pos += n;
      if (k === 0) i.imm = v; else i.imm2 = v;
    }
  }

  const len = pos - start;
  if (len > 15) { i.exec = op_gp0; i.len = 15; i.def = e !== null ? e.def : null; return 15; }
  i.len = len;
  if (e === null) e = UD_ENTRY;
  i.def = e.def;
  i.exec = o32 ? e.h32 : e.h16;
  // LOCK is only legal on the lockable read-modify-write forms with a memory destination (#UD otherwise).
  if (lock && (e.def === null || (e.def.flags & OpFlag.Lockable) === 0 || i.mod === 3)) i.exec = op_ud;
  else if (e.def !== null) {
    // Reserved ModRM.reg values (Sreg 6/7, MOV to CS, CR1/CR5-7) and NP forms with a 66/F2/F3 prefix: #UD.
    if ((e.def.regMask & (1 << i.reg)) === 0 && e.def.hasModrm) i.exec = op_ud;
    else if ((e.def.flags & OpFlag.NoPrefix) !== 0 && !mandatory && (has66 || rep !== Rep.None)) i.exec = op_ud;
    // Reserved x87 encodings and FISTTP (optable.ts X87_RESERVED).
    else if (opcode >= 0xd8 && opcode <= 0xdf && X87_UD[(opcode - 0xd8) * 72 + (i.mod === 3 ? 8 + ((i.reg << 3) | i.rm) : i.reg)] !== 0) {
      i.exec = op_ud;
    }
  }
  return len;
}

function rd32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/** MOV to/from CRn/DRn ignore ModRM.mod and always use a register operand (SDM Vol2 MOV—Move to/from Control Registers). */
function isMovCrDr(op: number): boolean { return op >= 0x0f20 && op <= 0x0f23; }
function isRegInOpcode(def: OpDef): boolean { return def.operands.length > 0 && def.operands[0][0] === 'Z'; }
function isCondOpcode(op: number): boolean {
  return (op >= 0x70 && op <= 0x7f) || (op >= 0x0f40 && op <= 0x0f4f) || (op >= 0x0f80 && op <= 0x0f9f);
}

/** True if the instruction ends a decoded block. */
export function endsBlock(i: Insn): boolean {
  return i.def === null || (i.def.flags & OpFlag.EndsBlock) !== 0;
}

