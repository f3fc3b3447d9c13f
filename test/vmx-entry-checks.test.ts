// The VM-entry checks of Intel SDM Vol3C 26.2 (controls and host state: VMLAUNCH fails with
// VMfailValid(7) resp. (8), Table 31-1) and 26.3.1 (guest state: VM exit with basic reason 33 and
// bit 31 set, qualification 0 / 2 for PDPTEs / 4 for the VMCS link pointer, Vol3C 26.8, 27.2.1),
// one table row per check with its SDM section. Each row starts from a VALID VMCS built by hand in
// test/harness/vmx.ts, breaks one thing, and checks the outcome and what `lastEntryFailure` names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../machine/vmx/vmcs-fields.js';
import { lastEntryFailure } from '../machine/vmx/entry.js';
import {
  Rig, type RigOptions, P, P2, PIN_C, EXIT_C, ENTRY_C, R, II, ENTRY_FAILURE, GUEST_CODE, GUEST_CR0, GUEST_CR4, HANDLERS,
  VMCS, VMCS2, MSR_AREA, TSS, AR_CODE, AR_DATA, hex,
} from './harness/vmx.js';

const INVALID_CONTROL = 7, INVALID_HOST = 8;
type Kind = 'control' | 'host' | 'guest' | 'ok';
interface Row {
  sec: string;
  what: string;
  kind: Kind;
  /** Field the failure must name (lastEntryFailure.field). */
  field?: string;
  /** Exit qualification for guest-state failures (Vol3C 27.2.1: 0 default, 2 PDPTEs, 4 link pointer). */
  qual?: number;
  /** Basic exit reason for 'guest' rows (33 unless MSR loading: 34). */
  reason?: number;
  /** For 'ok' rows: the exit the guest must reach (default HLT) and its RIP. */
  exit?: number;
  rip?: number;
  opts?: RigOptions;
  set: (r: Rig) => void;
}

const w = (r: Rig, name: string, v: number): void => r.w(F[name], v);
const or = (r: Rig, name: string, v: number): void => r.w(F[name], (r.r(F[name]) | v) >>> 0);
const andNot = (r: Rig, name: string, v: number): void => r.w(F[name], (r.r(F[name]) & ~v) >>> 0);
const UG: RigOptions = { ept: true, proc2: P2.UNRESTRICTED };
/** Injection: valid | type | vector (| deliver error code). */
const inject = (r: Rig, info: number, len = 0, code = 0): void => {
  w(r, 'VM_ENTRY_INTR_INFO_FIELD', info >>> 0); w(r, 'VM_ENTRY_INSTRUCTION_LEN', len); w(r, 'VM_ENTRY_EXCEPTION_ERROR_CODE', code);
};
/** A virtual-8086 guest that is valid (Vol3C 26.3.1.2): CS..GS base = selector × 16, limit FFFFH, AR F3H. */
const v86 = (r: Rig): void => {
  w(r, 'GUEST_RFLAGS', 0x20002);
  for (const s of ['CS', 'SS', 'DS', 'ES', 'FS', 'GS']) r.seg(s, 0x100, 0x1000, 0xffff, 0xf3);
  w(r, 'GUEST_RIP', 0); w(r, 'GUEST_RSP', 0x7000);
};
/** A ring-3 guest: CS 23H (DPL 3 code), SS 2BH (DPL 3 data). */
const ring3 = (r: Rig): void => { r.seg('CS', 0x23, 0, 0xffffffff, AR_CODE | 0x60); r.seg('SS', 0x2b, 0, 0xffffffff, AR_DATA | 0x60); };
/** PAE paging for the guest: PDPT at 15000H (PDPTE0 → PD at 16000H, 2-MiB identity pages), CR4.PAE. */
const pae = (r: Rig, pdpte1 = 0): void => {
  r.wr(0x15000, 4, 0x16000 | 1); r.wr(0x15008, 4, pdpte1); r.wr(0x1500c, 4, 0);
  for (let k = 0; k < 512; k++) { r.wr(0x16000 + 8 * k, 4, ((k << 21) | 0x83) | 0); r.wr(0x16004 + 8 * k, 4, 0); }
  w(r, 'GUEST_CR3', 0x15000); w(r, 'GUEST_CR4', GUEST_CR4 | 0x20);
};

const ROWS: Row[] = [
  // ---------------------------------------------------------------- 26.2.1.1 VM-execution control fields
  { sec: '26.2.1.1', what: 'pin-based must-be-1 bit 1 cleared', kind: 'control', field: 'PIN_BASED_VM_EXEC_CONTROL', set: (r) => andNot(r, 'PIN_BASED_VM_EXEC_CONTROL', 2) },
  { sec: '26.2.1.1', what: 'pin-based "process posted interrupts" (not allowed-1)', kind: 'control', field: 'PIN_BASED_VM_EXEC_CONTROL', set: (r) => or(r, 'PIN_BASED_VM_EXEC_CONTROL', PIN_C.POSTED) },
  { sec: '26.2.1.1', what: 'primary must-be-1 bit 1 cleared', kind: 'control', field: 'CPU_BASED_VM_EXEC_CONTROL', set: (r) => andNot(r, 'CPU_BASED_VM_EXEC_CONTROL', 2) },
  { sec: '26.2.1.1', what: 'primary "use TPR shadow" (not allowed-1)', kind: 'control', field: 'CPU_BASED_VM_EXEC_CONTROL', set: (r) => or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.TPR_SHADOW) },
  { sec: '26.2.1.1', what: 'secondary "virtualize APIC accesses" (not allowed-1)', kind: 'control', field: 'SECONDARY_VM_EXEC_CONTROL', set: (r) => { or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.SECONDARY); w(r, 'SECONDARY_VM_EXEC_CONTROL', P2.APIC_ACCESSES); } },
  { sec: '26.2.1.1', what: 'secondary controls are not checked when "activate secondary controls" is 0', kind: 'ok', set: (r) => w(r, 'SECONDARY_VM_EXEC_CONTROL', 0xffffffff) },
  { sec: '26.2.1.1', what: 'CR3-target count 5 > 4', kind: 'control', field: 'CR3_TARGET_COUNT', set: (r) => w(r, 'CR3_TARGET_COUNT', 5) },
  { sec: '26.2.1.1', what: 'CR3-target count 4 is allowed', kind: 'ok', set: (r) => w(r, 'CR3_TARGET_COUNT', 4) },
  { sec: '26.2.1.1', what: 'I/O bitmap A not 4-KiB aligned', kind: 'control', field: 'IO_BITMAP_A', set: (r) => { or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.IO_BITMAPS); w(r, 'IO_BITMAP_A', 0x106800); } },
  { sec: '26.2.1.1', what: 'I/O bitmap B beyond the physical-address width', kind: 'control', field: 'IO_BITMAP_B', set: (r) => { or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.IO_BITMAPS); w(r, 'IO_BITMAP_B', 2 ** 36); } },
  { sec: '26.2.1.1', what: 'unaligned I/O bitmap ignored without "use I/O bitmaps"', kind: 'ok', set: (r) => w(r, 'IO_BITMAP_A', 0x123) },
  { sec: '26.2.1.1', what: 'MSR bitmap not 4-KiB aligned', kind: 'control', field: 'MSR_BITMAP', set: (r) => { or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.MSR_BITMAPS); w(r, 'MSR_BITMAP', 0x108010); } },
  { sec: '26.2.1.1', what: '"virtual NMIs" without "NMI exiting"', kind: 'control', field: 'PIN_BASED_VM_EXEC_CONTROL', set: (r) => or(r, 'PIN_BASED_VM_EXEC_CONTROL', PIN_C.VIRTUAL_NMIS) },
  { sec: '26.2.1.1', what: '"NMI-window exiting" without "virtual NMIs"', kind: 'control', field: 'CPU_BASED_VM_EXEC_CONTROL', set: (r) => { or(r, 'PIN_BASED_VM_EXEC_CONTROL', PIN_C.NMI); or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.NMI_WINDOW); } },
  { sec: '26.2.1.1', what: '"enable VPID" with VPID 0000H', kind: 'control', field: 'VIRTUAL_PROCESSOR_ID', set: (r) => { or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.SECONDARY); w(r, 'SECONDARY_VM_EXEC_CONTROL', P2.VPID); w(r, 'VIRTUAL_PROCESSOR_ID', 0); } },
  { sec: '26.2.1.1', what: 'EPTP memory type WC (only UC/WB in EPT_VPID_CAP)', kind: 'control', field: 'EPT_POINTER', opts: { ept: true }, set: (r) => w(r, 'EPT_POINTER', (r.r(F.EPT_POINTER) & ~7) | 1) },
  { sec: '26.2.1.1', what: 'EPTP page-walk length 3', kind: 'control', field: 'EPT_POINTER', opts: { ept: true }, set: (r) => w(r, 'EPT_POINTER', (r.r(F.EPT_POINTER) & ~0x38) | (2 << 3)) },
  { sec: '26.2.1.1', what: 'EPTP reserved bit 7', kind: 'control', field: 'EPT_POINTER', opts: { ept: true }, set: (r) => w(r, 'EPT_POINTER', r.r(F.EPT_POINTER) | 0x80) },
  { sec: '26.2.1.1', what: 'EPTP bit 36 beyond the physical-address width', kind: 'control', field: 'EPT_POINTER', opts: { ept: true }, set: (r) => w(r, 'EPT_POINTER', r.r(F.EPT_POINTER) + 2 ** 36) },
  { sec: '26.2.1.1', what: 'EPTP with A/D flags (supported)', kind: 'ok', opts: { ept: true }, set: (r) => w(r, 'EPT_POINTER', r.r(F.EPT_POINTER) | 0x40) },
  { sec: '26.2.1.1', what: '"unrestricted guest" without "enable EPT"', kind: 'control', field: 'SECONDARY_VM_EXEC_CONTROL', set: (r) => { or(r, 'CPU_BASED_VM_EXEC_CONTROL', P.SECONDARY); w(r, 'SECONDARY_VM_EXEC_CONTROL', P2.UNRESTRICTED); } },
  // ---------------------------------------------------------------- 26.2.1.2 VM-exit control fields
  { sec: '26.2.1.2', what: 'exit controls must-be-1 bit 0 cleared', kind: 'control', field: 'VM_EXIT_CONTROLS', set: (r) => andNot(r, 'VM_EXIT_CONTROLS', 1) },
  { sec: '26.2.1.2', what: '"host address-space size" (reserved: no Intel 64; 26.2.4 is thus never reached)', kind: 'control', field: 'VM_EXIT_CONTROLS', set: (r) => or(r, 'VM_EXIT_CONTROLS', EXIT_C.HOST_64) },
  { sec: '26.2.1.2', what: '"save VMX-preemption timer value" without the timer', kind: 'control', field: 'VM_EXIT_CONTROLS', set: (r) => or(r, 'VM_EXIT_CONTROLS', EXIT_C.SAVE_TIMER) },
  { sec: '26.2.1.2', what: 'VM-exit MSR-store address not 16-byte aligned', kind: 'control', field: 'VM_EXIT_MSR_STORE_ADDR', set: (r) => { w(r, 'VM_EXIT_MSR_STORE_COUNT', 1); w(r, 'VM_EXIT_MSR_STORE_ADDR', MSR_AREA + 8); } },
  { sec: '26.2.1.2', what: 'VM-exit MSR-store area ends beyond the physical-address width', kind: 'control', field: 'VM_EXIT_MSR_STORE_ADDR', set: (r) => { w(r, 'VM_EXIT_MSR_STORE_COUNT', 2); w(r, 'VM_EXIT_MSR_STORE_ADDR', 2 ** 36 - 16); } },
  { sec: '26.2.1.2', what: 'VM-exit MSR-load address not 16-byte aligned', kind: 'control', field: 'VM_EXIT_MSR_LOAD_ADDR', set: (r) => { w(r, 'VM_EXIT_MSR_LOAD_COUNT', 1); w(r, 'VM_EXIT_MSR_LOAD_ADDR', MSR_AREA + 4); } },
  { sec: '26.2.1.2', what: 'unaligned MSR-store address ignored with count 0', kind: 'ok', set: (r) => w(r, 'VM_EXIT_MSR_STORE_ADDR', 3) },
  // ---------------------------------------------------------------- 26.2.1.3 VM-entry control fields
  { sec: '26.2.1.3', what: 'entry controls must-be-1 bit 0 cleared', kind: 'control', field: 'VM_ENTRY_CONTROLS', set: (r) => andNot(r, 'VM_ENTRY_CONTROLS', 1) },
  { sec: '26.2.1.3', what: '"IA-32e mode guest" (reserved: no Intel 64)', kind: 'control', field: 'VM_ENTRY_CONTROLS', set: (r) => or(r, 'VM_ENTRY_CONTROLS', ENTRY_C.IA32E) },
  { sec: '26.2.1.3', what: '"entry to SMM" outside SMM', kind: 'control', field: 'VM_ENTRY_CONTROLS', set: (r) => or(r, 'VM_ENTRY_CONTROLS', ENTRY_C.SMM) },
  { sec: '26.2.1.3', what: 'interruption type 1 (reserved)', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | (1 << 8) | 0x20) },
  { sec: '26.2.1.3', what: 'NMI with vector 3', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | II.NMI | 3) },
  { sec: '26.2.1.3', what: 'hardware exception with vector 32', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | II.HW | 32) },
  { sec: '26.2.1.3', what: 'other event (type 7) with vector 1 (must be 0)', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | II.OTHER | 1) },
  { sec: '26.2.1.3', what: 'other event (type 7) vector 0 is allowed with MTF support (pending MTF VM exit)', kind: 'ok', exit: R.MTF, rip: GUEST_CODE, set: (r) => inject(r, II.VALID | II.OTHER | 0) },
  { sec: '26.2.1.3', what: 'deliver-error-code for #UD', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | II.HW | II.EC | 6) },
  { sec: '26.2.1.3', what: 'no deliver-error-code for #GP', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | II.HW | 13) },
  { sec: '26.2.1.3', what: 'deliver-error-code for a software interrupt', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | II.SWI | II.EC | 0x80, 2) },
  { sec: '26.2.1.3', what: 'reserved bit 12 of the interruption information', kind: 'control', field: 'VM_ENTRY_INTR_INFO_FIELD', set: (r) => inject(r, II.VALID | (1 << 12) | II.EXT | 0x20) },
  { sec: '26.2.1.3', what: 'error code with bit 15 set', kind: 'control', field: 'VM_ENTRY_EXCEPTION_ERROR_CODE', set: (r) => inject(r, II.VALID | II.HW | II.EC | 13, 0, 0x8000) },
  { sec: '26.2.1.3', what: 'software interrupt with instruction length 0', kind: 'control', field: 'VM_ENTRY_INSTRUCTION_LEN', set: (r) => inject(r, II.VALID | II.SWI | 0x80, 0) },
  { sec: '26.2.1.3', what: 'software exception with instruction length 16', kind: 'control', field: 'VM_ENTRY_INSTRUCTION_LEN', set: (r) => inject(r, II.VALID | II.SWE | 3, 16) },
  { sec: '26.2.1.3', what: 'privileged software exception with instruction length 0', kind: 'control', field: 'VM_ENTRY_INSTRUCTION_LEN', set: (r) => inject(r, II.VALID | II.PSE | 1, 0) },
  { sec: '26.2.1.3', what: 'invalid injection fields are ignored when the valid bit is 0', kind: 'ok', set: (r) => inject(r, 0x7fffffff, 0, -1) },
  { sec: '26.2.1.3', what: 'VM-entry MSR-load address not 16-byte aligned', kind: 'control', field: 'VM_ENTRY_MSR_LOAD_ADDR', set: (r) => { w(r, 'VM_ENTRY_MSR_LOAD_COUNT', 1); w(r, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_AREA + 1); } },
  // ---------------------------------------------------------------- 26.2.2 host control registers and MSRs
  { sec: '26.2.2', what: 'host CR0.PG = 0 (IA32_VMX_CR0_FIXED0)', kind: 'host', field: 'HOST_CR0', set: (r) => andNot(r, 'HOST_CR0', 0x80000000) },
  { sec: '26.2.2', what: 'host CR0.NE = 0', kind: 'host', field: 'HOST_CR0', set: (r) => andNot(r, 'HOST_CR0', 0x20) },
  { sec: '26.2.2', what: 'host CR4.VMXE = 0 (IA32_VMX_CR4_FIXED0)', kind: 'host', field: 'HOST_CR4', set: (r) => andNot(r, 'HOST_CR4', 0x2000) },
  { sec: '26.2.2', what: 'host CR4 bit outside IA32_VMX_CR4_FIXED1', kind: 'host', field: 'HOST_CR4', set: (r) => or(r, 'HOST_CR4', (~r.vmx.rdmsr(0x489)[0] & 0x7fffff) & -(~r.vmx.rdmsr(0x489)[0] & 0x7fffff)) },
  { sec: '26.2.2', what: 'host IA32_PAT entry 0 = 2 (reserved memory type)', kind: 'host', field: 'HOST_IA32_PAT', set: (r) => { or(r, 'VM_EXIT_CONTROLS', EXIT_C.LOAD_PAT); w(r, 'HOST_IA32_PAT', 0x0007040600070402); } },
  { sec: '26.2.2', what: 'host IA32_PAT entry 7 = 8', kind: 'host', field: 'HOST_IA32_PAT', set: (r) => { or(r, 'VM_EXIT_CONTROLS', EXIT_C.LOAD_PAT); w(r, 'HOST_IA32_PAT', 0x0807040600070406); } },
  { sec: '26.2.2', what: 'invalid host PAT ignored without "load IA32_PAT"', kind: 'ok', set: (r) => w(r, 'HOST_IA32_PAT', 0x0202020202020202) },
  { sec: '26.2.2', what: 'host IA32_EFER.LME with "host address-space size" 0', kind: 'host', field: 'HOST_IA32_EFER', set: (r) => { or(r, 'VM_EXIT_CONTROLS', EXIT_C.LOAD_EFER); w(r, 'HOST_IA32_EFER', 0x100); } },
  // ---------------------------------------------------------------- 26.2.3 host segment and descriptor-table registers
  { sec: '26.2.3', what: 'host CS selector RPL 1', kind: 'host', field: 'HOST_CS_SELECTOR', set: (r) => w(r, 'HOST_CS_SELECTOR', 0x09) },
  { sec: '26.2.3', what: 'host DS selector TI = 1', kind: 'host', field: 'HOST_DS_SELECTOR', set: (r) => w(r, 'HOST_DS_SELECTOR', 0x14) },
  { sec: '26.2.3', what: 'host TR selector RPL 3', kind: 'host', field: 'HOST_TR_SELECTOR', set: (r) => w(r, 'HOST_TR_SELECTOR', 0x1b) },
  { sec: '26.2.3', what: 'host CS selector 0000H', kind: 'host', field: 'HOST_CS_SELECTOR', set: (r) => w(r, 'HOST_CS_SELECTOR', 0) },
  { sec: '26.2.3', what: 'host TR selector 0000H', kind: 'host', field: 'HOST_TR_SELECTOR', set: (r) => w(r, 'HOST_TR_SELECTOR', 0) },
  { sec: '26.2.3', what: 'host SS selector 0000H with "host address-space size" 0', kind: 'host', field: 'HOST_SS_SELECTOR', set: (r) => w(r, 'HOST_SS_SELECTOR', 0) },
  { sec: '26.2.3', what: 'null host DS/ES/FS/GS are allowed', kind: 'ok', set: (r) => { for (const s of ['DS', 'ES', 'FS', 'GS']) w(r, `HOST_${s}_SELECTOR`, 0); } },
  // ---------------------------------------------------------------- 26.3.1.1 guest control registers, debug registers, MSRs
  { sec: '26.3.1.1', what: 'guest CR0.NE = 0', kind: 'guest', field: 'GUEST_CR0', set: (r) => w(r, 'GUEST_CR0', GUEST_CR0 & ~0x20) },
  { sec: '26.3.1.1', what: 'guest CR0.PE = 0 without "unrestricted guest"', kind: 'guest', field: 'GUEST_CR0', set: (r) => w(r, 'GUEST_CR0', 0x30) },
  { sec: '26.3.1.1', what: 'guest CR0.PG = 0 without "unrestricted guest"', kind: 'guest', field: 'GUEST_CR0', set: (r) => w(r, 'GUEST_CR0', 0x31) },
  { sec: '26.3.1.1', what: 'guest CR0.PG = 0 with "unrestricted guest"', kind: 'ok', opts: UG, set: (r) => w(r, 'GUEST_CR0', 0x31) },
  { sec: '26.3.1.1', what: 'guest real mode (PE = PG = 0) with "unrestricted guest"', kind: 'ok', opts: UG, set: (r) => {
    w(r, 'GUEST_CR0', 0x30); for (const s of ['CS', 'SS', 'DS', 'ES', 'FS', 'GS']) r.seg(s, 0, 0, 0xffff, s === 'CS' ? 0x9b : 0x93);
  } },
  { sec: '26.3.1.1', what: 'guest CR0.PG = 1 with PE = 0 ("unrestricted guest")', kind: 'guest', field: 'GUEST_CR0', opts: UG, set: (r) => w(r, 'GUEST_CR0', 0x80000030) },
  { sec: '26.3.1.1', what: 'guest CR4.VMXE = 0', kind: 'guest', field: 'GUEST_CR4', set: (r) => w(r, 'GUEST_CR4', 0x10) },
  { sec: '26.3.1.1', what: 'guest CR4 bit outside IA32_VMX_CR4_FIXED1', kind: 'guest', field: 'GUEST_CR4', set: (r) => or(r, 'GUEST_CR4', (~r.vmx.rdmsr(0x489)[0] & 0x7fffff) & -(~r.vmx.rdmsr(0x489)[0] & 0x7fffff)) },
  { sec: '26.3.1.1', what: 'IA32_DEBUGCTL reserved bit with "load debug controls"', kind: 'guest', field: 'GUEST_IA32_DEBUGCTL', set: (r) => { or(r, 'VM_ENTRY_CONTROLS', ENTRY_C.LOAD_DEBUG); w(r, 'GUEST_IA32_DEBUGCTL', 0x4); } },
  { sec: '26.3.1.1', what: 'guest IA32_PAT entry 3 = 3 with "load IA32_PAT"', kind: 'guest', field: 'GUEST_IA32_PAT', set: (r) => { or(r, 'VM_ENTRY_CONTROLS', ENTRY_C.LOAD_PAT); w(r, 'GUEST_IA32_PAT', 0x0007040603070406); } },
  { sec: '26.3.1.1', what: 'guest IA32_EFER.LMA without "IA-32e mode guest"', kind: 'guest', field: 'GUEST_IA32_EFER', set: (r) => { or(r, 'VM_ENTRY_CONTROLS', ENTRY_C.LOAD_EFER); w(r, 'GUEST_IA32_EFER', 0x400); } },
  // ---------------------------------------------------------------- 26.3.1.2 guest segment registers
  { sec: '26.3.1.2', what: 'TR selector TI = 1', kind: 'guest', field: 'GUEST_TR_SELECTOR', set: (r) => w(r, 'GUEST_TR_SELECTOR', 0x1c) },
  { sec: '26.3.1.2', what: 'usable LDTR with TI = 1', kind: 'guest', field: 'GUEST_LDTR_SELECTOR', set: (r) => r.seg('LDTR', 0x24, 0x30000, 0xff, 0x82) },
  { sec: '26.3.1.2', what: 'unusable LDTR with TI = 1 is not checked', kind: 'ok', set: (r) => w(r, 'GUEST_LDTR_SELECTOR', 0x24) },
  { sec: '26.3.1.2', what: 'SS.RPL 3 ≠ CS.RPL 0', kind: 'guest', field: 'GUEST_SS_SELECTOR', set: (r) => w(r, 'GUEST_SS_SELECTOR', 0x13) },
  { sec: '26.3.1.2', what: 'valid virtual-8086 guest (its HLT at CPL 3 is #GP → IDT → handler HLT)', kind: 'ok', set: v86 },
  { sec: '26.3.1.2', what: 'virtual-8086: DS base ≠ selector × 16', kind: 'guest', field: 'GUEST_DS_BASE', set: (r) => { v86(r); w(r, 'GUEST_DS_BASE', 0x1010); } },
  { sec: '26.3.1.2', what: 'virtual-8086: SS limit ≠ FFFFH', kind: 'guest', field: 'GUEST_SS_LIMIT', set: (r) => { v86(r); w(r, 'GUEST_SS_LIMIT', 0xfffff); } },
  { sec: '26.3.1.2', what: 'virtual-8086: CS access rights ≠ F3H', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => { v86(r); w(r, 'GUEST_CS_AR_BYTES', 0xfb); } },
  { sec: '26.3.1.2', what: 'CS type 3 without "unrestricted guest"', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', 0xc093) },
  { sec: '26.3.1.2', what: 'CS type 3 with "unrestricted guest" and DPL 0', kind: 'ok', opts: UG, set: (r) => w(r, 'GUEST_CS_AR_BYTES', 0xc093) },
  { sec: '26.3.1.2', what: 'CS type 3 with DPL 1 ("unrestricted guest")', kind: 'guest', field: 'GUEST_CS_AR_BYTES', opts: UG, set: (r) => w(r, 'GUEST_CS_AR_BYTES', 0xc0b3) },
  { sec: '26.3.1.2', what: 'CS type 8 (not accessed)', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', AR_CODE & ~1) },
  { sec: '26.3.1.2', what: 'CS.S = 0', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', AR_CODE & ~0x10) },
  { sec: '26.3.1.2', what: 'non-conforming CS DPL 1 ≠ SS.DPL 0', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => { w(r, 'GUEST_CS_AR_BYTES', AR_CODE | 0x20); } },
  { sec: '26.3.1.2', what: 'conforming CS DPL 3 > SS.DPL 0', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', 0xc09f | 0x60) },
  { sec: '26.3.1.2', what: 'conforming CS DPL 0 ≤ SS.DPL 0', kind: 'ok', set: (r) => w(r, 'GUEST_CS_AR_BYTES', 0xc09f) },
  { sec: '26.3.1.2', what: 'CS.P = 0', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', AR_CODE & ~0x80) },
  { sec: '26.3.1.2', what: 'CS reserved bits 11:8', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', AR_CODE | 0x100) },
  { sec: '26.3.1.2', what: 'CS.G = 1 with limit bits 11:0 not all 1', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_LIMIT', 0xfffff000) },
  { sec: '26.3.1.2', what: 'CS.G = 0 with limit bits 31:20 not 0', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', AR_CODE & ~0x8000) },
  { sec: '26.3.1.2', what: 'CS reserved bits 31:17', kind: 'guest', field: 'GUEST_CS_AR_BYTES', set: (r) => w(r, 'GUEST_CS_AR_BYTES', AR_CODE | 0x20000) },
  { sec: '26.3.1.2', what: 'SS type 1 (read-only)', kind: 'guest', field: 'GUEST_SS_AR_BYTES', set: (r) => w(r, 'GUEST_SS_AR_BYTES', AR_DATA & ~2) },
  { sec: '26.3.1.2', what: 'SS expand-down (type 7) is allowed', kind: 'ok', set: (r) => w(r, 'GUEST_SS_AR_BYTES', AR_DATA | 4) },
  { sec: '26.3.1.2', what: 'SS.P = 0', kind: 'guest', field: 'GUEST_SS_AR_BYTES', set: (r) => w(r, 'GUEST_SS_AR_BYTES', AR_DATA & ~0x80) },
  { sec: '26.3.1.2', what: 'SS.DPL 0 ≠ SS.RPL 3 (CS: RPL 3, conforming DPL 0)', kind: 'guest', field: 'GUEST_SS_AR_BYTES', set: (r) => { r.seg('CS', 0x23, 0, 0xffffffff, 0xc09f); w(r, 'GUEST_SS_SELECTOR', 0x2b); } },
  { sec: '26.3.1.2', what: 'valid ring-3 guest (HLT → #GP → handler HLT)', kind: 'ok', set: ring3 },
  { sec: '26.3.1.2', what: 'unusable SS with garbage access rights', kind: 'ok', set: (r) => w(r, 'GUEST_SS_AR_BYTES', 0x10000 | 0xf00) },
  { sec: '26.3.1.2', what: 'DS type 2 (not accessed)', kind: 'guest', field: 'GUEST_DS_AR_BYTES', set: (r) => w(r, 'GUEST_DS_AR_BYTES', AR_DATA & ~1) },
  { sec: '26.3.1.2', what: 'ES execute-only code (type 9)', kind: 'guest', field: 'GUEST_ES_AR_BYTES', set: (r) => w(r, 'GUEST_ES_AR_BYTES', 0xc099) },
  { sec: '26.3.1.2', what: 'FS.S = 0', kind: 'guest', field: 'GUEST_FS_AR_BYTES', set: (r) => w(r, 'GUEST_FS_AR_BYTES', AR_DATA & ~0x10) },
  { sec: '26.3.1.2', what: 'GS.DPL 0 < RPL 3', kind: 'guest', field: 'GUEST_GS_AR_BYTES', set: (r) => w(r, 'GUEST_GS_SELECTOR', 0x13) },
  { sec: '26.3.1.2', what: 'conforming code in DS with DPL < RPL is allowed (type > 11)', kind: 'ok', set: (r) => { w(r, 'GUEST_DS_SELECTOR', 0x13); w(r, 'GUEST_DS_AR_BYTES', 0xc09f); } },
  { sec: '26.3.1.2', what: 'DS.P = 0', kind: 'guest', field: 'GUEST_DS_AR_BYTES', set: (r) => w(r, 'GUEST_DS_AR_BYTES', AR_DATA & ~0x80) },
  { sec: '26.3.1.2', what: 'unusable DS/ES/FS/GS with garbage', kind: 'ok', set: (r) => { for (const s of ['DS', 'ES', 'FS', 'GS']) w(r, `GUEST_${s}_AR_BYTES`, 0x1ffff); } },
  { sec: '26.3.1.2', what: 'TR type 9 (available TSS)', kind: 'guest', field: 'GUEST_TR_AR_BYTES', set: (r) => w(r, 'GUEST_TR_AR_BYTES', 0x89) },
  { sec: '26.3.1.2', what: 'TR type 3 (busy 16-bit TSS) is allowed', kind: 'ok', set: (r) => w(r, 'GUEST_TR_AR_BYTES', 0x83) },
  { sec: '26.3.1.2', what: 'TR.S = 1', kind: 'guest', field: 'GUEST_TR_AR_BYTES', set: (r) => w(r, 'GUEST_TR_AR_BYTES', 0x9b) },
  { sec: '26.3.1.2', what: 'TR.P = 0', kind: 'guest', field: 'GUEST_TR_AR_BYTES', set: (r) => w(r, 'GUEST_TR_AR_BYTES', 0x0b) },
  { sec: '26.3.1.2', what: 'TR unusable', kind: 'guest', field: 'GUEST_TR_AR_BYTES', set: (r) => w(r, 'GUEST_TR_AR_BYTES', 0x1008b) },
  { sec: '26.3.1.2', what: 'TR.G = 1 with limit 67H', kind: 'guest', field: 'GUEST_TR_AR_BYTES', set: (r) => w(r, 'GUEST_TR_AR_BYTES', 0x808b) },
  { sec: '26.3.1.2', what: 'usable LDTR type 3', kind: 'guest', field: 'GUEST_LDTR_AR_BYTES', set: (r) => r.seg('LDTR', 0x30, 0x30000, 0xff, 0x83) },
  { sec: '26.3.1.2', what: 'usable LDTR with S = 1', kind: 'guest', field: 'GUEST_LDTR_AR_BYTES', set: (r) => r.seg('LDTR', 0x30, 0x30000, 0xff, 0x92) },
  { sec: '26.3.1.2', what: 'usable LDTR with P = 0', kind: 'guest', field: 'GUEST_LDTR_AR_BYTES', set: (r) => r.seg('LDTR', 0x30, 0x30000, 0xff, 0x02) },
  { sec: '26.3.1.2', what: 'usable LDTR (type 2, present)', kind: 'ok', set: (r) => r.seg('LDTR', 0x30, 0x30000, 0xff, 0x82) },
  // ---------------------------------------------------------------- 26.3.1.3 GDTR, IDTR
  { sec: '26.3.1.3', what: 'GDTR limit bit 16', kind: 'guest', field: 'GUEST_GDTR_LIMIT', set: (r) => w(r, 'GUEST_GDTR_LIMIT', 0x1002f) },
  { sec: '26.3.1.3', what: 'IDTR limit bit 31', kind: 'guest', field: 'GUEST_IDTR_LIMIT', set: (r) => w(r, 'GUEST_IDTR_LIMIT', 0x800007ff) },
  // ---------------------------------------------------------------- 26.3.1.4 RIP, RFLAGS
  { sec: '26.3.1.4', what: 'RFLAGS reserved bit 15', kind: 'guest', field: 'GUEST_RFLAGS', set: (r) => w(r, 'GUEST_RFLAGS', 0x8002) },
  { sec: '26.3.1.4', what: 'RFLAGS reserved bit 3', kind: 'guest', field: 'GUEST_RFLAGS', set: (r) => w(r, 'GUEST_RFLAGS', 0x000a) },
  { sec: '26.3.1.4', what: 'RFLAGS reserved bit 22', kind: 'guest', field: 'GUEST_RFLAGS', set: (r) => w(r, 'GUEST_RFLAGS', 0x400002) },
  { sec: '26.3.1.4', what: 'RFLAGS bit 1 = 0', kind: 'guest', field: 'GUEST_RFLAGS', set: (r) => w(r, 'GUEST_RFLAGS', 0) },
  { sec: '26.3.1.4', what: 'RFLAGS.VM = 1 with CR0.PE = 0 ("unrestricted guest")', kind: 'guest', field: 'GUEST_RFLAGS', opts: UG, set: (r) => { v86(r); w(r, 'GUEST_CR0', 0x30); } },
  { sec: '26.3.1.4', what: 'RFLAGS.IF = 0 while injecting an external interrupt', kind: 'guest', field: 'GUEST_RFLAGS', set: (r) => inject(r, II.VALID | II.EXT | 0x20) },
  // ---------------------------------------------------------------- 26.3.1.5 non-register state
  { sec: '26.3.1.5', what: 'activity state 4', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => w(r, 'GUEST_ACTIVITY_STATE', 4) },
  { sec: '26.3.1.5', what: 'HLT activity state with SS.DPL 3', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => { ring3(r); w(r, 'GUEST_ACTIVITY_STATE', 1); } },
  { sec: '26.3.1.5', what: 'HLT activity state with blocking by STI', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => { w(r, 'GUEST_RFLAGS', 0x202); w(r, 'GUEST_INTERRUPTIBILITY_INFO', 1); w(r, 'GUEST_ACTIVITY_STATE', 1); } },
  { sec: '26.3.1.5', what: 'HLT state + injected software interrupt', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => { w(r, 'GUEST_ACTIVITY_STATE', 1); inject(r, II.VALID | II.SWI | 0x80, 2); } },
  { sec: '26.3.1.5', what: 'HLT state + injected #GP', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => { w(r, 'GUEST_ACTIVITY_STATE', 1); inject(r, II.VALID | II.HW | II.EC | 13); } },
  { sec: '26.3.1.5', what: 'HLT state + injected NMI is allowed', kind: 'ok', rip: HANDLERS + 2 * 16, set: (r) => { w(r, 'GUEST_ACTIVITY_STATE', 1); inject(r, II.VALID | II.NMI | 2); } },
  { sec: '26.3.1.5', what: 'shutdown state + injected external interrupt', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => { w(r, 'GUEST_RFLAGS', 0x202); w(r, 'GUEST_ACTIVITY_STATE', 2); inject(r, II.VALID | II.EXT | 0x20); } },
  { sec: '26.3.1.5', what: 'wait-for-SIPI state + injected NMI', kind: 'guest', field: 'GUEST_ACTIVITY_STATE', set: (r) => { w(r, 'GUEST_ACTIVITY_STATE', 3); inject(r, II.VALID | II.NMI | 2); } },
  { sec: '26.3.1.5', what: 'interruptibility reserved bit 5', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => w(r, 'GUEST_INTERRUPTIBILITY_INFO', 0x20) },
  { sec: '26.3.1.5', what: 'enclave interruption (bit 4) without SGX', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => w(r, 'GUEST_INTERRUPTIBILITY_INFO', 0x10) },
  { sec: '26.3.1.5', what: 'blocking by STI and by MOV SS', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => { w(r, 'GUEST_RFLAGS', 0x202); w(r, 'GUEST_INTERRUPTIBILITY_INFO', 3); } },
  { sec: '26.3.1.5', what: 'blocking by STI with RFLAGS.IF = 0', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => w(r, 'GUEST_INTERRUPTIBILITY_INFO', 1) },
  { sec: '26.3.1.5', what: 'blocking by SMI outside SMM', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => w(r, 'GUEST_INTERRUPTIBILITY_INFO', 4) },
  { sec: '26.3.1.5', what: 'external interrupt injected with blocking by MOV SS', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => { w(r, 'GUEST_RFLAGS', 0x202); w(r, 'GUEST_INTERRUPTIBILITY_INFO', 2); inject(r, II.VALID | II.EXT | 0x20); } },
  { sec: '26.3.1.5', what: 'NMI injected with blocking by MOV SS', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', set: (r) => { w(r, 'GUEST_INTERRUPTIBILITY_INFO', 2); inject(r, II.VALID | II.NMI | 2); } },
  { sec: '26.3.1.5', what: 'virtual NMI injected with blocking by NMI', kind: 'guest', field: 'GUEST_INTERRUPTIBILITY_INFO', opts: { pin: PIN_C.NMI | PIN_C.VIRTUAL_NMIS }, set: (r) => { w(r, 'GUEST_INTERRUPTIBILITY_INFO', 8); inject(r, II.VALID | II.NMI | 2); } },
  { sec: '26.3.1.5', what: 'pending debug exceptions reserved bit 4', kind: 'guest', field: 'GUEST_PENDING_DBG_EXCEPTIONS', set: (r) => w(r, 'GUEST_PENDING_DBG_EXCEPTIONS', 0x10) },
  { sec: '26.3.1.5', what: 'pending debug exceptions RTM (bit 16) without RTM support', kind: 'guest', field: 'GUEST_PENDING_DBG_EXCEPTIONS', set: (r) => w(r, 'GUEST_PENDING_DBG_EXCEPTIONS', 0x11000) },
  { sec: '26.3.1.5', what: 'TF = 1, blocking by STI, BS = 0', kind: 'guest', field: 'GUEST_PENDING_DBG_EXCEPTIONS', set: (r) => { w(r, 'GUEST_RFLAGS', 0x302); w(r, 'GUEST_INTERRUPTIBILITY_INFO', 1); } },
  { sec: '26.3.1.5', what: 'TF = 0, HLT state, BS = 1', kind: 'guest', field: 'GUEST_PENDING_DBG_EXCEPTIONS', set: (r) => { w(r, 'GUEST_ACTIVITY_STATE', 1); w(r, 'GUEST_PENDING_DBG_EXCEPTIONS', 0x4000); } },
  { sec: '26.3.1.5', what: 'VMCS link pointer not 4-KiB aligned', kind: 'guest', field: 'VMCS_LINK_POINTER', qual: 4, set: (r) => w(r, 'VMCS_LINK_POINTER', VMCS2 + 8) },
  { sec: '26.3.1.5', what: 'VMCS link pointer beyond the physical-address width', kind: 'guest', field: 'VMCS_LINK_POINTER', qual: 4, set: (r) => w(r, 'VMCS_LINK_POINTER', 2 ** 36) },
  { sec: '26.3.1.5', what: 'VMCS link pointer to a region with another revision identifier', kind: 'guest', field: 'VMCS_LINK_POINTER', qual: 4, set: (r) => { r.wr(VMCS2, 4, 0x1234); w(r, 'VMCS_LINK_POINTER', VMCS2); } },
  { sec: '26.3.1.5', what: 'VMCS link pointer to a shadow VMCS (bit 31) without "VMCS shadowing"', kind: 'guest', field: 'VMCS_LINK_POINTER', qual: 4, set: (r) => { r.wr(VMCS2, 4, (r.rd(VMCS2) | 0x80000000) | 0); w(r, 'VMCS_LINK_POINTER', VMCS2); } },
  { sec: '26.3.1.5', what: 'VMCS link pointer = the current VMCS', kind: 'guest', field: 'VMCS_LINK_POINTER', qual: 4, set: (r) => w(r, 'VMCS_LINK_POINTER', VMCS) },
  { sec: '26.3.1.5', what: 'VMCS link pointer to another valid VMCS region', kind: 'ok', set: (r) => w(r, 'VMCS_LINK_POINTER', VMCS2) },
  // ---------------------------------------------------------------- 26.3.1.6 PDPTEs
  { sec: '26.3.1.6', what: 'PAE guest with valid PDPTEs', kind: 'ok', set: (r) => pae(r) },
  { sec: '26.3.1.6', what: 'PAE guest, PDPTE1 at guest CR3 with reserved bit 1', kind: 'guest', field: 'PDPTE1', qual: 2, set: (r) => pae(r, 0x17000 | 3) },
  { sec: '26.3.1.6', what: 'PAE guest, PDPTE2 reserved bit 8 ignored when not present', kind: 'ok', set: (r) => { pae(r); r.wr(0x15010, 4, 0x100); } },
  { sec: '26.3.1.6', what: 'PAE guest under EPT: GUEST_PDPTE1 field with reserved bit 5', kind: 'guest', field: 'GUEST_PDPTE1', qual: 2, opts: { ept: true }, set: (r) => { pae(r); w(r, 'GUEST_PDPTE0', 0x16001); w(r, 'GUEST_PDPTE1', 0x17021); } },
  { sec: '26.3.1.6', what: 'PAE guest under EPT: PDPTEs come from the VMCS, not from guest CR3', kind: 'ok', opts: { ept: true }, set: (r) => { pae(r, 0x17000 | 3); w(r, 'GUEST_PDPTE0', 0x16001); } },
  // ---------------------------------------------------------------- 26.4 VM-entry MSR loading
  { sec: '26.4', what: 'MSR-load entry 2 names a non-existent MSR (qualification = entry number)', kind: 'guest', reason: R.MSR_LOADING, qual: 2, field: 'VM_ENTRY_MSR_LOAD_ADDR', set: (r) => {
    w(r, 'VM_ENTRY_MSR_LOAD_COUNT', 2); w(r, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_AREA);
    r.wr(MSR_AREA, 4, 0x174); r.wr(MSR_AREA + 4, 4, 0); r.wr(MSR_AREA + 8, 4, 0x10); r.wr(MSR_AREA + 12, 4, 0);
    r.wr(MSR_AREA + 16, 4, 0x12345678); r.wr(MSR_AREA + 20, 4, 0); r.wr(MSR_AREA + 24, 4, 0); r.wr(MSR_AREA + 28, 4, 0);
  } },
  { sec: '26.4', what: 'MSR-load entry 1 with reserved bits 63:32 set', kind: 'guest', reason: R.MSR_LOADING, qual: 1, field: 'VM_ENTRY_MSR_LOAD_ADDR', set: (r) => {
    w(r, 'VM_ENTRY_MSR_LOAD_COUNT', 1); w(r, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_AREA);
    r.wr(MSR_AREA, 4, 0x174); r.wr(MSR_AREA + 4, 4, 1); r.wr(MSR_AREA + 8, 4, 0x10); r.wr(MSR_AREA + 12, 4, 0);
  } },
];

/** Exits a row's guest must reach when entry succeeds (HLT unless the row says otherwise). */
function expectedOkExit(row: Row): { reason: number; rip?: number } {
  if (row.exit !== undefined || row.rip !== undefined) return { reason: row.exit ?? R.HLT, rip: row.rip };
  // The V86 and ring-3 guests' HLT is #GP(0) (CPL 3), delivered to the #GP handler's HLT.
  if (row.set === v86 || row.set === ring3) return { reason: R.HLT, rip: HANDLERS + 13 * 16 };
  return { reason: R.HLT, rip: GUEST_CODE };
}

test('a hand-built VMCS is valid: VMLAUNCH succeeds, the guest runs, the host handler sees its exit', () => {
  const r = new Rig({ code: 'mov eax, 0x1234\nmov ebx, cr0\nhlt' });
  r.launch();
  assert.notEqual(r.m.cpu.nonRoot, null, 'in VMX non-root operation after VMLAUNCH');
  const res = r.run();
  assert.equal(r.exits.length, 1);
  const e = r.exits[0];
  assert.equal(e.reason, R.HLT);
  assert.equal(e.rip, GUEST_CODE + 8, 'RIP of the HLT (mov eax,imm32 = 5 bytes, mov ebx,cr0 = 3)');
  assert.equal(e.len, 1);
  assert.equal(e.gprs[0], 0x1234);
  assert.equal(e.gprs[3], GUEST_CR0 >>> 0, 'CR0 read with an empty guest/host mask is the real CR0');
  assert.equal(res?.end, 'hypervisor-halt');
  assert.equal(lastEntryFailure, null);
});

for (const row of ROWS) {
  test(`Vol3C ${row.sec}: ${row.what} → ${row.kind === 'ok' ? 'entry succeeds' : row.kind === 'control' ? 'VMfailValid(7)' : row.kind === 'host' ? 'VMfailValid(8)' : `exit ${row.reason ?? R.BAD_GUEST}|80000000H qual ${row.qual ?? 0}`}`, () => {
    const r = new Rig({ code: 'hlt', ...row.opts });
    row.set(r);
    const before = r.m.clock.insns;
    const status = r.vmx.vmlaunch();
    const where = `${row.sec} ${row.what}: lastEntryFailure = ${lastEntryFailure}`;
    if (row.kind === 'ok') {
      assert.equal(status, 0, where);
      r.run();
      const want = expectedOkExit(row);
      assert.equal(r.exits.length >= 1, true, `${where}: no exit`);
      assert.equal(r.exits[0].reason, want.reason, `${where}: exit reason ${hex(r.exits[0].reason)}`);
      if (want.rip !== undefined) assert.equal(r.exits[0].rip, want.rip, `${where}: RIP`);
      return;
    }
    const fail = lastEntryFailure;
    assert.ok(fail !== null, `${where}: no failure recorded`);
    assert.equal(fail.section, row.sec, where);
    assert.ok(row.field !== undefined && fail.field.includes(row.field), `${where}: field ${fail.field}, want ${row.field}`);
    if (row.kind === 'control' || row.kind === 'host') {
      const n = row.kind === 'control' ? INVALID_CONTROL : INVALID_HOST;
      assert.equal(status, n, where);
      assert.equal(r.vmx.read(F.VM_INSTRUCTION_ERROR), n);
      assert.equal(r.m.cpu.getEflags() & 0x41, 0x40, 'VMfailValid: ZF = 1, CF = 0');
      assert.equal(r.m.cpu.nonRoot, null, 'the guest did not start');
      r.run(1000);
      assert.equal(r.exits.length, 0, 'no VM exit for a failed VMLAUNCH');
      return;
    }
    // Guest-state / MSR-loading failure: a VM exit (Vol3C 26.8) — the host state is loaded, no guest instruction ran.
    assert.equal(status, 0, where);
    assert.equal(r.m.cpu.nonRoot, null, 'back in VMX root operation');
    assert.equal(r.vmx.entries, 0, 'the guest never ran (no VM entry completed)');
    assert.ok(r.m.clock.insns <= before + 1, 'no guest instruction executed (a VM exit costs one instruction of time)');
    assert.equal(r.m.cpu.eip, r.r(F.HOST_RIP), 'processor at HOST_RIP');
    r.run(1000);
    assert.equal(r.exits.length, 1, 'the host handler ran once for the failed entry');
    const e = r.exits[0];
    assert.equal(e.reason, ((row.reason ?? R.BAD_GUEST) | ENTRY_FAILURE) >>> 0, `${where}: exit reason ${hex(e.reason)}`);
    assert.equal(e.qual, row.qual ?? 0, `${where}: exit qualification`);
    assert.equal(r.vmx.vmresume(), 5, 'the VMCS is still clear: VMRESUME fails with error 5');
  });
}

test('entry-check rows cover every section of 26.2.1.1-26.2.3, 26.3.1.1-26.3.1.6 and 26.4', () => {
  const secs = new Set(ROWS.map((r) => r.sec));
  for (const s of ['26.2.1.1', '26.2.1.2', '26.2.1.3', '26.2.2', '26.2.3', '26.3.1.1', '26.3.1.2', '26.3.1.3', '26.3.1.4', '26.3.1.5', '26.3.1.6', '26.4']) {
    assert.ok(secs.has(s), `no row for ${s}`);
  }
  assert.ok(ROWS.filter((r) => r.kind !== 'ok').length >= 100, `${ROWS.filter((r) => r.kind !== 'ok').length} failing checks`);
  void TSS;
});

test('a VM-entry failure (Vol3C 26.8) writes only exit reason and qualification: other exit information, guest state, the injection valid bit, the MSR-store area and NMI blocking are left alone', () => {
  const r = new Rig({ code: 'out 0x80, al\nhlt', proc: P.UNCOND_IO, exit: EXIT_C.SAVE_TIMER, pin: PIN_C.PREEMPTION });
  r.w(F.VMX_PREEMPTION_TIMER_VALUE, 1000);
  r.onExit = (e, rr) => {
    if (e.reason !== R.IO) return false;
    // Break the guest state in a way found only after guest state was loaded: a bad PDPTE at guest CR3.
    pae(rr, 0x17000 | 3);
    rr.w(F.GUEST_RIP, e.rip + e.len);
    inject(rr, II.VALID | II.NMI | 2);
    rr.w(F.VM_EXIT_MSR_STORE_COUNT, 1); rr.w(F.VM_EXIT_MSR_STORE_ADDR, MSR_AREA);
    rr.wr(MSR_AREA, 4, 0x174); rr.wr(MSR_AREA + 8, 4, 0x5a5a5a5a);
    rr.m.cpu.nmiBlocked = true;
    return true;
  };
  r.launch(); r.run();
  assert.equal(r.exits.length, 2);
  const [io, fail] = r.exits;
  assert.equal(fail.reason, (R.BAD_GUEST | ENTRY_FAILURE) >>> 0);
  assert.equal(fail.qual, 2);
  assert.equal(fail.len, io.len, 'VM-exit instruction length unmodified');
  assert.equal(fail.f.VM_EXIT_INTR_INFO, io.f.VM_EXIT_INTR_INFO);
  assert.equal(fail.f.VM_ENTRY_INTR_INFO_FIELD >>> 0, (II.VALID | II.NMI | 2) >>> 0, 'valid bit not cleared');
  assert.equal(fail.rip, io.rip + io.len, 'guest RIP field unmodified');
  assert.equal(fail.f.GUEST_CR3, 0x15000);
  assert.equal(fail.f.VMX_PREEMPTION_TIMER_VALUE, io.f.VMX_PREEMPTION_TIMER_VALUE, 'timer value not saved');
  assert.equal(r.rd(MSR_AREA + 8), 0x5a5a5a5a, 'no MSR stored');
  assert.equal(r.m.cpu.nmiBlocked, true, 'NMI blocking as before VM entry');
  assert.equal(r.m.cpu.eip, r.r(F.HOST_RIP));
});
