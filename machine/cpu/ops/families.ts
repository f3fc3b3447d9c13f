// The list of instruction-family modules beyond the core ones (index.ts imports this list).
// Each family module exports `op_<KEY>_<name>` handlers named after opcode-table rows.
export const ALL: Record<string, unknown>[] = [];
