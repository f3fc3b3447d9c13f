// io family (being written).
export {};
