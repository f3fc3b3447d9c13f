// The GDB target description (GDB manual, "Target Descriptions") for the register file of
// target.ts: org.gnu.gdb.i386.core (GPRs, eip, eflags, segment selectors, x87), which GDB's i386
// architecture requires by that name, and this machine's system state as a feature of its own.
// Browser-safe.

import { CORE_REGS, REGISTERS } from './target.js';

/** EFLAGS bits for GDB's flags display (SDM Vol1 3.4.3). */
const EFLAGS_FIELDS: [string, number][] = [
  ['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11],
  ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21],
];

function regXml(k: number): string {
  const r = REGISTERS[k];
  return `    <reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${k}"${r.group === 'float' ? ' group="float"' : r.group === 'system' ? ' group="system"' : ''}/>`;
}

/**
 * target.xml. The stub always serves architecture i386. For 16-bit code GDB ignores `set
 * architecture i8086` once a target described itself, so the same description with architecture
 * i8086 is offered as a file (`tsvisor gdb-xml i8086 > i8086.xml`, then in gdb
 * `set tdesc filename i8086.xml`; back with the i386 one).
 */
export function targetXml(arch: 'i386' | 'i8086' = 'i386'): string {
  const core: string[] = [];
  const sys: string[] = [];
  for (let k = 0; k < REGISTERS.length; k++) (k < CORE_REGS ? core : sys).push(regXml(k));
  return `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>${arch}</architecture>
  <feature name="org.gnu.gdb.i386.core">
    <flags id="i386_eflags" size="4">
${EFLAGS_FIELDS.map(([n, b]) => `      <field name="${n}" start="${b}" end="${b}"/>`).join('\n')}
    </flags>
${core.join('\n')}
  </feature>
  <feature name="org.tsvisor.i386.system">
${sys.join('\n')}
  </feature>
</target>
`;
}
