// Decimal adjust: DAA DAS (packed BCD), AAA AAS AAM AAD (unpacked BCD). SDM Vol2 DAA, DAS, AAA,
// AAS, AAM, AAD (the pseudo-code of each is followed literally).
// AAM/AAD take any imm8 base (the documented form is 0AH; other bases work on every Intel CPU and
// the SDM describes them); AAM 0 raises #DE. Flags the SDM leaves undefined get one fixed rule:
// DAA/DAS/AAA/AAS OF = 0, AAA/AAS SF/ZF/PF from the final AL, AAM as a logical result of AL
// (CF = OF = AF = 0), AAD as the 8-bit addition AL + AH·imm8 it performs.

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { EFLAGS, EXC } from '../arch.js';
import { CpuFlags } from '../flags.js';

const CF = EFLAGS.CF, AF = EFLAGS.AF;

export function op_27_daa(c: CPU): void {
  const oldAl = c.r8[0], oldCf = c.getCF();
  let al = oldAl, f = 0;
  if ((al & 0x0f) > 9 || c.getAF() !== 0) {
    const t = al + 6;
    al = t & 0xff;
    f |= AF | ((oldCf | (t >> 8)) !== 0 ? CF : 0);
  }
  if (oldAl > 0x99 || oldCf !== 0) { al = (al + 0x60) & 0xff; f |= CF; }
  else f &= ~CF;
  c.r8[0] = al;
  c.flagsEager(f | CpuFlags.szp(al, 7));
}

export function op_2F_das(c: CPU): void {
  const oldAl = c.r8[0], oldCf = c.getCF();
  let al = oldAl, f = 0;
  if ((al & 0x0f) > 9 || c.getAF() !== 0) {
    const borrow = al < 6 ? 1 : 0;
    al = (al - 6) & 0xff;
    f |= AF | ((oldCf | borrow) !== 0 ? CF : 0);
  }
  if (oldAl > 0x99 || oldCf !== 0) { al = (al - 0x60) & 0xff; f |= CF; }
  c.r8[0] = al;
  c.flagsEager(f | CpuFlags.szp(al, 7));
}

export function op_37_aaa(c: CPU): void {
  let f = 0;
  if ((c.r8[0] & 0x0f) > 9 || c.getAF() !== 0) {
    c.r16[0] = c.r16[0] + 0x106;
    f = AF | CF;
  }
  c.r8[0] &= 0x0f;
  c.flagsEager(f | CpuFlags.szp(c.r8[0], 7));
}

export function op_3F_aas(c: CPU): void {
  let f = 0;
  if ((c.r8[0] & 0x0f) > 9 || c.getAF() !== 0) {
    c.r16[0] = c.r16[0] - 6;
    c.r8[1] = c.r8[1] - 1;
    f = AF | CF;
  }
  c.r8[0] &= 0x0f;
  c.flagsEager(f | CpuFlags.szp(c.r8[0], 7));
}

export function op_D4_aam(c: CPU, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) c.raise(EXC.DE);
  const al = c.r8[0];
  const q = (al / base) | 0;
  c.r8[1] = q;
  c.r8[0] = al - q * base;
  c.flagsLogic(c.r8[0], 7);
}

export function op_D5_aad(c: CPU, i: Insn): void {
  const al = c.r8[0], prod = (c.r8[1] * (i.imm & 0xff)) & 0xff;
  const r = (al + prod) & 0xff;
  c.r16[0] = r; // AL = r, AH = 0
  c.flagsAdd(al, prod, r, 7);
}
