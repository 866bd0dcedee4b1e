declare module 'seek-bzip' {
  /** Decompresses a whole bzip2 buffer. */
  export function decode(input: Uint8Array, output?: Uint8Array, multistream?: boolean): Buffer;
}
