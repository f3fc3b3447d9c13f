// Block compiler: a hot decoded block (blocks.ts) becomes one JS function built with `new Function`,
// which V8 then optimizes as a whole. The function does exactly what the interpreter loop in
// cpu.ts execBlock does for the same block, instruction by instruction:
//   - common forms are written out inline with their operands as constants (registers, immediates,
//     displacements, condition codes); every other instruction calls its handler with its Insn;
//   - before anything that can fault, VM-exit, read the clock or EIP, or end the block (memory
//     accesses, handler calls), the function sets prevEip/eip as the interpreter would and brings
//     clock.insns up to date, so faults roll back to the right instruction and devices see exact
//     virtual time; instructions that only touch registers and flags skip that bookkeeping (nothing
//     can observe it) and are counted in one addition;
//   - after an instruction that may write memory or call out, `blockStop` ends the block as in the
//     interpreter (self-modifying code, device requests).
// The interpreter stays the fallback: blocks run there until hot, whenever fewer instructions than
// the block's length may run (budget, single step), and everywhere when code generation is not
// allowed (a Content-Security-Policy without 'unsafe-eval': JIT_AVAILABLE is then false).
//
// Runs in: cpu.ts execBlock, once per block when it becomes hot (CPU.jitThreshold).

import type { Block, BlockFn } from './blocks.js';
import type { Handler, Insn } from './insn.js';
import { HANDLERS } from './ops/index.js';
import { REG8_INDEX, SEG } from './arch.js';
import { ZERO_REG } from './state.js';
import { PARITY } from './flags.js';

/** True if `new Function` works here (false under a CSP without 'unsafe-eval'). */
export const JIT_AVAILABLE: boolean = (() => {
  try { return (new Function('return 1') as () => number)() === 1; } catch { return false; }
})();

/**
 * Defaults for new CPUs (CPU.jitThreshold): a block is compiled when the interpreter starts its
 * `threshold`-th run of it (1 = compile at once; 0 = never).
 */
export const jitSettings: { threshold: number; debug: ((src: string, err: unknown) => void) | null } = { threshold: JIT_AVAILABLE ? 40 : 0, debug: null };
/** Blocks compiled, and compilations that failed (the block stays interpreted), since start. */
export const jitStats = { compiled: 0, failed: 0 };

/** Code for one instruction: `pure` = touches only registers and flags, cannot fault or call out. */
interface Form { pure: boolean; code: string }
/** Emits an instruction's code, or null to call its handler instead. */
type Emitter = (i: Insn, x: Ctx) => Form | null;

/**
 * What the lazy-flag fields hold at this point of the block, as far as the compiler knows (null =
 * unknown: block start, or after a handler call): the kind of the last flag-setting instruction and
 * its operand size (top bit). 'cmp' is an exact a - b (CMP, SUB, NEG), 'sub' also covers SBB.
 */
interface Known { kind: 'add' | 'sub' | 'cmp' | 'logic' | 'inc' | 'dec' | 'eager'; top: number }

/** What an emitter knows about the block position of its instruction. */
interface Ctx {
  /** The EIP of the next instruction (= c.eip while this one runs), as an expression. */
  next: string;
  /** The flag state before the instruction; an emitter that sets flags updates it. */
  known: Known | null;
}

const EMIT = new Map<Handler, Emitter>();
/** Handlers that are pure (register operands only: no fault, no memory, no EIP) when their ModRM names a register. */
const PURE_REG = new Set<Handler>();

function on(name: string, e: Emitter): void {
  const h = HANDLERS[name];
  if (h === undefined) throw new Error(`jit: no handler ${name}`);
  EMIT.set(h, e);
}
function pureWhenReg(names: string): void {
  for (const n of names.trim().split(/\s+/)) {
    const h = HANDLERS[n];
    if (h === undefined) throw new Error(`jit: no handler ${n}`);
    PURE_REG.add(h);
  }
}

// ------------------------------------------------------------------ operands
// Generated code names: r32/r16/r8 the register file, e the block's start EIP, clock, and for memory
// tlb, ram/ram16/ram32, cb (code bits), sR/sW/sB (segment read/write limits, bases); see blockSource.
const R8 = (n: number): string => `r8[${REG8_INDEX[n]}]`;
const R16 = (n: number): string => `r16[${n << 1}]`;
const R32 = (n: number): string => `r32[${n}]`;
const REG: Record<number, (n: number) => string> = { 8: R8, 16: R16, 32: R32 };
const TOP: Record<number, number> = { 8: 7, 16: 15, 32: 31 };
const MASK: Record<number, (e: string) => string> = { 8: (e) => `(${e}) & 255`, 16: (e) => `(${e}) & 65535`, 32: (e) => `(${e}) | 0` };
const BYTES: Record<number, number> = { 8: 1, 16: 2, 32: 4 };
const IMM: Record<number, (v: number) => string> = { 8: (v) => `${v & 0xff}`, 16: (v) => `${v & 0xffff}`, 32: (v) => `${v | 0}` };

/** The memory operand's offset (cpu.ts ea()). */
function ea(i: Insn): string {
  const t: string[] = [];
  if (i.base !== ZERO_REG) t.push(R32(i.base));
  if (i.index !== ZERO_REG) t.push(i.scale !== 0 ? `(${R32(i.index)} << ${i.scale})` : R32(i.index));
  if (i.disp !== 0 || t.length === 0) t.push(`${i.disp | 0}`);
  if (!i.a32) return `((${t.join(' + ')}) & 65535)`;
  return t.length === 1 && i.disp === 0 ? t[0] : `((${t.join(' + ')}) | 0)`;
}
/**
 * Statements defining `la`, the linear address of the memory operand for an access of `size`
 * bytes: cpu.ts lin() (fast-path limit, else segViolation for the exact checks).
 */
function linStmt(i: Insn, size: number, write: boolean): string {
  return `const o = ${ea(i)}; if ((o >>> 0) + ${size - 1} > ${write ? 'sW' : 'sR'}[${i.seg}]) c.segViolation(${i.seg}, o >>> 0, ${size}, ${write}); ` +
    `const la = (sB[${i.seg}] + o) | 0;`;
}
/** Statement defining `v` = the `sz`-bit value at linear `la`: the mmu.ts rd8/16/32 fast path for aligned RAM, else the call. */
function loadStmt(sz: number, v: string): string {
  const t = `t${v}`, pa = `((${t} & -4096) | (la & 4095))`;
  if (sz === 8) return `const ${t} = tlb[la >>> 12]; const ${v} = (${t} & c.rdMask) === 1 ? ram[${pa}] : c.rd8(la);`;
  if (sz === 16) return `const ${t} = tlb[la >>> 12]; const ${v} = (${t} & c.rdMask) === 1 && (la & 1) === 0 ? ram16[${pa} >> 1] : c.rd16(la);`;
  return `const ${t} = tlb[la >>> 12]; const ${v} = (${t} & c.rdMask) === 1 && (la & 3) === 0 ? ram32[${pa} >> 2] : c.rd32(la);`;
}
/** Statement storing `v` at linear `la`: the mmu.ts wr8/16/32 fast path (with the code-bits check) for aligned RAM, else the call. */
function storeStmt(sz: number, v: string): string {
  const al = sz === 8 ? '' : sz === 16 ? ' && (la & 1) === 0' : ' && (la & 3) === 0';
  const arr = sz === 8 ? 'ram[pa]' : sz === 16 ? 'ram16[pa >> 1]' : 'ram32[pa >> 2]';
  return `{ const tw = tlb[la >>> 12]; if ((tw & c.wrMask) === 1${al}) { const pa = (tw & -4096) | (la & 4095); ` +
    `if (cb[pa >>> 10] !== 0) c.checkCodeWrite(pa, ${BYTES[sz]}); ${arr} = ${v}; } else c.wr${sz}(la, ${v}); }`;
}
/** Statements defining `v` = the E operand (cpu.ts readE8/16/32). */
function readE(i: Insn, sz: number, v: string): string {
  return i.mod === 3 ? `const ${v} = ${REG[sz](i.rm)};` : `${linStmt(i, BYTES[sz], false)} ${loadStmt(sz, v)}`;
}
/** Statements writing expression `val` to the E operand (cpu.ts writeE8/16/32). */
function writeE(i: Insn, sz: number, val: string): string {
  return i.mod === 3 ? `${REG[sz](i.rm)} = ${val};` : `{ const w = ${val}; ${linStmt(i, BYTES[sz], true)} ${storeStmt(sz, 'w')} }`;
}

// Lazy flags written out: the same fields and values as flags.ts flagsAdd/flagsSub/flagsLogic/
// flagsIncDec/flagsEager (keep in step with it), so a block needs no calls for them.
const OSZAPC_ = 0x8d5;
const fAdd = (x: Ctx, a: string, b: string, r: string, top: number, k: 'add' | 'sub' | 'cmp'): string => {
  x.known = { kind: k, top };
  return `c.lOp = ${k === 'add' ? 0 : 1}; c.lA = ${a}; c.lB = ${b}; c.lRes = ${r}; c.lTop = ${top}; c.lazy = ${OSZAPC_};`;
};
const fLogic = (x: Ctx, r: string, top: number): string => {
  x.known = { kind: 'logic', top };
  return `c.lOp = 2; c.lA = 0; c.lB = 0; c.lRes = ${r}; c.lTop = ${top}; c.lazy = ${OSZAPC_};`;
};
/** OSZAPC from `f` (an expression with no bits outside OSZAPC). */
const fEager = (x: Ctx, f: string): string => {
  x.known = { kind: 'eager', top: 31 };
  return `c.flags = (c.flags & ${~OSZAPC_}) | (${f}); c.lazy = 0;`;
};
/** INC/DEC: CF is kept (made eager if it was lazy), the rest lazy. */
const fIncDec = (x: Ctx, a: string, r: string, top: number, dec: boolean): string => {
  const keepCf = x.known === null ? 'if ((c.lazy & 1) !== 0) c.flags = (c.flags & -2) | c.getCF();'
    : x.known.kind === 'eager' || x.known.kind === 'inc' || x.known.kind === 'dec' ? '' : `c.flags = (c.flags & -2) | ${cfOf(x.known)};`;
  x.known = { kind: dec ? 'dec' : 'inc', top };
  return `${keepCf} c.lOp = ${dec ? 1 : 0}; c.lA = ${a}; c.lB = 1; c.lRes = ${r}; c.lTop = ${top}; c.lazy = ${OSZAPC_ & ~1};`;
};
/** CF (0/1) under a known add/sub/cmp/logic lazy state (flags.ts getCF). */
function cfOf(k: Known): string {
  if (k.kind === 'logic') return '0';
  if (k.kind === 'add') return `((((c.lA & c.lB) | ((c.lA | c.lB) & ~c.lRes)) >>> ${k.top}) & 1)`;
  if (k.kind === 'cmp' && k.top === 31) return '((c.lA >>> 0) < (c.lB >>> 0) ? 1 : 0)';
  if (k.kind === 'sub' || k.kind === 'cmp') return `((((~c.lA & c.lB) | ((~c.lA | c.lB) & c.lRes)) >>> ${k.top}) & 1)`;
  return '(c.flags & 1)';
}

const pure = (code: string): Form => ({ pure: true, code });
const eff = (code: string): Form => ({ pure: false, code });
/** Pure for a register operand, effectful for memory. */
const byMod = (i: Insn, code: string): Form => (i.mod === 3 ? pure(code) : eff(code));

// ------------------------------------------------------------------ ALU (scripts/gen-alu.mjs semantics)
type AluKind = 'add' | 'or' | 'adc' | 'sbb' | 'and' | 'sub' | 'xor' | 'cmp';
const ALU: [AluKind, number][] = [['add', 0x00], ['or', 0x08], ['adc', 0x10], ['sbb', 0x18], ['and', 0x20], ['sub', 0x28], ['xor', 0x30], ['cmp', 0x38]];
/** `const r = ...;` and the flag statement for a op b at size sz (r written before flags, as in alu.gen.ts). */
function aluCalc(k: AluKind, sz: number, x: Ctx): [string, string] {
  const top = TOP[sz], m = MASK[sz];
  const cf = x.known === null ? 'c.getCF()' : cfOf(x.known);
  switch (k) {
    case 'add': return [`const r = ${m('a + b')};`, fAdd(x, 'a', 'b', 'r', top, 'add')];
    case 'adc': return [`const r = ${m(`a + b + ${cf}`)};`, fAdd(x, 'a', 'b', 'r', top, 'add')];
    case 'sub': case 'cmp': return [`const r = ${m('a - b')};`, fAdd(x, 'a', 'b', 'r', top, 'cmp')];
    case 'sbb': return [`const r = ${m(`a - b - ${cf}`)};`, fAdd(x, 'a', 'b', 'r', top, 'sub')];
    case 'or': return ['const r = a | b;', fLogic(x, 'r', top)];
    case 'and': return ['const r = a & b;', fLogic(x, 'r', top)];
    case 'xor': return ['const r = a ^ b;', fLogic(x, 'r', top)];
  }
}
/** Destination E (register or memory), source expression `src`. */
function aluE(k: AluKind, sz: number, i: Insn, x: Ctx, src: string): Form {
  const [calc, flags] = aluCalc(k, sz, x);
  const wb = k !== 'cmp';
  if (i.mod === 3) {
    const d = REG[sz](i.rm);
    return pure(`{ const b = ${src}; const a = ${d}; ${calc} ${wb ? `${d} = r;` : ''} ${flags} }`);
  }
  return eff(`{ const b = ${src}; ${linStmt(i, BYTES[sz], wb)} ${loadStmt(sz, 'a')} ${calc} ${wb ? storeStmt(sz, 'r') : ''} ${flags} }`);
}
/** Destination G (a register), source E. */
function aluG(k: AluKind, sz: number, i: Insn, x: Ctx): Form {
  const [calc, flags] = aluCalc(k, sz, x);
  const d = REG[sz](i.reg);
  return byMod(i, `{ ${readE(i, sz, 'b')} const a = ${d}; ${calc} ${k !== 'cmp' ? `${d} = r;` : ''} ${flags} }`);
}
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
for (const [k, base] of ALU) {
  on(`op_${hex2(base)}_${k}EbGb`, (i, x) => aluE(k, 8, i, x, R8(i.reg)));
  on(`op_${hex2(base + 1)}_${k}EvGv16`, (i, x) => aluE(k, 16, i, x, R16(i.reg)));
  on(`op_${hex2(base + 1)}_${k}EvGv32`, (i, x) => aluE(k, 32, i, x, R32(i.reg)));
  on(`op_${hex2(base + 2)}_${k}GbEb`, (i, x) => aluG(k, 8, i, x));
  on(`op_${hex2(base + 3)}_${k}GvEv16`, (i, x) => aluG(k, 16, i, x));
  on(`op_${hex2(base + 3)}_${k}GvEv32`, (i, x) => aluG(k, 32, i, x));
  for (const sz of [8, 16, 32]) {
    const name = sz === 8 ? `op_${hex2(base + 4)}_${k}ALIb` : `op_${hex2(base + 5)}_${k}eAXIz${sz}`;
    on(name, (i, x) => {
      const [calc, flags] = aluCalc(k, sz, x);
      const d = REG[sz](0);
      return pure(`{ const b = ${IMM[sz](i.imm)}; const a = ${d}; ${calc} ${k !== 'cmp' ? `${d} = r;` : ''} ${flags} }`);
    });
  }
  const g = base >> 3;
  on(`op_80_${g}_${k}EbIb`, (i, x) => aluE(k, 8, i, x, IMM[8](i.imm)));
  on(`op_82_${g}_${k}EbIb`, (i, x) => aluE(k, 8, i, x, IMM[8](i.imm)));
  for (const sz of [16, 32]) {
    on(`op_81_${g}_${k}EvIz${sz}`, (i, x) => aluE(k, sz, i, x, IMM[sz](i.imm)));
    on(`op_83_${g}_${k}EvIbs${sz}`, (i, x) => aluE(k, sz, i, x, IMM[sz](i.imm)));
  }
}
// TEST
for (const sz of [8, 16, 32]) {
  const sfx = sz === 8 ? 'EbGb' : `EvGv${sz}`;
  on(`op_${sz === 8 ? '84' : '85'}_test${sfx}`, (i, x) => byMod(i, `{ ${readE(i, sz, 'a')} const r = a & ${REG[sz](i.reg)}; ${fLogic(x, 'r', TOP[sz])} }`));
  on(`op_${sz === 8 ? 'A8' : 'A9'}_test${sz === 8 ? 'ALIb' : `eAXIz${sz}`}`, (i, x) => pure(`{ const r = ${REG[sz](0)} & ${IMM[sz](i.imm)}; ${fLogic(x, 'r', TOP[sz])} }`));
  for (const g of [0, 1]) {
    on(`op_${sz === 8 ? 'F6' : 'F7'}_${g}_test${sz === 8 ? 'EbIb' : `EvIz${sz}`}`, (i, x) =>
      byMod(i, `{ ${readE(i, sz, 'a')} const r = a & ${IMM[sz](i.imm)}; ${fLogic(x, 'r', TOP[sz])} }`));
  }
}
// INC/DEC
for (const sz of [16, 32]) {
  on(`op_40_47_incZv${sz}`, (i, x) => pure(`{ const a = ${REG[sz](i.reg)}; const r = ${MASK[sz]('a + 1')}; ${REG[sz](i.reg)} = r; ${fIncDec(x, 'a', 'r', TOP[sz], false)} }`));
  on(`op_48_4F_decZv${sz}`, (i, x) => pure(`{ const a = ${REG[sz](i.reg)}; const r = ${MASK[sz]('a - 1')}; ${REG[sz](i.reg)} = r; ${fIncDec(x, 'a', 'r', TOP[sz], true)} }`));
}
for (const sz of [8, 16, 32]) {
  const sfx = sz === 8 ? 'Eb' : `Ev${sz}`, g = sz === 8 ? 'FE' : 'FF';
  for (const [n, op, dec] of [[0, '+', false], [1, '-', true]] as const) {
    on(`op_${g}_${n}_${dec ? 'dec' : 'inc'}${sfx}`, (i, x) => {
      if (i.mod === 3) {
        const d = REG[sz](i.rm);
        return pure(`{ const a = ${d}; const r = ${MASK[sz](`a ${op} 1`)}; ${d} = r; ${fIncDec(x, 'a', 'r', TOP[sz], dec)} }`);
      }
      return eff(`{ ${linStmt(i, BYTES[sz], true)} ${loadStmt(sz, 'a')} const r = ${MASK[sz](`a ${op} 1`)}; ${storeStmt(sz, 'r')} ${fIncDec(x, 'a', 'r', TOP[sz], dec)} }`);
    });
  }
}

// ------------------------------------------------------------------ MOV, LEA, MOVZX/MOVSX, IMUL
for (const sz of [8, 16, 32]) {
  const v = sz === 8 ? '' : `${sz}`;
  on(`op_${sz === 8 ? '88' : '89'}_movE${sz === 8 ? 'bGb' : 'vGv'}${v}`, (i) => byMod(i, writeE(i, sz, REG[sz](i.reg))));
  on(`op_${sz === 8 ? '8A' : '8B'}_movG${sz === 8 ? 'bEb' : 'vEv'}${v}`, (i) =>
    i.mod === 3 ? pure(`${REG[sz](i.reg)} = ${REG[sz](i.rm)};`) : eff(`{ ${readE(i, sz, 'v')} ${REG[sz](i.reg)} = v; }`));
  on(sz === 8 ? 'op_C6_0_movEbIb' : `op_C7_0_movEvIz${sz}`, (i) => byMod(i, writeE(i, sz, `${i.imm | 0}`)));
}
on('op_B0_B7_movZbIb', (i) => pure(`${R8(i.reg)} = ${i.imm & 0xff};`));
on('op_B8_BF_movZvIv16', (i) => pure(`${R16(i.reg)} = ${i.imm & 0xffff};`));
on('op_B8_BF_movZvIv32', (i) => pure(`${R32(i.reg)} = ${i.imm | 0};`));
on('op_8D_leaGvM16', (i) => pure(`${R16(i.reg)} = ${ea(i)};`));
on('op_8D_leaGvM32', (i) => pure(`${R32(i.reg)} = ${ea(i)};`));
for (const [op, name, from, sx] of [['0FB6', 'movzxGvEb', 8, false], ['0FB7', 'movzxGvEw', 16, false], ['0FBE', 'movsxGvEb', 8, true], ['0FBF', 'movsxGvEw', 16, true]] as const) {
  for (const sz of [16, 32]) {
    on(`op_${op}_${name}${sz}`, (i) => {
      let v = 'v';
      if (sx && (sz === 32 || from === 8)) v = from === 8 ? '(v << 24) >> 24' : '(v << 16) >> 16';
      return byMod(i, `{ ${readE(i, from, 'v')} ${REG[sz](i.reg)} = ${v}; }`);
    });
  }
}
const SZP32 = (r: string): string => `((${r} === 0 ? 64 : 0) | ((${r} >>> 31) << 7) | (PARITY[${r} & 255] << 2))`;
// IMUL r32, r/m32 (, imm): muldiv.ts imul32 — CF = OF = the full product differs from its low half.
on('op_0FAF_imulGvEv32', (i, x) =>
  byMod(i, `{ ${readE(i, 32, 'b')} const a = ${R32(i.reg)}; const lo = Math.imul(a, b); ${R32(i.reg)} = lo; ${fEager(x, `${SZP32('lo')} | (a * b !== lo ? 2049 : 0)`)} }`));
for (const name of ['op_69_imulGvEvIz32', 'op_6B_imulGvEvIbs32']) {
  on(name, (i, x) => byMod(i, `{ ${readE(i, 32, 'a')} const lo = Math.imul(a, ${i.imm | 0}); ${R32(i.reg)} = lo; ${fEager(x, `${SZP32('lo')} | (a * ${i.imm | 0} !== lo ? 2049 : 0)`)} }`));
}

// ------------------------------------------------------------------ shifts by a constant (shift.ts semantics)
// SHL/SHR/SAR r/m32 by imm8 or 1: the masked count is known, so CF/OF/SZP are written out.
function shift32(kind: 'shl' | 'shr' | 'sar', count: number, i: Insn, x: Ctx): Form | null {
  const cnt = count & 31;
  if (cnt === 0) return i.mod === 3 ? pure('') : null; // no change, no flags (a memory operand is still checked: use the handler)
  let res: string, fl: string;
  if (kind === 'shl') {
    res = `const r = a << ${cnt};`;
    fl = `const cf = (a >>> ${32 - cnt}) & 1; ${fEager(x, `cf | ${SZP32('r')} | ((cf ^ (r >>> 31)) << 11)`)}`;
  } else if (kind === 'shr') {
    res = `const r = (a >>> ${cnt}) | 0;`;
    fl = fEager(x, `((a >>> ${cnt - 1}) & 1) | ${SZP32('r')}${cnt === 1 ? ' | ((a >>> 31) << 11)' : ''}`);
  } else {
    res = `const r = a >> ${cnt};`;
    fl = fEager(x, `((a >> ${cnt - 1}) & 1) | ${SZP32('r')}`);
  }
  // The result is written before the flags, as in shift.ts (it matters for a faulting write).
  if (i.mod === 3) return pure(`{ const a = ${R32(i.rm)}; ${res} ${R32(i.rm)} = r; ${fl} }`);
  return eff(`{ ${linStmt(i, 4, true)} ${loadStmt(32, 'a')} ${res} ${storeStmt(32, 'r')} ${fl} }`);
}
for (const [g, kind] of [[4, 'shl'], [6, 'shl'], [5, 'shr'], [7, 'sar']] as const) {
  const n = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'shl', 'sar'][g];
  on(`op_C1_${g}_${n}EvIb32`, (i, x) => shift32(kind, i.imm, i, x));
  on(`op_D1_${g}_${n}Ev132`, (i, x) => shift32(kind, 1, i, x));
}

// ------------------------------------------------------------------ stack (cpu.ts push32/pop32 with a 32-bit stack; else the call)
const SS = SEG.SS;
const push32 = (v: string): string =>
  `{ const w = ${v}; if (c.ss32) { const o = (r32[4] - 4) | 0; if ((o >>> 0) + 3 > sW[${SS}]) c.segViolation(${SS}, o >>> 0, 4, true); ` +
  `const la = (sB[${SS}] + o) | 0; ${storeStmt(32, 'w')} r32[4] = o; } else c.push32(w); }`;
const pop32 = (dst: string): string =>
  `{ let v; if (c.ss32) { const o = r32[4]; if ((o >>> 0) + 3 > sR[${SS}]) c.segViolation(${SS}, o >>> 0, 4, false); ` +
  `const la = (sB[${SS}] + o) | 0; ${loadStmt(32, 'x')} r32[4] = (o + 4) | 0; v = x; } else v = c.pop32(); ${dst} = v; }`;
on('op_50_57_pushZv32', (i) => eff(push32(R32(i.reg))));
on('op_58_5F_popZv32', (i) => eff(pop32(R32(i.reg))));
on('op_68_pushIz32', (i) => eff(push32(`${i.imm | 0}`)));
on('op_6A_pushIbs32', (i) => eff(push32(`${i.imm | 0}`)));

// ------------------------------------------------------------------ near branches (branch.ts semantics)
/** Condition cc (cpu.ts cond(), SDM Vol1 B.1) as an expression, specialized to the known flag state. */
function cond(cc: number, k: Known | null): string {
  const n = cc >> 1;
  let e: string | null = null;
  const top = k !== null ? k.top : 31;
  const sf = top === 31 ? 'c.lRes < 0' : `((c.lRes >>> ${top}) & 1) !== 0`;
  if (k !== null && k.kind === 'cmp' && top === 31) {
    // An exact a - b: the flags are comparisons of a and b.
    e = ['((c.lA ^ c.lB) & (c.lA ^ c.lRes)) < 0', '(c.lA >>> 0) < (c.lB >>> 0)', 'c.lRes === 0', '(c.lA >>> 0) <= (c.lB >>> 0)',
      'c.lRes < 0', 'PARITY[c.lRes & 255] !== 0', 'c.lA < c.lB', 'c.lA <= c.lB'][n];
  } else if (k !== null && k.kind === 'logic') {
    // CF = OF = 0.
    e = ['false', 'false', 'c.lRes === 0', 'c.lRes === 0', sf, 'PARITY[c.lRes & 255] !== 0', sf, `(c.lRes === 0 || ${sf})`][n];
  } else if (k !== null && k.kind === 'eager') {
    const f = (bit: number): string => `(c.flags & ${bit}) !== 0`;
    e = [f(0x800), f(1), f(0x40), '(c.flags & 65) !== 0', f(0x80), f(4), '((c.flags >>> 7) & 1) !== ((c.flags >>> 11) & 1)',
      '((c.flags & 64) !== 0 || ((c.flags >>> 7) & 1) !== ((c.flags >>> 11) & 1))'][n];
  } else if (k !== null && (k.kind === 'inc' || k.kind === 'dec') && top === 31) {
    // CF is eager; OF: the result wrapped past the sign boundary.
    const of = k.kind === 'inc' ? 'c.lRes === -2147483648' : 'c.lRes === 2147483647';
    e = [of, '(c.flags & 1) !== 0', 'c.lRes === 0', '((c.flags & 1) !== 0 || c.lRes === 0)', 'c.lRes < 0', 'PARITY[c.lRes & 255] !== 0',
      `(c.lRes < 0) !== (${of})`, `(c.lRes === 0 || (c.lRes < 0) !== (${of}))`][n];
  }
  if (e === null) {
    e = ['c.getOF() !== 0', 'c.getCF() !== 0', 'c.getZF() !== 0', '(c.getCF() | c.getZF()) !== 0', 'c.getSF() !== 0', 'c.getPF() !== 0',
      'c.getSF() !== c.getOF()', '(c.getZF() !== 0 || c.getSF() !== c.getOF())'][n];
  }
  return (cc & 1) !== 0 ? `!(${e})` : `(${e})`;
}
/** Jump to EIP + imm (truncated by operand size) after the CS limit check (branch.ts jumpTo). */
function jump(i: Insn, x: Ctx): string {
  const t = `(${x.next} + ${i.imm | 0}) ${i.o32 ? '| 0' : '& 65535'}`;
  return `{ const t = ${t}; if ((t >>> 0) > c.segLimit[${SEG.CS}]) c.gp(0); c.eip = t; }`;
}
on('op_70_7F_jccJb', (i, x) => eff(`if (${cond(i.cc, x.known)}) ${jump(i, x)}`));
on('op_0F80_8F_jccJz', (i, x) => eff(`if (${cond(i.cc, x.known)}) ${jump(i, x)}`));
on('op_EB_jmpJb', (i, x) => eff(jump(i, x)));
on('op_E9_jmpJz', (i, x) => eff(jump(i, x)));
on('op_E8_callJz32', (i, x) => eff(`{ const t = (${x.next} + ${i.imm | 0}) | 0; if ((t >>> 0) > c.segLimit[${SEG.CS}]) c.gp(0); ${push32('c.eip')} c.eip = t; }`));
on('op_C3_ret32', () => eff(`{ const t = c.peekStack(0, 4); if ((t >>> 0) > c.segLimit[${SEG.CS}]) c.gp(0); c.adjustSp(4); c.eip = t; }`));

// Register forms that cannot fault or observe EIP: their handlers are called without bookkeeping.
pureWhenReg(`
  op_0FAF_imulGvEv16 op_F7_4_mulEv32 op_F7_5_imulEv32
  op_C1_0_rolEvIb32 op_C1_1_rorEvIb32 op_C1_2_rclEvIb32 op_C1_3_rcrEvIb32 op_D1_0_rolEv132 op_D1_1_rorEv132
  op_D1_2_rclEv132 op_D1_3_rcrEv132 op_D3_0_rolEvCL32 op_D3_1_rorEvCL32 op_D3_2_rclEvCL32 op_D3_3_rcrEvCL32
  op_D3_4_shlEvCL32 op_D3_5_shrEvCL32 op_D3_6_shlEvCL32 op_D3_7_sarEvCL32
  op_C1_4_shlEvIb16 op_C1_5_shrEvIb16 op_C1_7_sarEvIb16 op_D1_4_shlEv116 op_D1_5_shrEv116 op_D1_7_sarEv116
  op_C0_4_shlEbIb op_C0_5_shrEbIb op_C0_7_sarEbIb op_D0_4_shlEb1 op_D0_5_shrEb1 op_D2_4_shlEbCL op_D2_5_shrEbCL
  op_F7_2_notEv32 op_F7_3_negEv32 op_F6_2_notEb op_F6_3_negEb op_F7_2_notEv16 op_F7_3_negEv16
  op_0F40_4F_cmovccGvEv32 op_0F90_9F_setccEb op_87_xchgEvGv32 op_86_xchgEbGb op_91_97_xchgZveAX32
  op_99_cwd32 op_98_cbw32 op_99_cwd16 op_98_cbw16 op_0FC8_CF_bswapZd32
  op_0FA3_btEvGv32 op_0FAB_btsEvGv32 op_0FB3_btrEvGv32 op_0FBA_4_btEvIb32 op_0FBC_bsfGvEv32 op_0FBD_bsrGvEv32
  op_0FA4_shldEvGvIb32 op_0FAC_shrdEvGvIb32 op_0FA5_shldEvGvCL32 op_0FAD_shrdEvGvCL32
  op_F8_clc op_F9_stc op_F5_cmc op_FC_cld op_FD_std op_9F_lahf op_9E_sahf
`);

// ------------------------------------------------------------------ the compiler
/** Locals a block function may use, loaded once at its start (only those its code names). */
const PRELUDE: [string, string][] = [
  ['r32', 'c.r32'], ['r16', 'c.r16'], ['r8', 'c.r8'], ['tlb', 'c.tlb'], ['ram', 'c.ram'], ['ram16', 'c.ram16'],
  ['ram32', 'c.ram32'], ['cb', 'c.codeBits'], ['sR', 'c.segRLim'], ['sW', 'c.segWLim'], ['sB', 'c.segBase'],
];

/** Generated statements of one block, and the constants they name. */
interface Body { code: string; consts: string[] }

/**
 * The statements of block `b` (number `j` among the blocks of one function: its handlers and Insns
 * are H[j][k], I[j][k]); `exit` ends the function when an instruction set blockStop.
 */
function blockBody(b: Block, j: number, exit: string): Body {
  const insns = b.insns;
  const mask = b.cs32 ? '| 0' : '& 65535';
  const at = (off: number): string => (off === 0 ? 'e' : `((e + ${off}) ${mask})`);
  const consts: string[] = [];
  let code = '';
  let pending = 0;
  let eipSet = false;
  let off = 0;
  let known: Known | null = null;
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k];
    const end = off + i.len;
    const last = k === insns.length - 1;
    const x: Ctx = { next: at(end), known };
    const em = EMIT.get(i.exec);
    let f: Form | null = em !== undefined ? em(i, x) : null;
    known = x.known;
    const call = `h${j}_${k}(c, i${j}_${k});`;
    if (f === null) {
      consts.push(`h${j}_${k} = H[${j}][${k}]`, `i${j}_${k} = I[${j}][${k}]`);
      f = PURE_REG.has(i.exec) && (i.mod === 3 || i.def === null || !i.def.hasModrm) ? pure(call) : eff(call);
      known = null; // the handler may have set any flags
    }
    if (f.pure) {
      code += `  ${f.code}\n`;
      pending++;
      eipSet = false;
    } else {
      if (pending > 0) code += `  clock.insns += ${pending};\n`;
      code += `  c.prevEip = ${at(off)}; c.eip = ${at(end)};\n  ${f.code}\n`;
      pending = 1;
      eipSet = true;
      if (!last) code += `  if (c.blockStop) { clock.insns++; ${exit} }\n`;
    }
    off = end;
  }
  if (pending > 0) code += `  clock.insns += ${pending};\n`;
  if (!eipSet) code += `  c.prevEip = ${at(off - insns[insns.length - 1].len)}; c.eip = ${at(off)};\n`;
  return { code, consts };
}

/** `const` declarations of the locals `code` uses (PRELUDE), after clock. */
function locals(code: string): string {
  const l = ['clock = c.clock'];
  for (const [n, v] of PRELUDE) if (new RegExp(`\\b${n}\\b`).test(code)) l.push(`${n} = ${v}`);
  return `const ${l.join(', ')};`;
}

/** The JS source of `b`'s function: a factory taking (I, H, PARITY) = [its Insns], [their handlers], flags.ts PARITY. */
export function blockSource(b: Block): string {
  const { code, consts } = blockBody(b, 0, 'return;');
  return `"use strict";\n${consts.length > 0 ? `const ${consts.join(', ')};\n` : ''}` +
    `return function blk_${(b.pa >>> 0).toString(16)}(c) {\n  ${locals(code)} const e = c.eip;\n${code}};`;
}

/** Compile `b`, or null if code generation fails (the interpreter keeps running it). */
export function compileBlock(b: Block): BlockFn | null {
  const src = blockSource(b);
  try {
    const factory = new Function('I', 'H', 'PARITY', src) as (I: Insn[][], H: Handler[][], P: Uint8Array) => BlockFn;
    const fn = factory([b.insns], [b.insns.map((i) => i.exec)], PARITY);
    jitStats.compiled++;
    return fn;
  } catch (err) {
    jitStats.failed++;
    if (jitSettings.debug) jitSettings.debug(src, err);
    return null;
  }
}
