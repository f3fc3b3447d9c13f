// Every VMCS field of Intel SDM Vol3D Appendix B, as one table. Encodings are computed from the
// SDM's own structure (Table 24-21 / B.1: access type bit 0, index bits 9:1, type bits 11:10,
// width bits 14:13), never typed in; accessors, dumps and entry checks are derived from this table.

/** Field width (encoding bits 14:13). */
export const enum Width { W16 = 0, W64 = 1, W32 = 2, Natural = 3 }
/** Field type (encoding bits 11:10). */
export const enum FieldType { Control = 0, ExitInfo = 1, Guest = 2, Host = 3 }

export interface VmcsField {
  /** SDM name in UPPER_SNAKE form, e.g. GUEST_CS_SELECTOR. */
  readonly name: string;
  readonly width: Width;
  readonly type: FieldType;
  readonly index: number;
  /** The encoding (full access for 64-bit fields). */
  readonly encoding: number;
  /** Group for dumps (SDM 24.3-24.9 section names). */
  readonly area: string;
}

export function encode(width: Width, type: FieldType, index: number, high = false): number {
  return (width << 13) | (type << 10) | (index << 1) | (high ? 1 : 0);
}

const AREA: Record<FieldType, string> = {
  [FieldType.Control]: 'VM-execution, exit and entry control fields',
  [FieldType.ExitInfo]: 'VM-exit information fields',
  [FieldType.Guest]: 'guest-state area',
  [FieldType.Host]: 'host-state area',
};

const fields: VmcsField[] = [];
/** Declare consecutive fields of one width and type starting at `index`. */
function group(width: Width, type: FieldType, start: number, names: (string | null)[]): void {
  names.forEach((name, k) => {
    if (name === null) return;
    fields.push({ name, width, type, index: start + k, encoding: encode(width, type, start + k), area: AREA[type] });
  });
}

const SEGS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'];

// 16-bit fields (B.1)
group(Width.W16, FieldType.Control, 0, ['VIRTUAL_PROCESSOR_ID', 'POSTED_INTR_NOTIFICATION_VECTOR', 'EPTP_INDEX']);
group(Width.W16, FieldType.Guest, 0, [...SEGS.map((s) => `GUEST_${s}_SELECTOR`), 'GUEST_INTR_STATUS', 'GUEST_PML_INDEX']);
group(Width.W16, FieldType.Host, 0, ['HOST_ES_SELECTOR', 'HOST_CS_SELECTOR', 'HOST_SS_SELECTOR', 'HOST_DS_SELECTOR', 'HOST_FS_SELECTOR', 'HOST_GS_SELECTOR', 'HOST_TR_SELECTOR']);
// 64-bit fields (B.2)
group(Width.W64, FieldType.Control, 0, ['IO_BITMAP_A', 'IO_BITMAP_B', 'MSR_BITMAP', 'VM_EXIT_MSR_STORE_ADDR', 'VM_EXIT_MSR_LOAD_ADDR',
  'VM_ENTRY_MSR_LOAD_ADDR', 'EXECUTIVE_VMCS_POINTER', 'PML_ADDRESS', 'TSC_OFFSET', 'VIRTUAL_APIC_PAGE_ADDR', 'APIC_ACCESS_ADDR',
  'POSTED_INTR_DESC_ADDR', 'VM_FUNCTION_CONTROLS', 'EPT_POINTER', 'EOI_EXIT_BITMAP0', 'EOI_EXIT_BITMAP1', 'EOI_EXIT_BITMAP2',
  'EOI_EXIT_BITMAP3', 'EPTP_LIST_ADDRESS', 'VMREAD_BITMAP', 'VMWRITE_BITMAP', 'VIRT_EXCEPTION_INFO_ADDR', 'XSS_EXIT_BITMAP',
  'ENCLS_EXITING_BITMAP', 'SUB_PAGE_PERMISSION_TABLE_POINTER', 'TSC_MULTIPLIER']);
group(Width.W64, FieldType.ExitInfo, 0, ['GUEST_PHYSICAL_ADDRESS']);
group(Width.W64, FieldType.Guest, 0, ['VMCS_LINK_POINTER', 'GUEST_IA32_DEBUGCTL', 'GUEST_IA32_PAT', 'GUEST_IA32_EFER',
  'GUEST_IA32_PERF_GLOBAL_CTRL', 'GUEST_PDPTE0', 'GUEST_PDPTE1', 'GUEST_PDPTE2', 'GUEST_PDPTE3', 'GUEST_IA32_BNDCFGS', 'GUEST_IA32_RTIT_CTL']);
group(Width.W64, FieldType.Host, 0, ['HOST_IA32_PAT', 'HOST_IA32_EFER', 'HOST_IA32_PERF_GLOBAL_CTRL']);
// 32-bit fields (B.3)
group(Width.W32, FieldType.Control, 0, ['PIN_BASED_VM_EXEC_CONTROL', 'CPU_BASED_VM_EXEC_CONTROL', 'EXCEPTION_BITMAP',
  'PAGE_FAULT_ERROR_CODE_MASK', 'PAGE_FAULT_ERROR_CODE_MATCH', 'CR3_TARGET_COUNT', 'VM_EXIT_CONTROLS', 'VM_EXIT_MSR_STORE_COUNT',
  'VM_EXIT_MSR_LOAD_COUNT', 'VM_ENTRY_CONTROLS', 'VM_ENTRY_MSR_LOAD_COUNT', 'VM_ENTRY_INTR_INFO_FIELD', 'VM_ENTRY_EXCEPTION_ERROR_CODE',
  'VM_ENTRY_INSTRUCTION_LEN', 'TPR_THRESHOLD', 'SECONDARY_VM_EXEC_CONTROL', 'PLE_GAP', 'PLE_WINDOW']);
group(Width.W32, FieldType.ExitInfo, 0, ['VM_INSTRUCTION_ERROR', 'VM_EXIT_REASON', 'VM_EXIT_INTR_INFO', 'VM_EXIT_INTR_ERROR_CODE',
  'IDT_VECTORING_INFO_FIELD', 'IDT_VECTORING_ERROR_CODE', 'VM_EXIT_INSTRUCTION_LEN', 'VMX_INSTRUCTION_INFO']);
group(Width.W32, FieldType.Guest, 0, [...SEGS.map((s) => `GUEST_${s}_LIMIT`), 'GUEST_GDTR_LIMIT', 'GUEST_IDTR_LIMIT',
  ...SEGS.map((s) => `GUEST_${s}_AR_BYTES`), 'GUEST_INTERRUPTIBILITY_INFO', 'GUEST_ACTIVITY_STATE', 'GUEST_SMBASE',
  'GUEST_SYSENTER_CS', null, 'VMX_PREEMPTION_TIMER_VALUE']);
group(Width.W32, FieldType.Host, 0, ['HOST_IA32_SYSENTER_CS']);
// Natural-width fields (B.4)
group(Width.Natural, FieldType.Control, 0, ['CR0_GUEST_HOST_MASK', 'CR4_GUEST_HOST_MASK', 'CR0_READ_SHADOW', 'CR4_READ_SHADOW',
  'CR3_TARGET_VALUE0', 'CR3_TARGET_VALUE1', 'CR3_TARGET_VALUE2', 'CR3_TARGET_VALUE3']);
group(Width.Natural, FieldType.ExitInfo, 0, ['EXIT_QUALIFICATION', 'IO_RCX', 'IO_RSI', 'IO_RDI', 'IO_RIP', 'GUEST_LINEAR_ADDRESS']);
group(Width.Natural, FieldType.Guest, 0, ['GUEST_CR0', 'GUEST_CR3', 'GUEST_CR4', ...SEGS.map((s) => `GUEST_${s}_BASE`),
  'GUEST_GDTR_BASE', 'GUEST_IDTR_BASE', 'GUEST_DR7', 'GUEST_RSP', 'GUEST_RIP', 'GUEST_RFLAGS', 'GUEST_PENDING_DBG_EXCEPTIONS',
  'GUEST_SYSENTER_ESP', 'GUEST_SYSENTER_EIP']);
group(Width.Natural, FieldType.Host, 0, ['HOST_CR0', 'HOST_CR3', 'HOST_CR4', 'HOST_FS_BASE', 'HOST_GS_BASE', 'HOST_TR_BASE',
  'HOST_GDTR_BASE', 'HOST_IDTR_BASE', 'HOST_IA32_SYSENTER_ESP', 'HOST_IA32_SYSENTER_EIP', 'HOST_RSP', 'HOST_RIP']);

/** All fields, in SDM Appendix B order. */
export const VMCS_FIELDS: readonly VmcsField[] = fields;
/** Field by name. */
export const F: Readonly<Record<string, VmcsField>> = Object.fromEntries(fields.map((f) => [f.name, f]));
const byEncoding = new Map(fields.map((f) => [f.encoding, f]));

/** Look up an encoding as VMREAD/VMWRITE see it: a 64-bit field's high half (bit 0 = 1) maps to its field. */
export function fieldByEncoding(enc: number): { field: VmcsField; high: boolean } | null {
  const f = byEncoding.get(enc & ~1);
  if (!f) return null;
  const high = (enc & 1) !== 0;
  if (high && f.width !== Width.W64) return null; // access type 1 only exists for 64-bit fields
  return { field: f, high };
}

/** Width in bits of a field for a 32-bit host (natural width = 32 on IA-32). */
export function bitsOf(width: Width): number {
  return width === Width.W16 ? 16 : width === Width.W64 ? 64 : 32;
}
