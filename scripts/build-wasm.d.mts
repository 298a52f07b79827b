// Types for scripts/build-wasm.mjs (plain JavaScript so it runs with node alone; a test imports it).
export interface WasmSource {
  /** The WebAssembly text, relative to the repository root. */
  wat: string;
  /** The TypeScript module generated from it. */
  module: string;
  /** The name of the constant holding the binary (base64). */
  name: string;
}
export const WASM_SOURCES: WasmSource[];
export function generatedModule(source: string, spec: WasmSource): Promise<string>;
export function staleModules(): Promise<WasmSource[]>;
