// The report printed when the hypervisor stops the machine: the seed's "Unhandled intercept" lines
// (reason, EFLAGS, SS:ESP, CS:EIP, IDTR, GDTR — the format XMHF printed), then everything its author
// had to dig out by hand in GDB, from the debugger's exit report (debug/vmcs-dump.ts exitReport):
// the exit decoded, the guest's mode, registers and segments, CR0/CR3/CR4 and what the guest reads,
// the instructions around CS:EIP, and the exits that led there.
//
// Runs in: VMX root operation (after a VM exit), browser-safe.

import { F } from '../machine/vmx/vmcs-fields.js';
import { exitReport } from '../debug/vmcs-dump.js';
import type { Hypervisor } from './hypervisor.js';
import type { VCpu } from './vcpu.js';

const h = (v: number, w = 8): string => '0x' + (v >>> 0).toString(16).padStart(w, '0');

export function exitDump(hv: Hypervisor, v: VCpu, headline: string): string {
  const cpu = `CPU(${h(v.id, 2)})`;
  const L: string[] = [];
  L.push(`${cpu}: ${headline}`);
  L.push(`\t${cpu}: EFLAGS=${h(v.read(F.GUEST_RFLAGS))}`);
  L.push(`\tSS:ESP =${h(v.read(F.GUEST_SS_SELECTOR), 4)}:${h(v.read(F.GUEST_RSP))}`);
  L.push(`\tCS:EIP =${h(v.read(F.GUEST_CS_SELECTOR), 4)}:${h(v.read(F.GUEST_RIP))}`);
  L.push(`\tIDTR base:limit=${h(v.read(F.GUEST_IDTR_BASE))}:${h(v.read(F.GUEST_IDTR_LIMIT), 4)}`);
  L.push(`\tGDTR base:limit=${h(v.read(F.GUEST_GDTR_BASE))}:${h(v.read(F.GUEST_GDTR_LIMIT), 4)}`);
  L.push(exitReport(v.vmx, hv.mem, { exits: 8 }));
  return L.join('\n');
}
