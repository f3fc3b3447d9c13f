// bitops family (being written).
export {};
