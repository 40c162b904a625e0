export { Compiler } from './compiler.ts'
export { mapStack } from './stack.ts'
export type {
  CompileInput,
  CompileResult,
  CompilerOptions,
  CompileStage,
  CompileTimings,
  Diagnostic,
} from './types.ts'
