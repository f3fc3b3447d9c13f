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

/** What an emitter knows about the block position of its instruction. */
interface Ctx {
  /** The EIP of the next instruction (= c.eip while this one runs), as an expression. */
  next: string;
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

// ------------------------------------------------------------------ operand expressions
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
/** Linear address of the memory operand for an access of `size` bytes (cpu.ts eaLin()). */
const lin = (i: Insn, size: number, write: boolean): string => `c.lin(${i.seg}, ${ea(i)}, ${size}, ${write})`;
const rd = (sz: number, la: string): string => `c.rd${sz}(${la})`;
const wr = (sz: number, la: string, v: string): string => `c.wr${sz}(${la}, ${v})`;
/** Read the E operand (cpu.ts readE8/16/32). */
const readE = (i: Insn, sz: number): string => (i.mod === 3 ? REG[sz](i.rm) : rd(sz, lin(i, BYTES[sz], false)));

const pure = (code: string): Form => ({ pure: true, code });
const eff = (code: string): Form => ({ pure: false, code });

// ------------------------------------------------------------------ ALU (scripts/gen-alu.mjs semantics)
type AluKind = 'add' | 'or' | 'adc' | 'sbb' | 'and' | 'sub' | 'xor' | 'cmp';
const ALU: [AluKind, number][] = [['add', 0x00], ['or', 0x08], ['adc', 0x10], ['sbb', 0x18], ['and', 0x20], ['sub', 0x28], ['xor', 0x30], ['cmp', 0x38]];
/** `const r = ...; <flags>` for a op b at size sz (r written before flags, as in alu.gen.ts). */
function aluCalc(k: AluKind, sz: number): [string, string] {
  const top = TOP[sz], m = MASK[sz];
  switch (k) {
    case 'add': return [`const r = ${m('a + b')};`, `c.flagsAdd(a, b, r, ${top});`];
    case 'adc': return [`const r = ${m('a + b + c.getCF()')};`, `c.flagsAdd(a, b, r, ${top});`];
    case 'sub': case 'cmp': return [`const r = ${m('a - b')};`, `c.flagsSub(a, b, r, ${top});`];
    case 'sbb': return [`const r = ${m('a - b - c.getCF()')};`, `c.flagsSub(a, b, r, ${top});`];
    case 'or': return ['const r = a | b;', `c.flagsLogic(r, ${top});`];
    case 'and': return ['const r = a & b;', `c.flagsLogic(r, ${top});`];
    case 'xor': return ['const r = a ^ b;', `c.flagsLogic(r, ${top});`];
  }
}
/** Destination E (register or memory), source expression `src`. */
function aluE(k: AluKind, sz: number, i: Insn, src: string): Form {
  const [calc, flags] = aluCalc(k, sz);
  const wb = k !== 'cmp';
  if (i.mod === 3) {
    const d = REG[sz](i.rm);
    // XOR/SUB of a register with itself: the result is 0 whatever the register held.
    return pure(`{ const b = ${src}; const a = ${d}; ${calc} ${wb ? `${d} = r;` : ''} ${flags} }`);
  }
  return eff(`{ const b = ${src}; const la = ${lin(i, BYTES[sz], wb)}; const a = ${rd(sz, 'la')}; ${calc} ${wb ? wr(sz, 'la', 'r') + ';' : ''} ${flags} }`);
}
/** Destination G (a register), source E. */
function aluG(k: AluKind, sz: number, i: Insn): Form {
  const [calc, flags] = aluCalc(k, sz);
  const d = REG[sz](i.reg);
  const code = `{ const b = ${readE(i, sz)}; const a = ${d}; ${calc} ${k !== 'cmp' ? `${d} = r;` : ''} ${flags} }`;
  return i.mod === 3 ? pure(code) : eff(code);
}
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
for (const [k, base] of ALU) {
  on(`op_${hex2(base)}_${k}EbGb`, (i) => aluE(k, 8, i, R8(i.reg)));
  on(`op_${hex2(base + 1)}_${k}EvGv16`, (i) => aluE(k, 16, i, R16(i.reg)));
  on(`op_${hex2(base + 1)}_${k}EvGv32`, (i) => aluE(k, 32, i, R32(i.reg)));
  on(`op_${hex2(base + 2)}_${k}GbEb`, (i) => aluG(k, 8, i));
  on(`op_${hex2(base + 3)}_${k}GvEv16`, (i) => aluG(k, 16, i));
  on(`op_${hex2(base + 3)}_${k}GvEv32`, (i) => aluG(k, 32, i));
  for (const sz of [8, 16, 32]) {
    const name = sz === 8 ? `op_${hex2(base + 4)}_${k}ALIb` : `op_${hex2(base + 5)}_${k}eAXIz${sz}`;
    on(name, (i) => {
      const [calc, flags] = aluCalc(k, sz);
      const d = REG[sz](0);
      return pure(`{ const b = ${IMM[sz](i.imm)}; const a = ${d}; ${calc} ${k !== 'cmp' ? `${d} = r;` : ''} ${flags} }`);
    });
  }
  const g = base >> 3;
  on(`op_80_${g}_${k}EbIb`, (i) => aluE(k, 8, i, IMM[8](i.imm)));
  on(`op_82_${g}_${k}EbIb`, (i) => aluE(k, 8, i, IMM[8](i.imm)));
  for (const sz of [16, 32]) {
    on(`op_81_${g}_${k}EvIz${sz}`, (i) => aluE(k, sz, i, IMM[sz](i.imm)));
    on(`op_83_${g}_${k}EvIbs${sz}`, (i) => aluE(k, sz, i, IMM[sz](i.imm)));
  }
}
// TEST
for (const sz of [8, 16, 32]) {
  const sfx = sz === 8 ? 'EbGb' : `EvGv${sz}`;
  on(`op_${sz === 8 ? '84' : '85'}_test${sfx}`, (i) => {
    const code = `{ const r = ${readE(i, sz)} & ${REG[sz](i.reg)}; c.flagsLogic(r, ${TOP[sz]}); }`;
    return i.mod === 3 ? pure(code) : eff(code);
  });
  on(`op_${sz === 8 ? 'A8' : 'A9'}_test${sz === 8 ? 'ALIb' : `eAXIz${sz}`}`, (i) => pure(`c.flagsLogic(${REG[sz](0)} & ${IMM[sz](i.imm)}, ${TOP[sz]});`));
  for (const g of [0, 1]) {
    on(`op_${sz === 8 ? 'F6' : 'F7'}_${g}_test${sz === 8 ? 'EbIb' : `EvIz${sz}`}`, (i) => {
      const code = `c.flagsLogic(${readE(i, sz)} & ${IMM[sz](i.imm)}, ${TOP[sz]});`;
      return i.mod === 3 ? pure(code) : eff(code);
    });
  }
}
// INC/DEC
for (const sz of [16, 32]) {
  on(`op_40_47_incZv${sz}`, (i) => pure(`{ const a = ${REG[sz](i.reg)}; const r = ${MASK[sz]('a + 1')}; ${REG[sz](i.reg)} = r; c.flagsIncDec(a, r, ${TOP[sz]}, false); }`));
  on(`op_48_4F_decZv${sz}`, (i) => pure(`{ const a = ${REG[sz](i.reg)}; const r = ${MASK[sz]('a - 1')}; ${REG[sz](i.reg)} = r; c.flagsIncDec(a, r, ${TOP[sz]}, true); }`));
}
for (const sz of [8, 16, 32]) {
  const sfx = sz === 8 ? 'Eb' : `Ev${sz}`, g = sz === 8 ? 'FE' : 'FF';
  for (const [n, op, dec] of [[0, '+', false], [1, '-', true]] as const) {
    on(`op_${g}_${n}_${dec ? 'dec' : 'inc'}${sfx}`, (i) => {
      if (i.mod === 3) {
        const d = REG[sz](i.rm);
        return pure(`{ const a = ${d}; const r = ${MASK[sz](`a ${op} 1`)}; ${d} = r; c.flagsIncDec(a, r, ${TOP[sz]}, ${dec}); }`);
      }
      return eff(`{ const la = ${lin(i, BYTES[sz], true)}; const a = ${rd(sz, 'la')}; const r = ${MASK[sz](`a ${op} 1`)}; ${wr(sz, 'la', 'r')}; c.flagsIncDec(a, r, ${TOP[sz]}, ${dec}); }`);
    });
  }
}

// ------------------------------------------------------------------ MOV, LEA, MOVZX/MOVSX
for (const sz of [8, 16, 32]) {
  const v = sz === 8 ? '' : `${sz}`;
  on(`op_${sz === 8 ? '88' : '89'}_movE${sz === 8 ? 'bGb' : 'vGv'}${v}`, (i) =>
    i.mod === 3 ? pure(`${REG[sz](i.rm)} = ${REG[sz](i.reg)};`) : eff(`${wr(sz, lin(i, BYTES[sz], true), REG[sz](i.reg))};`));
  on(`op_${sz === 8 ? '8A' : '8B'}_movG${sz === 8 ? 'bEb' : 'vEv'}${v}`, (i) => {
    const code = `${REG[sz](i.reg)} = ${readE(i, sz)};`;
    return i.mod === 3 ? pure(code) : eff(code);
  });
  on(sz === 8 ? 'op_C6_0_movEbIb' : `op_C7_0_movEvIz${sz}`, (i) =>
    i.mod === 3 ? pure(`${REG[sz](i.rm)} = ${IMM[sz](i.imm)};`) : eff(`${wr(sz, lin(i, BYTES[sz], true), `${i.imm | 0}`)};`));
}
on('op_B0_B7_movZbIb', (i) => pure(`${R8(i.reg)} = ${i.imm & 0xff};`));
on('op_B8_BF_movZvIv16', (i) => pure(`${R16(i.reg)} = ${i.imm & 0xffff};`));
on('op_B8_BF_movZvIv32', (i) => pure(`${R32(i.reg)} = ${i.imm | 0};`));
on('op_8D_leaGvM16', (i) => pure(`${R16(i.reg)} = ${ea(i)};`));
on('op_8D_leaGvM32', (i) => pure(`${R32(i.reg)} = ${ea(i)};`));
for (const [op, name, from, sx] of [['0FB6', 'movzxGvEb', 8, false], ['0FB7', 'movzxGvEw', 16, false], ['0FBE', 'movsxGvEb', 8, true], ['0FBF', 'movsxGvEw', 16, true]] as const) {
  for (const sz of [16, 32]) {
    on(`op_${op}_${name}${sz}`, (i) => {
      let v = readE(i, from);
      if (sx && sz === 32) v = from === 8 ? `((${v}) << 24) >> 24` : `((${v}) << 16) >> 16`;
      else if (sx && sz === 16 && from === 8) v = `((${v}) << 24) >> 24`;
      const code = `${REG[sz](i.reg)} = ${v};`;
      return i.mod === 3 ? pure(code) : eff(code);
    });
  }
}

// ------------------------------------------------------------------ shifts by a constant (shift.ts semantics)
// SHL/SHR/SAR r/m32 by imm8 or 1: the masked count is known, so CF/OF/SZP are written out.
const SZP32 = '((r === 0 ? 64 : 0) | ((r >>> 31) << 7) | (PARITY[r & 255] << 2))';
function shift32(kind: 'shl' | 'shr' | 'sar', count: number, i: Insn): Form | null {
  const cnt = count & 31;
  if (cnt === 0) return i.mod === 3 ? pure('') : null; // no change, no flags (a memory operand is still checked: use the handler)
  let calc: string;
  if (kind === 'shl') calc = `const r = a << ${cnt}; const cf = (a >>> ${32 - cnt}) & 1; c.flagsEager(cf | ${SZP32} | ((cf ^ (r >>> 31)) << 11));`;
  else if (kind === 'shr') calc = `const r = (a >>> ${cnt}) | 0; c.flagsEager(((a >>> ${cnt - 1}) & 1) | ${SZP32}${cnt === 1 ? ' | ((a >>> 31) << 11)' : ''});`;
  else calc = `const r = a >> ${cnt}; c.flagsEager(((a >> ${cnt - 1}) & 1) | ${SZP32});`;
  if (i.mod === 3) {
    // Flags after the result, as in shift.ts (the order only matters for a faulting memory write).
    const [res, fl] = splitCalc(calc);
    return pure(`{ const a = ${R32(i.rm)}; ${res} ${R32(i.rm)} = r; ${fl} }`);
  }
  const [res, fl] = splitCalc(calc);
  return eff(`{ const la = ${lin(i, 4, true)}; const a = c.rd32(la); ${res} c.wr32(la, r); ${fl} }`);
}
/** Split "const r = ...; <rest>" into the result statement and the flag statements. */
function splitCalc(calc: string): [string, string] {
  const k = calc.indexOf(';') + 1;
  return [calc.slice(0, k), calc.slice(k)];
}
for (const [g, kind] of [[4, 'shl'], [6, 'shl'], [5, 'shr'], [7, 'sar']] as const) {
  const n = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'shl', 'sar'][g];
  on(`op_C1_${g}_${n}EvIb32`, (i) => shift32(kind, i.imm, i));
  on(`op_D1_${g}_${n}Ev132`, (i) => shift32(kind, 1, i));
}

// ------------------------------------------------------------------ stack
on('op_50_57_pushZv32', (i) => eff(`c.push32(${R32(i.reg)});`));
on('op_58_5F_popZv32', (i) => eff(`{ const v = c.pop32(); ${R32(i.reg)} = v; }`));
on('op_68_pushIz32', (i) => eff(`c.push32(${i.imm | 0});`));
on('op_6A_pushIbs32', (i) => eff(`c.push32(${i.imm | 0});`));

// ------------------------------------------------------------------ near branches (branch.ts semantics)
/** Condition cc (cpu.ts cond()) as an expression. */
function cond(cc: number): string {
  let e: string;
  switch (cc >> 1) {
    case 0: e = 'c.getOF() !== 0'; break;
    case 1: e = 'c.getCF() !== 0'; break;
    case 2: e = 'c.getZF() !== 0'; break;
    case 3: e = '(c.getCF() | c.getZF()) !== 0'; break;
    case 4: e = 'c.getSF() !== 0'; break;
    case 5: e = 'c.getPF() !== 0'; break;
    case 6: e = 'c.getSF() !== c.getOF()'; break;
    default: e = '(c.getZF() !== 0 || c.getSF() !== c.getOF())'; break;
  }
  return (cc & 1) !== 0 ? `!(${e})` : `(${e})`;
}
/** Jump to EIP + imm (truncated by operand size) after the CS limit check (branch.ts jumpTo). */
function jump(i: Insn, x: Ctx): string {
  const t = `(${x.next} + ${i.imm | 0}) ${i.o32 ? '| 0' : '& 65535'}`;
  return `{ const t = ${t}; if ((t >>> 0) > c.segLimit[${SEG.CS}]) c.gp(0); c.eip = t; }`;
}
on('op_70_7F_jccJb', (i, x) => eff(`if (${cond(i.cc)}) ${jump(i, x)}`));
on('op_0F80_8F_jccJz', (i, x) => eff(`if (${cond(i.cc)}) ${jump(i, x)}`));
on('op_EB_jmpJb', (i, x) => eff(jump(i, x)));
on('op_E9_jmpJz', (i, x) => eff(jump(i, x)));
on('op_E8_callJz32', (i, x) => eff(`{ const t = (${x.next} + ${i.imm | 0}) | 0; if ((t >>> 0) > c.segLimit[${SEG.CS}]) c.gp(0); c.push32(c.eip); c.eip = t; }`));
on('op_C3_ret32', () => eff(`{ const t = c.peekStack(0, 4); if ((t >>> 0) > c.segLimit[${SEG.CS}]) c.gp(0); c.adjustSp(4); c.eip = t; }`));

// Register forms that cannot fault or observe EIP: their handlers are called without bookkeeping.
pureWhenReg(`
  op_0FAF_imulGvEv32 op_0FAF_imulGvEv16 op_69_imulGvEvIz32 op_6B_imulGvEvIbs32 op_F7_4_mulEv32 op_F7_5_imulEv32
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
/** Compile `b`, or null if code generation fails (the interpreter keeps running it). */
export function compileBlock(b: Block): BlockFn | null {
  const insns = b.insns;
  const mask = b.cs32 ? '| 0' : '& 65535';
  const at = (off: number): string => (off === 0 ? 'e' : `((e + ${off}) ${mask})`);
  const params: string[] = [];
  let body = '';
  let pending = 0;
  let eipSet = false;
  let off = 0;
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k];
    const end = off + i.len;
    const last = k === insns.length - 1;
    const x: Ctx = { next: at(end) };
    const em = EMIT.get(i.exec);
    let f: Form | null = em !== undefined ? em(i, x) : null;
    if (f === null && PURE_REG.has(i.exec) && (i.mod === 3 || i.def === null || !i.def.hasModrm)) {
      params.push(`h${k} = H[${k}]`, `i${k} = I[${k}]`);
      f = pure(`h${k}(c, i${k});`);
    }
    if (f === null) {
      params.push(`h${k} = H[${k}]`, `i${k} = I[${k}]`);
      f = eff(`h${k}(c, i${k});`);
    }
    if (f.pure) {
      body += `  ${f.code}\n`;
      pending++;
      eipSet = false;
    } else {
      if (pending > 0) body += `  clock.insns += ${pending};\n`;
      body += `  c.prevEip = ${at(off)}; c.eip = ${at(end)};\n  ${f.code}\n`;
      pending = 1;
      eipSet = true;
      if (!last) body += '  if (c.blockStop) { clock.insns++; return; }\n';
    }
    off = end;
  }
  if (pending > 0) body += `  clock.insns += ${pending};\n`;
  if (!eipSet) body += `  c.prevEip = ${at(off - insns[insns.length - 1].len)}; c.eip = ${at(off)};\n`;
  const src = `"use strict";\n${params.length > 0 ? `const ${params.join(', ')};\n` : ''}` +
    `return function blk_${(b.pa >>> 0).toString(16)}(c) {\n  const r32 = c.r32, r16 = c.r16, r8 = c.r8, clock = c.clock, e = c.eip;\n${body}};`;
  try {
    const factory = new Function('I', 'H', 'PARITY', src) as (I: Insn[], H: Handler[], P: Uint8Array) => BlockFn;
    const fn = factory(insns, insns.map((i) => i.exec), PARITY);
    jitStats.compiled++;
    return fn;
  } catch (err) {
    jitStats.failed++;
    if (jitSettings.debug) jitSettings.debug(src, err);
    return null;
  }
}
