// shift family (being written).
export {};
