// The report printed when the hypervisor stops the machine: the seed's "Unhandled intercept" dump
// (reason, EFLAGS, SS:ESP, CS:EIP, IDTR, GDTR), completed with what its author had to dig out by
// hand in GDB: CR0/CR3/CR4 and what the guest believes they are, the mode, the exit qualification
// and event information, the instructions around CS:EIP, and the exits that led there.
//
// Runs in: VMX root operation (after a VM exit), browser-safe.

import { F } from '../machine/vmx/vmcs-fields.js';
import { exitReasonName } from '../machine/vmx/exit-reasons.js';
import { INTR_INFO } from '../machine/vmx/controls.js';
import { AR, CR0, CR4, EFLAGS } from '../machine/cpu/arch.js';
import { disassembleAt, formatListing } from '../debug/disasm.js';
import type { Hypervisor } from './hypervisor.js';
import type { VCpu } from './vcpu.js';

const h = (v: number, w = 8): string => '0x' + (v >>> 0).toString(16).padStart(w, '0');

/** Decode an interruption-information value (exit or IDT-vectoring). */
export function intrInfoText(info: number, code: number): string {
  if ((info & INTR_INFO.VALID) === 0) return 'none';
  const type = ['external interrupt', 'reserved', 'NMI', 'hardware exception', 'software interrupt', 'privileged software exception', 'software exception', 'other event'][(info >>> 8) & 7];
  return `vector ${info & 0xff} (${type})${(info & INTR_INFO.ERROR_CODE_VALID) !== 0 ? `, error code ${h(code, 4)}` : ''}`;
}

/** The guest's mode from its VMCS state. */
export function guestMode(v: VCpu): string {
  const cr0 = v.read(F.GUEST_CR0), cr4 = v.read(F.GUEST_CR4), fl = v.read(F.GUEST_RFLAGS);
  if ((cr0 & CR0.PE) === 0) return 'real mode';
  if ((fl & EFLAGS.VM) !== 0) return 'virtual-8086 mode';
  const cs32 = (v.read(F.GUEST_CS_AR_BYTES) & AR.DB) !== 0;
  const cpl = (v.read(F.GUEST_SS_AR_BYTES) & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  const paging = (cr0 & CR0.PG) === 0 ? 'no paging' : (cr4 & CR4.PAE) !== 0 ? 'PAE paging' : '32-bit paging';
  return `protected mode, ${cs32 ? 32 : 16}-bit code, CPL ${cpl}, ${paging}`;
}

export function exitDump(hv: Hypervisor, v: VCpu, headline: string): string {
  const cpu = `CPU(${h(v.id, 2)})`;
  const reason = v.read(F.VM_EXIT_REASON);
  const L: string[] = [];
  L.push(`${cpu}: ${headline}`);
  L.push(`\t${cpu}: exit reason ${h(reason)} (${exitReasonName(reason)}), exit #${hv.vmx.exits}`);
  L.push(`\t${cpu}: EFLAGS=${h(v.read(F.GUEST_RFLAGS))}`);
  L.push(`\tSS:ESP =${h(v.read(F.GUEST_SS_SELECTOR), 4)}:${h(v.read(F.GUEST_RSP))}`);
  const csBase = v.read(F.GUEST_CS_BASE), rip = v.read(F.GUEST_RIP);
  L.push(`\tCS:EIP =${h(v.read(F.GUEST_CS_SELECTOR), 4)}:${h(rip)}  (CS base ${h(csBase)}, linear ${h(csBase + rip)})`);
  L.push(`\tIDTR base:limit=${h(v.read(F.GUEST_IDTR_BASE))}:${h(v.read(F.GUEST_IDTR_LIMIT), 4)}`);
  L.push(`\tGDTR base:limit=${h(v.read(F.GUEST_GDTR_BASE))}:${h(v.read(F.GUEST_GDTR_LIMIT), 4)}`);
  const cr0 = v.read(F.GUEST_CR0), cr4 = v.read(F.GUEST_CR4);
  const m0 = v.read(F.CR0_GUEST_HOST_MASK), m4 = v.read(F.CR4_GUEST_HOST_MASK);
  const seen0 = (cr0 & ~m0) | (v.read(F.CR0_READ_SHADOW) & m0), seen4 = (cr4 & ~m4) | (v.read(F.CR4_READ_SHADOW) & m4);
  L.push(`\tCR0=${h(cr0)} CR3=${h(v.read(F.GUEST_CR3))} CR4=${h(cr4)}   (the guest reads CR0=${h(seen0)} CR4=${h(seen4)})`);
  L.push(`\tmode: ${guestMode(v)}`);
  L.push(`\texit qualification=${h(v.read(F.EXIT_QUALIFICATION))}  event=${intrInfoText(v.read(F.VM_EXIT_INTR_INFO), v.read(F.VM_EXIT_INTR_ERROR_CODE))}` +
    `  IDT-vectoring=${intrInfoText(v.read(F.IDT_VECTORING_INFO_FIELD), v.read(F.IDT_VECTORING_ERROR_CODE))}`);
  L.push(`\tEAX=${h(v.regs[0])} EBX=${h(v.regs[3])} ECX=${h(v.regs[1])} EDX=${h(v.regs[2])} ESI=${h(v.regs[6])} EDI=${h(v.regs[7])} EBP=${h(v.regs[5])}`);
  const bits = (cr0 & CR0.PE) === 0 || (v.read(F.GUEST_CS_AR_BYTES) & AR.DB) === 0 ? 16 : 32;
  try {
    const lines = disassembleAt((lin) => v.readLinearByte(lin), csBase, rip, bits, { before: 3, after: 4 });
    L.push(`\tcode at CS:EIP (${bits}-bit):`);
    if (lines.length === 0) L.push(`\t  (not readable: linear ${h(csBase + rip)} is not mapped by the guest's paging, or not guest RAM)`);
    for (const line of formatListing(lines, v.read(F.GUEST_CS_SELECTOR)).split('\n')) if (line.trim()) L.push(`\t  ${line}`);
  } catch (e) {
    L.push(`\tcode at CS:EIP: (cannot disassemble: ${(e as Error).message})`);
  }
  const recent = hv.vmx.recentExits(8);
  L.push(`\tlast ${recent.length} VM exits (oldest first):`);
  for (const x of recent) {
    L.push(`\t  ${exitReasonName(x.reason).padEnd(22)} qual=${h(x.qualification)} rip=${h(x.rip)} at instruction ${x.insns}`);
  }
  return L.join('\n');
}
