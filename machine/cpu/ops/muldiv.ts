// muldiv family (being written).
export {};
