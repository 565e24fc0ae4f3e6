/**
 * The compiler options of the tsconfig that Nest CLI 12 writes for a new app
 * (`nest new`; the CommonJS and the ESM templates share them), with `strict`
 * on and the test runners' types left out. Examples and the packaged-app test
 * compile against these, so they compile in a user's app too.
 */
export const NEST_COMPILER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  types: ['node'],
  sourceMap: true,
  outDir: './dist',
  rootDir: '.',
  incremental: true,
  skipLibCheck: true,
  strict: true,
  strictPropertyInitialization: false,
} as const;
