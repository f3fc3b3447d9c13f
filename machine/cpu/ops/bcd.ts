// bcd family (being written).
export {};
