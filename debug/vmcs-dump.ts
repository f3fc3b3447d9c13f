// VMCS dumps, derived from THE field table (machine/vmx/vmcs-fields.ts): every field by its SDM
// name, grouped by area (Vol3C 24.3: guest-state, host-state, control fields, exit information),
// with decoded values where that helps (controls by bit name, access rights, interruption
// information, exit reason and qualification, activity and interruptibility state, EPTP).
// Also: the guest's paging context as the VMCS holds it (for reading guest memory while the CPU is
// in the host state), and the report for an unhandled VM exit. Browser-safe.

import { VMCS_FIELDS, F, FieldType, Width, type VmcsField } from '../machine/vmx/vmcs-fields.js';
import type { Vmcs } from '../machine/vmx/vmcs.js';
import type { VmxUnit } from '../machine/vmx/vmx-unit.js';
import type { PhysMem } from '../machine/memory.js';
import {
  ACTIVITY, bitNames, ENTRY_CTL, EPTP, EXIT_CTL, INTERRUPTIBILITY, INTR_INFO, PENDING_DBG, PIN, PROC, PROC2, VMX_ERROR_NAMES,
} from '../machine/vmx/controls.js';
import { exitReasonName } from '../machine/vmx/exit-reasons.js';
import { AR, CR0, CR4, EFER, EFLAGS, EXC_NAMES, SEG_NAMES, SYS_TYPE } from '../machine/cpu/arch.js';
import { flagsString } from './dump.js';
import { qualText, formatExits } from './exit-trace.js';
import { peekEpt, translateLinear, type GuestPaging } from './pagewalk.js';
import { disassembleAt, formatListing } from './disasm.js';

/** Hex of an unsigned value, up to 2^53 (signed int32 register values are read as unsigned). */
const hx = (v: number, w = 8): string => '0x' + (v < 0 ? v >>> 0 : Math.floor(v)).toString(16).padStart(w, '0');

/** Value text by field width: 16-bit 4 digits, 32-bit and natural 8, 64-bit 16 (from the exact halves). */
export function fieldValueText(f: VmcsField, v: Vmcs): string {
  if (f.width === Width.W64) return '0x' + (v.getHi(f) >>> 0).toString(16).padStart(8, '0') + (v.get32(f) >>> 0).toString(16).padStart(8, '0');
  return hx(v.get(f), f.width === Width.W16 ? 4 : 8);
}

const SYS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SYS_TYPE).map(([k, v]) => [v, k]));

/** Segment access rights in VMCS format (Vol3C Table 24-2). */
export function arText(ar: number): string {
  if ((ar & AR.UNUSABLE) !== 0) return 'unusable';
  const t = ar & AR.TYPE_MASK, parts: string[] = [];
  if ((ar & AR.S) === 0) parts.push(`system ${SYS_NAMES[t] ?? `type ${t}`}`);
  else if ((t & AR.CODE) !== 0) parts.push(`code ${t & AR.RW ? 'execute/read' : 'execute-only'}${t & AR.DC ? ' conforming' : ''}${t & AR.ACCESSED ? ' accessed' : ''}`);
  else parts.push(`data ${t & AR.RW ? 'read/write' : 'read-only'}${t & AR.DC ? ' expand-down' : ''}${t & AR.ACCESSED ? ' accessed' : ''}`);
  parts.push(`DPL ${(ar & AR.DPL_MASK) >>> AR.DPL_SHIFT}`);
  if ((ar & AR.P) !== 0) parts.push('P');
  if ((ar & AR.AVL) !== 0) parts.push('AVL');
  if ((ar & AR.DB) !== 0) parts.push('D/B');
  if ((ar & AR.G) !== 0) parts.push('G');
  return parts.join(', ');
}

const INTR_TYPE_NAMES = ['external interrupt', 'reserved type 1', 'NMI', 'hardware exception', 'software interrupt',
  'privileged software exception', 'software exception', 'other event'];

/** An interruption-information field (Vol3C Tables 24-16, 24-19, 24-20). */
export function intrInfoText(info: number, errorCode?: number): string {
  if ((info & INTR_INFO.VALID) === 0) return 'not valid';
  const type = (info & INTR_INFO.TYPE_MASK) >>> INTR_INFO.TYPE_SHIFT;
  const vec = info & INTR_INFO.VECTOR_MASK;
  const name = type === 3 || type === 5 || type === 6 ? ` ${EXC_NAMES[vec] ?? ''}`.trimEnd() : '';
  let s = `valid, ${INTR_TYPE_NAMES[type]}, vector ${vec}${name ? ` (${name.trim()})` : ''}`;
  if ((info & INTR_INFO.ERROR_CODE_VALID) !== 0) s += errorCode === undefined ? ', error code valid' : `, error code ${hx(errorCode, 4)}`;
  if ((info & INTR_INFO.NMI_UNBLOCKING_DUE_TO_IRET) !== 0) s += ', NMI unblocking due to IRET';
  return s;
}

const names = (v: number, table: Record<string, number>): string => bitNames(v, table).join(' ') || '-';
const vectors = (v: number): string => {
  const out: string[] = [];
  for (let k = 0; k < 32; k++) if ((v >>> k) & 1) out.push(EXC_NAMES[k] ?? `${k}`);
  return out.join(' ') || '-';
};

/** Decoded meaning of a field's value, or '' (the exit qualification needs the exit reason). */
export function fieldNote(f: VmcsField, v: number, vmcs?: Vmcs): string {
  const n = f.name;
  if (n.endsWith('_AR_BYTES')) return arText(v);
  switch (n) {
    case 'PIN_BASED_VM_EXEC_CONTROL': return names(v, PIN);
    case 'CPU_BASED_VM_EXEC_CONTROL': return names(v, PROC);
    case 'SECONDARY_VM_EXEC_CONTROL': return names(v, PROC2);
    case 'VM_EXIT_CONTROLS': return names(v, EXIT_CTL);
    case 'VM_ENTRY_CONTROLS': return names(v, ENTRY_CTL);
    case 'EXCEPTION_BITMAP': return vectors(v);
    case 'VM_ENTRY_INTR_INFO_FIELD': return intrInfoText(v, vmcs?.get(F.VM_ENTRY_EXCEPTION_ERROR_CODE));
    case 'VM_EXIT_INTR_INFO': return intrInfoText(v, vmcs?.get(F.VM_EXIT_INTR_ERROR_CODE));
    case 'IDT_VECTORING_INFO_FIELD': return intrInfoText(v, vmcs?.get(F.IDT_VECTORING_ERROR_CODE));
    case 'VM_EXIT_REASON': return v === 0 && vmcs === undefined ? '' : exitReasonName(v);
    case 'VM_INSTRUCTION_ERROR': return v === 0 ? 'none' : VMX_ERROR_NAMES[v] ?? `error ${v}`;
    case 'EXIT_QUALIFICATION': return vmcs !== undefined ? qualText(vmcs.get(F.VM_EXIT_REASON), v) : '';
    case 'GUEST_INTERRUPTIBILITY_INFO': return names(v, INTERRUPTIBILITY);
    case 'GUEST_ACTIVITY_STATE': return Object.entries(ACTIVITY).find(([, a]) => a === v)?.[0] ?? `state ${v}`;
    case 'GUEST_PENDING_DBG_EXCEPTIONS': return v === 0 ? '-' : [(v & PENDING_DBG.B0_B3) ? `B${(v & 15).toString(2)}` : '',
      v & PENDING_DBG.ENABLED_BREAKPOINT ? 'enabled-breakpoint' : '', v & PENDING_DBG.BS ? 'BS' : '', v & PENDING_DBG.RTM ? 'RTM' : ''].filter(Boolean).join(' ');
    case 'GUEST_CR0': case 'HOST_CR0': case 'CR0_GUEST_HOST_MASK': case 'CR0_READ_SHADOW': return names(v, CR0);
    case 'GUEST_CR4': case 'HOST_CR4': case 'CR4_GUEST_HOST_MASK': case 'CR4_READ_SHADOW': return names(v, CR4);
    case 'GUEST_IA32_EFER': case 'HOST_IA32_EFER': return names(v % 0x100000000, EFER);
    case 'GUEST_RFLAGS': return flagsString(v) + ((v & EFLAGS.VM) !== 0 ? ' (virtual-8086)' : '');
    case 'EPT_POINTER': {
      const lo = v % 0x100000000;
      const mt = lo & EPTP.MEMTYPE_MASK;
      return `PML4 ${hx(Math.floor(v / 4096) * 4096)}, memtype ${mt === 6 ? 'WB' : mt === 0 ? 'UC' : mt}, ` +
        `${((lo & EPTP.WALK_LENGTH_MASK) >>> EPTP.WALK_LENGTH_SHIFT) + 1}-level walk${lo & EPTP.ENABLE_AD ? ', A/D flags' : ''}`;
    }
    case 'VMCS_LINK_POINTER': return vmcs !== undefined && vmcs.get32(f) === -1 && vmcs.getHi(f) === -1 ? 'none (all ones)' : '';
    default: return '';
  }
}

/** Area order and titles (Vol3C 24.3). */
const AREAS: { type: FieldType; title: string }[] = [
  { type: FieldType.Guest, title: 'Guest-state area' },
  { type: FieldType.Host, title: 'Host-state area' },
  { type: FieldType.Control, title: 'VM-execution, VM-exit and VM-entry control fields' },
  { type: FieldType.ExitInfo, title: 'VM-exit information fields' },
];

/** Every field of a VMCS, by SDM name, grouped by area, with encodings and decoded values. */
export function formatVmcs(v: Vmcs, opts: { title?: string } = {}): string {
  const lines: string[] = [opts.title ?? `VMCS at ${hx(v.pa)} (revision ${hx(v.revision)}, ${v.launch === 1 ? 'launched' : 'clear'})`];
  for (const a of AREAS) {
    lines.push(`${a.title}:`);
    for (const f of VMCS_FIELDS) {
      if (f.type !== a.type) continue;
      const val = v.get(f);
      const note = fieldNote(f, val, v);
      lines.push(`  ${f.name.padEnd(36)} ${f.encoding.toString(16).padStart(4, '0')}  ${fieldValueText(f, v).padEnd(18)}${note ? ' ' + note : ''}`.trimEnd());
    }
  }
  return lines.join('\n');
}

/** The current VMCS of a VMX unit, or why there is none. */
export function formatCurrentVmcs(vmx: VmxUnit): string {
  if (!vmx.inVmxOperation) return 'the processor is not in VMX operation (no VMXON)';
  if (vmx.current === null) return 'no current VMCS (no VMPTRLD)';
  return formatVmcs(vmx.current);
}

// ------------------------------------------------------------------ the guest as the VMCS holds it

/**
 * The guest's paging context from the current VMCS (the processor is in the host state): guest
 * CR0/CR3/CR4, EFER (saved by the exit if "save IA32_EFER", else the processor's, which exits do not
 * change without "load IA32_EFER"), PDPTEs (the VMCS fields with EPT, else read from guest CR3) and
 * the EPT if enabled.
 */
export function vmcsGuestPaging(vmx: VmxUnit, mem: PhysMem): GuestPaging {
  const v = vmx.current!;
  const cr0 = v.get32(F.GUEST_CR0), cr3 = v.get32(F.GUEST_CR3), cr4 = v.get32(F.GUEST_CR4);
  const exitCtl = v.get32(F.VM_EXIT_CONTROLS);
  const efer = (exitCtl & EXIT_CTL.SAVE_IA32_EFER) !== 0 || (exitCtl & EXIT_CTL.LOAD_IA32_EFER) !== 0 ? v.get32(F.GUEST_IA32_EFER) : vmx.cpu.efer;
  const proc2 = (v.get32(F.CPU_BASED_VM_EXEC_CONTROL) & PROC.ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
  const ept = (proc2 & PROC2.ENABLE_EPT) !== 0 ? peekEpt(mem, v.get32(F.EPT_POINTER), v.getHi(F.EPT_POINTER)) : null;
  const pdpteLo = new Int32Array(4), pdpteHi = new Int32Array(4);
  const pdpteFields = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];
  for (let k = 0; k < 4; k++) {
    if (ept !== null) { pdpteLo[k] = v.get32(pdpteFields[k]); pdpteHi[k] = v.getHi(pdpteFields[k]); continue; }
    const a = ((cr3 & ~0x1f) >>> 0) + 8 * k;
    if (mem.isRamPage(a)) { pdpteLo[k] = mem.read(a, 4); pdpteHi[k] = mem.read(a + 4, 4); }
  }
  return { paging: (cr0 & CR0.PG) !== 0 && (cr0 & CR0.PE) !== 0, regs: { cr0, cr3, cr4, efer, pdpteLo, pdpteHi }, ept, a20: mem.a20 };
}

/** A byte of guest memory at a guest-linear address (through the VMCS's paging context), or null. */
export function guestByteReader(mem: PhysMem, g: GuestPaging): (lin: number) => number | null {
  return (lin) => {
    const pa = translateLinear(mem, g, lin);
    return pa === null || !mem.isRamPage(pa) ? null : mem.read(pa, 1);
  };
}

/**
 * The report for a VM exit the hypervisor does not handle: the exit (reason, qualification decoded,
 * event information), the guest's state from the VMCS (its GPRs are still in the processor's
 * register file, as on hardware), the guest code around CS:EIP, and the exits that led there.
 * `vmcs: true` appends the full VMCS dump.
 */
export function exitReport(vmx: VmxUnit, mem: PhysMem, opts: { exits?: number; vmcs?: boolean; headline?: string } = {}): string {
  const v = vmx.current;
  if (v === null) return 'VM exit report: no current VMCS';
  const g = (f: VmcsField): number => v.get(f);
  const reason = g(F.VM_EXIT_REASON), qual = g(F.EXIT_QUALIFICATION);
  const L: string[] = [];
  if (opts.headline) L.push(opts.headline);
  const q = qualText(reason, qual);
  L.push(`VM exit #${vmx.exits}: ${exitReasonName(reason)} (reason ${hx(reason)}), qualification ${hx(qual)}${q ? ` (${q})` : ''}`);
  L.push(`  exit interruption: ${intrInfoText(g(F.VM_EXIT_INTR_INFO), g(F.VM_EXIT_INTR_ERROR_CODE))}; IDT vectoring: ${intrInfoText(g(F.IDT_VECTORING_INFO_FIELD), g(F.IDT_VECTORING_ERROR_CODE))}`);
  L.push(`  instruction length ${g(F.VM_EXIT_INSTRUCTION_LEN)}, guest-linear ${hx(g(F.GUEST_LINEAR_ADDRESS))}, guest-physical ${hx(g(F.GUEST_PHYSICAL_ADDRESS), 9)}`);
  const cr0 = g(F.GUEST_CR0), cr4 = g(F.GUEST_CR4), csAr = g(F.GUEST_CS_AR_BYTES), fl = g(F.GUEST_RFLAGS);
  const real = (cr0 & CR0.PE) === 0, v86 = (fl & EFLAGS.VM) !== 0;
  const bits: 16 | 32 = real || v86 || (csAr & AR.DB) === 0 ? 16 : 32;
  const mode = real ? 'real mode' : v86 ? 'virtual-8086 mode'
    : `protected mode, ${bits}-bit code, CPL ${(g(F.GUEST_SS_AR_BYTES) & AR.DPL_MASK) >>> AR.DPL_SHIFT}, ${(cr0 & CR0.PG) === 0 ? 'no paging' : (cr4 & CR4.PAE) !== 0 ? 'PAE paging' : '32-bit paging'}`;
  const cs = g(F.GUEST_CS_SELECTOR), csBase = g(F.GUEST_CS_BASE), rip = g(F.GUEST_RIP);
  L.push(`  guest: ${mode}; CS:EIP ${hx(cs, 4)}:${hx(rip)} (linear ${hx((csBase + rip) >>> 0)}); SS:ESP ${hx(g(F.GUEST_SS_SELECTOR), 4)}:${hx(g(F.GUEST_RSP))}`);
  L.push(`  EFLAGS ${hx(fl)} [${flagsString(fl)}]; activity ${fieldNote(F.GUEST_ACTIVITY_STATE, g(F.GUEST_ACTIVITY_STATE))}; interruptibility ${fieldNote(F.GUEST_INTERRUPTIBILITY_INFO, g(F.GUEST_INTERRUPTIBILITY_INFO))}`);
  const r = vmx.cpu.r32;
  L.push(`  EAX=${hx(r[0])} ECX=${hx(r[1])} EDX=${hx(r[2])} EBX=${hx(r[3])} ESP=${hx(g(F.GUEST_RSP))} EBP=${hx(r[5])} ESI=${hx(r[6])} EDI=${hx(r[7])}`);
  const m0 = g(F.CR0_GUEST_HOST_MASK), m4 = g(F.CR4_GUEST_HOST_MASK);
  const seen0 = ((cr0 & ~m0) | (g(F.CR0_READ_SHADOW) & m0)) >>> 0, seen4 = ((cr4 & ~m4) | (g(F.CR4_READ_SHADOW) & m4)) >>> 0;
  L.push(`  CR0=${hx(cr0)} CR3=${hx(g(F.GUEST_CR3))} CR4=${hx(cr4)} (the guest reads CR0=${hx(seen0)} CR4=${hx(seen4)})`);
  for (let s = 0; s < 8; s++) {
    const n = SEG_NAMES[s].toUpperCase();
    const ar = g(F[`GUEST_${n}_AR_BYTES`]);
    L.push(`  ${n.padEnd(4)} ${hx(g(F[`GUEST_${n}_SELECTOR`]), 4)} base=${hx(g(F[`GUEST_${n}_BASE`]))} limit=${hx(g(F[`GUEST_${n}_LIMIT`]))} ar=${hx(ar, 5)} ${arText(ar)}`);
  }
  L.push(`  GDTR ${hx(g(F.GUEST_GDTR_BASE))}:${hx(g(F.GUEST_GDTR_LIMIT), 4)}  IDTR ${hx(g(F.GUEST_IDTR_BASE))}:${hx(g(F.GUEST_IDTR_LIMIT), 4)}`);
  const gp = vmcsGuestPaging(vmx, mem);
  const lines = disassembleAt(guestByteReader(mem, gp), csBase, rip, bits, { before: 3, after: 4 });
  L.push(`  code at CS:EIP (${bits}-bit):`);
  if (lines.length === 0) L.push('    (not mapped)');
  for (const line of formatListing(lines, cs).split('\n')) if (line.trim()) L.push(`    ${line}`);
  for (const line of formatExits(vmx, opts.exits ?? 8).split('\n')) L.push(`  ${line}`);
  if (opts.vmcs) L.push(formatVmcs(v));
  return L.join('\n');
}

