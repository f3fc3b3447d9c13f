// system family (being written).
export {};
