// A VMCS as the processor keeps it (Vol3C 24.1-24.2, 24.11): the region in physical memory holds
// the revision identifier and the VMX-abort indicator; the field values live here, in typed
// arrays indexed by a slot derived from the field table (vmcs-fields.ts), as the SDM allows
// ("the format of the VMCS data is implementation-specific", 24.2). VMCLEAR writes the data back
// to the region as far as this model needs (launch state, abort indicator).
//
// Natural-width fields are 32 bits wide: this processor does not support Intel 64.

import { VMCS_FIELDS, Width, FieldType, type VmcsField } from './vmcs-fields.js';

/** Slot of each field (by encoding >> 1 of its full encoding) in the value arrays; -1 = no field. */
const SLOT = new Int16Array(0x8000 >> 1).fill(-1);
VMCS_FIELDS.forEach((f, k) => { SLOT[f.encoding >> 1] = k; });
export const FIELD_COUNT = VMCS_FIELDS.length;

export function slotOf(f: VmcsField): number { return SLOT[f.encoding >> 1]; }

export const enum LaunchState { Clear = 0, Launched = 1 }

export class Vmcs {
  /** Low 32 bits of each field (the whole value for 16/32-bit and natural-width fields). */
  readonly lo = new Int32Array(FIELD_COUNT);
  /** High 32 bits of 64-bit fields. */
  readonly hi = new Int32Array(FIELD_COUNT);
  launch: LaunchState = LaunchState.Clear;
  /** Launched, then VMXOFF without VMCLEAR: VMRESUME fails with error 6 (Vol3C Table 31-1). */
  launchedBeforeVmxoff = false;

  constructor(readonly pa: number, readonly revision: number) {}

  /** Value of a field as a number: 16/32-bit and natural fields as unsigned 32-bit, 64-bit fields exact up to 2^53. */
  get(f: VmcsField): number {
    const s = SLOT[f.encoding >> 1];
    if (f.width === Width.W64) return (this.hi[s] >>> 0) * 0x100000000 + (this.lo[s] >>> 0);
    return this.lo[s] >>> 0;
  }
  /** Low 32 bits of a field as a signed int32 (fast path for hot fields). */
  get32(f: VmcsField): number { return this.lo[SLOT[f.encoding >> 1]]; }
  /** High 32 bits of a 64-bit field. */
  getHi(f: VmcsField): number { return this.hi[SLOT[f.encoding >> 1]]; }

  /** Set a field; the value is truncated to the field's width (VMWRITE semantics, Vol3C 31.3 VMWRITE). */
  set(f: VmcsField, v: number): void {
    const s = SLOT[f.encoding >> 1];
    if (f.width === Width.W64) {
      this.lo[s] = v % 0x100000000 | 0;
      this.hi[s] = Math.floor(v / 0x100000000) | 0;
    } else if (f.width === Width.W16) {
      this.lo[s] = v & 0xffff;
    } else {
      this.lo[s] = v | 0;
    }
  }
  /** Set a 64-bit field from halves. */
  set64(f: VmcsField, lo: number, hi: number): void {
    const s = SLOT[f.encoding >> 1];
    this.lo[s] = lo | 0; this.hi[s] = f.width === Width.W64 ? hi | 0 : 0;
  }
}

/** Read-only fields: the VM-exit information area (Vol3C 24.9). */
export function isReadOnly(f: VmcsField): boolean { return f.type === FieldType.ExitInfo; }
