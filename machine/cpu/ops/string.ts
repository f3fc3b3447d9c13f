// string family (being written).
export {};
