// Formatting VM exits: the exit qualification decoded by exit reason (Intel SDM Vol3C 27.2.1,
// Tables 27-1..27-7), and the VMX unit's always-on ring of recent exits (VmxUnit.recentExits) as a
// table. Used by the `exits` monitor command, the exit report, --trace, and the hypervisor's dumps.
// Browser-safe.

import { EXIT_REASON, exitReasonName } from '../machine/vmx/exit-reasons.js';
import { CR_ACCESS, ENTRY_FAIL_QUAL, QUAL_CR, QUAL_DR, QUAL_EPT, QUAL_IO, QUAL_TASK_SWITCH } from '../machine/vmx/controls.js';
import { REG32_NAMES } from '../machine/cpu/arch.js';
import type { VmxUnit } from '../machine/vmx/vmx-unit.js';

const hx = (v: number, w = 8): string => '0x' + (v >>> 0).toString(16).padStart(w, '0');
const GPR = REG32_NAMES.map((n) => n.toUpperCase());

/** Decode an exit qualification for its basic exit reason ('' when the SDM defines none worth decoding). */
export function qualText(reason: number, q: number): string {
  q >>>= 0;
  switch (reason & 0xffff) {
    case EXIT_REASON.CR_ACCESS: {
      // Table 27-3: CR number 3:0, access type 5:4, LMSW operand type 6, GPR 11:8, LMSW source data 31:16.
      const cr = q & QUAL_CR.CR_MASK, type = (q & QUAL_CR.ACCESS_MASK) >>> QUAL_CR.ACCESS_SHIFT;
      const gpr = GPR[((q & QUAL_CR.GPR_MASK) >>> QUAL_CR.GPR_SHIFT) & 7];
      if (type === CR_ACCESS.MOV_TO_CR) return `MOV to CR${cr} from ${gpr}`;
      if (type === CR_ACCESS.MOV_FROM_CR) return `MOV from CR${cr} to ${gpr}`;
      if (type === CR_ACCESS.CLTS) return 'CLTS';
      return `LMSW ${hx(q >>> QUAL_CR.LMSW_DATA_SHIFT, 4)} (${(q & QUAL_CR.LMSW_MEMORY) !== 0 ? 'memory' : 'register'} operand)`;
    }
    case EXIT_REASON.DR_ACCESS: {
      // Table 27-4: DR number 2:0, direction 4, GPR 11:8.
      const dr = q & QUAL_DR.DR_MASK, gpr = GPR[(q >>> QUAL_DR.GPR_SHIFT) & 7];
      return (q & QUAL_DR.DIRECTION_FROM_DR) !== 0 ? `MOV from DR${dr} to ${gpr}` : `MOV to DR${dr} from ${gpr}`;
    }
    case EXIT_REASON.IO_INSTRUCTION: {
      // Table 27-5: size-1 in 2:0, direction 3 (1 = IN), string 4, REP 5, immediate operand 6, port 31:16.
      const size = (q & QUAL_IO.SIZE_MASK) + 1;
      const unit = size === 1 ? 'byte' : size === 2 ? 'word' : size === 4 ? 'dword' : `${size} bytes?`;
      const isIn = (q & QUAL_IO.DIRECTION_IN) !== 0, str = (q & QUAL_IO.STRING) !== 0;
      const mn = str ? (isIn ? 'INS' : 'OUTS') : isIn ? 'IN' : 'OUT';
      return `${(q & QUAL_IO.REP) !== 0 ? 'REP ' : ''}${mn} ${unit} ${isIn ? 'from' : 'to'} port ${hx(q >>> QUAL_IO.PORT_SHIFT, 4)}` +
        ` (${(q & QUAL_IO.OPERAND_IMMEDIATE) !== 0 ? 'immediate' : 'DX'})`;
    }
    case EXIT_REASON.EPT_VIOLATION: {
      // Table 27-7.
      const acc = [q & QUAL_EPT.READ ? 'read' : '', q & QUAL_EPT.WRITE ? 'write' : '', q & QUAL_EPT.FETCH ? 'fetch' : ''].filter(Boolean).join('+') || 'no access bit';
      const perm = `${q & QUAL_EPT.READABLE ? 'R' : '-'}${q & QUAL_EPT.WRITABLE ? 'W' : '-'}${q & QUAL_EPT.EXECUTABLE ? 'X' : '-'}`;
      const gla = (q & QUAL_EPT.GLA_VALID) === 0 ? 'no guest-linear address'
        : (q & QUAL_EPT.GLA_TRANSLATED) !== 0 ? 'access to the translated linear address' : 'access to a paging-structure entry';
      return `${acc}, EPT permissions ${perm}, ${gla}${q & QUAL_EPT.NMI_UNBLOCKING_DUE_TO_IRET ? ', NMI unblocking due to IRET' : ''}`;
    }
    case EXIT_REASON.EXCEPTION_NMI:
      return q !== 0 ? `#PF linear address or #DB DR6 bits: ${hx(q)}` : '';
    case EXIT_REASON.INVLPG:
      return `linear address ${hx(q)}`;
    case EXIT_REASON.TASK_SWITCH: {
      const src = ['CALL', 'IRET', 'JMP', 'task gate in IDT'][(q >>> QUAL_TASK_SWITCH.SOURCE_SHIFT) & 3];
      return `to TSS selector ${hx(q & 0xffff, 4)} by ${src}`;
    }
    case EXIT_REASON.ENTRY_FAIL_GUEST_STATE:
    case EXIT_REASON.ENTRY_FAIL_MSR_LOADING: {
      if ((reason & 0xffff) === EXIT_REASON.ENTRY_FAIL_MSR_LOADING) return `MSR-load entry ${q}`;
      const names: Record<number, string> = { [ENTRY_FAIL_QUAL.DEFAULT]: 'guest-state check', [ENTRY_FAIL_QUAL.PDPTE_LOADING]: 'PDPTE loading',
        [ENTRY_FAIL_QUAL.NMI_INJECTION]: 'NMI injection', [ENTRY_FAIL_QUAL.VMCS_LINK_POINTER]: 'VMCS link pointer' };
      return names[q] ?? '';
    }
    default: return '';
  }
}

export interface ExitRecord { reason: number; qualification: number; rip: number; insns: number }

/** One exit as a table row: number, instruction count, reason, qualification, guest RIP, details. */
export function exitLine(n: number, x: ExitRecord): string {
  const q = qualText(x.reason, x.qualification);
  return `${String(n).padStart(8)}  ${String(x.insns).padStart(12)}  ${exitReasonName(x.reason).padEnd(24)} ${hx(x.qualification)}  ${hx(x.rip)}${q ? '  ' + q : ''}`;
}

export const EXIT_HEADER = `${'exit #'.padStart(8)}  ${'instruction'.padStart(12)}  ${'reason'.padEnd(24)} ${'qual'.padEnd(10)}  ${'guest RIP'.padEnd(10)}  details`;

/** The last `n` VM exits of the unit's ring buffer (oldest first), as a table. */
export function formatExits(vmx: VmxUnit, n = 20): string {
  const recent = vmx.recentExits(n);
  if (vmx.exits === 0) return 'no VM exits yet';
  const first = vmx.exits - recent.length + 1;
  const lines = [`last ${recent.length} of ${vmx.exits} VM exits (oldest first; ${vmx.entries} VM entries):`, EXIT_HEADER];
  recent.forEach((x, k) => lines.push(exitLine(first + k, x)));
  return lines.join('\n');
}

/** Counts by reason over the ring buffer (the last EXIT_RING exits). */
export function exitHistogram(vmx: VmxUnit): string[] {
  const counts = new Map<number, number>();
  for (const x of vmx.recentExits(vmx.ringReason.length)) counts.set(x.reason, (counts.get(x.reason) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([r, c]) => `${exitReasonName(r)}: ${c}`);
}
