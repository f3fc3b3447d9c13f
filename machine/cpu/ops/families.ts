// The instruction-family modules beyond the core ones (index.ts imports this list).
// Each exports `op_<KEY>_<name>` handlers named after opcode-table rows (see optable.ts).
import * as shift from './shift.js';     // C0/C1/D0-D3 shifts and rotates
import * as muldiv from './muldiv.js';   // MUL/IMUL/DIV/IDIV
import * as bcd from './bcd.js';         // DAA DAS AAA AAS AAM AAD
import * as bitops from './bitops.js';   // BT*, BSF/BSR, SHLD/SHRD, CMPXCHG(8B), XADD
import * as string from './string.js';   // MOVS STOS LODS CMPS SCAS INS OUTS with REP
import * as io from './io.js';           // IN/OUT and the I/O permission checks
import * as control from './control.js'; // far JMP/CALL/RET, INT/IRET, SYSENTER/SYSEXIT, HLT, CLI/STI
import * as system from './system.js';   // CR/DR/MSR/CPUID/descriptor tables/segment loads/misc
import * as x87 from './x87.js';         // x87 FPU (D8-DF, FWAIT), FXSAVE/FXRSTOR, LDMXCSR/STMXCSR
import * as vmx from './vmx.js';         // VMX instructions executed by x86 code (VM exit or #UD)
export const ALL: Record<string, unknown>[] = [shift, muldiv, bcd, bitops, string, io, control, system, x87, vmx];
