#!/usr/bin/env node
// Generates machine/cpu/ops/alu.gen.ts: the eight classic ALU operations (ADD OR ADC SBB AND SUB
// XOR CMP) in every ModRM/immediate form and operand size, plus INC/DEC/NOT/NEG/TEST. One template
// per form keeps every handler straight-line and monomorphic. Run: node scripts/gen-alu.mjs
import { writeFileSync } from 'node:fs';

const OPS = [
  // name, opcode base, group reg, kind
  ['add', 0x00, 0, 'add'], ['or', 0x08, 1, 'logic'], ['adc', 0x10, 2, 'adc'], ['sbb', 0x18, 3, 'sbb'],
  ['and', 0x20, 4, 'logic'], ['sub', 0x28, 5, 'sub'], ['xor', 0x30, 6, 'logic'], ['cmp', 0x38, 7, 'sub'],
];
const LOGIC = { or: '|', and: '&', xor: '^' };
const SIZES = { 8: { top: 7, mask: (e) => `(${e}) & 0xff` }, 16: { top: 15, mask: (e) => `(${e}) & 0xffff` }, 32: { top: 31, mask: (e) => `(${e}) | 0` } };

/** Statements computing r from a and b, and recording flags, for op `name` at size `sz`. */
function compute(name, kind, sz) {
  const { top, mask } = SIZES[sz];
  switch (kind) {
    case 'add': return [`const r = ${mask('a + b')};`, `c.flagsAdd(a, b, r, ${top});`];
    case 'adc': return [`const r = ${mask('a + b + c.getCF()')};`, `c.flagsAdd(a, b, r, ${top});`];
    case 'sub': return [`const r = ${mask('a - b')};`, `c.flagsSub(a, b, r, ${top});`];
    case 'sbb': return [`const r = ${mask('a - b - c.getCF()')};`, `c.flagsSub(a, b, r, ${top});`];
    case 'logic': return [`const r = ${sz === 32 ? `a ${LOGIC[name]} b` : `a ${LOGIC[name]} b`};`, `c.flagsLogic(r, ${top});`];
  }
}
const REG = { 8: (f) => `c.r8[REG8[i.${f}]]`, 16: (f) => `c.r16[i.${f} << 1]`, 32: (f) => `c.r32[i.${f}]` };
const ACC = { 8: 'c.r8[0]', 16: 'c.r16[0]', 32: 'c.r32[0]' };
const RD = { 8: 'rd8', 16: 'rd16', 32: 'rd32' };
const WR = { 8: 'wr8', 16: 'wr16', 32: 'wr32' };
const BYTES = { 8: 1, 16: 2, 32: 4 };
const IMM = { 8: 'i.imm & 0xff', 16: 'i.imm & 0xffff', 32: 'i.imm | 0' };

const out = [];
const hex = (n) => n.toString(16).toUpperCase().padStart(2, '0');
function fn(name, body) {
  out.push(`export function ${name}(c: CPU, i: Insn): void {\n${body.map((l) => '  ' + l).join('\n')}\n}\n`);
}

/** Destination is the ModRM E operand (register or memory); source expression `src`. */
function eForm(name, kind, sz, src, writeBack) {
  const [calc, flags] = compute(name, kind, sz);
  const regDst = REG[sz]('rm');
  return [
    `const b = ${src};`,
    `if (i.mod === 3) {`,
    `  const a = ${regDst};`,
    `  ${calc}`,
    writeBack ? `  ${regDst} = r;` : null,
    `  ${flags}`,
    `} else {`,
    `  const la = c.eaLin(i, ${BYTES[sz]}, ${writeBack});`,
    `  const a = c.${RD[sz]}(la);`,
    `  ${calc}`,
    writeBack ? `  c.${WR[sz]}(la, r);` : null,
    `  ${flags}`,
    `}`,
  ].filter((l) => l !== null);
}

for (const [name, base, g, kind] of OPS) {
  const wb = name !== 'cmp';
  const sizes = (v) => (v ? [16, 32] : [8]);
  // Eb,Gb / Ev,Gv
  for (const sz of [8, 16, 32]) {
    const key = sz === 8 ? hex(base) : hex(base + 1);
    const form = sz === 8 ? 'EbGb' : 'EvGv';
    fn(`op_${key}_${name}${form}${sz === 8 ? '' : sz}`, eForm(name, kind, sz, REG[sz]('reg'), wb));
  }
  // Gb,Eb / Gv,Ev
  for (const sz of [8, 16, 32]) {
    const key = sz === 8 ? hex(base + 2) : hex(base + 3);
    const form = sz === 8 ? 'GbEb' : 'GvEv';
    const [calc, flags] = compute(name, kind, sz);
    fn(`op_${key}_${name}${form}${sz === 8 ? '' : sz}`, [
      `const b = c.readE${sz}(i);`, `const a = ${REG[sz]('reg')};`, calc, wb ? `${REG[sz]('reg')} = r;` : null, flags,
    ].filter((l) => l !== null));
  }
  // AL,Ib / eAX,Iz
  for (const sz of [8, 16, 32]) {
    const key = sz === 8 ? hex(base + 4) : hex(base + 5);
    const form = sz === 8 ? 'ALIb' : 'eAXIz';
    const [calc, flags] = compute(name, kind, sz);
    fn(`op_${key}_${name}${form}${sz === 8 ? '' : sz}`, [
      `const b = ${IMM[sz]};`, `const a = ${ACC[sz]};`, calc, wb ? `${ACC[sz]} = r;` : null, flags,
    ].filter((l) => l !== null));
  }
  // Group 1: 80/82 Eb,Ib; 81 Ev,Iz; 83 Ev,Ibs
  fn(`op_80_${g}_${name}EbIb`, eForm(name, kind, 8, IMM[8], wb));
  fn(`op_82_${g}_${name}EbIb`, eForm(name, kind, 8, IMM[8], wb));
  for (const sz of [16, 32]) {
    fn(`op_81_${g}_${name}EvIz${sz}`, eForm(name, kind, sz, IMM[sz], wb));
    fn(`op_83_${g}_${name}EvIbs${sz}`, eForm(name, kind, sz, IMM[sz], wb));
  }
  void sizes;
}

// TEST: 84/85 E,G; A8/A9 acc,imm; F6/0,1 F7/0,1 E,imm
for (const sz of [8, 16, 32]) {
  const key = sz === 8 ? '84' : '85';
  fn(`op_${key}_test${sz === 8 ? 'EbGb' : 'EvGv' + sz}`, [`const r = c.readE${sz}(i) & ${REG[sz]('reg')};`, `c.flagsLogic(r, ${SIZES[sz].top});`]);
  const key2 = sz === 8 ? 'A8' : 'A9';
  fn(`op_${key2}_test${sz === 8 ? 'ALIb' : 'eAXIz' + sz}`, [`const r = ${ACC[sz]} & (${IMM[sz]});`, `c.flagsLogic(r, ${SIZES[sz].top});`]);
  for (const g of [0, 1]) {
    const k3 = sz === 8 ? `F6_${g}` : `F7_${g}`;
    fn(`op_${k3}_test${sz === 8 ? 'EbIb' : 'EvIz' + sz}`, [`const r = c.readE${sz}(i) & (${IMM[sz]});`, `c.flagsLogic(r, ${SIZES[sz].top});`]);
  }
}

/** Unary read-modify-write on E: `expr` computes r from a; `flags` records flags. */
function unary(sz, expr, flags) {
  const regDst = REG[sz]('rm');
  return [
    `if (i.mod === 3) {`, `  const a = ${regDst};`, `  const r = ${expr};`, `  ${regDst} = r;`, flags ? `  ${flags}` : null,
    `} else {`, `  const la = c.eaLin(i, ${BYTES[sz]}, true);`, `  const a = c.${RD[sz]}(la);`, `  const r = ${expr};`, `  c.${WR[sz]}(la, r);`, flags ? `  ${flags}` : null, `}`,
  ].filter((l) => l !== null);
}
for (const sz of [8, 16, 32]) {
  const { top, mask } = SIZES[sz];
  const sfx = sz === 8 ? 'Eb' : 'Ev' + sz;
  const g = sz === 8 ? 'FE' : 'FF';
  fn(`op_${g}_0_inc${sfx}`, unary(sz, mask('a + 1'), `c.flagsIncDec(a, r, ${top}, false);`));
  fn(`op_${g}_1_dec${sfx}`, unary(sz, mask('a - 1'), `c.flagsIncDec(a, r, ${top}, true);`));
  const g3 = sz === 8 ? 'F6' : 'F7';
  fn(`op_${g3}_2_not${sfx}`, unary(sz, sz === 32 ? '~a' : `~a & ${sz === 8 ? '0xff' : '0xffff'}`, null));
  fn(`op_${g3}_3_neg${sfx}`, unary(sz, mask('-a'), `c.flagsSub(0, a, r, ${top});`));
}
// INC/DEC r16/r32 (40-4F)
for (const sz of [16, 32]) {
  const { top, mask } = SIZES[sz];
  const reg = REG[sz]('reg');
  fn(`op_40_47_incZv${sz}`, [`const a = ${reg};`, `const r = ${mask('a + 1')};`, `${reg} = r;`, `c.flagsIncDec(a, r, ${top}, false);`]);
  fn(`op_48_4F_decZv${sz}`, [`const a = ${reg};`, `const r = ${mask('a - 1')};`, `${reg} = r;`, `c.flagsIncDec(a, r, ${top}, true);`]);
}

const header = `// GENERATED by scripts/gen-alu.mjs — do not edit by hand; change the generator and re-run it.
// ALU family: ADD OR ADC SBB AND SUB XOR CMP (00-3D, 80-83), TEST (84/85, A8/A9, F6/F7 /0 /1),
// INC/DEC (40-4F, FE/FF /0 /1), NOT/NEG (F6/F7 /2 /3). Flags are recorded lazily (flags.ts);
// results are written before flags so a faulting write leaves EFLAGS untouched.
import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { REG8_INDEX as REG8 } from '../arch.js';

`;
writeFileSync(new URL('../machine/cpu/ops/alu.gen.ts', import.meta.url), header + out.join('\n'));
console.log(`wrote machine/cpu/ops/alu.gen.ts (${out.length} handlers)`);
